#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod assign;
mod error;
mod gate;
mod plan;
pub mod position;
mod rate;
mod rollout;
pub mod selector;
pub mod sim;
pub mod window;

#[doc = include_str!("../STATES.md")]
pub mod states {}

pub use assign::{Assigner, Assignment, FleetAssignment};
pub use error::{Error, Result};
pub use gate::{
    FailAction, Gate, Inconclusive, Outcome, RingStats, Rule, Sprt, SprtDecision, Threshold,
    Verdict, Why,
};
pub use plan::{Device, Plan, Ring};
pub use rate::{Exponential, RateIncreaseCriteria, RateLimit};
pub use rollout::{Decision, Event, Report, RingState, Rollout, Status};
pub use selector::{Attributes, Ineligible, Limits, Mismatch, Selector};
pub use window::{Blocker, DeviceContext, InstallPolicy, MayStart, Weekday, Window};

/// The default cumulative ring fractions: a 1% canary ring, then 10%, then everyone.
pub const DEFAULT_RING_FRACTIONS: [f64; 3] = [0.01, 0.10, 1.0];
