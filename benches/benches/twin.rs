//! ota-twin: JSON Patch diff and apply on twin-like documents from 1 KB to 1 MB, side by side with
//! the json-patch crate (5.0) on the same documents. Also prints the size of the patches each
//! produces (compact JSON bytes), since a smaller patch is the point of the LCS/move diff.
//!
//! Run: `cargo bench -p ota-benches --bench twin`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ota_twin::serde_json::{self, Map, Value, json};

/// A small deterministic generator (no dependency, same documents on every run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn sensor(r: &mut Lcg, i: u64) -> Value {
    let kind = ["temp", "humidity", "vibration", "current"][r.below(4) as usize];
    json!({
        "id": i,
        "name": format!("sensor-{i:05}"),
        "kind": kind,
        "rate_hz": r.below(100),
        "thresholds": [r.below(1000), r.below(1000), (r.below(1000) as f64) / 8.0],
        "enabled": r.below(2) == 0
    })
}

/// A twin-like document of about `target` bytes of compact JSON: firmware info, nested
/// configuration objects, an array of sensor objects and an array of log lines.
fn document(target: usize) -> Value {
    let mut r = Lcg(target as u64);
    let mut config = Map::new();
    let mut sensors = Vec::new();
    let mut log = Vec::new();
    let mut doc = json!({});
    let mut i = 0u64;
    while serde_json::to_vec(&doc).unwrap().len() < target {
        // Grow in batches so the size check stays cheap.
        for _ in 0..8 {
            match i % 4 {
                0 | 1 => sensors.push(sensor(&mut r, i)),
                2 => log.push(json!(format!(
                    "{:08} boot ok slot={} crc={:08x}",
                    i,
                    r.below(2),
                    r.next()
                ))),
                _ => {
                    config.insert(
                        format!("group{:04}", i),
                        json!({"interval_s": r.below(3600), "mode": "auto", "retries": r.below(8)}),
                    );
                }
            }
            i += 1;
        }
        doc = json!({
            "fw": {"version": "2.3.1", "slot": "a", "bootloader": "1.0.7"},
            "config": config.clone(),
            "sensors": sensors.clone(),
            "log": log.clone()
        });
    }
    doc
}

/// What a realistic update does: a few leaf changes, two sensors inserted in the middle of the
/// array, one log line dropped near the start, one sensor moved to the end, one configuration
/// group renamed, one added.
fn modified(a: &Value) -> Value {
    let mut b = a.clone();
    let mut r = Lcg(7);
    let sensors = b["sensors"].as_array_mut().unwrap();
    let n = sensors.len();
    for _ in 0..(n / 50).max(1) {
        let k = r.below(n as u64) as usize;
        sensors[k]["rate_hz"] = json!(r.below(100) + 100);
    }
    sensors.insert(n / 2, sensor(&mut r, 900_001));
    sensors.insert(n / 2, sensor(&mut r, 900_002));
    if sensors.len() > 3 {
        let moved = sensors.remove(1);
        sensors.push(moved);
    }
    let log = b["log"].as_array_mut().unwrap();
    if log.len() > 2 {
        log.remove(1);
    }
    let config = b["config"].as_object_mut().unwrap();
    if let Some(k) = config.keys().next().cloned() {
        let v = config.remove(&k).unwrap();
        config.insert(format!("{k}-renamed"), v);
    }
    config.insert(
        "new-group".into(),
        json!({"interval_s": 5, "mode": "manual"}),
    );
    b
}

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
