#![no_main]
//! Envelope decode and verification on arbitrary bytes: never a panic; anything that decodes
//! has consistent fields; verification against a fixed trust root never accepts a forgery
//! without the signing key (it can only fail, since the fuzzer does not hold the key).
//!
//! The keys and the trust root are built once per process: deriving two Ed25519 keys and
//! building the root on every run cost ~90% of the time (~3,000 runs/s).

use libfuzzer_sys::fuzz_target;
use ota_verify::{Envelope, Policy, Role, SecretKey, TrustRoot};
use std::sync::OnceLock;

fn root() -> Option<&'static TrustRoot> {
    static ROOT: OnceLock<Option<TrustRoot>> = OnceLock::new();
    ROOT.get_or_init(|| {
        let root_key = SecretKey::from_seed(&[1; 32]).public_key();
        let release_key = SecretKey::from_seed(&[2; 32]).public_key();
        TrustRoot::builder(1, u64::MAX)
            .role(Role::ROOT, 1, &[root_key])
            .role(Role::RELEASE, 1, &[release_key])
            .build()
            .ok()
    })
    .as_ref()
}

fuzz_target!(|data: &[u8]| {
    if let Ok(env) = Envelope::decode(data) {
        assert!(!env.signatures().is_empty());
        assert!(env.signatures().len() <= ota_verify::MAX_SIGNATURES);
        let _ = env.to_be_signed(0, b"", Some(b"detached"));
    }
    let root = root().expect("the fixed trust root builds");
    assert!(root.verify(data, None, &Policy::new(0, 0)).is_err());
    assert!(
        root.verify(data, Some(b"payload"), &Policy::new(0, 0))
            .is_err()
    );
});
