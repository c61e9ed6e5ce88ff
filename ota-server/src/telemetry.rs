//! Device reports' health metrics fed to the deployments' telemetry health checks
//! (`ota_rollout::HealthCheck`), in the transaction that records the report.
//!
//! How a report becomes an [`Observation`] (see the README):
//! - exposure: the device-hours since the device's previous report, from `uptime_since_install`
//!   (its whole value when the uptime went down or there was none before: a new install);
//! - a [`Baseline::Rate`] metric is a counter: `reboot_loops` is the report's own field (a
//!   lifetime counter), any other name a cumulative counter in the report's `health` map (since
//!   install); the events are the counter's increase since the previous report. A device's
//!   first report gives no `reboot_loops` reading: its lifetime count has no baseline, and
//!   charging it all to the release being rolled out would blame it for old loops;
//! - a [`Baseline::Proportion`] metric `m` reads the counters `m.failures` and `m.trials`;
//! - a [`Baseline::Mean`] metric reads the value `health[m]` as it is.

use std::collections::BTreeMap;

use ota_protocol::{DeviceReport, StatusKind};
use ota_rollout::{Baseline, HealthCheck, MAX_REPORT_COUNT, Observation, Reading};

use crate::deploy::{Ctx, apply_decisions};
use crate::error::{Error, Result};
use crate::outbound::Outbound;
use crate::store::Tx;

/// The name of a rate check that reads the report's `reboot_loops` field.
pub const REBOOT_LOOPS: &str = "reboot_loops";

/// What the device's previous report said (the counters the increase is taken from).
#[derive(Debug, Clone, Default)]
pub(crate) struct Previous {
    /// Whether there was a previous report at all.
    pub(crate) reported: bool,
    pub(crate) uptime_since_install: Option<u64>,
    pub(crate) reboot_loops: u64,
    pub(crate) health: BTreeMap<String, f64>,
}

/// Why a report's telemetry was not counted.
type Refusal = String;

/// A cumulative counter in the health map as a whole number.
fn counter(
    health: &BTreeMap<String, f64>,
    name: &str,
) -> std::result::Result<Option<u64>, Refusal> {
    let Some(&v) = health.get(name) else {
        return Ok(None);
    };
    if !(v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= 9.0e15) {
        return Err(format!(
            "health/{name}: a counter must be a whole number >= 0, got {v}"
        ));
    }
    Ok(Some(v as u64))
}

/// The increase of a counter since the previous report; the whole value when it went down
/// (a reset) or when `reset` says the counter restarted (a new install).
fn increase(now: u64, before: Option<u64>, reset: bool) -> u64 {
    match before {
        Some(b) if !reset && now >= b => now - b,
        _ => now,
    }
}

/// The observation of `report` for `checks` (the gate of the device's ring), or `None` when
/// the report carries no uptime or none of the checks' metrics.
///
/// # Errors
///
/// A description of a malformed counter (negative, fractional, too large).
pub(crate) fn observation(
    checks: &[HealthCheck],
    device: &str,
    prev: &Previous,
    report: &DeviceReport,
) -> std::result::Result<Option<Observation>, Refusal> {
    let Some(uptime) = report.uptime_since_install else {
        return Ok(None);
    };
    let same_install = prev.uptime_since_install.is_some_and(|p| uptime >= p);
    let seconds = match prev.uptime_since_install {
        Some(p) if same_install => uptime - p,
        _ => uptime,
    };
    let mut obs = Observation::new(device, seconds as f64 / 3600.0);
    let since = |name: &str| -> std::result::Result<Option<u64>, Refusal> {
        let Some(now) = counter(&report.health, name)? else {
            return Ok(None);
        };
        // A previous value that is no counter counts as none.
        let before = counter(&prev.health, name).ok().flatten();
        Ok(Some(increase(now, before, !same_install)))
    };
    for check in checks {
        let name = check.metric.as_str();
        let reading = match check.baseline {
            Baseline::Rate { .. } if name == REBOOT_LOOPS => {
                // A lifetime counter: it does not restart with an install, and without a
                // previous report there is no baseline to count the increase from.
                prev.reported.then(|| {
                    Reading::Events(increase(
                        report.reboot_loops,
                        Some(prev.reboot_loops),
                        false,
                    ))
                })
            }
            Baseline::Rate { .. } => since(name)?.map(Reading::Events),
            Baseline::Proportion { .. } => {
                match (
                    since(&format!("{name}.failures"))?,
                    since(&format!("{name}.trials"))?,
                ) {
                    (Some(failures), Some(trials)) => Some(Reading::Trials { failures, trials }),
                    (None, None) => None,
                    _ => return Err(format!("health/{name}: failures and trials go together")),
                }
            }
            Baseline::Mean { .. } => report.health.get(name).map(|&v| Reading::Value(v)),
            _ => None,
        };
        if let Some(r) = reading {
            if let Reading::Events(n) | Reading::Trials { trials: n, .. } = r
                && n > MAX_REPORT_COUNT
            {
                return Err(format!(
                    "health/{name}: increase {n} is too large for one report"
                ));
            }
            obs.readings.insert(check.metric.clone(), r);
        }
    }
    Ok((!obs.readings.is_empty()).then_some(obs))
}

/// Feeds `report` to the health checks of each open deployment that installed its release on
/// `device` (its execution SUCCEEDED) and whose ring of the device has health checks. A
/// regression pauses or aborts the deployment as a failing gate does; the decisions' messages
/// go to `out`. Malformed telemetry is counted in the ring's tally and changes nothing else.
pub(crate) fn feed(
    tx: &mut impl Tx,
    ctx: &Ctx,
    device: &str,
    prev: &Previous,
    report: &DeviceReport,
    now: u64,
    out: &mut Vec<Outbound>,
) -> Result<()> {
    if report.uptime_since_install.is_none() {
        return Ok(());
    }
    for id in tx.open_deployments()? {
        let Some(member) = tx.member(&id, device)? else {
            continue;
        };
        // A look without the lock first: most deployments have no checks on most rings.
        let watched = tx.deployment(&id)?.is_some_and(|d| {
            d.is_open()
                && d.rollout
                    .plan()
                    .rings
                    .get(member.ring)
                    .is_some_and(|r| !r.gate.health.is_empty())
        });
        if !watched {
            continue;
        }
        // Lock order: deployment, then execution.
        let Some(mut dep) = tx.deployment_for_update(&id)? else {
            continue;
        };
        if !dep.is_open() {
            continue;
        }
        let installed = tx
            .execution_for_update(&id, device)?
            .is_some_and(|e| e.execution.status.kind() == StatusKind::Succeeded);
        if !installed {
            continue;
        }
        let checks = dep
            .rollout
            .plan()
            .rings
            .get(member.ring)
            .map(|r| r.gate.health.clone())
            .unwrap_or_default();
        let obs = match observation(&checks, device, prev, report) {
            Ok(Some(obs)) => obs,
            Ok(None) => continue,
            Err(_) => {
                if let Some(t) = dep.tally.get_mut(member.ring) {
                    t.telemetry_refused += 1;
                }
                tx.update_deployment(&dep)?;
                continue;
            }
        };
        let t = now.max(dep.last_now);
        match dep.rollout.handle_telemetry(member.ring, &obs, t) {
            Ok(decisions) => {
                dep.last_now = t;
                if let Some(tally) = dep.tally.get_mut(member.ring) {
                    tally.telemetry += 1;
                }
                apply_decisions(tx, ctx, &mut dep, &decisions, now, out)?;
            }
            Err(ota_rollout::Error::InvalidObservation { .. }) => {
                if let Some(tally) = dep.tally.get_mut(member.ring) {
                    tally.telemetry_refused += 1;
                }
            }
            Err(ota_rollout::Error::RingNotOpen { .. }) => continue,
            Err(source) => {
                return Err(Error::Rollout {
                    deployment: dep.id.clone(),
                    source,
                });
            }
        }
        tx.update_deployment(&dep)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loops_check() -> HealthCheck {
        HealthCheck {
            metric: REBOOT_LOOPS.into(),
            baseline: Baseline::Rate {
                events: 10,
                device_hours: 10_000.0,
            },
            ratio: 2.0,
            alpha: 0.05,
            beta: 0.1,
            min_exposure: 0.0,
            dispersion: 1.0,
            on_regression: ota_rollout::FailAction::Pause,
        }
    }

    fn report(loops: u64, uptime: u64) -> DeviceReport {
        DeviceReport {
            report_id: 1,
            sent_at: 0,
            installed: Vec::new(),
            active_slot: None,
            boot_count: 1,
            reboot_loops: loops,
            uptime_since_install: Some(uptime),
            health: BTreeMap::new(),
        }
    }

    #[test]
    fn a_first_report_charges_no_old_reboot_loops_and_later_ones_their_increase() {
        let checks = [loops_check()];
        let first = observation(&checks, "d", &Previous::default(), &report(7, 3600)).unwrap();
        assert!(first.is_none(), "{first:?}");
        let prev = Previous {
            reported: true,
            uptime_since_install: Some(3600),
            reboot_loops: 7,
            health: BTreeMap::new(),
        };
        let second = observation(&checks, "d", &prev, &report(9, 7200))
            .unwrap()
            .unwrap();
        assert_eq!(second.readings.get(REBOOT_LOOPS), Some(&Reading::Events(2)));
    }
}
