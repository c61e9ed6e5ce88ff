//! The CBOR fixtures of `tests/data/`, written by python `cbor2` (`make_fixtures.py`), an
//! encoder independent of ours: positive ones decode to the values of `common/mod.rs` and
//! re-encode to the same bytes; each negative one is refused with the error its name says.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use ota_protocol::{
    DecodeError, DeviceReport, Error, JobDocument, JobExecution, Limit, Message, MessageKind,
    Status,
};

fn data(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/{name}.cbor", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn cbor2_fixtures_decode_to_the_samples_and_re_encode_identically() {
    let jobs = [("job_full", sample_job()), ("job_minimal", minimal_job())];
    for (name, want) in jobs {
        let bytes = data(name);
        assert_eq!(JobDocument::from_cbor(&bytes).unwrap(), want, "{name}");
        assert_eq!(want.to_cbor().unwrap(), bytes, "{name}");
    }
    let executions = [
        ("execution_queued", Status::Queued),
        ("execution_in_progress", in_progress()),
        ("execution_succeeded", Status::Succeeded),
        ("execution_failed", failed()),
        ("execution_timed_out", Status::TimedOut),
        ("execution_rejected", rejected()),
        ("execution_removed", Status::Removed),
        ("execution_canceled", Status::Canceled),
    ];
    for (name, status) in executions {
        let bytes = data(name);
        let want = execution(status);
        assert_eq!(JobExecution::from_cbor(&bytes).unwrap(), want, "{name}");
        assert_eq!(want.to_cbor().unwrap(), bytes, "{name}");
    }
    let bytes = data("report");
    assert_eq!(DeviceReport::from_cbor(&bytes).unwrap(), sample_report());
    assert_eq!(sample_report().to_cbor().unwrap(), bytes);
}

/// The decode error's kind, offset and path, or a panic naming the fixture.
fn refused(name: &str) -> Error {
    match Message::from_cbor(&data(&format!("neg_{name}"))) {
        Ok(m) => panic!("{name}: accepted as {m:?}"),
        Err(e) => e,
    }
}

fn kind(name: &str) -> DecodeError {
    match refused(name) {
        Error::Decode {
            kind,
            offset: Some(_),
            ..
        } => kind,
        other => panic!("{name}: {other:?}"),
    }
}

fn limit(name: &str) -> (Limit, u64, String) {
    match refused(name) {
        Error::LimitExceeded {
            limit,
            count,
            path,
            offset: Some(_),
            ..
        } => (limit, count, path),
        other => panic!("{name}: {other:?}"),
    }
}

#[test]
fn version_and_kind() {
    assert_eq!(
        refused("bad_version"),
        Error::UnsupportedVersion {
            found: 2,
            supported: 1
        }
    );
    assert_eq!(kind("missing_version"), DecodeError::MissingField("v"));
    assert!(matches!(
        refused("unknown_kind"),
        Error::WrongMessage { found: None, .. }
    ));
    // A valid execution is not a job.
    let e = JobDocument::from_cbor(&data("execution_queued")).unwrap_err();
    assert!(matches!(
        e,
        Error::WrongMessage {
            found: Some(MessageKind::Execution),
            ..
        }
    ));
}

#[test]
fn schema_refusals_name_field_and_offset() {
    // Key 8 follows the policy map {0: false} at the end of the 98-byte minimal job.
    let e = refused("unknown_key");
    assert_eq!(e.offset(), Some(98));
    assert!(matches!(
        e,
        Error::Decode {
            kind: DecodeError::UnknownKey(8),
            ..
        }
    ));
    assert_eq!(kind("negative_key"), DecodeError::UnknownKey(-1));
    let e = refused("wrong_type");
    assert_eq!(e.path(), "job.ring");
    assert!(matches!(
        e,
        Error::Decode {
            kind: DecodeError::WrongType { .. },
            ..
        }
    ));
    assert_eq!(kind("bad_job_id"), DecodeError::BadJobId);
    let (l, count, path) = limit("long_job_id");
    assert_eq!(
        (l, count, path.as_str()),
        (Limit::TextBytes, 65, "job.job_id")
    );
    assert_eq!(kind("empty_list"), DecodeError::EmptyList);
    assert_eq!(refused("empty_list").path(), "job.images");
    assert_eq!(kind("no_source"), DecodeError::NoSource);
    assert_eq!(refused("no_source").path(), "job.images[0]");
    assert_eq!(kind("bad_window"), DecodeError::BadWindow);
    assert_eq!(refused("bad_window").path(), "job.policy.window");
    assert_eq!(kind("short_digest"), DecodeError::BadDigest);
    assert_eq!(refused("short_digest").path(), "job.release.sha256");
    assert_eq!(
        kind("unknown_status"),
        DecodeError::UnknownCode {
            what: "status",
            code: 8
        }
    );
    assert_eq!(
        kind("failed_with_progress"),
        DecodeError::NotForStatus {
            field: "progress",
            status: ota_protocol::StatusKind::Failed
        }
    );
    assert_eq!(refused("failed_with_progress").path(), "execution.progress");
    assert_eq!(
        kind("failed_without_reason"),
        DecodeError::MissingField("reason")
    );
    assert_eq!(
        kind("failed_reason_refused"),
        DecodeError::RefusedIsNotAFailure
    );
    assert_eq!(
        kind("progress_over_total"),
        DecodeError::ProgressOverTotal { done: 3, total: 2 }
    );
    assert_eq!(
        kind("unknown_rule"),
        DecodeError::UnknownCode {
            what: "refusal rule",
            code: 99
        }
    );
    assert_eq!(refused("unknown_rule").path(), "execution.refusal.rule");
    assert!(matches!(
        kind("rule_wrong_length"),
        DecodeError::WrongType { .. }
    ));
    assert!(matches!(
        kind("float_where_int"),
        DecodeError::WrongType { .. }
    ));
    assert_eq!(refused("float_where_int").path(), "report.boot_count");
    assert_eq!(kind("nan_metric"), DecodeError::NonFinite);
    assert_eq!(
        kind("duplicate_installed"),
        DecodeError::DuplicateComponent("a".into())
    );
    assert_eq!(
        refused("duplicate_installed").path(),
        "report.installed[1].id"
    );
    assert_eq!(
        kind("bad_slot"),
        DecodeError::UnknownCode {
            what: "slot",
            code: 2
        }
    );
}

#[test]
fn limits_before_allocation() {
    let (l, count, path) = limit("too_many_components");
    assert_eq!(
        (l, count, path.as_str()),
        (Limit::Components, 65, "job.images")
    );
    // 2^32 - 1 declared in 5 bytes: the limit, not a truncation, and nothing allocated.
    let (l, count, _) = limit("huge_count");
    assert_eq!((l, count), (Limit::Components, 0xffff_ffff));
    let (l, count, path) = limit("too_many_metrics");
    assert_eq!(
        (l, count, path.as_str()),
        (Limit::Metrics, 65, "report.health")
    );
}

#[test]
fn non_canonical_cbor_is_refused() {
    for (name, why) in [
        ("non_shortest_int", "head not in shortest form"),
        ("indefinite_length", "indefinite length"),
        ("unsorted_keys", "map keys out of order"),
        ("float_not_shortest", "float not in shortest form"),
    ] {
        assert_eq!(kind(name), DecodeError::NonCanonical(why), "{name}");
    }
    assert_eq!(kind("trailing_bytes"), DecodeError::TrailingBytes(1));
    assert_eq!(kind("truncated"), DecodeError::Truncated);
}
