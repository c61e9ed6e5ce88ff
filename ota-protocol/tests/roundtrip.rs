//! Round trips: every valid message survives CBOR and JSON, and its CBOR re-encodes byte for byte.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use ota_protocol::{DeviceReport, JobDocument, JobExecution, Message, Status};
use proptest::prelude::*;

fn check_job(j: &JobDocument) {
    let cbor = j.to_cbor().unwrap();
    let back = JobDocument::from_cbor(&cbor).unwrap();
    assert_eq!(&back, j);
    assert_eq!(back.to_cbor().unwrap(), cbor);
    let json = j.to_json().unwrap();
    assert_eq!(&JobDocument::from_json(&json).unwrap(), j, "{json}");
    assert_eq!(Message::from_cbor(&cbor).unwrap(), Message::Job(j.clone()));
    assert_eq!(Message::from_json(&json).unwrap(), Message::Job(j.clone()));
}

fn check_execution(x: &JobExecution) {
    let cbor = x.to_cbor().unwrap();
    let back = JobExecution::from_cbor(&cbor).unwrap();
    assert_eq!(&back, x);
    assert_eq!(back.to_cbor().unwrap(), cbor);
    let json = x.to_json().unwrap();
    assert_eq!(&JobExecution::from_json(&json).unwrap(), x, "{json}");
}

fn check_report(r: &DeviceReport) {
    let cbor = r.to_cbor().unwrap();
    let back = DeviceReport::from_cbor(&cbor).unwrap();
    assert_eq!(&back, r);
    assert_eq!(back.to_cbor().unwrap(), cbor);
    let json = r.to_json().unwrap();
    assert_eq!(&DeviceReport::from_json(&json).unwrap(), r, "{json}");
}

#[test]
fn samples_round_trip() {
    check_job(&sample_job());
    check_job(&minimal_job());
    for s in [
        Status::Queued,
        in_progress(),
        Status::Succeeded,
        failed(),
        Status::TimedOut,
        rejected(),
        Status::Removed,
        Status::Canceled,
    ] {
        check_execution(&execution(s));
    }
    check_report(&sample_report());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn jobs_round_trip(j in any_job()) {
        check_job(&j);
    }

    #[test]
    fn executions_round_trip(x in any_execution()) {
        check_execution(&x);
    }

    #[test]
    fn reports_round_trip(r in any_report()) {
        check_report(&r);
    }
}
