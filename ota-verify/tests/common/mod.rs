//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ota_verify::{PublicKey, Role, SecretKey, SignOptions, TrustRoot};

/// A fixed "now" (2023-11-14) and a far expiry, so tests are deterministic.
pub const NOW: u64 = 1_700_000_000;
pub const FAR: u64 = 2_000_000_000;

pub fn key(i: u8) -> SecretKey {
    SecretKey::from_seed(&[i; 32])
}

pub fn keys(range: core::ops::RangeInclusive<u8>) -> Vec<SecretKey> {
    range.map(key).collect()
}

pub fn public(keys: &[SecretKey]) -> Vec<PublicKey> {
    keys.iter().map(SecretKey::public_key).collect()
}

/// Root keys 1..=3 (2-of-3), release keys 10..=12 (2-of-3), version `v`.
pub fn root(v: u64) -> TrustRoot {
    TrustRoot::builder(v, FAR)
        .role(Role::ROOT, 2, &public(&keys(1..=3)))
        .role(Role::RELEASE, 2, &public(&keys(10..=12)))
        .build()
        .unwrap()
}

pub fn release_opts(seq: u64) -> SignOptions<'static> {
    SignOptions {
        sequence: Some(seq),
        expires: Some(NOW + 86_400),
        ..SignOptions::default()
    }
}

pub fn hex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Runs `cmd` if the tool exists; returns None (after a note) when it does not and CI is unset,
/// and panics when it does not and CI is set.
pub fn tool_available(name: &str) -> bool {
    let found = std::process::Command::new(name)
        .arg("version")
        .output()
        .is_ok();
    if !found {
        if std::env::var_os("CI").is_some() {
            panic!("{name} is required in CI (installed by .ci/setup/verify.sh)");
        }
        eprintln!("note: {name} not found, skipping this test");
    }
    found
}
