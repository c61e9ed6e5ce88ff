//! Documents of the three crates and their decoders before (commit 3be577b) and after the move
//! onto ota-cbor, linked into one binary so both run in the same process.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
#[path = "../../src/twin_docs.rs"]
pub mod twin_docs;

use std::hint::black_box;

use new_manifest::semver::{Version, VersionReq};
use new_manifest::{
    Compatibility, Component, DeltaAlgorithm, DeltaSource, Dependency, DeviceId, Layer, Manifest,
};
use new_verify::{ImageRef, SecretKey, SignOptions, Signer, sign, sign1};

fn component(i: usize, chunks: Option<u32>, image: &[u8]) -> Component {
    let mut c = Component::from_image(
        format!("component-{i}"),
        if i == 0 {
            Layer::Firmware
        } else {
            Layer::Application
        },
        Version::new(2, i as u64, 0),
        VersionReq::parse("^1").unwrap(),
        image,
        chunks,
    )
    .unwrap();
    c.deltas.push(DeltaSource::from_patch(
        Version::new(1, 4, 2),
        &image[..image.len() / 2],
        &image[..100],
        DeltaAlgorithm::Bsdiff40,
    ));
    c
}
fn manifest(components: Vec<Component>) -> Manifest {
    Manifest {
        name: "fw-2.0.0".into(),
        version: Version::new(2, 0, 0),
        sequence: 1,
        security_counter: 1,
        issued_at: 1_764_000_000,
        expires_at: Some(1_795_536_000),
        notes_uri: None,
        support_ends_at: None,
        max_security_deferral: None,
        compatibility: Compatibility {
            vendor: DeviceId::from_uuid([0xfa; 16]),
            classes: vec![DeviceId::from_uuid([0x14; 16])],
            hardware: vec![],
            hardware_ranges: vec![VersionReq::parse("^2").unwrap()],
        },
        components,
        extensions: Default::default(),
    }
}
fn fleet() -> Manifest {
    let image = vec![0xa5u8; 64 * 4096];
    let comps = (0..16)
        .map(|i| {
            let mut c = component(i, Some(4096), &image);
            c.deltas.push(DeltaSource::from_patch(
                Version::new(1, 5, 0),
                &image[..1000],
                &image[..50],
                DeltaAlgorithm::OtaDelta,
            ));
            if i > 0 {
                c.dependencies.push(Dependency {
                    id: "component-0".into(),
                    req: VersionReq::parse("^2").unwrap(),
                });
            }
            c
        })
        .collect();
    manifest(comps)
}

/// (name, bytes) of every document.
pub struct Docs {
    pub small: Vec<u8>,
    pub fleet: Vec<u8>,
    pub sign1: Vec<u8>,
    pub sign3: Vec<u8>,
    pub value1k: Vec<u8>,
    pub value10k: Vec<u8>,
    pub twin10k: Vec<u8>,
}

pub fn docs() -> Docs {
    let small = manifest(vec![component(0, None, &[0x5a; 34_768])])
        .to_cbor()
        .unwrap();
    let fleet = fleet().to_cbor().unwrap();
    let signers: Vec<SecretKey> = (10u8..=12)
        .map(|i| SecretKey::from_seed(&[i; 32]))
        .collect();
    let refs: Vec<&dyn Signer> = signers.iter().map(|s| s as &dyn Signer).collect();
    let payload = ImageRef::of(b"image").to_vec();
    let opts = SignOptions {
        sequence: Some(2),
        expires: Some(1_700_000_060),
        ..SignOptions::default()
    };
    let sign1 = sign1(&payload, &signers[0], &opts).unwrap();
    let sign3 = sign(&payload, &refs, &opts).unwrap();
    let value1k = new_twin::encode_value(&twin_docs::document(1 << 10));
    let a = twin_docs::document(10 << 10);
    let value10k = new_twin::encode_value(&a);
    let limits = new_twin::Limits::custom();
    let mut twin = new_twin::Twin::new(limits);
    twin.apply_update(&new_twin::Update::desired(a.clone()).unwrap(), 1)
        .unwrap();
    twin.apply_update(
        &new_twin::Update::reported(twin_docs::modified(&a)).unwrap(),
        2,
    )
    .unwrap();
    let twin10k = twin.to_cbor();
    Docs {
        small,
        fleet,
        sign1,
        sign3,
        value1k,
        value10k,
        twin10k,
    }
}

// One function per (tree, decoder), never inlined, for callgrind's --toggle-collect.
#[inline(never)]
pub fn old_manifest(b: &[u8]) {
    black_box(old_manifest::Manifest::from_cbor(black_box(b)).unwrap());
}
#[inline(never)]
pub fn new_manifest(b: &[u8]) {
    black_box(new_manifest::Manifest::from_cbor(black_box(b)).unwrap());
}
#[inline(never)]
pub fn old_envelope(b: &[u8]) {
    black_box(old_verify::Envelope::decode(black_box(b)).unwrap());
}
#[inline(never)]
pub fn new_envelope(b: &[u8]) {
    black_box(new_verify::Envelope::decode(black_box(b)).unwrap());
}
#[inline(never)]
pub fn old_value(b: &[u8]) {
    black_box(old_twin::cbor::decode_value(black_box(b)).unwrap());
}
#[inline(never)]
pub fn new_value(b: &[u8]) {
    black_box(new_twin::decode_value(black_box(b)).unwrap());
}
#[inline(never)]
pub fn old_twin_doc(b: &[u8]) {
    black_box(old_twin::Twin::from_cbor(black_box(b), old_twin::Limits::custom()).unwrap());
}
#[inline(never)]
pub fn new_twin_doc(b: &[u8]) {
    black_box(new_twin::Twin::from_cbor(black_box(b), new_twin::Limits::custom()).unwrap());
}
