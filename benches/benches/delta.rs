//! Criterion benchmarks for ota-delta: `diff` and streamed `apply` on the real file pairs of the
//! shared corpus (`../shared/corpus/data/<pair>/{old,new}`), Throughput in target bytes.
//! Skips with a message when the corpus is absent. Under `cargo test --benches` (a debug build,
//! each benchmark run once) only the smallest pair is used so the smoke run stays short.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::path::PathBuf;

fn pairs() -> Vec<(String, Vec<u8>, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/data");
    let names: &[&str] = if cfg!(debug_assertions) {
        &["ujson_so"]
    } else {
        &["ujson_so", "ssh", "silero_onnx", "libcrypto", "numpy_core"]
    };
    let mut v = Vec::new();
    for n in names {
        match (
            std::fs::read(dir.join(n).join("old")),
            std::fs::read(dir.join(n).join("new")),
        ) {
            (Ok(o), Ok(nw)) => v.push((n.to_string(), o, nw)),
            _ => eprintln!(
                "delta bench: corpus pair {n} not found under {}, skipped",
                dir.display()
            ),
        }
    }
    v
}

fn bench(c: &mut Criterion) {
    let pairs = pairs();
    if pairs.is_empty() {
        eprintln!(
            "delta bench: no corpus (run shared/corpus/fetch-delta-corpus.sh); nothing to measure"
        );
        return;
    }
    let mut g = c.benchmark_group("delta/diff");
    g.sample_size(10);
    for (name, old, new) in &pairs {
        g.throughput(Throughput::Bytes(new.len() as u64));
        g.bench_with_input(
            BenchmarkId::new("ota-delta", name),
            &(old, new),
            |b, (o, n)| b.iter(|| ota_delta::diff(o, n).unwrap()),
        );
        g.bench_with_input(
            BenchmarkId::new("qbsdiff", name),
            &(old, new),
            |b, (o, n)| {
                b.iter(|| {
                    let mut p = Vec::new();
                    qbsdiff::Bsdiff::new(o, n)
                        .compare(std::io::Cursor::new(&mut p))
                        .unwrap();
                    p
                })
            },
        );
    }
    g.finish();

    let mut g = c.benchmark_group("delta/apply");
    g.sample_size(10);
    for (name, old, new) in &pairs {
        let patch = ota_delta::diff(old, new).unwrap();
        let mut q = Vec::new();
        qbsdiff::Bsdiff::new(old, new)
            .compare(std::io::Cursor::new(&mut q))
            .unwrap();
        g.throughput(Throughput::Bytes(new.len() as u64));
        g.bench_with_input(BenchmarkId::new("ota-delta", name), &patch, |b, p| {
            b.iter(|| {
                let mut out = Vec::with_capacity(new.len());
                ota_delta::apply_patch(&p[..], &old[..], &mut out).unwrap();
                assert_eq!(out.len(), new.len());
            })
        });
        g.bench_with_input(BenchmarkId::new("qbsdiff", name), &q, |b, p| {
            b.iter(|| {
                let mut out = Vec::with_capacity(new.len());
                qbsdiff::Bspatch::new(p)
                    .unwrap()
                    .apply(old, std::io::Cursor::new(&mut out))
                    .unwrap();
                assert_eq!(out.len(), new.len());
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
