//! `ota rollout ...`: ring assignment for a device list, and the gate simulator's figures.

use crate::fail::{CmdResult, Fail};
use crate::files;
use crate::out::Out;
use clap::{Args, Subcommand};
use ota_rollout::sim::gate_summary;
use ota_rollout::{Assignment, Device, Limits, Plan, Rule, Sprt, Threshold};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::io::BufRead;
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum RolloutCmd {
    /// The ring of each device (or why it gets none) for a rollout plan.
    ///
    /// DEVICES.jsonl holds one device a line: {"id": "lock-0001", "attributes": {"hw": "B"}}.
    /// Stateless mode (default) places each device by the salted hash of its id alone; --exact
    /// gives ring k exactly ceil(fraction_k * N) of the eligible devices, with canary strata.
    ///
    /// Example: ota rollout assign --plan plan.json --devices fleet.jsonl
    Assign(AssignArgs),
    /// Monte Carlo figures of the health gates: how often and how fast they stop a release.
    ///
    /// Example: ota rollout simulate --good 0.01 --bad 0.05 --runs 10000
    Simulate(SimulateArgs),
}

#[derive(Debug, Args)]
pub struct AssignArgs {
    /// The rollout plan (JSON).
    #[arg(long)]
    plan: PathBuf,
    /// The devices, one JSON object a line.
    #[arg(long)]
    devices: PathBuf,
    /// Exact mode: ring sizes exactly ceil(fraction * eligible devices).
    #[arg(long)]
    exact: bool,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Failure rate of a good release (the SPRT's p0).
    #[arg(long, default_value_t = 0.01)]
    good: f64,
    /// Failure rate of a bad release (the SPRT's p1).
    #[arg(long, default_value_t = 0.05)]
    bad: f64,
    /// SPRT alpha: the chance of stopping a good release.
    #[arg(long, default_value_t = 0.005)]
    alpha: f64,
    /// SPRT beta: the chance of passing a bad release.
    #[arg(long, default_value_t = 0.01)]
    beta: f64,
    /// Threshold rule: abort above this failure percentage...
    #[arg(long, default_value_t = 5.0)]
    threshold_percent: f64,
    /// ...after at least this many reports.
    #[arg(long, default_value_t = 100)]
    threshold_min: u64,
    /// Reports available to a gate in one trial.
    #[arg(long, default_value_t = 1000)]
    budget: u64,
    /// Trials per figure.
    #[arg(long, default_value_t = 10_000)]
    runs: u64,
    /// Seed of the simulation (the same seed gives the same figures).
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

pub fn run(cmd: RolloutCmd, out: &Out) -> CmdResult {
    match cmd {
        RolloutCmd::Assign(a) => assign(&a, out),
        RolloutCmd::Simulate(a) => simulate(&a, out),
    }
}

fn read_devices(path: &PathBuf) -> CmdResult<Vec<Device>> {
    let f = std::fs::File::open(path).map_err(|e| Fail::in_file(path, e))?;
    let mut devices = Vec::new();
    for (n, line) in std::io::BufReader::new(f).lines().enumerate() {
        let line = line.map_err(|e| Fail::in_file(path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let d: Device = serde_json::from_str(&line)
            .map_err(|e| Fail::in_file(path, format!("line {}: {e}", n + 1)))?;
        devices.push(d);
    }
    Ok(devices)
}

fn assign(a: &AssignArgs, out: &Out) -> CmdResult {
    let bytes = files::read(&a.plan)?;
    let plan =
        Plan::from_json(&bytes, &Limits::default()).map_err(|e| Fail::in_file(&a.plan, e))?;
    let devices = read_devices(&a.devices)?;
    let mut rows: Vec<(String, Value, String)> = Vec::with_capacity(devices.len());
    let ring_name = |r: usize| {
        plan.rings
            .get(r)
            .map(|x| x.name.clone())
            .unwrap_or_default()
    };
    if a.exact {
        let fleet = plan
            .assign_fleet(&devices)
            .map_err(|e| Fail::in_file(&a.plan, e))?;
        for (r, ids) in fleet.rings.iter().enumerate() {
            for id in ids {
                rows.push((
                    id.clone(),
                    json!({"ring": r, "ring_name": ring_name(r)}),
                    ring_name(r),
                ));
            }
        }
        for id in &fleet.not_yet {
            rows.push((id.clone(), json!({"not_yet": true}), "not yet".into()));
        }
        for id in &fleet.excluded {
            rows.push((id.clone(), json!({"excluded": true}), "excluded".into()));
        }
        for (id, why) in &fleet.ineligible {
            rows.push((
                id.clone(),
                json!({"ineligible": why.to_string()}),
                format!("ineligible: {why}"),
            ));
        }
    } else {
        let assigner = plan.assigner();
        for d in &devices {
            let (v, text) = match plan.assign_with(&assigner, d) {
                Assignment::Ring(r) => {
                    (json!({"ring": r, "ring_name": ring_name(r)}), ring_name(r))
                }
                Assignment::Pinned(r) => (
                    json!({"ring": r, "ring_name": ring_name(r), "pinned": true}),
                    format!("{} (pinned)", ring_name(r)),
                ),
                Assignment::NotYet => (json!({"not_yet": true}), "not yet".into()),
                Assignment::Excluded => (json!({"excluded": true}), "excluded".into()),
                Assignment::Ineligible(why) => (
                    json!({"ineligible": why.to_string()}),
                    format!("ineligible: {why}"),
                ),
            };
            rows.push((d.id.clone(), v, text));
        }
    }
    let mut per_ring = vec![0u64; plan.rings.len()];
    for (_, v, _) in &rows {
        if let Some(c) = v
            .get("ring")
            .and_then(Value::as_u64)
            .and_then(|r| per_ring.get_mut(r as usize))
        {
            *c += 1;
        }
    }
    out.result(
        || {
            let mut t = String::new();
            for (id, _, text) in &rows {
                let _ = writeln!(t, "{id}\t{text}");
            }
            for (r, c) in per_ring.iter().enumerate() {
                let _ = writeln!(t, "# ring {r} ({}): {c} devices", ring_name(r));
            }
            t
        },
        || {
            let devices: Vec<Value> = rows
                .iter()
                .map(|(id, v, _)| {
                    let mut v = v.clone();
                    if let Value::Object(m) = &mut v {
                        m.insert("id".into(), json!(id));
                    }
                    v
                })
                .collect();
            json!({"ok": true, "ring_sizes": per_ring, "devices": devices})
        },
    );
    Ok(())
}

fn simulate(a: &SimulateArgs, out: &Out) -> CmdResult {
    let sprt = Sprt {
        p0: a.good,
        p1: a.bad,
        alpha: a.alpha,
        beta: a.beta,
    };
    sprt.validate("--good/--bad/--alpha/--beta")
        .map_err(Fail::input)?;
    let threshold = Threshold {
        max_failure_percent: a.threshold_percent,
        min_executions: a.threshold_min,
    };
    if a.runs == 0 || a.budget == 0 {
        return Err(Fail::input("--runs and --budget must be at least 1"));
    }
    let mut rows = Vec::new();
    for (name, rule) in [
        ("sprt", Rule::Sprt(sprt)),
        ("threshold", Rule::Threshold(threshold)),
    ] {
        for (release, p) in [("good", a.good), ("bad", a.bad)] {
            let s = gate_summary(rule, p, a.budget, a.runs, a.seed);
            rows.push(json!({
                "rule": name, "release": release, "failure_rate": p, "runs": s.runs,
                "stopped_fraction": s.failed as f64 / s.runs as f64,
                "passed_fraction": s.passed as f64 / s.runs as f64,
                "undecided_fraction": s.undecided as f64 / s.runs as f64,
                "mean_reports_to_stop": s.mean_reports_to_fail,
                "mean_reports": s.mean_reports,
            }));
        }
    }
    out.result(
        || {
            let mut t = format!(
                "{} trials per row, up to {} reports each, seed {}\n\
                 | rule | release | failure rate | stopped | passed | undecided | mean reports to stop |\n\
                 |---|---|---|---|---|---|---|\n",
                a.runs, a.budget, a.seed
            );
            for r in &rows {
                let _ = writeln!(
                    t,
                    "| {} | {} | {:.3} | {:.2}% | {:.2}% | {:.2}% | {:.1} |",
                    r["rule"].as_str().unwrap_or(""),
                    r["release"].as_str().unwrap_or(""),
                    r["failure_rate"].as_f64().unwrap_or(0.0),
                    r["stopped_fraction"].as_f64().unwrap_or(0.0) * 100.0,
                    r["passed_fraction"].as_f64().unwrap_or(0.0) * 100.0,
                    r["undecided_fraction"].as_f64().unwrap_or(0.0) * 100.0,
                    r["mean_reports_to_stop"].as_f64().unwrap_or(0.0),
                );
            }
            t
        },
        || json!({"ok": true, "runs": a.runs, "budget": a.budget, "seed": a.seed, "rows": rows}),
    );
    Ok(())
}
