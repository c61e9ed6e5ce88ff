//! ota-manifest: encode and decode time, canonical CBOR vs the JSON form, and encoded sizes.
//!
//! Two manifests: `small`, one firmware component with one delta source (the size-target shape),
//! and `fleet`, 16 components with 64 chunk digests, 2 delta sources and a dependency each.
//! The sizes are printed once at start (`manifest sizes: ...`) so a run records them with the times.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ota_manifest::semver::{Version, VersionReq};
use ota_manifest::{
    Compatibility, Component, DeltaAlgorithm, DeltaSource, Dependency, DeviceId, Layer, Manifest,
};

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

fn small() -> Manifest {
    manifest(vec![component(0, None, &[0x5a; 34_768])])
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

fn bench(c: &mut Criterion) {
    for (name, m) in [("small", small()), ("fleet", fleet())] {
        let cbor = m.to_cbor().unwrap();
        let json = m.to_json().unwrap();
        let compact = m.to_json_compact().unwrap();
        println!(
            "manifest sizes: {name}: CBOR {} bytes, JSON pretty {} bytes, JSON compact {} bytes \
             (compact JSON / CBOR = {:.2})",
            cbor.len(),
            json.len(),
            compact.len(),
            compact.len() as f64 / cbor.len() as f64
        );
        let mut g = c.benchmark_group(format!("manifest/{name}"));
        g.throughput(Throughput::Bytes(cbor.len() as u64));
        g.bench_function("encode_cbor", |b| {
            b.iter(|| black_box(&m).to_cbor().unwrap())
        });
        g.bench_function("decode_cbor", |b| {
            b.iter(|| Manifest::from_cbor(black_box(&cbor)).unwrap())
        });
        g.throughput(Throughput::Bytes(json.len() as u64));
        g.bench_function("encode_json", |b| {
            b.iter(|| black_box(&m).to_json().unwrap())
        });
        g.bench_function("decode_json", |b| {
            b.iter(|| Manifest::from_json(black_box(&json)).unwrap())
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
