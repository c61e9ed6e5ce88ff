//! Runnable examples of the ota crate family.
//!
//! The examples live in `examples/examples/`; run one with
//! `cargo run --release --example NAME`. Code shared between them lives here.
