#![no_main]
//! Twin document decoding, CBOR and JSON: never panics; whatever decodes from CBOR is the
//! canonical encoding of what it decodes to, and survives the JSON form unchanged; delta views
//! and diffs of decoded documents never panic and round-trip.

use libfuzzer_sys::fuzz_target;
use ota_twin::serde_json::Value;
use ota_twin::{Limits, Twin, decode_value, diff, encode_value};

fuzz_target!(|data: &[u8]| {
    if let Ok(t) = Twin::from_cbor(data, Limits::custom()) {
        assert_eq!(t.to_cbor(), data, "only the canonical encoding decodes");
        let back = Twin::from_json(t.to_json().as_bytes(), Limits::custom())
            .expect("our JSON form reads back");
        assert_eq!(back, t);
        let _ = t.delta();
        let _ = t.unreported();
        let _ = t.reported_delta();
        let d = t
            .desired()
            .cloned()
            .map(Value::Object)
            .unwrap_or(Value::Null);
        let r = t
            .reported()
            .cloned()
            .map(Value::Object)
            .unwrap_or(Value::Null);
        let p = diff(&r, &d);
        let mut doc = r.clone();
        p.apply(&mut doc).expect("a generated patch applies");
        assert_eq!(doc, d);
    }
    if let Ok(v) = decode_value(data) {
        assert_eq!(encode_value(&v), data);
    }
    if let Ok(t) = Twin::from_json(data, Limits::aws()) {
        let again = Twin::from_json(t.to_json().as_bytes(), Limits::aws()).expect("reads back");
        assert_eq!(again, t);
    }
});
