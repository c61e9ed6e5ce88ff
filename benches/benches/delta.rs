//! Criterion benchmarks for ota-delta (filled in by the crate's own work).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use criterion::{Criterion, criterion_group, criterion_main};

fn placeholder(c: &mut Criterion) {
    c.bench_function("delta/placeholder", |b| {
        b.iter(|| std::hint::black_box(1u64) + 1)
    });
}

criterion_group!(benches, placeholder);
criterion_main!(benches);
