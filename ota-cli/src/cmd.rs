//! The commands. Each area is a module; each holds no logic a library user would also need (that
//! lives in the crates), only reading files, calling a crate and printing.

mod delta;
mod twin;

use crate::fail::CmdResult;
use crate::out::Out;
use clap::Subcommand;

/// Every `ota` command.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Binary deltas: make, apply (streamed, verified, resumable), inspect.
    #[command(subcommand)]
    Delta(delta::DeltaCmd),
    /// Device twins: delta between desired and reported, diffs as JSON Patch or Merge Patch, apply.
    #[command(subcommand)]
    Twin(twin::TwinCmd),
}

/// Runs one command.
pub fn run(command: Command, out: &Out) -> CmdResult {
    match command {
        Command::Delta(c) => delta::run(c, out),
        Command::Twin(c) => twin::run(c, out),
    }
}
