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
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    let out = out::Out::new(cli.json);
    let result = cmd::run(cli.command, &out);
    out.flush();
    let code = match &result {
        Ok(()) => ExitCode::SUCCESS,
        Err(fail) => {
            out.fail(fail);
            fail.exit_code()
        }
    };
    out.flush();
    match out.take_stdout_error() {
        // The reader went away (`ota ... | head -c1`): a normal end, not a failure of the
        // command. The exit status is the command's own.
        Some(e) if e.kind() == std::io::ErrorKind::BrokenPipe => code,
        Some(e) => {
            out.note(format!("cannot write the output: {e}"));
            match result {
                Ok(()) => ExitCode::from(2),
                Err(_) => code,
            }
        }
        None => code,
    }
}

/// Help and version requests (exit 0), and usage errors (exit 2). With `--json` a usage error is
/// also printed on stdout as `{"ok": false, "error": "input", "message": ...}`, like every other
/// failure, so a pipeline reads one JSON document either way. `--json` is looked for in the raw
/// arguments because the parse failed.
fn usage_error(e: &clap::Error) -> ExitCode {
    if !e.use_stderr() {
        // --help or --version: the requested text on stdout (a closed stdout ends quietly).
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    let json = std::env::args_os()
        .skip(1)
        .take_while(|a| a != "--")
        .any(|a| a == "--json");
    let out = out::Out::new(json);
    if json {
        let rendered = e.render().to_string();
        let message = rendered.lines().next().unwrap_or_default();
        let message = message.strip_prefix("error: ").unwrap_or(message);
        let doc = serde_json::json!({"ok": false, "error": "input", "message": message});
        out.print(&format!("{doc}\n"));
        out.flush();
    }
    let _ = e.print();
    ExitCode::from(2)
}
