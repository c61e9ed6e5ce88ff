//! Health gates: when a ring may be promoted, and when a rollout must stop.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::health::{HealthCheck, validate_checks};
pub use crate::verdict::{Verdict, Why};

/// The gate of one ring.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gate {
    /// Seconds the ring must have been open before it can be promoted.
    #[serde(default)]
    pub min_soak_secs: u64,
    /// Reports needed before promotion (capped at the ring's size, so a small ring cannot block).
    #[serde(default)]
    pub min_reports: u64,
    /// The decision rule over the ring's success and failure reports.
    pub rule: Rule,
    /// What a failing rule does.
    #[serde(default)]
    pub on_fail: FailAction,
    /// What an SPRT still undecided when the whole ring has reported does.
    #[serde(default)]
    pub on_inconclusive: Inconclusive,
    /// Telemetry checks against the previous release (crash rate, error proportion, latency):
    /// a regression stops the rollout as `on_regression` says, and the ring is promoted only
    /// once every check found no regression (see `GATES.md`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub health: Vec<HealthCheck>,
}

/// A decision rule over success/failure reports.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Rule {
    /// Wald's sequential probability ratio test on the failure rate.
    Sprt(Sprt),
    /// Fail when the failure percentage is above a threshold after enough executions (AWS IoT
    /// Jobs abort-config semantics). Promotes once every device of the ring has reported.
    Threshold(Threshold),
    /// Never fails by itself; once the ring has fully reported (and soaked) it pauses for a
    /// human's `Approve`.
    Manual,
}

/// Wald's SPRT of H0: p = p0 against H1: p = p1 on the failure probability p.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sprt {
    /// Acceptable (baseline) failure rate.
    pub p0: f64,
    /// Unacceptable failure rate, greater than `p0`.
    pub p1: f64,
    /// Probability of failing a release whose rate is `p0` (false abort).
    pub alpha: f64,
    /// Probability of passing a release whose rate is `p1` (missed bad release).
    pub beta: f64,
}

/// The threshold rule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    /// Fail when the failure percentage is strictly above this (0-100).
    pub max_failure_percent: f64,
    /// Only once at least this many devices have reported.
    pub min_executions: u64,
}

/// What a failing gate does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailAction {
    /// Stop the rollout for good.
    #[default]
    Abort,
    /// Stop starting devices and wait for a human.
    Pause,
}

/// What an undecided SPRT does when its ring has no more devices to hear from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Inconclusive {
    /// Wait for a human.
    #[default]
    Pause,
    /// Promote, and carry this ring's undecided evidence into the next ring's test, so the test
    /// goes on where it stopped instead of starting over (useful when canary rings are smaller
    /// than the test needs).
    Promote,
}

/// The SPRT's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SprtDecision {
    /// Neither bound reached yet.
    Continue,
    /// The lower bound was reached: the failure rate is acceptable.
    AcceptBaseline,
    /// The upper bound was reached: the failure rate is unacceptable.
    RejectBaseline,
}

/// What an SPRT gate has seen so far: the evidence, the log-likelihood ratio and Wald's two
/// bounds. Read it after each report ([`crate::Rollout::sprt_progress`]) to draw the test's
/// path up to its decision.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SprtProgress {
    /// Failures counted (this ring's plus any carried from an earlier undecided ring).
    pub failures: u64,
    /// Successes counted (likewise).
    pub successes: u64,
    /// The log-likelihood ratio of H1 (failure rate `p1`) against H0 (`p0`).
    pub llr: f64,
    /// Wald's lower bound `ln(beta/(1-alpha))`: at or below it the release is accepted.
    pub lower: f64,
    /// Wald's upper bound `ln((1-beta)/alpha)`: at or above it the release is rejected.
    pub upper: f64,
    /// The test's latched decision.
    pub decision: SprtDecision,
}

/// The counts a gate looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RingStats {
    /// Devices in the ring.
    pub size: u64,
    /// Devices started so far.
    pub started: u64,
    /// Devices that reported success.
    pub succeeded: u64,
    /// Devices that reported failure or timed out.
    pub failed: u64,
    /// SPRT evidence carried over from earlier rings whose test was still undecided when they
    /// were promoted (`on_inconclusive: promote`): failures.
    #[serde(default)]
    pub carried_failed: u64,
    /// Carried SPRT evidence: successes.
    #[serde(default)]
    pub carried_succeeded: u64,
    /// Devices that refused the release (a manifest refusal: wrong hardware, downgrade...).
    /// Neither a success nor a failure: a gate sees the ring as if these devices were not in
    /// it, and they count as reported for the ring's completion. Absent in states written
    /// before refusals existed (read as 0).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub refused: u64,
}

// serde's `skip_serializing_if` passes a reference.
#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl RingStats {
    /// Reports a gate counts: successes and failures (refusals are not among them).
    pub fn reports(&self) -> u64 {
        self.succeeded + self.failed
    }

    /// Devices that reported anything, refusals included: the ring is complete when this
    /// reaches `size`.
    pub fn resolved(&self) -> u64 {
        self.reports() + self.refused
    }

    /// The devices a gate waits for: the ring's size less the devices that refused.
    pub fn expected(&self) -> u64 {
        self.size.saturating_sub(self.refused)
    }

    /// Failures and successes the SPRT counts: this ring's plus the carried ones.
    pub fn sprt_counts(&self) -> (u64, u64) {
        (
            self.failed + self.carried_failed,
            self.succeeded + self.carried_succeeded,
        )
    }
}

/// A gate's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Keep going; nothing to decide yet.
    Continue,
    /// Open the next ring.
    Promote,
    /// Stop starting devices; a human must decide.
    Pause,
    /// Stop the rollout.
    Abort,
}

fn in_open_unit(x: f64) -> bool {
    x.is_finite() && x > 0.0 && x < 1.0
}

impl Sprt {
    /// Checks `0 < p0 < p1 < 1` and `0 < alpha, beta < 1/2`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPlan`] naming the parameter, under `field`.
    pub fn validate(&self, field: &str) -> Result<()> {
        if !in_open_unit(self.p0) || !in_open_unit(self.p1) || self.p0 >= self.p1 {
            return Err(Error::plan(format!("{field}/p0"), "need 0 < p0 < p1 < 1"));
        }
        for (name, v) in [("alpha", self.alpha), ("beta", self.beta)] {
            if !(v.is_finite() && v > 0.0 && v < 0.5) {
                return Err(Error::plan(
                    format!("{field}/{name}"),
                    "need 0 < value < 0.5",
                ));
            }
        }
        Ok(())
    }

    /// Wald's bounds `(lower, upper)` = `(ln(beta/(1-alpha)), ln((1-beta)/alpha))`.
    pub fn bounds(&self) -> (f64, f64) {
        (
            (self.beta / (1.0 - self.alpha)).ln(),
            ((1.0 - self.beta) / self.alpha).ln(),
        )
    }

    /// The log-likelihood ratio after `failures` failures and `successes` successes.
    pub fn llr(&self, failures: u64, successes: u64) -> f64 {
        failures as f64 * (self.p1 / self.p0).ln()
            + successes as f64 * ((1.0 - self.p1) / (1.0 - self.p0)).ln()
    }

    /// The test's decision at these counts, ignoring any earlier decision.
    pub fn decide(&self, failures: u64, successes: u64) -> SprtDecision {
        let (lower, upper) = self.bounds();
        let llr = self.llr(failures, successes);
        if llr >= upper {
            SprtDecision::RejectBaseline
        } else if llr <= lower {
            SprtDecision::AcceptBaseline
        } else {
            SprtDecision::Continue
        }
    }
}

impl Threshold {
    /// Whether the rule fails at these counts.
    pub fn exceeded(&self, failures: u64, reports: u64) -> bool {
        reports >= self.min_executions
            && reports > 0
            && failures as f64 * 100.0 > self.max_failure_percent * reports as f64
    }
}

fn percent(failures: u64, reports: u64) -> f64 {
    if reports == 0 {
        0.0
    } else {
        failures as f64 * 100.0 / reports as f64
    }
}

impl Gate {
    /// A gate with the given rule, no soak time and no minimum.
    pub fn new(rule: Rule) -> Self {
        Gate {
            min_soak_secs: 0,
            min_reports: 0,
            rule,
            on_fail: FailAction::Abort,
            on_inconclusive: Inconclusive::Pause,
            health: Vec::new(),
        }
    }

    /// Checks the rule's parameters.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPlan`] naming the parameter.
    pub fn validate(&self, field: &str) -> Result<()> {
        validate_checks(&self.health, &format!("{field}/health"))?;
        match &self.rule {
            Rule::Sprt(s) => s.validate(&format!("{field}/rule")),
            Rule::Threshold(t) => {
                let m = t.max_failure_percent;
                if m.is_finite() && (0.0..=100.0).contains(&m) {
                    Ok(())
                } else {
                    Err(Error::plan(
                        format!("{field}/rule/max_failure_percent"),
                        "need 0 <= value <= 100",
                    ))
                }
            }
            Rule::Manual => Ok(()),
        }
    }

    /// The SPRT's evidence, log-likelihood ratio and bounds at these counts, with the latched
    /// decision `latched`; `None` when the gate's rule is not an SPRT.
    pub fn sprt_progress(&self, stats: &RingStats, latched: SprtDecision) -> Option<SprtProgress> {
        let Rule::Sprt(sprt) = &self.rule else {
            return None;
        };
        let (lower, upper) = sprt.bounds();
        let (failures, successes) = stats.sprt_counts();
        Some(SprtProgress {
            failures,
            successes,
            llr: sprt.llr(failures, successes),
            lower,
            upper,
            decision: latched,
        })
    }

    /// Evaluates the gate.
    ///
    /// `latched` is the ring's SPRT decision so far: once the test has decided it stays decided
    /// (the caller stores the returned value). `soaked_secs` is how long the ring has been open.
    /// Failure is checked first and does not wait for soak time or minimum reports.
    /// The gate's `health` checks are not looked at here: they need telemetry state, and
    /// [`crate::Rollout`] combines them with this verdict (see [`crate::gates`]).
    pub fn evaluate(
        &self,
        stats: &RingStats,
        soaked_secs: u64,
        latched: SprtDecision,
    ) -> (Verdict, SprtDecision) {
        let reports = stats.reports();
        let verdict = |outcome, why| Verdict {
            outcome,
            why,
            reports,
            failures: stats.failed,
            soaked_secs,
        };
        let fail_outcome = match self.on_fail {
            FailAction::Abort => Outcome::Abort,
            FailAction::Pause => Outcome::Pause,
        };
        // Refused devices are out of the gate's sight: it judges the ring as if they were not
        // in it (an all-refused ring is an empty one).
        let expected = stats.expected();
        if expected == 0 {
            return (verdict(Outcome::Promote, Why::EmptyRing), latched);
        }
        let complete = reports >= expected;
        let mut decision = latched;
        // The rule's own verdict: Err(verdict) ends evaluation, Ok(()) lets promotion proceed.
        let rule_ok: core::result::Result<(), Verdict> = match &self.rule {
            Rule::Sprt(sprt) => {
                let (lower, upper) = sprt.bounds();
                let (f, s) = stats.sprt_counts();
                let llr = sprt.llr(f, s);
                if decision == SprtDecision::Continue {
                    decision = sprt.decide(f, s);
                }
                match decision {
                    SprtDecision::RejectBaseline => {
                        Err(verdict(fail_outcome, Why::SprtRejected { llr, upper }))
                    }
                    SprtDecision::AcceptBaseline => Ok(()),
                    SprtDecision::Continue if complete => {
                        let why = Why::SprtInconclusive { llr, lower, upper };
                        match self.on_inconclusive {
                            Inconclusive::Pause => Err(verdict(Outcome::Pause, why)),
                            Inconclusive::Promote => Ok(()),
                        }
                    }
                    SprtDecision::Continue => Err(verdict(
                        Outcome::Continue,
                        Why::SprtUndecided { llr, lower, upper },
                    )),
                }
            }
            Rule::Threshold(t) => {
                let failure_percent = percent(stats.failed, reports);
                if t.exceeded(stats.failed, reports) {
                    Err(verdict(
                        fail_outcome,
                        Why::ThresholdExceeded {
                            failure_percent,
                            max_failure_percent: t.max_failure_percent,
                            min_executions: t.min_executions,
                        },
                    ))
                } else if !complete {
                    Err(verdict(Outcome::Continue, Why::RingIncomplete))
                } else {
                    Ok(())
                }
            }
            Rule::Manual if !complete => Err(verdict(Outcome::Continue, Why::RingIncomplete)),
            Rule::Manual => Ok(()),
        };
        if let Err(v) = rule_ok {
            return (v, decision);
        }
        if soaked_secs < self.min_soak_secs {
            return (
                verdict(
                    Outcome::Continue,
                    Why::Soaking {
                        needed_secs: self.min_soak_secs,
                    },
                ),
                decision,
            );
        }
        let needed = self.min_reports.min(expected);
        if reports < needed {
            return (
                verdict(Outcome::Continue, Why::NotEnoughReports { needed }),
                decision,
            );
        }
        let why = match &self.rule {
            Rule::Sprt(sprt) => {
                let (lower, upper) = sprt.bounds();
                let (f, s) = stats.sprt_counts();
                let llr = sprt.llr(f, s);
                if decision == SprtDecision::AcceptBaseline {
                    Why::SprtAccepted { llr, lower }
                } else {
                    Why::SprtInconclusive { llr, lower, upper }
                }
            }
            Rule::Threshold(t) => Why::ThresholdHeld {
                failure_percent: percent(stats.failed, reports),
                max_failure_percent: t.max_failure_percent,
            },
            Rule::Manual => return (verdict(Outcome::Pause, Why::AwaitingApproval), decision),
        };
        (verdict(Outcome::Promote, why), decision)
    }
}
