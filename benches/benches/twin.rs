//! ota-twin: JSON Patch diff and apply on twin-like documents from 1 KB to 1 MB, side by side with
//! the json-patch crate (5.0) on the same documents. Also prints the size of the patches each
//! produces (compact JSON bytes), since a smaller patch is the point of the LCS/move diff.
//!
//! Also the strict CBOR decoders: `Twin::from_cbor` on a twin holding one document as desired and
//! its modified copy as reported, and `decode_value` on the document alone (`twin/decode`).
//!
//! Run: `cargo bench -p ota-benches --bench twin` (decode only: `-- twin/decode`)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ota_benches::twin_docs::{document, modified};
use ota_twin::serde_json;

const SIZES: [usize; 4] = [1 << 10, 10 << 10, 100 << 10, 1 << 20];

fn patch_sizes() {
    println!("twin patch sizes (compact JSON bytes): doc, ota-twin, json-patch, ratio");
    for &size in &SIZES {
        let a = document(size);
        let b = modified(&a);
        let ours = ota_twin::diff(&a, &b);
        let theirs = json_patch::diff(&a, &b);
        let ours_len = ours.to_json().len();
        let theirs_len = serde_json::to_string(&theirs).unwrap().len();
        let mut check = a.clone();
        ours.apply(&mut check).unwrap();
        assert_eq!(check, b);
        println!(
            "  {:>8} B doc: ota-twin {} ops / {} B, json-patch {} ops / {} B, ratio {:.4}",
            serde_json::to_vec(&a).unwrap().len(),
            ours.len(),
            ours_len,
            theirs.0.len(),
            theirs_len,
            ours_len as f64 / theirs_len as f64
        );
    }
}

fn bench(c: &mut Criterion) {
    patch_sizes();
    let mut diff = c.benchmark_group("twin/diff");
    for &size in &SIZES {
        let a = document(size);
        let b = modified(&a);
        diff.throughput(Throughput::Bytes(
            serde_json::to_vec(&a).unwrap().len() as u64
        ));
        diff.bench_with_input(
            BenchmarkId::new("ota-twin", size),
            &(&a, &b),
            |bn, (a, b)| bn.iter(|| black_box(ota_twin::diff(a, b))),
        );
        diff.bench_with_input(
            BenchmarkId::new("json-patch", size),
            &(&a, &b),
            |bn, (a, b)| bn.iter(|| black_box(json_patch::diff(a, b))),
        );
    }
    diff.finish();

    let mut apply = c.benchmark_group("twin/apply");
    for &size in &SIZES {
        let a = document(size);
        let b = modified(&a);
        let ours = ota_twin::diff(&a, &b);
        let ours_for_them: json_patch::Patch = serde_json::from_value(ours.to_value()).unwrap();
        let theirs = json_patch::diff(&a, &b);
        apply.throughput(Throughput::Bytes(
            serde_json::to_vec(&a).unwrap().len() as u64
        ));
        apply.bench_with_input(BenchmarkId::new("ota-twin", size), &a, |bn, a| {
            bn.iter_batched(
                || a.clone(),
                |mut d| {
                    ours.apply(&mut d).unwrap();
                    d
                },
                BatchSize::LargeInput,
            )
        });
        // The same (small) patch, applied by json-patch.
        apply.bench_with_input(
            BenchmarkId::new("json-patch/same-patch", size),
            &a,
            |bn, a| {
                bn.iter_batched(
                    || a.clone(),
                    |mut d| {
                        json_patch::patch(&mut d, &ours_for_them).unwrap();
                        d
                    },
                    BatchSize::LargeInput,
                )
            },
        );
        // json-patch applying its own (larger) diff.
        apply.bench_with_input(
            BenchmarkId::new("json-patch/own-patch", size),
            &a,
            |bn, a| {
                bn.iter_batched(
                    || a.clone(),
                    |mut d| {
                        json_patch::patch(&mut d, &theirs).unwrap();
                        d
                    },
                    BatchSize::LargeInput,
                )
            },
        );
    }
    apply.finish();
}

/// Decode speed of the strict CBOR readers, in bytes of CBOR per second.
fn decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("twin/decode");
    for &size in &SIZES {
        let a = document(size);
        let value = ota_twin::encode_value(&a);
        group.throughput(Throughput::Bytes(value.len() as u64));
        group.bench_with_input(BenchmarkId::new("value", size), &value, |bn, v| {
            bn.iter(|| black_box(ota_twin::decode_value(v).unwrap()))
        });
        // A 1 MB document is over Limits::custom's 1 MiB section limit: twins up to 100 KB.
        if size > 100 << 10 {
            continue;
        }
        let limits = ota_twin::Limits::custom();
        let mut twin = ota_twin::Twin::new(limits.clone());
        let desired = ota_twin::Update::desired(a.clone()).unwrap();
        let reported = ota_twin::Update::reported(modified(&a)).unwrap();
        twin.apply_update(&desired, 1).unwrap();
        twin.apply_update(&reported, 2).unwrap();
        let bytes = twin.to_cbor();
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_with_input(BenchmarkId::new("twin", size), &bytes, |bn, b| {
            bn.iter(|| black_box(ota_twin::Twin::from_cbor(b, limits.clone()).unwrap()))
        });
    }
    group.finish();
}

criterion_group!(benches, bench, decode);
criterion_main!(benches);
