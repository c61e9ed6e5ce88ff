#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

/// COSE algorithm identifier for EdDSA (RFC 9053 §2.2).
pub const COSE_ALG_EDDSA: i64 = -8;
