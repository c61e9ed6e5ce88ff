#![no_main]
//! ota-protocol's decoders on arbitrary input, as CBOR and as JSON: never panic; whatever decodes
//! as CBOR is the canonical encoding of what it decodes to (re-encoding gives the same bytes) and
//! survives the JSON form; whatever decodes as JSON has a CBOR form that decodes back to it.
//! A decoded execution is also applied to a queued one (the transition rules never panic).

use libfuzzer_sys::fuzz_target;
use ota_protocol::{Actor, JobExecution, Limits, Message};

fn round_trip(m: &Message, limits: &Limits) {
    let json = m.to_json().expect("a decoded message has a JSON form");
    let back = Message::from_json_with(&json, limits).expect("our JSON reads back");
    assert_eq!(&back, m);
    let cbor = m.to_cbor().expect("a decoded message encodes");
    let back = Message::from_cbor(&cbor).expect("our CBOR reads back");
    assert_eq!(&back, m);
    assert_eq!(back.to_cbor().expect("encodes again"), cbor);
    if let Message::Execution(x) = m {
        let mut held = JobExecution::queued(x.job_id.clone(), x.execution_number);
        for actor in [Actor::Device, Actor::Service] {
            let _ = held.apply(x, actor);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    // The JSON form of a 128 KiB message (base64, pretty-printed) can exceed the default JSON
    // limit.
    let limits = Limits {
        max_json_bytes: usize::MAX,
        ..Limits::default()
    };
    if let Ok(m) = Message::from_cbor(data) {
        let again = m.to_cbor().expect("a decoded message encodes");
        assert_eq!(again, data, "decoding admits only the canonical encoding");
        round_trip(&m, &limits);
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(m) = Message::from_json(text)
    {
        round_trip(&m, &limits);
    }
});
