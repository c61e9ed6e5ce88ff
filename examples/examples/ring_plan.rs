//! ota-rollout: rings with stratified canaries, a health gate per ring, install windows, and the
//! rollout state machine driven by time and device reports.
//!
//! Run: `cargo run --example ring_plan`

use std::error::Error;
use std::io::Write;

use ota_rollout::{
    Decision, Device, DeviceContext, Event, Gate, Inconclusive, InstallPolicy, MayStart, Plan,
    Report, Ring, Rollout, Rule, Sprt, Status,
};

/// Plans a rollout over 1,000 devices, runs a good release to completion, and a bad one to its
/// abort.
pub fn run(out: &mut dyn Write) -> Result<(), Box<dyn Error>> {
    // The gate of every ring: Wald's SPRT on the failure rate, 1% acceptable, 5% not.
    let gate = |soak_secs: u64| {
        let mut g = Gate::new(Rule::Sprt(Sprt {
            p0: 0.01,
            p1: 0.05,
            alpha: 0.05,
            beta: 0.10,
        }));
        g.min_soak_secs = soak_secs;
        g.on_inconclusive = Inconclusive::Promote;
        g
    };
    let rings = vec![
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
    ];
    let mut plan = Plan::new("release-4.2.0", rings);
    plan.strata = vec!["hw".into()]; // every hardware revision gets canaries

    let fleet: Vec<Device> = (0..1000)
        .map(|i| Device::new(format!("dev-{i:04}")).with("hw", ["A", "B", "C"][i % 3]))
        .collect();
    let assignment = plan.assign_fleet(&fleet)?;
    writeln!(out, "ring sizes: {:?}", assignment.ring_sizes())?;
    let canary_hw: std::collections::BTreeSet<&str> = assignment.rings[0]
        .iter()
        .filter_map(|&i| fleet[i].attributes.get("hw").map(String::as_str))
        .collect();
    writeln!(out, "canary revisions: {canary_hw:?}")?;

    // A battery device may start only on its charger (time and device state are passed in).
    let policy = InstallPolicy {
        require_charging: true,
        min_battery_percent: Some(40),
        ..Default::default()
    };
    let on_battery = DeviceContext {
        charging: false,
        battery_percent: Some(80),
        idle: true,
        ..Default::default()
    };
    let on_charger = DeviceContext {
        charging: true,
        ..on_battery
    };
    let now = 1_772_409_600;
    writeln!(
        out,
        "battery device off the charger may start: {}",
        matches!(
            policy.may_start(&on_battery, now, false),
            MayStart::Yes { .. }
        )
    )?;
    writeln!(
        out,
        "battery device on the charger may start: {}",
        matches!(
            policy.may_start(&on_charger, now, false),
            MayStart::Yes { .. }
        )
    )?;

    // Drive the rollout: a tick per minute; every started device reports 10 minutes later.
    for (label, failing_every) in [("good release", 0u64), ("bad release", 4)] {
        let mut rollout = Rollout::new(plan.clone(), &assignment.ring_sizes(), now)?;
        let mut due: Vec<(u64, usize, u64)> = Vec::new();
        let mut t = now;
        'run: loop {
            let mut decisions = rollout.handle(Event::Tick, t)?;
            due.sort_unstable();
            while due.first().is_some_and(|d| d.0 <= t) {
                let (_, ring, index) = due.remove(0);
                let failed = failing_every > 0 && index % failing_every == 0;
                let outcome = if failed {
                    Report::Failed
                } else {
                    Report::Succeeded
                };
                decisions.extend(rollout.handle(
                    Event::Report {
                        ring,
                        index,
                        outcome,
                    },
                    t,
                )?);
                if !matches!(rollout.status(), Status::Running) {
                    break;
                }
            }
            for d in decisions {
                match d {
                    Decision::Start { ring, first, count } => {
                        due.extend((first..first + count).map(|i| (t + 600, ring, i)))
                    }
                    Decision::Promote { from, to, verdict } => {
                        writeln!(out, "{label}: promote ring {from} -> {to}: {verdict}")?
                    }
                    Decision::Abort { ring, verdict } => {
                        writeln!(out, "{label}: abort at ring {ring}: {verdict}")?
                    }
                    Decision::Complete => {
                        writeln!(out, "{label}: complete, {} reports", rollout.reports())?
                    }
                    _ => {}
                }
            }
            if !matches!(rollout.status(), Status::Running) {
                break 'run;
            }
            t += 60;
        }
        // The state persists as JSON between events (a server restarts without losing it).
        let saved = serde_json::to_string(&rollout)?;
        writeln!(
            out,
            "{label}: state {} bytes of JSON, started {} devices",
            saved.len(),
            rollout.started()
        )?;
    }
    Ok(())
}

#[allow(dead_code)] // the integration test includes this file and calls `run` directly
fn main() -> Result<(), Box<dyn Error>> {
    run(&mut std::io::stdout().lock())
}
