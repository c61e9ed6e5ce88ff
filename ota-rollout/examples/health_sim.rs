//! Monte Carlo comparison of the crash-rate health check with the pass/fail SPRT and the
//! threshold rule, on the same simulated reports (method in `ota-rollout/GATES.md`).
//!
//! ```text
//! cargo run --release -p ota-rollout --features sim --example health_sim -- [--runs N]
//!     [--seed S] [--budget REPORTS] [--ratios 1,1.2,1.5,2,3]
//! ```
//!
//! Prints three markdown tables (a Poisson fleet, a fleet with reboot loops, a Poisson fleet
//! with a baseline ten times larger); see
//! `benches/RESULTS.md` for a recorded run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ota_rollout::sim::{
    TelemetryDesign, TelemetryGateSummary, TelemetryModel, TelemetrySummary, telemetry_summary,
};

struct Args {
    runs: u64,
    seed: u64,
    budget: u64,
    ratios: Vec<f64>,
}

fn parse() -> Args {
    let mut a = Args {
        runs: 4000,
        seed: 1,
        budget: 5000,
        ratios: vec![1.0, 1.2, 1.5, 2.0, 3.0],
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let v = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--runs" => a.runs = v.parse().unwrap(),
            "--seed" => a.seed = v.parse().unwrap(),
            "--budget" => a.budget = v.parse().unwrap(),
            "--ratios" => a.ratios = v.split(',').map(|s| s.parse().unwrap()).collect(),
            _ => panic!("unknown flag {flag}"),
        }
    }
    a
}

fn pct(n: u64, runs: u64) -> String {
    format!("{:.2}%", n as f64 * 100.0 / runs as f64)
}

fn cell(s: &TelemetryGateSummary, runs: u64) -> String {
    let to_stop = if s.stopped > 0 {
        format!("{:.1}", s.mean_reports_to_stop)
    } else {
        "-".into()
    };
    format!(
        "{} / {} / {:.1}",
        pct(s.stopped, runs),
        to_stop,
        s.mean_reports_to_decide
    )
}

fn table(title: &str, model: &TelemetryModel, design: &TelemetryDesign, args: &Args) {
    println!("### {title}\n");
    println!(
        "| true rate ratio | health check, dispersion 1 | health check, dispersion estimated | SPRT pass/fail | threshold rule |"
    );
    println!("|---|---|---|---|---|");
    let mut phi = 0.0;
    for (i, &ratio) in args.ratios.iter().enumerate() {
        let s: TelemetrySummary = telemetry_summary(
            model,
            design,
            ratio,
            args.budget,
            args.runs,
            args.seed + i as u64,
        )
        .expect("valid gates");
        phi = s.mean_dispersion;
        println!(
            "| {ratio}{} | {} | {} | {} | {} |",
            if ratio == 1.0 { " (no regression)" } else { "" },
            cell(&s.health, s.runs),
            cell(&s.health_dispersed, s.runs),
            cell(&s.sprt, s.runs),
            cell(&s.threshold, s.runs)
        );
    }
    println!("\nMean dispersion estimated from the baselines: {phi:.2}.\n");
}

fn main() {
    let args = parse();
    let design = TelemetryDesign {
        ratio: 1.5,
        alpha: 0.01,
        beta: 0.05,
        min_exposure: 240.0,
        threshold_min_reports: 100,
    };
    let poisson = TelemetryModel {
        base_rate: 0.002,
        hours_min: 1.0,
        hours_max: 47.0,
        loop_share: 0.0,
        loop_events: 0.0,
        baseline_hours: 100_000.0,
    };
    let loops = TelemetryModel {
        loop_share: 0.005,
        loop_events: 10.0,
        ..poisson
    };
    println!(
        "{} trials per cell, up to {} reports each, seeds {}..; design: H1 rate ratio {}, \
         alpha {}, beta {}, health minimum exposure {} device-hours, threshold from {} reports.\n",
        args.runs,
        args.budget,
        args.seed,
        design.ratio,
        design.alpha,
        design.beta,
        design.min_exposure,
        design.threshold_min_reports
    );
    println!("Each cell: stopped / mean reports to stop / mean reports to decide.\n");
    table(
        "Poisson crashes (0.002 per device-hour, 1-47 h per report)",
        &poisson,
        &design,
        &args,
    );
    table(
        "With reboot loops (0.5% of reports add Poisson(10) crashes; over-dispersed)",
        &loops,
        &design,
        &args,
    );
    table(
        "Poisson crashes, baseline over 1,000,000 device-hours instead of 100,000",
        &TelemetryModel {
            baseline_hours: 1_000_000.0,
            ..poisson
        },
        &design,
        &args,
    );
}
