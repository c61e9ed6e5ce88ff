//! Telemetry gates: a health metric of the new release tested sequentially against the previous
//! release's baseline (formulas, assumptions and limits in `GATES.md`).

mod monitor;

pub use monitor::HealthMonitor;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::gate::FailAction;

/// Most health checks on one gate.
pub const MAX_HEALTH_CHECKS: usize = 16;
/// Largest exposure one report may carry, in device-hours (a leap year of uptime).
pub const MAX_REPORT_HOURS: f64 = 8784.0;
/// Largest event, failure or trial count one report may carry.
pub const MAX_REPORT_COUNT: u64 = 1_000_000_000;
/// Largest magnitude of a reported value (mean metrics) or of a baseline figure.
pub const MAX_VALUE: f64 = 1e12;
/// Longest device id or metric name, in bytes.
pub const MAX_NAME: usize = 256;

/// What the previous release measured, the yardstick of a [`HealthCheck`]. Its variant is the
/// kind of metric.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum Baseline {
    /// A rate per device-hour (crashes, reboot loops): `events` over `device_hours` of uptime.
    /// Reports carry [`Reading::Events`] and their exposure is [`Observation::hours`].
    Rate {
        /// Events counted on the previous release.
        events: u64,
        /// Device-hours of uptime they were counted over (> 0).
        device_hours: f64,
    },
    /// A proportion (request errors out of requests): `failures` out of `trials`. Reports carry
    /// [`Reading::Trials`]; their exposure is the trials.
    Proportion {
        /// Failures on the previous release.
        failures: u64,
        /// Trials on the previous release (> 0).
        trials: u64,
    },
    /// The mean of one value per device and report (a device's mean latency in ms): the
    /// previous release's mean and standard deviation over `devices` such values. Reports carry
    /// [`Reading::Value`]; each counts one unit of exposure.
    Mean {
        /// Mean of the per-device values (> 0).
        mean: f64,
        /// Standard deviation of the per-device values (> 0).
        std_dev: f64,
        /// How many values the mean and deviation come from (>= 2).
        devices: u64,
    },
}

/// A health metric, its baseline and its sequential test: Wald's SPRT of "no worse than the
/// baseline" (H0: ratio 1) against "`ratio` times worse" (H1), with error rates `alpha` (a good
/// release paused) and `beta` (a bad release passed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthCheck {
    /// The metric's name, the key of its readings in an [`Observation`] ("crashes").
    pub metric: String,
    /// The previous release's figures; the variant is the kind of metric.
    pub baseline: Baseline,
    /// The regression to detect: the rate, proportion or mean that is `ratio` times the
    /// baseline's (> 1; 1.5 = 50% worse).
    pub ratio: f64,
    /// Probability of pausing a release as good as the baseline (0 < alpha < 0.5).
    pub alpha: f64,
    /// Probability of passing a release `ratio` times worse (0 < beta < 0.5).
    pub beta: f64,
    /// Exposure the new release must gather before the check decides anything, either way
    /// (device-hours, trials or values by kind). The baseline must have at least as much.
    #[serde(default)]
    pub min_exposure: f64,
    /// Over-dispersion factor phi >= 1 (variance / mean of the per-report counts, measured on
    /// the previous release): the log-likelihood ratio is divided by it (quasi-likelihood).
    #[serde(default = "one")]
    pub dispersion: f64,
    /// What a regression does to the rollout (pause by default: telemetry wants a human look).
    #[serde(default = "pause")]
    pub on_regression: FailAction,
}

fn one() -> f64 {
    1.0
}

fn pause() -> FailAction {
    FailAction::Pause
}

/// One metric's value in a report.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Reading {
    /// Events since the device's last report (for a [`Baseline::Rate`] metric).
    Events(u64),
    /// Failures out of trials since the last report (for a [`Baseline::Proportion`] metric).
    Trials {
        /// Failed trials.
        failures: u64,
        /// All trials.
        trials: u64,
    },
    /// The device's value over the period (for a [`Baseline::Mean`] metric).
    Value(f64),
}

/// One telemetry report of one device: its uptime since its last report and the readings of
/// some metrics. A metric missing from `readings` is not observed by this report (its exposure
/// is not counted either).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Observation {
    /// The reporting device (named in errors and verdicts; not stored).
    pub device: String,
    /// Device-hours of uptime since this device's last report: the exposure of rate metrics.
    pub hours: f64,
    /// Readings by metric name.
    #[serde(default)]
    pub readings: BTreeMap<String, Reading>,
}

impl Observation {
    /// A report of `hours` of uptime with no readings yet.
    pub fn new(device: impl Into<String>, hours: f64) -> Self {
        Observation {
            device: device.into(),
            hours,
            readings: BTreeMap::new(),
        }
    }

    /// Adds a reading (builder style).
    #[must_use]
    pub fn with(mut self, metric: impl Into<String>, reading: Reading) -> Self {
        self.readings.insert(metric.into(), reading);
        self
    }
}

/// A health check's latched decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthDecision {
    /// Not decided yet (too little exposure, or between the bounds).
    #[default]
    Continue,
    /// A regression: the upper bound was reached.
    Pause,
    /// No regression: the lower bound was reached.
    Promote,
}

/// What a health check has accumulated: sufficient statistics only, a few numbers whatever the
/// number of reports. Persist it with the rollout.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct HealthState {
    /// Exposure gathered (device-hours, trials or values by kind).
    pub exposure: f64,
    /// Events, failures, or the sum of the values, by kind.
    pub total: f64,
    /// Reports that carried this metric.
    pub reports: u64,
    /// The latched decision: once not `Continue`, it stays.
    pub decision: HealthDecision,
}

/// A health check's statistic, for a verdict or a dashboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthStatus {
    /// The metric's name.
    pub metric: String,
    /// The latched decision.
    pub decision: HealthDecision,
    /// Exposure gathered.
    pub exposure: f64,
    /// Exposure needed before any decision.
    pub min_exposure: f64,
    /// Reports that carried the metric.
    pub reports: u64,
    /// The new release's rate, proportion or mean so far (0 before any exposure).
    pub observed: f64,
    /// The baseline's.
    pub baseline: f64,
    /// The log-likelihood ratio of H1 against H0 (divided by the dispersion).
    pub llr: f64,
    /// Wald's lower bound `ln(beta/(1-alpha))`.
    pub lower: f64,
    /// Wald's upper bound `ln((1-beta)/alpha)`.
    pub upper: f64,
}

impl core::fmt::Display for HealthStatus {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let ratio = if self.baseline > 0.0 {
            self.observed / self.baseline
        } else {
            0.0
        };
        write!(
            f,
            "{}: {:.6} against baseline {:.6} ({ratio:.2}x) over exposure {:.1} ({} reports); \
             log-likelihood ratio {:.3} in [{:.3}, {:.3}]",
            self.metric,
            self.observed,
            self.baseline,
            self.exposure,
            self.reports,
            self.llr,
            self.lower,
            self.upper
        )?;
        match self.decision {
            HealthDecision::Pause => write!(f, ": regression"),
            HealthDecision::Promote => write!(f, ": no regression"),
            HealthDecision::Continue if self.exposure < self.min_exposure => {
                write!(f, ": exposure below {}", self.min_exposure)
            }
            HealthDecision::Continue => write!(f, ": undecided"),
        }
    }
}

fn finite_in(x: f64, lo: f64, hi: f64) -> bool {
    x.is_finite() && x >= lo && x <= hi
}

impl HealthCheck {
    /// Checks the parameters and the baseline.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPlan`] naming the field under `field`: a zero, negative or non-finite
    /// baseline exposure, a ratio not above 1, an error rate outside (0, 0.5), a dispersion below
    /// 1, a proportion for which `ratio` times the baseline reaches 1, a baseline with less
    /// exposure than `min_exposure`.
    pub fn validate(&self, field: &str) -> Result<()> {
        let bad = |name: &str, why: &str| Err(Error::plan(format!("{field}/{name}"), why));
        if self.metric.is_empty() || self.metric.len() > MAX_NAME {
            return bad("metric", "need a name of 1 to 256 bytes");
        }
        if !(self.ratio.is_finite() && self.ratio > 1.0 && self.ratio <= 1000.0) {
            return bad("ratio", "need 1 < ratio <= 1000");
        }
        for (name, v) in [("alpha", self.alpha), ("beta", self.beta)] {
            if !(v.is_finite() && v > 0.0 && v < 0.5) {
                return bad(name, "need 0 < value < 0.5");
            }
        }
        if !finite_in(self.dispersion, 1.0, 1e6) {
            return bad("dispersion", "need 1 <= dispersion <= 1e6");
        }
        if !finite_in(self.min_exposure, 0.0, MAX_VALUE) {
            return bad("min_exposure", "need a finite value >= 0");
        }
        let exposure = match self.baseline {
            Baseline::Rate {
                events,
                device_hours,
            } => {
                if !(device_hours.is_finite() && device_hours > 0.0 && device_hours <= MAX_VALUE) {
                    return bad("baseline/device_hours", "need 0 < device_hours <= 1e12");
                }
                if events as f64 > MAX_VALUE {
                    return bad("baseline/events", "more than 1e12 events");
                }
                device_hours
            }
            Baseline::Proportion { failures, trials } => {
                if trials == 0 || trials as f64 > MAX_VALUE {
                    return bad("baseline/trials", "need 0 < trials <= 1e12");
                }
                if failures >= trials {
                    return bad("baseline/failures", "need failures < trials");
                }
                if self.ratio * self.baseline_level() >= 1.0 {
                    return bad("ratio", "ratio x baseline proportion must stay below 1");
                }
                trials as f64
            }
            Baseline::Mean {
                mean,
                std_dev,
                devices,
            } => {
                if !(mean.is_finite() && mean > 0.0 && mean <= MAX_VALUE) {
                    return bad("baseline/mean", "need 0 < mean <= 1e12");
                }
                if !(std_dev.is_finite() && std_dev > 0.0 && std_dev <= MAX_VALUE) {
                    return bad("baseline/std_dev", "need 0 < std_dev <= 1e12");
                }
                if devices < 2 {
                    return bad("baseline/devices", "need at least 2 devices");
                }
                devices as f64
            }
        };
        if exposure < self.min_exposure {
            return bad(
                "min_exposure",
                "the baseline has less exposure than the new release must gather",
            );
        }
        Ok(())
    }

    /// The baseline's rate per device-hour, proportion or mean. A baseline of zero events or
    /// failures counts as half an event, so one event of the new release is not infinitely
    /// surprising (see `GATES.md`).
    pub fn baseline_level(&self) -> f64 {
        match self.baseline {
            Baseline::Rate {
                events,
                device_hours,
            } => (events as f64).max(0.5) / device_hours,
            Baseline::Proportion { failures, trials } => (failures as f64).max(0.5) / trials as f64,
            Baseline::Mean { mean, .. } => mean,
        }
    }

    /// Wald's bounds `(lower, upper)` = `(ln(beta/(1-alpha)), ln((1-beta)/alpha))`.
    pub fn bounds(&self) -> (f64, f64) {
        (
            (self.beta / (1.0 - self.alpha)).ln(),
            ((1.0 - self.beta) / self.alpha).ln(),
        )
    }

    /// The log-likelihood ratio of H1 (`ratio` times the baseline) against H0 (the baseline)
    /// given the accumulated `state`, divided by the dispersion. Formulas in `GATES.md`.
    pub fn llr(&self, state: &HealthState) -> f64 {
        let r = self.ratio;
        let level = self.baseline_level();
        let (t, x) = (state.exposure, state.total);
        let raw = match self.baseline {
            Baseline::Rate { .. } => x * r.ln() - level * t * (r - 1.0),
            Baseline::Proportion { .. } => {
                let p1 = r * level;
                x * (p1 / level).ln() + (t - x) * ((1.0 - p1) / (1.0 - level)).ln()
            }
            Baseline::Mean { std_dev, .. } => {
                let delta = level * (r - 1.0);
                delta / (std_dev * std_dev) * (x - t * (level + delta / 2.0))
            }
        };
        // The baseline is an estimate too: the score's variance grows by 1 + t / T0 (t this
        // release's exposure, T0 the baseline's), so the evidence is shrunk by that much.
        raw / (self.dispersion * (1.0 + t / self.baseline_exposure()))
    }

    /// The baseline's exposure: device-hours, trials or devices by kind.
    pub fn baseline_exposure(&self) -> f64 {
        match self.baseline {
            Baseline::Rate { device_hours, .. } => device_hours,
            Baseline::Proportion { trials, .. } => trials as f64,
            Baseline::Mean { devices, .. } => devices as f64,
        }
    }

    /// The decision at `state`, ignoring the latched one: `Continue` below the minimum exposure.
    pub fn decide(&self, state: &HealthState) -> HealthDecision {
        if state.exposure < self.min_exposure {
            return HealthDecision::Continue;
        }
        let (lower, upper) = self.bounds();
        let llr = self.llr(state);
        if llr >= upper {
            HealthDecision::Pause
        } else if llr <= lower {
            HealthDecision::Promote
        } else {
            HealthDecision::Continue
        }
    }

    /// The state after one more report of this metric (`hours` of uptime and `reading`), with
    /// the decision latched; `state` itself is not changed, so a refused report changes nothing.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidObservation`]: negative, non-finite or absurd hours, counts or values,
    /// more failures than trials, a reading of the wrong kind for this metric.
    pub fn update(
        &self,
        state: &HealthState,
        device: &str,
        hours: f64,
        reading: &Reading,
    ) -> Result<HealthState> {
        let bad = |field: &str, reason: &str| Error::InvalidObservation {
            device: truncated(device),
            field: format!("readings/{}/{field}", self.metric),
            reason: reason.to_owned(),
        };
        let (exposure, total) = match (self.baseline, *reading) {
            (Baseline::Rate { .. }, Reading::Events(n)) => {
                check_hours(device, hours)?;
                if n > MAX_REPORT_COUNT {
                    return Err(bad("events", "more than 1e9 events in one report"));
                }
                (hours, n as f64)
            }
            (Baseline::Proportion { .. }, Reading::Trials { failures, trials }) => {
                if trials > MAX_REPORT_COUNT {
                    return Err(bad("trials", "more than 1e9 trials in one report"));
                }
                if failures > trials {
                    return Err(bad("failures", "more failures than trials"));
                }
                (trials as f64, failures as f64)
            }
            (Baseline::Mean { .. }, Reading::Value(v)) => {
                if !finite_in(v, -MAX_VALUE, MAX_VALUE) {
                    return Err(bad("value", "need a finite value within +-1e12"));
                }
                (1.0, v)
            }
            _ => return Err(bad("kind", "reading of the wrong kind for this metric")),
        };
        let mut next = HealthState {
            exposure: state.exposure + exposure,
            total: state.total + total,
            reports: state.reports.saturating_add(1),
            decision: state.decision,
        };
        if !(next.exposure.is_finite() && next.total.is_finite()) {
            return Err(bad("exposure", "accumulated exposure out of range"));
        }
        if next.decision == HealthDecision::Continue {
            next.decision = self.decide(&next);
        }
        Ok(next)
    }

    /// The statistic at `state`, for a verdict or a dashboard.
    pub fn status(&self, state: &HealthState) -> HealthStatus {
        let (lower, upper) = self.bounds();
        let observed = if state.exposure > 0.0 {
            state.total / state.exposure
        } else {
            0.0
        };
        HealthStatus {
            metric: self.metric.clone(),
            decision: state.decision,
            exposure: state.exposure,
            min_exposure: self.min_exposure,
            reports: state.reports,
            observed,
            baseline: self.baseline_level(),
            llr: self.llr(state),
            lower,
            upper,
        }
    }
}

fn truncated(device: &str) -> String {
    device.chars().take(64).collect()
}

fn check_hours(device: &str, hours: f64) -> Result<()> {
    if finite_in(hours, 0.0, MAX_REPORT_HOURS) {
        Ok(())
    } else {
        Err(Error::InvalidObservation {
            device: truncated(device),
            field: "hours".to_owned(),
            reason: format!("need 0 <= hours <= {MAX_REPORT_HOURS}, got {hours}"),
        })
    }
}

/// Checks `checks` as a set (each valid, names unique, at most [`MAX_HEALTH_CHECKS`]).
pub(crate) fn validate_checks(checks: &[HealthCheck], field: &str) -> Result<()> {
    if checks.len() > MAX_HEALTH_CHECKS {
        return Err(Error::plan(field, "more than 16 health checks"));
    }
    for (i, c) in checks.iter().enumerate() {
        c.validate(&format!("{field}/{i}"))?;
        if checks[..i].iter().any(|d| d.metric == c.metric) {
            return Err(Error::plan(
                format!("{field}/{i}/metric"),
                "the same metric twice",
            ));
        }
    }
    Ok(())
}

/// The states of `checks` after `obs`, computed in full before anything is stored: `None` for
/// a check the observation does not mention.
///
/// # Errors
///
/// [`Error::InvalidObservation`] for bad hours, a bad reading, or a reading of a metric no
/// check watches.
pub(crate) fn apply_observation(
    checks: &[HealthCheck],
    states: &[HealthState],
    obs: &Observation,
) -> Result<Vec<HealthState>> {
    if obs.device.len() > MAX_NAME {
        return Err(Error::InvalidObservation {
            device: truncated(&obs.device),
            field: "device".to_owned(),
            reason: "device id longer than 256 bytes".to_owned(),
        });
    }
    check_hours(&obs.device, obs.hours)?;
    if let Some(name) = obs
        .readings
        .keys()
        .find(|n| !checks.iter().any(|c| &c.metric == *n))
    {
        return Err(Error::InvalidObservation {
            device: truncated(&obs.device),
            field: format!("readings/{}", truncated(name)),
            reason: "no health check watches this metric".to_owned(),
        });
    }
    checks
        .iter()
        .zip(states)
        .map(|(c, s)| match obs.readings.get(&c.metric) {
            Some(reading) => c.update(s, &obs.device, obs.hours, reading),
            None => Ok(*s),
        })
        .collect()
}

/// Checks persisted states: one per check, finite non-negative exposure, finite total.
pub(crate) fn validate_states(states: &[HealthState], checks: usize, field: &str) -> Result<()> {
    if states.len() != checks {
        return Err(Error::plan(
            field,
            "one health state per health check needed",
        ));
    }
    if states
        .iter()
        .any(|s| !(finite_in(s.exposure, 0.0, f64::MAX) && s.total.is_finite()))
    {
        return Err(Error::plan(field, "health state out of range"));
    }
    Ok(())
}
