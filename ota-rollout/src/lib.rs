#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod assign;
mod class;
mod error;
mod event;
mod gate;
mod limits;
mod plan;
mod position;
mod rate;
mod rollout;
mod selector;
mod window;

#[cfg(feature = "sim")]
pub mod sim;

#[doc = include_str!("../STATES.md")]
pub mod states {}

pub use assign::{Assigner, Assignment, FleetAssignment};
pub use class::{PlanSet, ReleaseClass};
pub use error::{Error, Result};
pub use event::{Decision, Event, Report, Status};
pub use gate::{
    FailAction, Gate, Inconclusive, Outcome, RingStats, Rule, Sprt, SprtDecision, SprtProgress,
    Threshold, Verdict, Why,
};
pub use limits::Limits;
pub use plan::{Device, Plan, Ring};
pub use position::{position_hash, salt_seed};
pub use rate::{Exponential, RateIncreaseCriteria, RateLimit};
pub use rollout::{RingState, Rollout};
pub use selector::{Attributes, Ineligible, Mismatch, Selector};
pub use window::{Blocker, DeviceContext, InstallPolicy, MayStart, Weekday, Window};

/// The default ring **shares** (each ring's own part of the eligible fleet, not cumulative):
/// a 1% canary ring, a 10% early ring, and the remaining 89%.
pub const DEFAULT_RING_SHARES: [f64; 3] = [0.01, 0.10, 0.89];
