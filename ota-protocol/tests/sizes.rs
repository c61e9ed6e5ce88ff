//! Bytes on the wire of the sample messages (tests/common), CBOR and (pretty-printed) JSON, spelled
//! out: the README's table comes from here, and a change to the encoding shows up as a failure.
//! Print them with `cargo test -p ota-protocol --test sizes -- --nocapture`.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use ota_protocol::Message;

#[test]
fn sample_message_sizes() {
    let samples = [
        (
            "job, envelope fetched, no images",
            Message::Job(minimal_job()),
            98,
            348,
        ),
        (
            "job, 6-byte envelope inline, 2 components, 2 deltas, policy",
            Message::Job(sample_job()),
            355,
            1008,
        ),
        (
            "execution IN_PROGRESS (download, bytes done/total)",
            Message::Execution(execution(in_progress())),
            40,
            232,
        ),
        (
            "execution SUCCEEDED",
            Message::Execution(execution(ota_protocol::Status::Succeeded)),
            26,
            136,
        ),
        (
            "execution FAILED (stage, reason, reverted, 38-byte detail)",
            Message::Execution(execution(failed())),
            73,
            270,
        ),
        (
            "execution REJECTED (wrong hardware, component)",
            Message::Execution(execution(rejected())),
            46,
            275,
        ),
        (
            "report, 2 components, slot, 4 metrics",
            Message::Report(sample_report()),
            150,
            556,
        ),
    ];
    for (what, m, cbor, json) in samples {
        let c = m.to_cbor().unwrap().len();
        let j = m.to_json().unwrap().len();
        println!("| {what} | {c} | {j} |");
        assert_eq!((c, j), (cbor, json), "{what}");
    }
}
