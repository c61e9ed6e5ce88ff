#![no_main]
//! ota-suit on arbitrary input: decoding never panics and respects the limits; whatever decodes
//! is verified against the libcsuit examples' ES256 anchor and mapped (never a panic); and only
//! the seven published example envelopes themselves can verify (forging ES256 is not expected
//! of a fuzzer, so any other input that verifies is a bug).

use libfuzzer_sys::fuzz_target;
use ota_suit::{Envelope, Limits, MapOptions, TrustAnchor};

const EXAMPLES: [&[u8]; 7] = [
    include_bytes!("../../ota-suit/tests/data/suit_manifest_exp0.suit"),
    include_bytes!("../../ota-suit/tests/data/suit_manifest_exp1.suit"),
    include_bytes!("../../ota-suit/tests/data/suit_manifest_exp2A.suit"),
    include_bytes!("../../ota-suit/tests/data/suit_manifest_exp2B.suit"),
    include_bytes!("../../ota-suit/tests/data/suit_manifest_exp3.suit"),
    include_bytes!("../../ota-suit/tests/data/suit_manifest_exp4.suit"),
    include_bytes!("../../ota-suit/tests/data/suit_manifest_exp5.suit"),
];

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let Ok(env) = Envelope::decode(data, &limits) else {
        return;
    };
    assert!(env.manifest().components.len() <= limits.max_components);
    assert!(env.signatures().len() <= limits.max_signatures);
    let anchor = TrustAnchor::from_pem(include_str!(
        "../../ota-suit/tests/data/trust_anchor_secp256r1_pub.pem"
    ))
    .expect("the published anchor");
    let Ok(verified) = env.verify(&anchor) else {
        return;
    };
    assert!(
        EXAMPLES.contains(&data),
        "an envelope that is not one of the examples verified"
    );
    for slot in [None, Some(0), Some(1)] {
        let options = match slot {
            Some(s) => MapOptions::default().slot(s),
            None => MapOptions::default(),
        };
        let _ = verified.to_manifest(&options);
    }
});
