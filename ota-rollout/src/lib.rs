#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod assign;
mod class;
mod error;
mod event;
mod gate;
mod health;
mod limits;
mod plan;
mod position;
mod rate;
mod ring_state;
mod rollout;
mod selector;
mod verdict;
mod window;

#[cfg(feature = "sim")]
pub mod sim;

#[doc = include_str!("../STATES.md")]
pub mod states {}

#[doc = include_str!("../GATES.md")]
pub mod gates {
    // Only for the intra-doc links of GATES.md.
    #[allow(unused_imports)]
    use crate::{
        Baseline, Error, HealthCheck, HealthDecision, HealthMonitor, HealthState, HealthStatus,
        Observation, Reading, Rollout, Why,
    };
}

pub use assign::{Assigner, Assignment, FleetAssignment};
pub use class::{PlanSet, ReleaseClass};
pub use error::{Error, Result};
pub use event::{Decision, Event, Report, Status};
pub use gate::{
    FailAction, Gate, Inconclusive, Outcome, RingStats, Rule, Sprt, SprtDecision, SprtProgress,
    Threshold, Verdict, Why,
};
pub use health::{
    Baseline, HealthCheck, HealthDecision, HealthMonitor, HealthState, HealthStatus,
    MAX_HEALTH_CHECKS, MAX_NAME, MAX_REPORT_COUNT, MAX_REPORT_HOURS, MAX_VALUE, Observation,
    Reading,
};
pub use limits::Limits;
pub use plan::{Device, Plan, Ring};
pub use position::{position_hash, salt_seed};
pub use rate::{Exponential, RateIncreaseCriteria, RateLimit};
pub use ring_state::RingState;
pub use rollout::Rollout;
pub use selector::{Attributes, Ineligible, Mismatch, Selector};
pub use window::{Blocker, DeviceContext, InstallPolicy, MayStart, Weekday, Window};

/// The default ring **shares** (each ring's own part of the eligible fleet, not cumulative):
/// a 1% canary ring, a 10% early ring, and the remaining 89%.
pub const DEFAULT_RING_SHARES: [f64; 3] = [0.01, 0.10, 0.89];
