#![no_main]
//! The ota-agent lifecycle record (STATES.md, "Record format") on arbitrary bytes: decoding never
//! panics; a record that decodes encodes again without error, to the same bytes except where the
//! format ignores them (the delta cursor when its valid flag is 0, the zero padding after each
//! component id), and that encoding is a fixed point.

use libfuzzer_sys::fuzz_target;
use ota_agent::fuzzing::record_reencode;

const FIXED: usize = 153;
const PER_COMPONENT: usize = 78;

/// `bytes` with the regions the decoder ignores set to what the encoder writes (zeros).
fn canonical(bytes: &[u8]) -> Vec<u8> {
    let mut c = bytes.to_vec();
    if c[88] == 0 {
        c[89..153].fill(0);
    }
    let mut o = FIXED;
    while o + PER_COMPONENT <= c.len() {
        let len = usize::from(c[o]);
        c[o + 1 + len..o + 33].fill(0);
        o += PER_COMPONENT;
    }
    c
}

fuzz_target!(|data: &[u8]| {
    let Ok(encoded) = record_reencode(data) else {
        return;
    };
    assert_eq!(encoded.len(), data.len(), "re-encoding changed the length");
    assert_eq!(encoded, canonical(data), "re-encoding changed a meaningful byte");
    let again = record_reencode(&encoded).expect("an encoded record decodes");
    assert_eq!(again, encoded, "encoding is not a fixed point");
});
