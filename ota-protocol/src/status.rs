//! Job execution statuses (AWS IoT Jobs), the stage and reason of a failure with their LwM2M
//! numbers, and the install decision's refusal rule.

use core::fmt;

use serde::{Deserialize, Serialize};

use crate::error::DecodeError;
use crate::refusal::Refusal;

/// Where an update is, or where it failed. Codes are the wire's (and `ota-agent`'s record's).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Fetching the release, images or deltas.
    Download = 1,
    /// Signature, digest or stored-image verification.
    Verify = 2,
    /// The install decision (manifest rules, anti-rollback).
    Decide = 3,
    /// Writing or activating a component, arming the trial boot.
    Install = 4,
    /// The trial boot and its health check.
    Trial = 5,
    /// Confirming.
    Commit = 6,
}

impl Stage {
    /// Every stage, in code order.
    pub const ALL: [Stage; 6] = [
        Stage::Download,
        Stage::Verify,
        Stage::Decide,
        Stage::Install,
        Stage::Trial,
        Stage::Commit,
    ];

    /// The wire code.
    #[must_use]
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The stage of a wire code.
    #[must_use]
    pub fn from_code(code: u64) -> Option<Stage> {
        Stage::ALL.into_iter().find(|s| u64::from(s.code()) == code)
    }

    /// The name used in JSON.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Download => "download",
            Stage::Verify => "verify",
            Stage::Decide => "decide",
            Stage::Install => "install",
            Stage::Trial => "trial",
            Stage::Commit => "commit",
        }
    }

    /// LwM2M Object 5 resource 3 "State" while an update is in this stage: 1 Downloading,
    /// 2 Downloaded (verifying and deciding on downloaded bytes), 3 Updating.
    #[must_use]
    pub fn lwm2m_fw_state(self) -> u8 {
        match self {
            Stage::Download => 1,
            Stage::Verify | Stage::Decide => 2,
            Stage::Install | Stage::Trial | Stage::Commit => 3,
        }
    }

    /// LwM2M Object 9 resource 7 "Update State" while an update is in this stage: 1 DOWNLOAD
    /// STARTED, 2 DOWNLOADED, 3 DELIVERED (verified and installing).
    #[must_use]
    pub fn lwm2m_sw_state(self) -> u8 {
        match self {
            Stage::Download => 1,
            Stage::Verify | Stage::Decide => 2,
            Stage::Install | Stage::Trial | Stage::Commit => 3,
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an update failed. Codes are `ota-agent`'s reason codes, except 7 (`Refused`), which has
/// no wire value: a refusal is not a failure and travels as [`Status::Rejected`] with its rule.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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
    /// The resource does not exist where the job said.
    InvalidUri = 6,
    /// The health check reported a failure.
    HealthCheckFailed = 8,
    /// The health check did not finish before its deadline.
    HealthCheckTimeout = 9,
    /// The bootloader used up the trial tries and went back to the old slot.
    TriesExhausted = 10,
    /// More trial boots than the agent's limit.
    BootLoop = 11,
    /// An installer or the boot control failed.
    InstallFailed = 12,
    /// Cancelled on the device.
    Cancelled = 13,
    /// Deferred by the device.
    Deferred = 14,
    /// A transport the device does not speak.
    UnsupportedProtocol = 15,
}

impl Reason {
    /// Every reason, in code order.
    pub const ALL: [Reason; 14] = [
        Reason::NotEnoughSpace,
        Reason::OutOfMemory,
        Reason::ConnectionLost,
        Reason::IntegrityCheckFailure,
        Reason::UnsupportedPackage,
        Reason::InvalidUri,
        Reason::HealthCheckFailed,
        Reason::HealthCheckTimeout,
        Reason::TriesExhausted,
        Reason::BootLoop,
        Reason::InstallFailed,
        Reason::Cancelled,
        Reason::Deferred,
        Reason::UnsupportedProtocol,
    ];

    /// The code `ota-agent` uses for its reason `Refused`, which has no wire value here.
    pub const REFUSED_CODE: u8 = 7;

    /// The wire code.
    #[must_use]
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The reason of a wire code.
    #[must_use]
    pub fn from_code(code: u64) -> Option<Reason> {
        Reason::ALL
            .into_iter()
            .find(|r| u64::from(r.code()) == code)
    }

    /// LwM2M Object 5 (Firmware Update) resource 5 "Update Result": 2 Not enough flash, 3 Out
    /// of RAM, 4 Connection lost, 5 Integrity check failure, 6 Unsupported package type,
    /// 7 Invalid URI, 8 Update failed, 9 Unsupported protocol, 10 Cancelled, 11 Deferred.
    #[must_use]
    pub fn lwm2m_fw_result(self) -> u8 {
        match self {
            Reason::NotEnoughSpace => 2,
            Reason::OutOfMemory => 3,
            Reason::ConnectionLost => 4,
            Reason::IntegrityCheckFailure => 5,
            Reason::UnsupportedPackage => 6,
            Reason::InvalidUri => 7,
            Reason::HealthCheckFailed
            | Reason::HealthCheckTimeout
            | Reason::TriesExhausted
            | Reason::BootLoop
            | Reason::InstallFailed => 8,
            Reason::UnsupportedProtocol => 9,
            Reason::Cancelled => 10,
            Reason::Deferred => 11,
        }
    }

    /// LwM2M Object 9 (Software Management) resource 9 "Update Result": 50 Not enough storage,
    /// 51 Out of memory, 52 Connection lost, 53 Integrity check failure, 54 Unsupported package
    /// type, 56 Invalid URI, 57 Device defined update error, 58 Installation failure.
    #[must_use]
    pub fn lwm2m_sw_result(self) -> u8 {
        match self {
            Reason::NotEnoughSpace => 50,
            Reason::OutOfMemory => 51,
            Reason::ConnectionLost => 52,
            Reason::IntegrityCheckFailure => 53,
            Reason::UnsupportedPackage => 54,
            Reason::InvalidUri => 56,
            Reason::Cancelled | Reason::Deferred | Reason::UnsupportedProtocol => 57,
            Reason::HealthCheckFailed
            | Reason::HealthCheckTimeout
            | Reason::TriesExhausted
            | Reason::BootLoop
            | Reason::InstallFailed => 58,
        }
    }
}

/// The eight job execution statuses of AWS IoT Jobs, without their data. Codes are the wire's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StatusKind {
    /// Waiting for the device.
    Queued = 0,
    /// The device is working on it.
    InProgress = 1,
    /// Installed and confirmed (terminal).
    Succeeded = 2,
    /// The device tried and failed (terminal).
    Failed = 3,
    /// The service's timer ran out (terminal).
    TimedOut = 4,
    /// The device refused the release (terminal): neither a success nor a failure of it.
    Rejected = 5,
    /// The device was removed from the job's targets (terminal).
    Removed = 6,
    /// The job was cancelled (terminal).
    Canceled = 7,
}

impl StatusKind {
    /// Every status, in code order.
    pub const ALL: [StatusKind; 8] = [
        StatusKind::Queued,
        StatusKind::InProgress,
        StatusKind::Succeeded,
        StatusKind::Failed,
        StatusKind::TimedOut,
        StatusKind::Rejected,
        StatusKind::Removed,
        StatusKind::Canceled,
    ];

    /// The wire code.
    #[must_use]
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The status of a wire code.
    #[must_use]
    pub fn from_code(code: u64) -> Option<StatusKind> {
        StatusKind::ALL
            .into_iter()
            .find(|s| u64::from(s.code()) == code)
    }

    /// AWS IoT Jobs' name (`IN_PROGRESS`), also the JSON form.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            StatusKind::Queued => "QUEUED",
            StatusKind::InProgress => "IN_PROGRESS",
            StatusKind::Succeeded => "SUCCEEDED",
            StatusKind::Failed => "FAILED",
            StatusKind::TimedOut => "TIMED_OUT",
            StatusKind::Rejected => "REJECTED",
            StatusKind::Removed => "REMOVED",
            StatusKind::Canceled => "CANCELED",
        }
    }

    /// True for the six statuses after which nothing follows.
    #[must_use]
    pub fn is_terminal(self) -> bool {
        !matches!(self, StatusKind::Queued | StatusKind::InProgress)
    }
}

impl fmt::Display for StatusKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How far a stage is: `done` of `total` (bytes while downloading; `total` 0 when unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Progress {
    /// Units done (bytes for a download).
    pub done: u64,
    /// Units in all; 0 when unknown. When not 0, `done <= total`.
    pub total: u64,
}

/// A job execution status with what it carries. On the wire (CBOR and JSON) it is the status
/// code plus the fields that status carries, flat in the execution's map (FORMAT.md).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Waiting for the device.
    Queued,
    /// The device is working on it.
    InProgress {
        /// Where it is.
        stage: Stage,
        /// How far.
        progress: Progress,
    },
    /// Installed and confirmed.
    Succeeded,
    /// The device tried and failed.
    Failed {
        /// Where it failed.
        stage: Stage,
        /// Why.
        reason: Reason,
        /// True if the new release was activated and then rolled back (Reverted, in
        /// `ota-agent`'s terms); false if it failed before anything was switched.
        reverted: bool,
        /// Free text for people (bounded by [`crate::Limits::max_detail_bytes`]).
        detail: Option<String>,
    },
    /// The service's timer ran out.
    TimedOut,
    /// The device refused the release under a rule of the install decision (or because its
    /// envelope does not verify): not a failure of the release.
    Rejected {
        /// Which rule.
        refusal: Refusal,
    },
    /// The device was removed from the job's targets.
    Removed,
    /// The job was cancelled.
    Canceled,
}

impl Status {
    /// The status without its data.
    #[must_use]
    pub fn kind(&self) -> StatusKind {
        match self {
            Status::Queued => StatusKind::Queued,
            Status::InProgress { .. } => StatusKind::InProgress,
            Status::Succeeded => StatusKind::Succeeded,
            Status::Failed { .. } => StatusKind::Failed,
            Status::TimedOut => StatusKind::TimedOut,
            Status::Rejected { .. } => StatusKind::Rejected,
            Status::Removed => StatusKind::Removed,
            Status::Canceled => StatusKind::Canceled,
        }
    }

    /// LwM2M Object 5 resource 5 "Update Result" for this status: 0 Initial while queued or in
    /// progress, 1 Success, the reason's number for a failure, the rule's for a refusal,
    /// 10 Cancelled for CANCELED and REMOVED, 8 Update failed for TIMED_OUT.
    #[must_use]
    pub fn lwm2m_fw_result(&self) -> u8 {
        match self {
            Status::Queued | Status::InProgress { .. } => 0,
            Status::Succeeded => 1,
            Status::Failed { reason, .. } => reason.lwm2m_fw_result(),
            Status::Rejected { refusal } => refusal.rule.lwm2m_fw_result(),
            Status::TimedOut => 8,
            Status::Removed | Status::Canceled => 10,
        }
    }

    /// LwM2M Object 9 resource 9 "Update Result" for this status: 0 Initial while queued,
    /// 1 Downloading or 3 Downloaded and verified while in progress, 2 Installed, the reason's
    /// or the rule's number, 57 Device defined update error for TIMED_OUT, CANCELED and REMOVED.
    #[must_use]
    pub fn lwm2m_sw_result(&self) -> u8 {
        match self {
            Status::Queued => 0,
            Status::InProgress {
                stage: Stage::Download,
                ..
            } => 1,
            Status::InProgress { .. } => 3,
            Status::Succeeded => 2,
            Status::Failed { reason, .. } => reason.lwm2m_sw_result(),
            Status::Rejected { refusal } => refusal.rule.lwm2m_sw_result(),
            Status::TimedOut | Status::Removed | Status::Canceled => 57,
        }
    }
}

/// The fields a [`Status`] carries, each optional: the flat wire form (CBOR keys 6-11, JSON
/// fields beside `status`). [`Status::from_parts`] checks that a status has exactly its own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct StatusParts {
    pub(crate) stage: Option<Stage>,
    pub(crate) progress: Option<Progress>,
    pub(crate) reason: Option<Reason>,
    pub(crate) reverted: Option<bool>,
    pub(crate) detail: Option<String>,
    pub(crate) refusal: Option<Refusal>,
}

impl Status {
    /// The flat fields of this status.
    pub(crate) fn parts(&self) -> StatusParts {
        let mut p = StatusParts::default();
        match self {
            Status::InProgress { stage, progress } => {
                p.stage = Some(*stage);
                p.progress = Some(*progress);
            }
            Status::Failed {
                stage,
                reason,
                reverted,
                detail,
            } => {
                p.stage = Some(*stage);
                p.reason = Some(*reason);
                p.reverted = Some(*reverted);
                p.detail.clone_from(detail);
            }
            Status::Rejected { refusal } => p.refusal = Some(refusal.clone()),
            _ => {}
        }
        p
    }

    /// The status of `kind` with the flat fields `p`: each field the status carries must be
    /// there (`detail` may be absent), and no other.
    ///
    /// On error: the field at fault and what is wrong with it.
    pub(crate) fn from_parts(
        kind: StatusKind,
        p: StatusParts,
    ) -> Result<Status, (&'static str, DecodeError)> {
        let not_for = |field: &'static str| {
            (
                field,
                DecodeError::NotForStatus {
                    field,
                    status: kind,
                },
            )
        };
        let missing = |field: &'static str| (field, DecodeError::MissingField(field));
        let allowed: &[&str] = match kind {
            StatusKind::InProgress => &["stage", "progress"],
            StatusKind::Failed => &["stage", "reason", "reverted", "detail"],
            StatusKind::Rejected => &["refusal"],
            _ => &[],
        };
        let present = [
            ("stage", p.stage.is_some()),
            ("progress", p.progress.is_some()),
            ("reason", p.reason.is_some()),
            ("reverted", p.reverted.is_some()),
            ("detail", p.detail.is_some()),
            ("refusal", p.refusal.is_some()),
        ];
        if let Some((field, _)) = present
            .iter()
            .find(|(f, there)| *there && !allowed.contains(f))
        {
            return Err(not_for(field));
        }
        Ok(match kind {
            StatusKind::Queued => Status::Queued,
            StatusKind::InProgress => Status::InProgress {
                stage: p.stage.ok_or_else(|| missing("stage"))?,
                progress: p.progress.ok_or_else(|| missing("progress"))?,
            },
            StatusKind::Succeeded => Status::Succeeded,
            StatusKind::Failed => Status::Failed {
                stage: p.stage.ok_or_else(|| missing("stage"))?,
                reason: p.reason.ok_or_else(|| missing("reason"))?,
                reverted: p.reverted.ok_or_else(|| missing("reverted"))?,
                detail: p.detail,
            },
            StatusKind::TimedOut => Status::TimedOut,
            StatusKind::Rejected => Status::Rejected {
                refusal: p.refusal.ok_or_else(|| missing("refusal"))?,
            },
            StatusKind::Removed => Status::Removed,
            StatusKind::Canceled => Status::Canceled,
        })
    }
}
