#![no_main]
//! The ota-agent lifecycle record (STATES.md, "Record format") on arbitrary bytes: decoding never
//! panics; a record that decodes encodes again without error, to the very same bytes (padding
//! must be zero, unknown flag bits are refused: every record has one encoding), and that
//! encoding is a fixed point.

use libfuzzer_sys::fuzz_target;
use ota_agent::fuzzing::record_reencode;

fuzz_target!(|data: &[u8]| {
    let Ok(encoded) = record_reencode(data) else {
        return;
    };
    assert_eq!(encoded, data, "re-encoding changed a byte");
    let again = record_reencode(&encoded).expect("an encoded record decodes");
    assert_eq!(again, encoded, "encoding is not a fixed point");
});
