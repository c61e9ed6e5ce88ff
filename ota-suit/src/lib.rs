#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod cbor;
mod command;
mod envelope;
mod error;
mod limits;
mod manifest;
mod map;
mod schema;
mod verify;

pub use cbor::Digest;
pub use command::{Command, ComponentIndex, Condition, Parameters};
pub use envelope::{CoseSign1, Envelope};
pub use error::{Error, Result};
pub use limits::Limits;
pub use manifest::{ComponentId, Manifest, Member};
pub use map::MapOptions;
pub use schema::{
    ALG_ED25519, ALG_EDDSA, ALG_ES256, ALG_ESP256, ALG_SHA256, TAG_ENVELOPE, TAG_SIGN1,
    command_name, parameter_name,
};
pub use verify::{Algorithm, TrustAnchor, Verified, manifest_digest, verify};
