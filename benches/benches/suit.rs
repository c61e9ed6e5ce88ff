//! Criterion benchmarks for ota-suit beside ota's own envelope: decoding and verifying an IETF
//! SUIT envelope (example 1 of draft-ietf-suit-manifest as libcsuit publishes it, ES256; and an
//! envelope of the same manifest shape signed with Ed25519 by ota-suit's test encoder) against
//! an ota release envelope (COSE_Sign1, Ed25519) of a one-component manifest with the same
//! vendor, class, digest, size and URI.
//!
//! `cargo bench -p ota-benches --bench suit`; `cargo test -p ota-benches --bench suit` runs each
//! benchmark once. The figures are recorded in `benches/RESULTS.md` (hand-run section "SUIT").
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "../../ota-suit/tests/common/mod.rs"]
mod common;

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use ota_manifest::semver::{Version, VersionReq};
use ota_manifest::{Compatibility, Component, DeviceId, Layer, Manifest};
use ota_suit::{Envelope, Limits, MapOptions, TrustAnchor};
use ota_verify::{Policy, Role, SecretKey, SignOptions, TrustRoot};

const NOW: u64 = 1_764_000_000;
const URI: &str = "http://example.com/file.bin";

fn image() -> Vec<u8> {
    b"lock firmware 3.0.0".repeat(1000)
}

/// The ota release of the same content as the SUIT envelopes: one component, vendor and class,
/// digest, size and URI, signed by one release key (COSE_Sign1).
fn ota_release(key: &SecretKey) -> Vec<u8> {
    let image = image();
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
        issued_at: NOW,
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
            uris: vec![URI.into()],
            ..fw
        }],
        extensions: Default::default(),
    };
    let opts = SignOptions {
        sequence: Some(1),
        expires: Some(1_900_000_000),
        ..Default::default()
    };
    ota_verify::sign1(&m.to_cbor().unwrap(), key, &opts).unwrap()
}

fn bench(c: &mut Criterion) {
    let limits = Limits::default();
    let exp1: &[u8] = include_bytes!("../../ota-suit/tests/data/suit_manifest_exp1.suit");
    let es256 = TrustAnchor::from_pem(include_str!(
        "../../ota-suit/tests/data/trust_anchor_secp256r1_pub.pem"
    ))
    .unwrap();
    let ours = common::envelope(&common::manifest(1, &image(), URI));
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
    let policy = Policy::new(NOW, 0);
    // The three describe one release: the same digest and size reach the manifest.
    let from_suit = ota_suit::verify(&ours, &ed, &limits)
        .unwrap()
        .to_manifest(&MapOptions::default())
        .unwrap();
    let from_ota = Manifest::from_cbor(root.verify(&ota, None, &policy).unwrap().payload).unwrap();
    assert_eq!(
        from_suit.components[0].sha256,
        from_ota.components[0].sha256
    );
    assert_eq!(from_suit.components[0].size, from_ota.components[0].size);
    eprintln!(
        "sizes: SUIT example 1 {} B, SUIT Ed25519 {} B, ota COSE_Sign1 {} B",
        exp1.len(),
        ours.len(),
        ota.len()
    );

    let mut g = c.benchmark_group("suit/decode");
    g.bench_function("suit_exp1_es256", |b| {
        b.iter(|| Envelope::decode(black_box(exp1), &limits).unwrap())
    });
    g.bench_function("suit_ed25519", |b| {
        b.iter(|| Envelope::decode(black_box(&ours), &limits).unwrap())
    });
    g.bench_function("ota_envelope_and_manifest", |b| {
        b.iter(|| {
            let env = ota_verify::Envelope::decode(black_box(&ota)).unwrap();
            Manifest::from_cbor(env.payload().unwrap()).unwrap()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("suit/verify");
    g.sample_size(30);
    g.bench_function("suit_exp1_es256", |b| {
        b.iter(|| ota_suit::verify(black_box(exp1), &es256, &limits).unwrap())
    });
    g.bench_function("suit_exp1_es256_and_map", |b| {
        b.iter(|| {
            ota_suit::verify(black_box(exp1), &es256, &limits)
                .unwrap()
                .to_manifest(&MapOptions::default())
                .unwrap()
        })
    });
    g.bench_function("suit_ed25519", |b| {
        b.iter(|| ota_suit::verify(black_box(&ours), &ed, &limits).unwrap())
    });
    g.bench_function("suit_ed25519_and_map", |b| {
        b.iter(|| {
            ota_suit::verify(black_box(&ours), &ed, &limits)
                .unwrap()
                .to_manifest(&MapOptions::default())
                .unwrap()
        })
    });
    g.bench_function("ota_envelope_and_manifest", |b| {
        b.iter(|| {
            let v = root.verify(black_box(&ota), None, &policy).unwrap();
            Manifest::from_cbor(v.payload).unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
