#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

/// The default cumulative ring fractions: a 1% canary ring, then 10%, then everyone.
pub const DEFAULT_RING_FRACTIONS: [f64; 3] = [0.01, 0.10, 1.0];
