//! Decode + verify time of SUIT envelopes beside an ota envelope of similar size.
//!
//! `cargo run --release -p ota-suit --example measure`
//!
//! SUIT: decode, manifest digest, signature, and the mapping to an ota manifest. ota: the
//! COSE_Sign envelope verified against a trust root (one release key), then the manifest
//! decoded. Median of 15 rounds of N iterations each, so other load on the machine shows less.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::time::Instant;

use ota_manifest::semver::{Version, VersionReq};
use ota_manifest::{Compatibility, Component, DeviceId, Layer, Manifest};
use ota_suit::{Envelope, Limits, MapOptions, TrustAnchor};
use ota_verify::{Policy, Role, SecretKey, SignOptions, TrustRoot};

const N: u32 = 400;

fn median_us(mut f: impl FnMut()) -> f64 {
    let mut rounds = Vec::new();
    for _ in 0..15 {
        let t = Instant::now();
        for _ in 0..N {
            f();
        }
        rounds.push(t.elapsed().as_secs_f64() * 1e6 / f64::from(N));
    }
    rounds.sort_by(f64::total_cmp);
    rounds[rounds.len() / 2]
}

fn ota_release(key: &SecretKey) -> Vec<u8> {
    let image = b"lock firmware 3.0.0".repeat(1000);
    let fw = Component::from_image(
        "00",
        Layer::Firmware,
        Version::new(3, 0, 0),
        VersionReq::STAR,
        &image,
        None,
    )
    .unwrap();
    let m = Manifest {
        name: "lock-3".into(),
        version: Version::new(3, 0, 0),
        sequence: 1,
        security_counter: 0,
        issued_at: 1_764_000_000,
        expires_at: None,
        notes_uri: None,
        support_ends_at: None,
        max_security_deferral: None,
        compatibility: Compatibility {
            vendor: DeviceId::from_uuid(common::VENDOR),
            classes: vec![DeviceId::from_uuid(common::CLASS)],
            hardware: vec![],
            hardware_ranges: vec![VersionReq::STAR],
        },
        components: vec![Component {
            uris: vec!["http://example.com/file.bin".into()],
            ..fw
        }],
        extensions: Default::default(),
    };
    let opts = SignOptions {
        sequence: Some(1),
        expires: Some(1_900_000_000),
        ..Default::default()
    };
    ota_verify::sign(&m.to_cbor().unwrap(), &[key], &opts).unwrap()
}

fn main() {
    let limits = Limits::default();
    let suit_es256 = include_bytes!("../tests/data/suit_manifest_exp1.suit");
    let es256 = TrustAnchor::from_pem(include_str!("../tests/data/trust_anchor_secp256r1_pub.pem"))
        .unwrap();
    let suit_ed = common::envelope(&common::manifest(
        1,
        &b"lock firmware 3.0.0".repeat(1000),
        "http://example.com/file.bin",
    ));
    let ed = common::anchor();
    let key = SecretKey::from_seed(&[5; 32]);
    let ota = ota_release(&key);
    let root = TrustRoot::builder(1, 2_000_000_000)
        .role(
            Role::ROOT,
            1,
            &[SecretKey::from_seed(&[6; 32]).public_key()],
        )
        .role(Role::RELEASE, 1, &[key.public_key()])
        .build()
        .unwrap();

    let decode = median_us(|| {
        black_box(Envelope::decode(black_box(suit_es256), &limits).unwrap());
    });
    let suit_es = median_us(|| {
        let v = ota_suit::verify(black_box(suit_es256), &es256, &limits).unwrap();
        black_box(v.to_manifest(&MapOptions::default()).unwrap());
    });
    let suit_ed_t = median_us(|| {
        let v = ota_suit::verify(black_box(&suit_ed), &ed, &limits).unwrap();
        black_box(v.to_manifest(&MapOptions::default()).unwrap());
    });
    let ota_t = median_us(|| {
        let v = root
            .verify(black_box(&ota), None, &Policy::new(1_764_000_000, 0))
            .unwrap();
        black_box(Manifest::from_cbor(v.payload).unwrap());
    });
    println!("median of 15 rounds x {N} iterations, --release");
    println!(
        "SUIT example 1, {} B, decode only:                   {decode:8.1} us",
        suit_es256.len()
    );
    println!(
        "SUIT example 1, {} B, ES256 decode+verify+map:       {suit_es:8.1} us",
        suit_es256.len()
    );
    println!(
        "SUIT, ours, {} B, Ed25519 decode+verify+map:         {suit_ed_t:8.1} us",
        suit_ed.len()
    );
    println!(
        "ota envelope, {} B, Ed25519 verify+manifest decode:  {ota_t:8.1} us",
        ota.len()
    );
    println!(
        "ratio SUIT Ed25519 / ota: {:.2}; SUIT ES256 / ota: {:.2}",
        suit_ed_t / ota_t,
        suit_es / ota_t
    );
}
