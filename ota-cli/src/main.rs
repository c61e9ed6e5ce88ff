//! The `ota` command: a thin layer over the ota crates for release engineers and CI pipelines.
//!
//! Exit codes: 0 success, 1 a verification failure or refusal (the expected kind of "no"),
//! 2 bad usage or unreadable input.

mod cmd;
mod fail;
mod files;
mod out;

use clap::Parser;
use std::process::ExitCode;

/// Make keys and trust roots, build and sign manifests, verify, plan, make and apply deltas, and
/// work with device twins and rollouts.
#[derive(Debug, Parser)]
#[command(name = "ota", version, about, long_about = None)]
#[command(
    after_help = "Exit codes: 0 success, 1 verification failure or refusal, 2 bad usage or unreadable input."
)]
struct Cli {
    /// Print machine-readable JSON on stdout instead of text.
    #[arg(long, global = true)]
    json: bool,

    #[command(subcommand)]
    command: cmd::Command,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let out = out::Out::new(cli.json);
    match cmd::run(cli.command, &out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(fail) => {
            out.fail(&fail);
            fail.exit_code()
        }
    }
}
