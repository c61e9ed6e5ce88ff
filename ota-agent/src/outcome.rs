//! Lifecycle states, failure stages and reasons, and their LwM2M numbers.

/// A persisted lifecycle state (see STATES.md). Numbers are the record's.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Nothing in progress, never updated.
    Idle = 0,
    /// Components are being fetched and written to their staging areas.
    Downloading = 1,
    /// Everything is written and verified; nothing is switched yet.
    Staged = 2,
    /// Activating the layers that do not need a reboot.
    Installing = 3,
    /// The firmware trial boot is armed (or about to be).
    Pending = 4,
    /// Running the new firmware / layers on trial.
    Trial = 5,
    /// The update is confirmed; the anti-rollback floor was raised.
    Committed = 6,
    /// A revert was decided and is being carried out.
    Reverting = 7,
    /// The update was rolled back.
    Reverted = 8,
    /// The update failed before anything was switched.
    Failed = 9,
}

impl State {
    pub(crate) fn from_code(c: u8) -> Option<State> {
        Some(match c {
            0 => State::Idle,
            1 => State::Downloading,
            2 => State::Staged,
            3 => State::Installing,
            4 => State::Pending,
            5 => State::Trial,
            6 => State::Committed,
            7 => State::Reverting,
            8 => State::Reverted,
            9 => State::Failed,
            _ => return None,
        })
    }

    /// A state in which no update is in progress (a new one may start).
    #[must_use]
    pub fn is_at_rest(self) -> bool {
        matches!(
            self,
            State::Idle | State::Committed | State::Reverted | State::Failed
        )
    }

    /// The state's name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            State::Idle => "Idle",
            State::Downloading => "Downloading",
            State::Staged => "Staged",
            State::Installing => "Installing",
            State::Pending => "Pending",
            State::Trial => "Trial",
            State::Committed => "Committed",
            State::Reverting => "Reverting",
            State::Reverted => "Reverted",
            State::Failed => "Failed",
        }
    }
}

/// The stage an update failed in.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Fetching bytes.
    Download = 1,
    /// Signature, digest or stored-image verification.
    Verify = 2,
    /// The install decision (manifest rules, anti-rollback).
    Decide = 3,
    /// Writing or activating a component, arming the trial.
    Install = 4,
    /// The trial boot and its health check.
    Trial = 5,
    /// Confirming.
    Commit = 6,
}

impl Stage {
    pub(crate) fn from_code(c: u8) -> Option<Stage> {
        Some(match c {
            1 => Stage::Download,
            2 => Stage::Verify,
            3 => Stage::Decide,
            4 => Stage::Install,
            5 => Stage::Trial,
            6 => Stage::Commit,
            _ => return None,
        })
    }
}

/// Why an update failed or was reverted. Numbers are the record's and stable.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The staging area is too small.
    NotEnoughSpace = 1,
    /// Out of memory.
    OutOfMemory = 2,
    /// The connection dropped and the download was abandoned.
    ConnectionLost = 3,
    /// A digest, signature or stored image did not verify.
    IntegrityCheckFailure = 4,
    /// No installer takes a component, or an unknown patch format.
    UnsupportedPackage = 5,
    /// The fetcher does not know the resource.
    InvalidUri = 6,
    /// The manifest's install decision refused the release (rule in the detail).
    Refused = 7,
    /// The health check reported a failure.
    HealthCheckFailed = 8,
    /// The health check did not finish before its deadline.
    HealthCheckTimeout = 9,
    /// The bootloader used up the trial tries and went back to the old slot.
    TriesExhausted = 10,
    /// The agent counted more trial boots than its limit.
    BootLoop = 11,
    /// An installer or the boot control failed.
    InstallFailed = 12,
    /// Cancelled (or the release to resume was not supplied again).
    Cancelled = 13,
    /// Deferred by the device.
    Deferred = 14,
    /// A transport the fetcher does not speak.
    UnsupportedProtocol = 15,
}

impl Reason {
    pub(crate) fn from_code(c: u8) -> Option<Reason> {
        use Reason::*;
        Some(match c {
            1 => NotEnoughSpace,
            2 => OutOfMemory,
            3 => ConnectionLost,
            4 => IntegrityCheckFailure,
            5 => UnsupportedPackage,
            6 => InvalidUri,
            7 => Refused,
            8 => HealthCheckFailed,
            9 => HealthCheckTimeout,
            10 => TriesExhausted,
            11 => BootLoop,
            12 => InstallFailed,
            13 => Cancelled,
            14 => Deferred,
            15 => UnsupportedProtocol,
            _ => return None,
        })
    }

    /// Every reason, in number order.
    pub const ALL: [Reason; 15] = [
        Reason::NotEnoughSpace,
        Reason::OutOfMemory,
        Reason::ConnectionLost,
        Reason::IntegrityCheckFailure,
        Reason::UnsupportedPackage,
        Reason::InvalidUri,
        Reason::Refused,
        Reason::HealthCheckFailed,
        Reason::HealthCheckTimeout,
        Reason::TriesExhausted,
        Reason::BootLoop,
        Reason::InstallFailed,
        Reason::Cancelled,
        Reason::Deferred,
        Reason::UnsupportedProtocol,
    ];
}

/// How an update ended (the last one, at rest).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Never updated.
    None,
    /// Installed and confirmed.
    Committed,
    /// Rolled back after activation.
    Reverted {
        /// Where it failed.
        stage: Stage,
        /// Why.
        reason: Reason,
    },
    /// Failed before anything was switched.
    Failed {
        /// Where it failed.
        stage: Stage,
        /// Why.
        reason: Reason,
    },
}

/// LwM2M Object 5 (Firmware Update) resource 3 "State".
#[must_use]
pub fn lwm2m_fw_state(state: State) -> u8 {
    match state {
        State::Idle | State::Committed | State::Reverted | State::Failed => 0,
        State::Downloading => 1,
        State::Staged => 2,
        State::Installing | State::Pending | State::Trial | State::Reverting => 3,
    }
}

/// LwM2M Object 5 resource 5 "Update Result": 0 Initial, 1 Success, 2 Not enough flash, 3 Out of
/// RAM, 4 Connection lost, 5 Integrity check failure, 6 Unsupported package type, 7 Invalid URI,
/// 8 Update failed, 9 Unsupported protocol, 10 Cancelled, 11 Deferred.
#[must_use]
pub fn lwm2m_fw_result(outcome: Outcome) -> u8 {
    match outcome {
        Outcome::None => 0,
        Outcome::Committed => 1,
        Outcome::Reverted { reason, .. } | Outcome::Failed { reason, .. } => match reason {
            Reason::NotEnoughSpace => 2,
            Reason::OutOfMemory => 3,
            Reason::ConnectionLost => 4,
            Reason::IntegrityCheckFailure => 5,
            Reason::UnsupportedPackage => 6,
            Reason::InvalidUri => 7,
            Reason::Refused
            | Reason::HealthCheckFailed
            | Reason::HealthCheckTimeout
            | Reason::TriesExhausted
            | Reason::BootLoop
            | Reason::InstallFailed => 8,
            Reason::UnsupportedProtocol => 9,
            Reason::Cancelled => 10,
            Reason::Deferred => 11,
        },
    }
}

/// LwM2M Object 9 (Software Management) resource 7 "Update State": 0 INITIAL, 1 DOWNLOAD
/// STARTED, 2 DOWNLOADED, 3 DELIVERED (verified), 4 INSTALLED.
#[must_use]
pub fn lwm2m_sw_state(state: State) -> u8 {
    match state {
        State::Idle | State::Reverted | State::Failed => 0,
        State::Downloading => 1,
        State::Staged | State::Installing | State::Pending | State::Trial | State::Reverting => 3,
        State::Committed => 4,
    }
}

/// LwM2M Object 9 resource 9 "Update Result": 0 Initial, 1 Downloading, 2 Installed,
/// 3 Downloaded and verified, 50 Not enough storage, 51 Out of memory, 52 Connection lost,
/// 53 Integrity check failure, 54 Unsupported package type, 56 Invalid URI, 57 Device defined
/// update error, 58 Installation failure, 59 Uninstallation failure.
#[must_use]
pub fn lwm2m_sw_result(state: State, outcome: Outcome) -> u8 {
    match state {
        State::Downloading => return 1,
        State::Staged | State::Installing | State::Pending | State::Trial => return 3,
        _ => {}
    }
    match outcome {
        Outcome::None => 0,
        Outcome::Committed => 2,
        Outcome::Reverted { reason, .. } | Outcome::Failed { reason, .. } => match reason {
            Reason::NotEnoughSpace => 50,
            Reason::OutOfMemory => 51,
            Reason::ConnectionLost => 52,
            Reason::IntegrityCheckFailure => 53,
            Reason::UnsupportedPackage => 54,
            Reason::InvalidUri => 56,
            Reason::Refused
            | Reason::Cancelled
            | Reason::Deferred
            | Reason::UnsupportedProtocol => 57,
            Reason::HealthCheckFailed
            | Reason::HealthCheckTimeout
            | Reason::TriesExhausted
            | Reason::BootLoop
            | Reason::InstallFailed => 58,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(reason: Reason) -> Outcome {
        Outcome::Failed {
            stage: Stage::Download,
            reason,
        }
    }

    #[test]
    fn object5_numbers_spelled_out() {
        assert_eq!(lwm2m_fw_result(Outcome::None), 0);
        assert_eq!(lwm2m_fw_result(Outcome::Committed), 1);
        let want = [
            (Reason::NotEnoughSpace, 2),
            (Reason::OutOfMemory, 3),
            (Reason::ConnectionLost, 4),
            (Reason::IntegrityCheckFailure, 5),
            (Reason::UnsupportedPackage, 6),
            (Reason::InvalidUri, 7),
            (Reason::Refused, 8),
            (Reason::HealthCheckFailed, 8),
            (Reason::HealthCheckTimeout, 8),
            (Reason::TriesExhausted, 8),
            (Reason::BootLoop, 8),
            (Reason::InstallFailed, 8),
            (Reason::UnsupportedProtocol, 9),
            (Reason::Cancelled, 10),
            (Reason::Deferred, 11),
        ];
        assert_eq!(want.len(), Reason::ALL.len());
        for (r, n) in want {
            assert_eq!(lwm2m_fw_result(failed(r)), n, "{r:?}");
        }
        let states = [
            (State::Idle, 0),
            (State::Downloading, 1),
            (State::Staged, 2),
            (State::Installing, 3),
            (State::Pending, 3),
            (State::Trial, 3),
            (State::Reverting, 3),
            (State::Committed, 0),
            (State::Reverted, 0),
            (State::Failed, 0),
        ];
        for (s, n) in states {
            assert_eq!(lwm2m_fw_state(s), n, "{s:?}");
        }
    }

    #[test]
    fn object9_numbers_spelled_out() {
        let want = [
            (Reason::NotEnoughSpace, 50),
            (Reason::OutOfMemory, 51),
            (Reason::ConnectionLost, 52),
            (Reason::IntegrityCheckFailure, 53),
            (Reason::UnsupportedPackage, 54),
            (Reason::InvalidUri, 56),
            (Reason::Refused, 57),
            (Reason::Cancelled, 57),
            (Reason::Deferred, 57),
            (Reason::UnsupportedProtocol, 57),
            (Reason::HealthCheckFailed, 58),
            (Reason::HealthCheckTimeout, 58),
            (Reason::TriesExhausted, 58),
            (Reason::BootLoop, 58),
            (Reason::InstallFailed, 58),
        ];
        assert_eq!(want.len(), Reason::ALL.len());
        for (r, n) in want {
            assert_eq!(lwm2m_sw_result(State::Failed, failed(r)), n, "{r:?}");
        }
        assert_eq!(lwm2m_sw_result(State::Idle, Outcome::None), 0);
        assert_eq!(lwm2m_sw_result(State::Downloading, Outcome::None), 1);
        assert_eq!(lwm2m_sw_result(State::Committed, Outcome::Committed), 2);
        assert_eq!(lwm2m_sw_result(State::Staged, Outcome::None), 3);
        let states = [
            (State::Idle, 0),
            (State::Downloading, 1),
            (State::Staged, 3),
            (State::Trial, 3),
            (State::Committed, 4),
            (State::Reverted, 0),
            (State::Failed, 0),
        ];
        for (s, n) in states {
            assert_eq!(lwm2m_sw_state(s), n, "{s:?}");
        }
    }

    #[test]
    fn codes_round_trip() {
        for r in Reason::ALL {
            assert_eq!(Reason::from_code(r as u8), Some(r));
        }
        for c in 0..=255u8 {
            if let Some(s) = State::from_code(c) {
                assert_eq!(s as u8, c);
            }
            if let Some(s) = Stage::from_code(c) {
                assert_eq!(s as u8, c);
            }
        }
    }
}
