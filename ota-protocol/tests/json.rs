//! The JSON form: what it looks like, and what it refuses.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use ota_protocol::{
    DecodeError, DeviceReport, Error, JobDocument, JobExecution, Limit, Limits, Message,
    MessageKind, ReleaseSource, Status, StatusKind,
};

fn json_err(r: Result<impl std::fmt::Debug, Error>) -> String {
    match r {
        Err(Error::Json { message, .. }) => message,
        other => panic!("expected a JSON error, got {other:?}"),
    }
}

#[test]
fn execution_json_is_flat_with_aws_status_names() {
    let j = execution(failed()).to_json().unwrap();
    let v: serde_json::Value = serde_json::from_str(&j).unwrap();
    assert_eq!(v["v"], 1);
    let x = &v["execution"];
    assert_eq!(x["status"], "FAILED");
    assert_eq!(x["stage"], "trial");
    assert_eq!(x["reason"], "health_check_failed");
    assert_eq!(x["reverted"], true);
    let j = execution(rejected()).to_json().unwrap();
    let v: serde_json::Value = serde_json::from_str(&j).unwrap();
    assert_eq!(v["execution"]["status"], "REJECTED");
    assert_eq!(v["execution"]["refusal"]["rule"]["kind"], "wrong_hardware");
    assert_eq!(v["execution"]["refusal"]["rule"]["revision"], "rev-C");
    let j = execution(in_progress()).to_json().unwrap();
    let v: serde_json::Value = serde_json::from_str(&j).unwrap();
    assert_eq!(v["execution"]["status"], "IN_PROGRESS");
    assert_eq!(v["execution"]["progress"]["done"], 65_536);
}

#[test]
fn envelope_is_base64_and_digests_hex() {
    let j = sample_job().to_json().unwrap();
    let v: serde_json::Value = serde_json::from_str(&j).unwrap();
    assert_eq!(v["job"]["release"]["envelope"], "0oRDoQEn");
    assert_eq!(
        v["job"]["images"][0]["deltas"][0]["from_sha256"],
        "11".repeat(32)
    );
    // Five bytes whose last character carries non-zero unused bits: a second spelling.
    let bad = j.replace("0oRDoQEn", "0oRDoQF=");
    assert!(json_err(JobDocument::from_json(&bad)).contains("base64"));
}

#[test]
fn version_is_checked_before_the_body() {
    let j = sample_job()
        .to_json()
        .unwrap()
        .replacen("\"v\": 1", "\"v\": 2", 1);
    assert_eq!(
        JobDocument::from_json(&j).unwrap_err(),
        Error::UnsupportedVersion {
            found: 2,
            supported: 1
        }
    );
    // Even with a body this version cannot read.
    let e = Message::from_json(r#"{"v": 7, "job": {"anything": []}}"#).unwrap_err();
    assert!(matches!(e, Error::UnsupportedVersion { found: 7, .. }));
    assert!(matches!(
        Message::from_json(r#"{"job": {}}"#).unwrap_err(),
        Error::Json { .. }
    ));
}

#[test]
fn kind_must_be_one_and_the_one_asked_for() {
    let report = sample_report().to_json().unwrap();
    assert_eq!(
        JobDocument::from_json(&report).unwrap_err(),
        Error::WrongMessage {
            expected: ota_protocol::Expected::Kind(MessageKind::Job),
            found: Some(MessageKind::Report)
        }
    );
    assert!(matches!(
        Message::from_json(r#"{"v": 1}"#).unwrap_err(),
        Error::WrongMessage { found: None, .. }
    ));
    assert!(matches!(
        Message::from_json(r#"{"v": 1, "job": {}, "report": {}}"#).unwrap_err(),
        Error::WrongMessage { found: None, .. }
    ));
}

#[test]
fn unknown_fields_and_wrong_types_are_refused() {
    let j = sample_job().to_json().unwrap();
    let extra = j.replacen("\"ring\": 1", "\"ring\": 1, \"priority\": 9", 1);
    assert!(json_err(JobDocument::from_json(&extra)).contains("unknown field `priority`"));
    let top = j.replacen("\"v\": 1", "\"v\": 1, \"x\": 0", 1);
    assert!(json_err(JobDocument::from_json(&top)).contains("unknown field `x`"));
    let wrong = j.replacen("\"ring\": 1", "\"ring\": \"1\"", 1);
    assert!(json_err(JobDocument::from_json(&wrong)).contains("invalid type"));
    let x = execution(in_progress()).to_json().unwrap();
    let bad_status = x.replacen("IN_PROGRESS", "RUNNING", 1);
    assert!(json_err(JobExecution::from_json(&bad_status)).contains("unknown variant"));
    // `refused` is not a failure reason on the wire.
    let f = execution(failed()).to_json().unwrap();
    let refused = f.replacen("health_check_failed", "refused", 1);
    assert!(json_err(JobExecution::from_json(&refused)).contains("unknown variant `refused`"));
    let bad_id = j.replacen("lock-fw-2_0_0", "lock/fw", 1);
    assert!(json_err(JobDocument::from_json(&bad_id)).contains("job id"));
}

#[test]
fn status_fields_must_match_the_status() {
    let f = execution(failed()).to_json().unwrap();
    let with_progress = f.replacen(
        "\"stage\"",
        "\"progress\": {\"done\": 1, \"total\": 2}, \"stage\"",
        1,
    );
    let msg = json_err(JobExecution::from_json(&with_progress));
    assert!(msg.contains("progress") && msg.contains("FAILED"), "{msg}");
    let no_reason = f.replacen("\"reason\": \"health_check_failed\",", "", 1);
    assert!(json_err(JobExecution::from_json(&no_reason)).contains("missing field `reason`"));
    let q = execution(Status::Queued).to_json().unwrap();
    let queued_stage = q.replacen("\"status\"", "\"stage\": \"install\", \"status\"", 1);
    assert!(json_err(JobExecution::from_json(&queued_stage)).contains("QUEUED"));
}

#[test]
fn metric_named_twice_and_non_finite_are_refused() {
    let r = sample_report().to_json().unwrap();
    let twice = r.replacen("\"rssi\": -67.0", "\"rssi\": -67.0, \"rssi\": 1.0", 1);
    assert!(json_err(DeviceReport::from_json(&twice)).contains("`rssi` appears twice"));
    let mut bad = sample_report();
    bad.health.insert("inf".into(), f64::INFINITY);
    let e = bad.to_json().unwrap_err();
    assert_eq!(e.path(), "report.health.inf");
    assert!(matches!(
        e,
        Error::Decode {
            kind: DecodeError::NonFinite,
            offset: None,
            ..
        }
    ));
    assert!(bad.to_cbor().is_err());
}

#[test]
fn limits_apply_to_json_with_paths() {
    let small = Limits {
        max_components: 1,
        ..Limits::default()
    };
    let j = sample_job().to_json().unwrap();
    match JobDocument::from_json_with(&j, &small).unwrap_err() {
        Error::LimitExceeded {
            limit: Limit::Components,
            count: 2,
            max: 1,
            path,
            offset: None,
        } => assert_eq!(path, "job.images"),
        other => panic!("{other:?}"),
    }
    let tiny = Limits {
        max_json_bytes: 10,
        ..Limits::default()
    };
    assert!(matches!(
        JobDocument::from_json_with(&j, &tiny).unwrap_err(),
        Error::TooLarge { max: 10, .. }
    ));
    let mut long = sample_report();
    long.installed[1].version = "9".repeat(129);
    match long.to_json().unwrap_err() {
        Error::LimitExceeded {
            limit: Limit::TextBytes,
            path,
            ..
        } => assert_eq!(path, "report.installed[1].version"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_encoder_refuses_what_the_decoder_would() {
    let mut j = minimal_job();
    j.release = ReleaseSource::Inline(vec![]);
    assert_eq!(j.to_cbor().unwrap_err().path(), "job.release");
    let mut j = sample_job();
    j.images[1].component = "lock-fw".into();
    assert!(matches!(
        j.to_cbor().unwrap_err(),
        Error::Decode {
            kind: DecodeError::DuplicateComponent(_),
            ..
        }
    ));
    j = sample_job();
    j.images[0].deltas[1].from_sha256 = j.images[0].deltas[0].from_sha256;
    assert_eq!(
        j.to_cbor().unwrap_err().path(),
        "job.images[0].deltas[1].from_sha256"
    );
    let mut x = execution(in_progress());
    x.status = Status::InProgress {
        stage: ota_protocol::Stage::Download,
        progress: ota_protocol::Progress { done: 5, total: 4 },
    };
    assert_eq!(x.to_cbor().unwrap_err().path(), "execution.progress");
    let mut x = execution(failed());
    if let Status::Failed { detail, .. } = &mut x.status {
        *detail = Some(String::new());
    }
    assert_eq!(x.to_json().unwrap_err().path(), "execution.detail");
    assert_eq!(x.status.kind(), StatusKind::Failed);
}

/// Every public type can cross threads (a server decodes on worker threads).
#[test]
fn public_types_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<JobDocument>();
    check::<JobExecution>();
    check::<DeviceReport>();
    check::<Message>();
    check::<Error>();
    check::<ota_protocol::ReportDedup>();
    check::<Limits>();
}
