#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod cbor;
mod diff;
mod document;
mod error;
mod limits;
mod merge;
mod metadata;
mod patch;
mod pointer;
mod restore;
mod size;
mod twin;
mod update;

/// The JSON value type of the whole API, re-exported so users need no second dependency line.
pub use serde_json;

pub use cbor::{CBOR_MAX_DEPTH, decode_value, encode_value};
pub use diff::diff;
pub use error::{Error, Limit, PatchFailure, Result};
pub use limits::{KeyRules, Limits};
pub use merge::{MergeOrJson, apply_merge_patch, diff_merge_or_json, diff_merge_patch};
pub use metadata::Metadata;
pub use patch::{Operation, Patch, apply_patch, apply_patch_limited, json_equal};
pub use pointer::Pointer;
pub use restore::Restore;
pub use twin::{Accepted, Twin, delta};
pub use update::{SectionUpdate, Update};

/// The deepest nesting AWS IoT Device Shadow accepts in `desired` or `reported`.
pub const AWS_MAX_DEPTH: usize = 6;
