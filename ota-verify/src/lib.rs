#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

#[cfg(feature = "batch")]
mod batch;
mod cbor;
mod cose;
mod digest;
mod error;
mod key;
mod root;

#[cfg(feature = "batch")]
pub use batch::{BatchItem, verify_batch};
pub use cose::{
    CONTENT_TYPE_TRUST_ROOT, COSE_ALG_ED25519, COSE_ALG_EDDSA, ContentType, Envelope, Headers,
    Kind, LABEL_ALG, LABEL_CONTENT_TYPE, LABEL_CRIT, LABEL_EXPIRES, LABEL_KID, LABEL_SEQUENCE,
    MAX_HEADER_LABELS, MAX_SIGNATURES, SignatureEntry, TAG_SIGN, TAG_SIGN1,
};
#[cfg(feature = "alloc")]
pub use cose::{SignOptions, sign, sign1};
#[cfg(feature = "alloc")]
pub use digest::chunk_table;
pub use digest::{ChunkVerifier, DigestVerifier, ImageRef, Sha256};
#[cfg(feature = "std")]
pub use digest::{HashingReader, HashingWriter};
pub use error::{Error, Result};
pub use key::{KeyId, PublicKey, SIGNATURE_LEN, SecretKey, Signer};
pub use root::{
    MAX_KEYS, MAX_ROLES, Policy, Role, RoleKeys, TRUST_ROOT_TYPE, TrustRoot, TrustRootBuilder,
    Verified,
};
