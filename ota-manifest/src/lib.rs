#![doc = include_str!("../README.md")]
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]

#[cfg(feature = "std")]
mod builder;
#[cfg(feature = "std")]
mod cbor;
#[cfg(feature = "std")]
mod check;
#[cfg(feature = "std")]
mod cra;
#[cfg(feature = "std")]
mod decode;
#[cfg(feature = "std")]
mod defer;
#[cfg(feature = "std")]
mod digest;
#[cfg(feature = "std")]
mod encode;
#[cfg(feature = "std")]
mod error;
#[cfg(feature = "std")]
mod json;
mod limits;
#[cfg(feature = "std")]
mod model;
#[cfg(feature = "std")]
mod plan;
#[cfg(feature = "std")]
mod sbom;
mod schema;
mod timing;
mod update_class;
#[cfg(feature = "std")]
mod validate;
mod view;

#[cfg(feature = "std")]
pub use cra::CveId;
#[cfg(feature = "std")]
pub use defer::Schedule;
#[cfg(feature = "std")]
pub use digest::{DeviceId, Sha256};
#[cfg(feature = "std")]
pub use error::{DecodeError, Error, Invalid, Problem, Refusal, Result, Rule};
pub use limits::{Limit, Limits};
#[cfg(feature = "std")]
pub use model::{
    Chunks, Compatibility, Component, DeltaAlgorithm, DeltaSource, Dependency, Extension,
    Extensions, Layer, Manifest,
};
#[cfg(feature = "std")]
pub use plan::{Action, DeviceState, Installed, Plan, Slot, Step};
#[cfg(feature = "std")]
pub use sbom::{Sbom, SbomFormat, SbomFormatName};
pub use schema::MAX_ID_BYTES;
/// Re-exported: versions and requirements in the model are `semver`'s.
#[cfg(feature = "std")]
pub use semver;
pub use timing::{DeferralPolicy, Due, Support, Timing, Urgency, Window};
pub use update_class::UpdateClass;
pub use view::{
    ComponentView, Components, DeltaView, Deltas, DeviceView, Ids, InstallOrder, InstalledView,
    ManifestView, ReqView, Reqs, SbomFormatView, SbomView, Texts, VersionView, ViewAction,
    ViewError, ViewErrorKind, ViewProblem, ViewRefusal, ViewRule, ViewSchedule,
};

/// The manifest format version this library writes and reads.
pub const FORMAT_VERSION: u32 = 1;
