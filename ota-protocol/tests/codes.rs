//! The wire codes and LwM2M numbers, spelled out: a change to any of them breaks devices in the
//! field, so it must break this test first.
#![allow(clippy::unwrap_used)]

use ota_protocol::{Progress, Reason, Refusal, RefusalRule, Stage, Status, StatusKind};

/// The codes are ota-agent's record codes (STATES.md), 7 (`Refused`) left out.
#[test]
fn reason_codes_and_lwm2m_numbers_spelled_out() {
    let want = [
        (Reason::NotEnoughSpace, 1, 2, 50),
        (Reason::OutOfMemory, 2, 3, 51),
        (Reason::ConnectionLost, 3, 4, 52),
        (Reason::IntegrityCheckFailure, 4, 5, 53),
        (Reason::UnsupportedPackage, 5, 6, 54),
        (Reason::InvalidUri, 6, 7, 56),
        (Reason::HealthCheckFailed, 8, 8, 58),
        (Reason::HealthCheckTimeout, 9, 8, 58),
        (Reason::TriesExhausted, 10, 8, 58),
        (Reason::BootLoop, 11, 8, 58),
        (Reason::InstallFailed, 12, 8, 58),
        (Reason::Cancelled, 13, 10, 57),
        (Reason::Deferred, 14, 11, 57),
        (Reason::UnsupportedProtocol, 15, 9, 57),
    ];
    assert_eq!(want.len(), Reason::ALL.len());
    for (r, code, fw, sw) in want {
        assert_eq!(r.code(), code, "{r:?}");
        assert_eq!(Reason::from_code(u64::from(code)), Some(r));
        assert_eq!(r.lwm2m_fw_result(), fw, "{r:?}");
        assert_eq!(r.lwm2m_sw_result(), sw, "{r:?}");
    }
    assert_eq!(Reason::from_code(u64::from(Reason::REFUSED_CODE)), None);
    assert_eq!(Reason::from_code(0), None);
    assert_eq!(Reason::from_code(16), None);
}

#[test]
fn status_and_stage_codes_spelled_out() {
    let statuses = [
        (StatusKind::Queued, 0, "QUEUED", false),
        (StatusKind::InProgress, 1, "IN_PROGRESS", false),
        (StatusKind::Succeeded, 2, "SUCCEEDED", true),
        (StatusKind::Failed, 3, "FAILED", true),
        (StatusKind::TimedOut, 4, "TIMED_OUT", true),
        (StatusKind::Rejected, 5, "REJECTED", true),
        (StatusKind::Removed, 6, "REMOVED", true),
        (StatusKind::Canceled, 7, "CANCELED", true),
    ];
    for (s, code, name, terminal) in statuses {
        assert_eq!(s.code(), code);
        assert_eq!(StatusKind::from_code(u64::from(code)), Some(s));
        assert_eq!(s.as_str(), name);
        assert_eq!(s.is_terminal(), terminal);
        assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{name}\""));
    }
    assert_eq!(StatusKind::from_code(8), None);
    let stages = [
        (Stage::Download, 1, 1, 1),
        (Stage::Verify, 2, 2, 2),
        (Stage::Decide, 3, 2, 2),
        (Stage::Install, 4, 3, 3),
        (Stage::Trial, 5, 3, 3),
        (Stage::Commit, 6, 3, 3),
    ];
    for (s, code, fw, sw) in stages {
        assert_eq!(s.code(), code);
        assert_eq!(Stage::from_code(u64::from(code)), Some(s));
        assert_eq!((s.lwm2m_fw_state(), s.lwm2m_sw_state()), (fw, sw), "{s:?}");
    }
    assert_eq!(Stage::from_code(0), None);
}

#[test]
fn whole_status_lwm2m_results() {
    let failed = Status::Failed {
        stage: Stage::Download,
        reason: Reason::ConnectionLost,
        reverted: false,
        detail: None,
    };
    let rejected = |rule| Status::Rejected {
        refusal: Refusal {
            component: None,
            rule,
        },
    };
    let downloading = Status::InProgress {
        stage: Stage::Download,
        progress: Progress::default(),
    };
    let trial = Status::InProgress {
        stage: Stage::Trial,
        progress: Progress::default(),
    };
    let want = [
        (Status::Queued, 0, 0),
        (downloading, 0, 1),
        (trial, 0, 3),
        (Status::Succeeded, 1, 2),
        (failed, 4, 52),
        (Status::TimedOut, 8, 57),
        (Status::Removed, 10, 57),
        (Status::Canceled, 10, 57),
        (rejected(RefusalRule::WrongClass), 6, 54),
        (
            rejected(RefusalRule::Unverified {
                detail: String::new(),
            }),
            5,
            53,
        ),
        (
            rejected(RefusalRule::SequenceNotNewer {
                sequence: 1,
                accepted: 2,
            }),
            8,
            57,
        ),
    ];
    for (s, fw, sw) in want {
        assert_eq!(
            (s.lwm2m_fw_result(), s.lwm2m_sw_result()),
            (fw, sw),
            "{s:?}"
        );
    }
}

#[test]
fn refusal_rule_codes_spelled_out() {
    let s = String::new;
    let rules = [
        (RefusalRule::InvalidManifest { detail: s() }, 1),
        (RefusalRule::WrongVendor, 2),
        (RefusalRule::WrongClass, 3),
        (RefusalRule::WrongHardware { revision: s() }, 4),
        (
            RefusalRule::Expired {
                expires_at: 0,
                now: 0,
            },
            5,
        ),
        (
            RefusalRule::SequenceNotNewer {
                sequence: 0,
                accepted: 0,
            },
            6,
        ),
        (
            RefusalRule::SecurityCounterBelowFloor {
                counter: 0,
                floor: 0,
            },
            7,
        ),
        (
            RefusalRule::OutsideUpgradePath {
                installed: s(),
                upgrade_from: s(),
            },
            8,
        ),
        (
            RefusalRule::UnmetDependency {
                on: s(),
                req: s(),
                installed: None,
            },
            9,
        ),
        (RefusalRule::DuplicateInstalled, 10),
        (RefusalRule::Unverified { detail: s() }, 11),
        (
            RefusalRule::JobExpired {
                expires_at: 0,
                now: 0,
            },
            12,
        ),
    ];
    for (r, code) in &rules {
        assert_eq!(r.code(), *code, "{r:?}");
    }
    assert!(rules[5].0.is_downgrade() && rules[6].0.is_downgrade());
    assert!(!rules[3].0.is_downgrade());
}
