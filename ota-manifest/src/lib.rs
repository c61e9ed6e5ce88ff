#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod builder;
mod cbor;
mod check;
mod cra;
mod decode;
mod defer;
mod digest;
mod encode;
mod error;
mod json;
mod limits;
mod model;
mod plan;
mod sbom;
mod schema;
mod validate;

pub use cra::{CveId, UpdateClass};
pub use defer::{DeferralPolicy, Due, Schedule, Support, Timing, Urgency, Window};
pub use digest::{DeviceId, MAX_ID_BYTES, Sha256};
pub use error::{DecodeError, Error, Invalid, Limit, Problem, Refusal, Result, Rule};
pub use limits::Limits;
pub use model::{
    Chunks, Compatibility, Component, DeltaAlgorithm, DeltaSource, Dependency, Extension,
    Extensions, Layer, Manifest,
};
pub use plan::{Action, DeviceState, Installed, Plan, Slot, Step};
pub use sbom::{Sbom, SbomFormat, SbomFormatName};
/// Re-exported: versions and requirements in the model are `semver`'s.
pub use semver;

/// The manifest format version this library writes and reads.
pub const FORMAT_VERSION: u32 = 1;
