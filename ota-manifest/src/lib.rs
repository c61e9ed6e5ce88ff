#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

/// The manifest format version this library writes and reads.
pub const FORMAT_VERSION: u32 = 1;
