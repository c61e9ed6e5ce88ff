#![no_main]
//! The JSON form of manifests: never panics, and whatever JSON is accepted converts to canonical
//! CBOR that decodes to the same manifest and re-encodes to the same bytes.

use libfuzzer_sys::fuzz_target;
use ota_manifest::Manifest;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(m) = Manifest::from_json(text) else {
        return;
    };
    let cbor = m.to_cbor().expect("accepted JSON has a CBOR form");
    let back = Manifest::from_cbor(&cbor).expect("our encoding decodes");
    assert_eq!(back, m);
    assert_eq!(back.to_cbor().expect("re-encodes"), cbor);
});
