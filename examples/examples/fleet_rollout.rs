//! The flagship demo: a simulated fleet of 20,000 devices receives three releases.
//!
//! ```text
//! cargo run --release --example fleet_rollout [-- --devices N --seed S --svg PATH]
//! ```
//!
//! The simulation lives in the `ota_examples` library (`examples/src/`), one module per
//! concept; this file parses the options, runs it, prints the report and writes the chart.

use std::process::ExitCode;

use ota_examples::{args, demo, report};

fn main() -> ExitCode {
    let opts = match args::parse(std::env::args().skip(1)) {
        Ok(Some(o)) => o,
        Ok(None) => {
            println!("{}", args::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("error: {e}\n{}", args::USAGE);
            return ExitCode::from(2);
        }
    };
    let report = match demo::run(&opts) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let path = opts.svg.clone().unwrap_or_else(report::default_svg_path);
    let shown = match std::fs::write(&path, &report.svg) {
        Ok(()) => path.display().to_string(),
        Err(e) => format!("not written ({}: {e})", path.display()),
    };
    print!("{}", report::render_text(&report, &shown));
    ExitCode::SUCCESS
}
