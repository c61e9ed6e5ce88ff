//! ota-twin: JSON Patch diff and apply on twin-like documents from 1 KB to 1 MB, side by side with
//! the json-patch crate (5.0) on the same documents. Also prints the size of the patches each
//! produces (compact JSON bytes), since a smaller patch is the point of the LCS/move diff.
//!
//! Run: `cargo bench -p ota-benches --bench twin`
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

criterion_group!(benches, bench);
criterion_main!(benches);
