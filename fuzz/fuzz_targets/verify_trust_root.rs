#![no_main]
//! Trust-root decode on arbitrary bytes: never a panic, and whatever decodes re-encodes to the
//! exact input (the encoding is canonical: one meaning, one byte string).

use libfuzzer_sys::fuzz_target;
use ota_verify::TrustRoot;

fuzz_target!(|data: &[u8]| {
    if let Ok(root) = TrustRoot::decode(data) {
        assert_eq!(root.to_vec(), data);
        assert_eq!(root.encoded_len(), data.len());
    }
    let _ = TrustRoot::from_signed(data);
});
