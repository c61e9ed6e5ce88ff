//! How a command fails, and the exit code each kind of failure gets.

use std::fmt;
use std::path::Path;
use std::process::ExitCode;

/// Why a command did not succeed.
#[derive(Debug)]
pub enum Fail {
    /// The expected kind of "no": a verification failed, the device may not install, a patch does
    /// not apply. Exit code 1.
    Refused(String),
    /// Bad usage or unreadable input: a missing file, malformed JSON, a wrong flag. Exit code 2.
    Input(String),
}

impl Fail {
    /// Exit code 1: a refusal.
    pub fn refused(message: impl fmt::Display) -> Fail {
        Fail::Refused(message.to_string())
    }

    /// Exit code 2: bad usage or unreadable input.
    pub fn input(message: impl fmt::Display) -> Fail {
        Fail::Input(message.to_string())
    }

    /// An input error that names the file it is about.
    pub fn in_file(path: &Path, message: impl fmt::Display) -> Fail {
        Fail::Input(format!("{}: {message}", path.display()))
    }

    /// The process exit code.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Fail::Refused(_) => ExitCode::from(1),
            Fail::Input(_) => ExitCode::from(2),
        }
    }

    /// The message for the user.
    pub fn message(&self) -> &str {
        match self {
            Fail::Refused(m) | Fail::Input(m) => m,
        }
    }

    /// `"refused"` or `"input"`, for `--json` output.
    pub fn kind(&self) -> &'static str {
        match self {
            Fail::Refused(_) => "refused",
            Fail::Input(_) => "input",
        }
    }
}

/// A command's result.
pub type CmdResult<T = ()> = Result<T, Fail>;
