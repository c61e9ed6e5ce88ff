#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

/// The deepest nesting AWS IoT Device Shadow accepts in `desired` or `reported`.
pub const AWS_MAX_DEPTH: usize = 6;
