#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

/// The first eight bytes of every native patch.
pub const MAGIC: [u8; 8] = *b"OTADELTA";
