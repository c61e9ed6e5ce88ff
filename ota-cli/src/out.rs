//! Output: text for people, JSON with `--json`; errors on stderr (and as JSON on stdout with
//! `--json`, so a pipeline reads one document either way).

use crate::fail::Fail;
use std::io::IsTerminal;

/// Where and how results are printed.
#[derive(Debug, Clone, Copy)]
pub struct Out {
    json: bool,
}

impl Out {
    /// Text output, or JSON when `json` is true.
    pub fn new(json: bool) -> Out {
        Out { json }
    }

    /// Whether `--json` was given (for commands that stream their output themselves).
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// Prints a result: `text` for people, or `value` as one line of JSON.
    pub fn result(&self, text: impl FnOnce() -> String, value: impl FnOnce() -> serde_json::Value) {
        if self.json {
            println!("{}", value());
        } else {
            let t = text();
            if t.ends_with('\n') {
                print!("{t}");
            } else {
                println!("{t}");
            }
        }
    }

    /// Reports a failure.
    pub fn fail(&self, fail: &Fail) {
        if self.json {
            println!(
                "{}",
                serde_json::json!({"ok": false, "error": fail.kind(), "message": fail.message()})
            );
        }
        eprintln!("ota: {}", fail.message());
    }

    /// A spinner for long work of unknown length (diffing), shown only when stderr is a terminal
    /// and `--json` was not given.
    pub fn spinner(&self, what: &str) -> indicatif::ProgressBar {
        if self.json || !std::io::stderr().is_terminal() {
            return indicatif::ProgressBar::hidden();
        }
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_message(what.to_string());
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bar
    }

    /// A progress bar for `total` units of long work, shown only when stderr is a terminal and
    /// `--json` was not given.
    pub fn progress(&self, total: u64, what: &str) -> indicatif::ProgressBar {
        if self.json || !std::io::stderr().is_terminal() {
            return indicatif::ProgressBar::hidden();
        }
        let bar = indicatif::ProgressBar::new(total);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{msg} [{bar:40}] {bytes}/{total_bytes} ({eta})",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(what.to_string());
        bar
    }
}
