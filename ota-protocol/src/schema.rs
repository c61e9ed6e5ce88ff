//! The wire schema (FORMAT.md): the integer keys of every CBOR map and the codes of the
//! positional records. Shared by the encoder and the decoder, which never import each other.

/// Keys every message map starts with.
pub(crate) mod head {
    pub(crate) const VERSION: u64 = 0;
    pub(crate) const KIND: u64 = 1;
}

/// Job document keys.
pub(crate) mod job {
    pub(crate) const JOB_ID: u64 = 2;
    pub(crate) const ROLLOUT: u64 = 3;
    pub(crate) const RING: u64 = 4;
    pub(crate) const RELEASE: u64 = 5;
    pub(crate) const IMAGES: u64 = 6;
    pub(crate) const POLICY: u64 = 7;
}

/// Keys of the release location map (when the envelope is not inline).
pub(crate) mod location {
    pub(crate) const URI: u64 = 0;
    pub(crate) const SIZE: u64 = 1;
    pub(crate) const SHA256: u64 = 2;
}

/// Keys of a component sources map.
pub(crate) mod sources {
    pub(crate) const COMPONENT: u64 = 0;
    pub(crate) const FULL: u64 = 1;
    pub(crate) const DELTAS: u64 = 2;
}

/// Keys of a delta location map.
pub(crate) mod delta {
    pub(crate) const FROM_SHA256: u64 = 0;
    pub(crate) const URI: u64 = 1;
}

/// Keys of the install policy map.
pub(crate) mod policy {
    pub(crate) const REQUIRE_CHARGING: u64 = 0;
    pub(crate) const WINDOW: u64 = 1;
    pub(crate) const DEADLINE: u64 = 2;
    pub(crate) const EXPIRES_AT: u64 = 3;
}

/// Job execution keys.
pub(crate) mod execution {
    pub(crate) const JOB_ID: u64 = 2;
    pub(crate) const EXECUTION_NUMBER: u64 = 3;
    pub(crate) const VERSION: u64 = 4;
    pub(crate) const STATUS: u64 = 5;
    pub(crate) const STAGE: u64 = 6;
    pub(crate) const PROGRESS: u64 = 7;
    pub(crate) const REASON: u64 = 8;
    pub(crate) const REVERTED: u64 = 9;
    pub(crate) const DETAIL: u64 = 10;
    pub(crate) const REFUSAL: u64 = 11;
}

/// Keys of the refusal map.
pub(crate) mod refusal {
    pub(crate) const RULE: u64 = 0;
    pub(crate) const COMPONENT: u64 = 1;
}

/// Refusal rule codes (the first element of the rule record) and the record's length.
pub(crate) mod rule {
    pub(crate) const INVALID_MANIFEST: u64 = 1;
    pub(crate) const WRONG_VENDOR: u64 = 2;
    pub(crate) const WRONG_CLASS: u64 = 3;
    pub(crate) const WRONG_HARDWARE: u64 = 4;
    pub(crate) const EXPIRED: u64 = 5;
    pub(crate) const SEQUENCE_NOT_NEWER: u64 = 6;
    pub(crate) const SECURITY_COUNTER_BELOW_FLOOR: u64 = 7;
    pub(crate) const OUTSIDE_UPGRADE_PATH: u64 = 8;
    pub(crate) const UNMET_DEPENDENCY: u64 = 9;
    pub(crate) const DUPLICATE_INSTALLED: u64 = 10;
    pub(crate) const UNVERIFIED: u64 = 11;
    pub(crate) const JOB_EXPIRED: u64 = 12;

    /// Items in the record of `code` (the code included), `None` for an unknown code.
    pub(crate) fn arity(code: u64) -> Option<usize> {
        Some(match code {
            WRONG_VENDOR | WRONG_CLASS | DUPLICATE_INSTALLED => 1,
            INVALID_MANIFEST | WRONG_HARDWARE | UNVERIFIED => 2,
            EXPIRED
            | SEQUENCE_NOT_NEWER
            | SECURITY_COUNTER_BELOW_FLOOR
            | OUTSIDE_UPGRADE_PATH
            | JOB_EXPIRED => 3,
            UNMET_DEPENDENCY => 4,
            _ => return None,
        })
    }
}

/// Device report keys.
pub(crate) mod report {
    pub(crate) const REPORT_ID: u64 = 2;
    pub(crate) const SENT_AT: u64 = 3;
    pub(crate) const INSTALLED: u64 = 4;
    pub(crate) const ACTIVE_SLOT: u64 = 5;
    pub(crate) const BOOT_COUNT: u64 = 6;
    pub(crate) const REBOOT_LOOPS: u64 = 7;
    pub(crate) const UPTIME_SINCE_INSTALL: u64 = 8;
    pub(crate) const HEALTH: u64 = 9;
}

/// Keys of an installed component map.
pub(crate) mod installed {
    pub(crate) const ID: u64 = 0;
    pub(crate) const VERSION: u64 = 1;
    pub(crate) const SHA256: u64 = 2;
}

/// Keys of the signed version report (not a message: it travels inside a COSE_Sign1).
pub(crate) mod version_report {
    pub(crate) const FORMAT: u64 = 0;
    pub(crate) const DEVICE: u64 = 1;
    pub(crate) const COUNTER: u64 = 2;
    pub(crate) const NONCE: u64 = 3;
    pub(crate) const SENT_AT: u64 = 4;
    pub(crate) const ACTIVE_SLOT: u64 = 5;
    pub(crate) const COMPONENTS: u64 = 6;
}

/// Keys of a component of the version report (those of [`installed`], the digest mandatory).
pub(crate) mod version_component {
    pub(crate) const ID: u64 = 0;
    pub(crate) const VERSION: u64 = 1;
    pub(crate) const SHA256: u64 = 2;
}
