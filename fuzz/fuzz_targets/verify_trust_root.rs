#![no_main]
//! Trust-root decode on arbitrary bytes: never a panic, and whatever decodes re-encodes to the
//! exact input (the encoding is canonical: one meaning, one byte string). The in-place load gives
//! what `from_signed` gives, or `TrustRoot::EMPTY`, over a slot that held another root.

use libfuzzer_sys::fuzz_target;
use ota_verify::{Role, SecretKey, TrustRoot};
use std::sync::OnceLock;

/// A root the in-place load overwrites (built once).
fn other_root() -> &'static TrustRoot {
    static ROOT: OnceLock<TrustRoot> = OnceLock::new();
    ROOT.get_or_init(|| {
        let key = |i: u8| SecretKey::from_seed(&[i; 32]).public_key();
        TrustRoot::builder(7, u64::MAX)
            .role(Role::ROOT, 1, &[key(1)])
            .role(Role::RELEASE, 1, &[key(2)])
            .build()
            .unwrap_or(TrustRoot::EMPTY)
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(root) = TrustRoot::decode(data) {
        assert_eq!(root.to_vec(), data);
        assert_eq!(root.encoded_len(), data.len());
    }
    let mut slot = other_root().clone();
    let loaded = slot.load_signed(data);
    match TrustRoot::from_signed(data) {
        Ok(root) => {
            assert_eq!(loaded, Ok(()));
            assert_eq!(slot, root);
        }
        Err(e) => {
            assert_eq!(loaded, Err(e));
            assert_eq!(slot, TrustRoot::EMPTY);
        }
    }
});
