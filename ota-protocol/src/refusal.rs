//! Why a device refuses a release: the install decision's rule (or the job's own), as the
//! REJECTED status carries it, with its LwM2M numbers.

use serde::{Deserialize, Serialize};

/// Why a device refused a release: the component (`None`: the whole release) and the rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Refusal {
    /// The component the rule refused, `None` when the rule is about the whole release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    /// The rule.
    pub rule: RefusalRule,
}

/// The rules under which a device refuses a release. The first ten are `ota-manifest`'s
/// install-decision rules (`ota_manifest::Rule`), one for one; the last two are the job's own.
/// Codes are the wire's; the mapping is in FORMAT.md.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum RefusalRule {
    /// The manifest is internally inconsistent (`Rule::Invalid`).
    InvalidManifest {
        /// The problem, as text.
        detail: String,
    },
    /// The device's vendor id is not the manifest's.
    WrongVendor,
    /// The device's class is not among the manifest's classes.
    WrongClass,
    /// The device's hardware revision is not accepted.
    WrongHardware {
        /// The device's hardware revision.
        revision: String,
    },
    /// The release had expired at the device's time.
    Expired {
        /// The manifest's expiry (seconds since the epoch).
        expires_at: u64,
        /// The device's time.
        now: u64,
    },
    /// Anti-rollback: the sequence number is not newer than the last accepted one.
    SequenceNotNewer {
        /// The manifest's sequence.
        sequence: u64,
        /// The device's last accepted sequence.
        accepted: u64,
    },
    /// Anti-rollback: the security counter is below the device's floor.
    SecurityCounterBelowFloor {
        /// The manifest's counter.
        counter: u64,
        /// The device's floor.
        floor: u64,
    },
    /// The installed version may not upgrade to this component.
    OutsideUpgradePath {
        /// The installed version.
        installed: String,
        /// The component's upgrade path.
        upgrade_from: String,
    },
    /// A dependency is neither in the release nor installed at a matching version.
    UnmetDependency {
        /// The dependency's component id.
        on: String,
        /// The version requirement.
        req: String,
        /// The installed version, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        installed: Option<String>,
    },
    /// The device reported the same component twice (its own state is inconsistent).
    DuplicateInstalled,
    /// The signed envelope does not verify (signature, trust root, digest of the fetched
    /// envelope): the job may come from a compromised broker or server.
    Unverified {
        /// What the verifier said, as text.
        detail: String,
    },
    /// The job document's own expiry had passed before the device could start it.
    JobExpired {
        /// The job's expiry (seconds since the epoch).
        expires_at: u64,
        /// The device's time.
        now: u64,
    },
}

impl RefusalRule {
    /// The wire code.
    #[must_use]
    pub fn code(&self) -> u8 {
        match self {
            RefusalRule::InvalidManifest { .. } => 1,
            RefusalRule::WrongVendor => 2,
            RefusalRule::WrongClass => 3,
            RefusalRule::WrongHardware { .. } => 4,
            RefusalRule::Expired { .. } => 5,
            RefusalRule::SequenceNotNewer { .. } => 6,
            RefusalRule::SecurityCounterBelowFloor { .. } => 7,
            RefusalRule::OutsideUpgradePath { .. } => 8,
            RefusalRule::UnmetDependency { .. } => 9,
            RefusalRule::DuplicateInstalled => 10,
            RefusalRule::Unverified { .. } => 11,
            RefusalRule::JobExpired { .. } => 12,
        }
    }

    /// True for the anti-rollback rules (a downgrade was offered).
    #[must_use]
    pub fn is_downgrade(&self) -> bool {
        matches!(
            self,
            RefusalRule::SequenceNotNewer { .. } | RefusalRule::SecurityCounterBelowFloor { .. }
        )
    }

    /// LwM2M Object 5 "Update Result" for this refusal: 6 Unsupported package type for a
    /// release meant for other devices, 5 Integrity check failure for an envelope that does not
    /// verify, 8 Update failed otherwise.
    #[must_use]
    pub fn lwm2m_fw_result(&self) -> u8 {
        match self {
            RefusalRule::WrongVendor
            | RefusalRule::WrongClass
            | RefusalRule::WrongHardware { .. } => 6,
            RefusalRule::Unverified { .. } => 5,
            _ => 8,
        }
    }

    /// LwM2M Object 9 "Update Result" for this refusal: 54 Unsupported package type,
    /// 53 Integrity check failure, 57 Device defined update error otherwise.
    #[must_use]
    pub fn lwm2m_sw_result(&self) -> u8 {
        match self {
            RefusalRule::WrongVendor
            | RefusalRule::WrongClass
            | RefusalRule::WrongHardware { .. } => 54,
            RefusalRule::Unverified { .. } => 53,
            _ => 57,
        }
    }
}
