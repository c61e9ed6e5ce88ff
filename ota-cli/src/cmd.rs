//! The commands. Each area is a module; each holds no logic a library user would also need (that
//! lives in the crates), only reading files, calling a crate and printing.

mod delta;
mod keys;
mod manifest;
mod rollout;
mod root;
mod sign;
mod twin;

use crate::fail::CmdResult;
use crate::out::Out;
use clap::Subcommand;

/// Every `ota` command.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Ed25519 keys: generate (PKCS#8 PEM, openssl-compatible), print a key id.
    #[command(subcommand)]
    Key(keys::KeyCmd),
    /// Trust roots: build from JSON, sign, check a rotation chain, show.
    #[command(subcommand)]
    Root(root::RootCmd),
    /// Release manifests: build canonical CBOR from JSON (filling digests from images), show.
    #[command(subcommand)]
    Manifest(manifest::ManifestCmd),
    /// The install decision for one device: the plan, or the rule that refuses.
    Plan(manifest::PlanArgs),
    /// Signs a file's exact bytes into a COSE envelope.
    Sign(sign::SignArgs),
    /// Verifies a COSE envelope against a trust root (threshold, expiry, anti-rollback).
    Verify(sign::VerifyArgs),
    /// Binary deltas: make, apply (streamed, verified, resumable), inspect.
    #[command(subcommand)]
    Delta(delta::DeltaCmd),
    /// Fleet rollouts: ring assignment of a device list, gate simulation.
    #[command(subcommand)]
    Rollout(rollout::RolloutCmd),
    /// Device twins: delta between desired and reported, diffs as JSON Patch or Merge Patch, apply.
    #[command(subcommand)]
    Twin(twin::TwinCmd),
}

/// Runs one command.
pub fn run(command: Command, out: &Out) -> CmdResult {
    match command {
        Command::Key(c) => keys::run(c, out),
        Command::Root(c) => root::run(c, out),
        Command::Manifest(c) => manifest::run(c, out),
        Command::Plan(a) => manifest::plan(&a, out),
        Command::Sign(a) => sign::sign(&a, out),
        Command::Verify(a) => sign::verify(&a, out),
        Command::Delta(c) => delta::run(c, out),
        Command::Rollout(c) => rollout::run(c, out),
        Command::Twin(c) => twin::run(c, out),
    }
}
