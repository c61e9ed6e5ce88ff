#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod convention;
mod error;
mod release;
#[cfg(feature = "tuf")]
mod repo;

pub use convention::{
    MAX_NAME_LEN, Part, TARGET_PREFIX, check_name, component_target, envelope_target, parse_target,
};
pub use error::{Error, Result};
pub use release::{Release, VerifiedRelease};
#[cfg(feature = "tuf")]
pub use repo::{Limits, Location, Repository};
