//! Output: text for people, JSON with `--json`; errors on stderr (and as JSON on stdout with
//! `--json`, so a pipeline reads one document either way).
//!
//! Nothing here panics on a failed write. A reader that goes away (`ota ... | head -c1`) is a
//! normal end: the first failed write to stdout is recorded, nothing more is written, and `main`
//! exits with the command's own status (see [`Out::take_stdout_error`]). Notes on stderr are best
//! effort.

use crate::fail::Fail;
use std::cell::RefCell;
use std::io::{IsTerminal, Write};

/// Where and how results are printed.
#[derive(Debug)]
pub struct Out {
    json: bool,
    /// The first error writing to stdout; once set, nothing more is written there.
    stdout_error: RefCell<Option<std::io::Error>>,
}

impl Out {
    /// Text output, or JSON when `json` is true.
    pub fn new(json: bool) -> Out {
        Out {
            json,
            stdout_error: RefCell::new(None),
        }
    }

    /// Writes `text` to stdout as it is, unless an earlier write failed; a failure is recorded
    /// for `main`, never a panic.
    pub fn print(&self, text: &str) {
        if self.stdout_failed() {
            return;
        }
        if let Err(e) = std::io::stdout().lock().write_all(text.as_bytes()) {
            *self.stdout_error.borrow_mut() = Some(e);
        }
    }

    /// Flushes stdout (recording a failure like [`Out::print`]).
    pub fn flush(&self) {
        if self.stdout_failed() {
            return;
        }
        if let Err(e) = std::io::stdout().lock().flush() {
            *self.stdout_error.borrow_mut() = Some(e);
        }
    }

    /// True once a write to stdout failed (the reader went away): a command producing long
    /// output may stop early.
    pub fn stdout_failed(&self) -> bool {
        self.stdout_error.borrow().is_some()
    }

    /// The first error writing to stdout, if any (`BrokenPipe` when the reader went away).
    pub fn take_stdout_error(&self) -> Option<std::io::Error> {
        self.stdout_error.borrow_mut().take()
    }

    /// Whether `--json` was given (for commands that stream their output themselves).
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// Prints a result: `text` for people, or `value` as one line of JSON.
    pub fn result(&self, text: impl FnOnce() -> String, value: impl FnOnce() -> serde_json::Value) {
        let mut t = if self.json {
            value().to_string()
        } else {
            text()
        };
        if !t.ends_with('\n') {
            t.push('\n');
        }
        self.print(&t);
    }

    /// A note for people on stderr (`ota: ...`), best effort: a closed stderr is ignored.
    pub fn note(&self, message: impl std::fmt::Display) {
        let _ = writeln!(std::io::stderr().lock(), "ota: {message}");
    }

    /// Reports a failure: on stderr, and with `--json` also as JSON on stdout.
    pub fn fail(&self, fail: &Fail) {
        if self.json {
            let doc =
                serde_json::json!({"ok": false, "error": fail.kind(), "message": fail.message()});
            self.print(&format!("{doc}\n"));
        }
        self.note(fail.message());
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
