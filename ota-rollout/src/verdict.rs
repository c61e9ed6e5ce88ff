//! A gate's decision explained: why it decided, with the numbers behind it, and how it reads.

use serde::{Deserialize, Serialize};

use crate::gate::Outcome;
use crate::health::HealthStatus;

/// Why a gate decided what it did, with the numbers behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Why {
    /// The SPRT's log-likelihood ratio reached the upper bound.
    SprtRejected {
        /// Log-likelihood ratio.
        llr: f64,
        /// Wald's upper bound `ln((1-beta)/alpha)`.
        upper: f64,
    },
    /// The SPRT's log-likelihood ratio reached the lower bound.
    SprtAccepted {
        /// Log-likelihood ratio.
        llr: f64,
        /// Wald's lower bound `ln(beta/(1-alpha))`.
        lower: f64,
    },
    /// The SPRT has not decided yet.
    SprtUndecided {
        /// Log-likelihood ratio.
        llr: f64,
        /// Lower bound.
        lower: f64,
        /// Upper bound.
        upper: f64,
    },
    /// Every device of the ring reported and the SPRT is still undecided.
    SprtInconclusive {
        /// Log-likelihood ratio.
        llr: f64,
        /// Lower bound.
        lower: f64,
        /// Upper bound.
        upper: f64,
    },
    /// The failure percentage is above the threshold.
    ThresholdExceeded {
        /// Observed failure percentage.
        failure_percent: f64,
        /// The threshold.
        max_failure_percent: f64,
        /// Executions required before the rule applies.
        min_executions: u64,
    },
    /// The failure percentage is within the threshold (or too few executions to judge).
    ThresholdHeld {
        /// Observed failure percentage.
        failure_percent: f64,
        /// The threshold.
        max_failure_percent: f64,
    },
    /// The ring has not finished reporting (threshold rule promotes only a complete ring).
    RingIncomplete,
    /// Fewer reports than the gate's minimum.
    NotEnoughReports {
        /// Reports needed (after capping at the ring size).
        needed: u64,
    },
    /// The ring has not soaked long enough.
    Soaking {
        /// Seconds needed.
        needed_secs: u64,
    },
    /// The manual rule waits for a human.
    AwaitingApproval,
    /// The ring has no devices.
    EmptyRing,
    /// A health check found a regression against its baseline.
    HealthRegressed {
        /// The check's statistic when it decided (metric, observed and baseline levels,
        /// exposure, log-likelihood ratio and bounds).
        status: HealthStatus,
        /// The device whose report tipped the test, when known.
        device: Option<String>,
    },
    /// A human decided.
    Operator {
        /// What the human said.
        note: String,
    },
}

/// A gate's decision with its reason and numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The decision.
    pub outcome: Outcome,
    /// Why.
    pub why: Why,
    /// Reports counted (successes + failures).
    pub reports: u64,
    /// Failures counted (including time-outs).
    pub failures: u64,
    /// Seconds the ring has been open.
    pub soaked_secs: u64,
}

impl core::fmt::Display for Verdict {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{:?}: {}/{} failed after {} s: ",
            self.outcome, self.failures, self.reports, self.soaked_secs
        )?;
        match &self.why {
            Why::SprtRejected { llr, upper } => {
                write!(
                    f,
                    "SPRT log-likelihood ratio {llr:.3} >= upper bound {upper:.3}"
                )
            }
            Why::SprtAccepted { llr, lower } => {
                write!(
                    f,
                    "SPRT log-likelihood ratio {llr:.3} <= lower bound {lower:.3}"
                )
            }
            Why::SprtUndecided { llr, lower, upper } => {
                write!(f, "SPRT undecided: {lower:.3} < {llr:.3} < {upper:.3}")
            }
            Why::SprtInconclusive { llr, lower, upper } => write!(
                f,
                "ring fully reported, SPRT still undecided: {lower:.3} < {llr:.3} < {upper:.3}"
            ),
            Why::ThresholdExceeded {
                failure_percent,
                max_failure_percent,
                min_executions,
            } => write!(
                f,
                "failure rate {failure_percent:.2}% > {max_failure_percent}% after >= {min_executions} executions"
            ),
            Why::ThresholdHeld {
                failure_percent,
                max_failure_percent,
            } => write!(
                f,
                "failure rate {failure_percent:.2}% within {max_failure_percent}%"
            ),
            Why::RingIncomplete => write!(f, "ring not fully reported"),
            Why::NotEnoughReports { needed } => write!(f, "{needed} reports needed"),
            Why::Soaking { needed_secs } => write!(f, "soak time {needed_secs} s not reached"),
            Why::AwaitingApproval => write!(f, "waiting for a human to approve"),
            Why::EmptyRing => write!(f, "ring is empty"),
            Why::HealthRegressed { status, device } => {
                write!(f, "health check {status}")?;
                match device {
                    Some(d) => write!(f, " (tipped by device {d:?})"),
                    None => Ok(()),
                }
            }
            Why::Operator { note } => write!(f, "operator: {note}"),
        }
    }
}
