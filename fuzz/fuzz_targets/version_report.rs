#![no_main]
//! ota-protocol's signed version report on arbitrary input: the payload decoder and the
//! server's verification never panic; a payload that decodes is the canonical encoding of what
//! it decodes to, and once signed with the target's device key it verifies back to the same
//! report. Raw inputs are also checked as signed reports of that key (the seeds include some).

use libfuzzer_sys::fuzz_target;
use ota_protocol::{Limits, ReportCheck, VersionReport, verify_version_report};
use ota_verify::SecretKey;

/// The device key of the seeds (`examples/make_corpus.rs` signs with the same seed).
const SEED: [u8; 32] = [5; 32];

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let key = SecretKey::from_seed(&SEED);
    let public = key.public_key();
    if let Ok(r) = VersionReport::from_cbor(data, &limits) {
        let again = r.to_cbor(&limits).expect("a decoded report encodes");
        assert_eq!(again, data, "decoding admits only the canonical encoding");
        let signed = r.sign(&key, &limits).expect("a decoded report signs");
        let check = ReportCheck {
            device: &r.device,
            key: &public,
            last_counter: r.counter.checked_sub(1),
            nonce: r.nonce.as_deref(),
        };
        let back = verify_version_report(&signed, &check, &limits).expect("our report verifies");
        assert_eq!(back, r);
    }
    let check = ReportCheck {
        device: "dev-1",
        key: &public,
        last_counter: Some(0),
        nonce: None,
    };
    if let Ok(r) = verify_version_report(data, &check, &limits) {
        assert_eq!(r.device, "dev-1");
        assert!(r.counter > 0);
    }
});
