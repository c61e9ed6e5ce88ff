//! Health checks watched together outside a rollout.

use serde::{Deserialize, Serialize};

use super::{
    HealthCheck, HealthDecision, HealthState, HealthStatus, Observation, apply_observation,
    validate_checks, validate_states,
};
use crate::error::{Error, Result};

/// Several health checks watched together outside a rollout: feed it observations, read one
/// decision. Memory is a few numbers per check, whatever the number of reports.
///
/// Deserialising validates the checks and the number of states, so a corrupted record is an
/// error, never a wrong answer later.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "MonitorRecord")]
pub struct HealthMonitor {
    checks: Vec<HealthCheck>,
    states: Vec<HealthState>,
}

/// The unchecked shape of a persisted [`HealthMonitor`].
#[derive(Deserialize)]
struct MonitorRecord {
    checks: Vec<HealthCheck>,
    states: Vec<HealthState>,
}

impl TryFrom<MonitorRecord> for HealthMonitor {
    type Error = Error;

    fn try_from(r: MonitorRecord) -> Result<HealthMonitor> {
        validate_checks(&r.checks, "/checks")?;
        validate_states(&r.states, r.checks.len(), "/states")?;
        Ok(HealthMonitor {
            checks: r.checks,
            states: r.states,
        })
    }
}

impl HealthMonitor {
    /// A monitor of `checks`, nothing observed yet.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPlan`] for an invalid check, a metric named twice, more than
    /// [`MAX_HEALTH_CHECKS`](crate::MAX_HEALTH_CHECKS) checks.
    pub fn new(checks: Vec<HealthCheck>) -> Result<Self> {
        validate_checks(&checks, "/health")?;
        let states = vec![HealthState::default(); checks.len()];
        Ok(HealthMonitor { checks, states })
    }

    /// Takes one report and returns the combined decision: `Pause` once any check found a
    /// regression, `Promote` once every check found none, `Continue` otherwise. Decisions are
    /// latched, so the combined one moves at most once away from `Continue`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidObservation`]; the monitor is then unchanged.
    pub fn observe(&mut self, obs: &Observation) -> Result<HealthDecision> {
        self.states = apply_observation(&self.checks, &self.states, obs)?;
        Ok(self.decision())
    }

    /// The combined decision so far.
    pub fn decision(&self) -> HealthDecision {
        combined(&self.states)
    }

    /// Each check's statistic.
    pub fn statuses(&self) -> Vec<HealthStatus> {
        self.checks
            .iter()
            .zip(&self.states)
            .map(|(c, s)| c.status(s))
            .collect()
    }

    /// The checks.
    pub fn checks(&self) -> &[HealthCheck] {
        &self.checks
    }

    /// Each check's accumulated state.
    pub fn states(&self) -> &[HealthState] {
        &self.states
    }
}

/// `Pause` if any state paused, `Promote` if all promoted (an empty set promotes), else
/// `Continue`.
pub(crate) fn combined(states: &[HealthState]) -> HealthDecision {
    if states.iter().any(|s| s.decision == HealthDecision::Pause) {
        HealthDecision::Pause
    } else if states.iter().all(|s| s.decision == HealthDecision::Promote) {
        HealthDecision::Promote
    } else {
        HealthDecision::Continue
    }
}
