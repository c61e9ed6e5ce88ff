//! Monte Carlo measurement of the health gates and of whole rollouts.
//!
//! ```text
//! cargo run --release -p ota-rollout --example gate_sim -- [--runs N] [--seed S]
//!     [--alpha A] [--beta B] [--only gates|rollouts] [--fleets 10000,1000000]
//! ```
//!
//! Prints markdown tables: see `benches/results/rollout.md` for a recorded run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ota_rollout::sim::{FleetModel, gate_summary, rollout_summary};
use ota_rollout::{
    Exponential, Gate, Inconclusive, Plan, RateIncreaseCriteria, RateLimit, Ring, Rule, Sprt,
    Threshold,
};

struct Args {
    runs: u64,
    seed: u64,
    alpha: f64,
    beta: f64,
    only: Option<String>,
    fleets: Vec<u64>,
    good_runs_large: u64,
}

fn parse() -> Args {
    let mut a = Args {
        runs: 10_000,
        seed: 1,
        alpha: 0.005,
        beta: 0.01,
        only: None,
        fleets: vec![10_000, 1_000_000],
        good_runs_large: 500,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let v = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--runs" => a.runs = v.parse().unwrap(),
            "--seed" => a.seed = v.parse().unwrap(),
            "--alpha" => a.alpha = v.parse().unwrap(),
            "--beta" => a.beta = v.parse().unwrap(),
            "--only" => a.only = Some(v),
            "--fleets" => a.fleets = v.split(',').map(|s| s.parse().unwrap()).collect(),
            "--good-runs-large" => a.good_runs_large = v.parse().unwrap(),
            _ => panic!("unknown flag {flag}"),
        }
    }
    a
}

/// P(X > k) for X ~ Binomial(n, p), exactly (log-space terms).
fn binomial_tail_above(n: u64, p: f64, k: u64) -> f64 {
    let mut cdf = 0.0;
    let mut ln_choose = 0.0f64;
    for i in 0..=k {
        if i > 0 {
            ln_choose += ((n - i + 1) as f64).ln() - (i as f64).ln();
        }
        cdf += (ln_choose + i as f64 * p.ln() + (n - i) as f64 * (1.0 - p).ln()).exp();
    }
    1.0 - cdf
}

fn gates(a: &Args) {
    let sprt = Rule::Sprt(Sprt {
        p0: 0.01,
        p1: 0.05,
        alpha: a.alpha,
        beta: a.beta,
    });
    let threshold = Rule::Threshold(Threshold {
        max_failure_percent: 5.0,
        min_executions: 100,
    });
    println!(
        "### One gate on a stream of reports ({} trials each, seed {})\n",
        a.runs, a.seed
    );
    println!(
        "SPRT p0=0.01 p1=0.05 alpha={} beta={}; threshold: abort above 5% once >= 100 reported, checked after every report. Budget 10,000 reports.\n",
        a.alpha, a.beta
    );
    println!(
        "| rule | true failure rate | aborted | passed | undecided | mean reports to abort | max reports to abort | mean reports (all ends) |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (name, rule) in [("SPRT", sprt), ("threshold 5% after 100", threshold)] {
        for p in [0.05, 0.01] {
            let s = gate_summary(rule, p, 10_000, a.runs, a.seed);
            println!(
                "| {name} | {:.0}% | {:.2}% | {:.2}% | {:.2}% | {:.1} | {} | {:.1} |",
                p * 100.0,
                100.0 * s.failed as f64 / s.runs as f64,
                100.0 * s.passed as f64 / s.runs as f64,
                100.0 * s.undecided as f64 / s.runs as f64,
                s.mean_reports_to_fail,
                s.max_reports_to_fail,
                s.mean_reports,
            );
        }
    }
    // The one-look reading of the AWS rule: judged once, when exactly 100 have reported.
    println!("\n### The threshold rule judged once, at exactly 100 reports\n");
    println!(
        "| true failure rate | aborted (simulated, budget 100) | exact P(Binomial(100, p) > 5) |"
    );
    println!("|---|---|---|");
    for p in [0.05, 0.01] {
        let s = gate_summary(threshold, p, 100, a.runs, a.seed);
        println!(
            "| {:.0}% | {:.2}% | {:.2}% |",
            p * 100.0,
            100.0 * s.failed as f64 / s.runs as f64,
            100.0 * binomial_tail_above(100, p, 5)
        );
    }
    println!();
}

fn plan(rule: Rule, rate: RateLimit) -> Plan {
    let gate = |soak: u64| Gate {
        min_soak_secs: soak,
        min_reports: 0,
        rule,
        on_fail: ota_rollout::FailAction::Abort,
        on_inconclusive: Inconclusive::Promote,
        health: Vec::new(),
    };
    let mut p = Plan::new(
        "sim",
        vec![
            Ring {
                name: "canary".into(),
                share: 0.01,
                gate: gate(3600),
            },
            Ring {
                name: "early".into(),
                share: 0.10,
                gate: gate(3600),
            },
            Ring {
                name: "everyone".into(),
                share: 0.89,
                gate: gate(0),
            },
        ],
    );
    p.rate = Some(rate);
    p
}

fn rollouts(a: &Args) {
    let rate = RateLimit {
        base_per_minute: 10,
        maximum_per_minute: Some(500),
        exponential: Some(Exponential {
            increment_factor: 1.5,
            criteria: RateIncreaseCriteria::NumberOfSucceededThings(200),
        }),
    };
    let model = |p: f64| FleetModel {
        fail_rate: p,
        report_delay_min_secs: 600,
        report_delay_max_secs: 1800,
        tick_secs: 60,
        max_secs: 400 * 86_400,
        approve_pauses: false,
    };
    let sprt = Rule::Sprt(Sprt {
        p0: 0.01,
        p1: 0.05,
        alpha: a.alpha,
        beta: a.beta,
    });
    let threshold = Rule::Threshold(Threshold {
        max_failure_percent: 5.0,
        min_executions: 100,
    });
    println!(
        "### Whole rollouts: rings 1% / 10% / 89%, seed {}\n",
        a.seed
    );
    println!(
        "Each ring's gate is the rule below (SPRT: still undecided when the ring has fully reported promotes and the test goes on in the next ring); 1 h soak on the first two rings; rate 10/min, x1.5 every 200 successes, at most 500/min; each device reports 10-30 min after it starts (uniform). Blast radius = devices given the release when the rollout stopped.\n"
    );
    println!(
        "| rule | fleet | true failure rate | runs | aborted | aborted in ring 0/1/2 | completed | mean blast radius | p99 | max | mean reports at abort | mean hours |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (name, rule) in [("SPRT", sprt), ("threshold 5% after 100", threshold)] {
        for &fleet in &a.fleets {
            let p = plan(rule, rate);
            let sizes = [
                fleet.div_ceil(100),
                fleet.div_ceil(10) - fleet.div_ceil(100),
                fleet - fleet.div_ceil(10),
            ];
            for fail in [0.05, 0.01] {
                let runs = if fail < 0.02 && fleet > 100_000 {
                    a.good_runs_large.min(a.runs)
                } else {
                    a.runs
                };
                let s = rollout_summary(&p, &sizes, &model(fail), runs, a.seed).unwrap();
                println!(
                    "| {name} | {fleet} | {:.0}% | {} | {:.2}% | {} | {:.2}% | {:.1} | {} | {} | {:.1} | {:.1} |",
                    fail * 100.0,
                    s.runs,
                    100.0 * s.aborted as f64 / s.runs as f64,
                    s.aborted_in_ring
                        .iter()
                        .map(u64::to_string)
                        .collect::<Vec<_>>()
                        .join("/"),
                    100.0 * s.completed as f64 / s.runs as f64,
                    s.mean_started_at_stop,
                    s.p99_started_at_stop,
                    s.max_started_at_stop,
                    s.mean_reports_at_stop,
                    s.mean_hours,
                );
            }
        }
    }
    println!();
}

fn main() {
    let a = parse();
    if a.only.as_deref() != Some("rollouts") {
        gates(&a);
    }
    if a.only.as_deref() != Some("gates") {
        rollouts(&a);
    }
}
