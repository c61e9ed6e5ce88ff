//! Runnable examples of the ota crate family, and the simulation behind the flagship demo.
//!
//! The examples live in `examples/examples/`; run one with
//! `cargo run --release --example NAME`. The fleet simulation lives here, one module per
//! concept, so that the demo's test runs the same code at a smaller size:
//!
//! - [`rng`], [`clock`]: deterministic randomness and a simulated clock;
//! - [`images`], [`catalog`]: generated firmware, app and model images;
//! - [`fleet`]: the devices;
//! - [`release`]: the vendor side (keys, trust root, manifests, deltas, signatures);
//! - [`agent`]: the device side: each device runs an `ota_agent::Agent` on simulated media;
//!   this module simulates the CDN, the link, the board and its sensor around it;
//! - [`scenario`]: one rollout driven by ota-rollout's state machine, [`tally`] what it found;
//! - [`demo`]: the story: the three scenarios (`wrong_hardware`, `bad_release`,
//!   `good_release`), then [`replacement`], a device replaced in the field;
//! - [`report`] (the terminal report), [`chart`] (what the chart shows), [`table`] and [`svg`]
//!   (how they are drawn), [`args`]: output and options.

pub mod agent;
pub mod args;
pub mod catalog;
pub mod chart;
pub mod clock;
pub mod demo;
pub mod fleet;
pub mod images;
pub mod release;
pub mod replacement;
pub mod report;
pub mod rng;
pub mod scenario;
pub mod svg;
pub mod table;
pub mod tally;
