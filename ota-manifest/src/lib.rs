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
mod decode;
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
mod schema;
#[cfg(feature = "std")]
mod validate;
mod view;

#[cfg(feature = "std")]
pub use digest::{DeviceId, Sha256};
#[cfg(feature = "std")]
pub use error::{DecodeError, Error, Invalid, Problem, Refusal, Result, Rule};
pub use limits::{Limit, Limits};
#[cfg(feature = "std")]
pub use model::{
    Chunks, Compatibility, Component, DeltaAlgorithm, DeltaSource, Dependency, Extension,
    Extensions, Layer, Manifest, Sbom, SbomFormat,
};
#[cfg(feature = "std")]
pub use plan::{Action, DeviceState, Installed, Plan, Slot, Step};
pub use schema::MAX_ID_BYTES;
/// Re-exported: versions and requirements in the model are `semver`'s.
#[cfg(feature = "std")]
pub use semver;
pub use view::{
    ComponentView, Components, DeltaView, Deltas, DeviceView, Ids, InstallOrder, InstalledView,
    ManifestView, ReqView, Reqs, Texts, VersionView, ViewAction, ViewError, ViewErrorKind,
    ViewProblem, ViewRefusal, ViewRule,
};

/// The manifest format version this library writes and reads.
pub const FORMAT_VERSION: u32 = 1;
