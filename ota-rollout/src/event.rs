//! What goes into the rollout state machine (events, reports) and what comes out (decisions,
//! status).

use serde::{Deserialize, Serialize};

use crate::gate::Verdict;

/// What a device reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Report {
    /// Installed and healthy.
    Succeeded,
    /// Install or health check failed.
    Failed,
    /// Did not report in time (counted as a failure).
    TimedOut,
    /// Refused the release before installing it (a manifest refusal: wrong hardware,
    /// downgrade...). Neither a success nor a failure: no gate counts it, but the device counts
    /// as reported for its ring's completion. Final for this rollout, like any report.
    Refused,
}

/// An input to [`Rollout::handle`](crate::Rollout::handle).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event {
    /// Time passed.
    Tick,
    /// Device `index` of `ring` reported.
    Report {
        /// Ring index.
        ring: usize,
        /// Device index within the ring (start order).
        index: u64,
        /// What it reported.
        outcome: Report,
    },
    /// A human promotes the active ring now (also ends a pause).
    Approve,
    /// A human ends a pause without promoting.
    Resume,
    /// A human pauses the rollout.
    Pause {
        /// Why.
        note: String,
    },
    /// A human aborts the rollout.
    Abort {
        /// Why.
        note: String,
    },
}

/// An output of [`Rollout::handle`](crate::Rollout::handle).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Decision {
    /// Offer the release to devices `first..first + count` of `ring`.
    Start {
        /// Ring index.
        ring: usize,
        /// First device index.
        first: u64,
        /// How many.
        count: u64,
    },
    /// Ring `to` is open.
    Promote {
        /// The ring whose gate passed.
        from: usize,
        /// The ring opened.
        to: usize,
        /// Why.
        verdict: Verdict,
    },
    /// No more devices start until a human acts.
    Pause {
        /// The ring concerned.
        ring: usize,
        /// Why.
        verdict: Verdict,
    },
    /// The rollout is stopped for good.
    Abort {
        /// The ring concerned.
        ring: usize,
        /// Why.
        verdict: Verdict,
    },
    /// Every device reported; the rollout is done.
    Complete,
}

/// Where the rollout stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Starting devices and watching gates.
    Running,
    /// Waiting for a human.
    Paused {
        /// The ring concerned.
        ring: usize,
        /// Why.
        verdict: Verdict,
    },
    /// Stopped for good.
    Aborted {
        /// The ring concerned.
        ring: usize,
        /// Why.
        verdict: Verdict,
    },
    /// Done.
    Completed,
}

impl Status {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Status::Running => "running",
            Status::Paused { .. } => "paused",
            Status::Aborted { .. } => "aborted",
            Status::Completed => "completed",
        }
    }
}
