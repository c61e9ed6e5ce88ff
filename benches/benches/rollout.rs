//! Criterion benchmarks for ota-rollout: stateless ring assignment (and the hash it rests on,
//! against SHA-256 and FNV-1a), exact fleet assignment, selector evaluation, gate evaluation and
//! the state machine's report handling.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ota_rollout::{
    Device, Event, Gate, Limits, Plan, Report, Ring, RingStats, Rollout, Rule, Selector, Sprt,
    SprtDecision, Threshold, position_hash, salt_seed,
};
use sha2::{Digest, Sha256};

const N: usize = 100_000;

fn plan() -> Plan {
    let sprt = Rule::Sprt(Sprt {
        p0: 0.01,
        p1: 0.05,
        alpha: 0.005,
        beta: 0.01,
    });
    Plan::new(
        "release-2.4.0",
        ota_rollout::DEFAULT_RING_SHARES
            .iter()
            .enumerate()
            .map(|(i, &f)| Ring {
                name: format!("r{i}"),
                share: f,
                gate: Gate::new(sprt),
            })
            .collect(),
    )
}

/// Two id shapes: short serials and 36-character UUID-like thing names.
fn ids() -> [(&'static str, Vec<String>); 2] {
    let serials = (0..N).map(|i| format!("gw-{i:08}")).collect();
    let uuids = (0..N as u64)
        .map(|i| {
            let h = position_hash(7, &i.to_le_bytes());
            let g = position_hash(8, &i.to_le_bytes());
            format!(
                "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
                h >> 32,
                (h >> 16) & 0xffff,
                h & 0xffff,
                g >> 48,
                g & 0xffff_ffff_ffff
            )
        })
        .collect();
    [("serial12", serials), ("uuid36", uuids)]
}

fn fnv1a_fmix(seed: u64, bytes: &[u8]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ seed;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h
}

fn sha256_pos(salt: &[u8], bytes: &[u8]) -> u64 {
    let mut hasher = Sha256::new();
    hasher.update(salt);
    hasher.update([0u8]);
    hasher.update(bytes);
    let d = hasher.finalize();
    let mut w = [0u8; 8];
    w.copy_from_slice(&d[..8]);
    u64::from_le_bytes(w)
}

fn assignment(c: &mut Criterion) {
    let plan = plan();
    let assigner = plan.assigner();
    let seed = salt_seed(&plan.salt);
    let mut g = c.benchmark_group("rollout/assign_stateless");
    g.throughput(Throughput::Elements(N as u64));
    for (shape, ids) in ids() {
        g.bench_with_input(BenchmarkId::new("ring_of", shape), &ids, |b, ids| {
            b.iter(|| {
                let mut counts = [0u32; 4];
                for id in ids {
                    counts[assigner.ring_of(id).unwrap_or(3)] += 1;
                }
                black_box(counts)
            })
        });
        g.bench_with_input(BenchmarkId::new("hash_ours", shape), &ids, |b, ids| {
            b.iter(|| {
                ids.iter()
                    .fold(0u64, |a, id| a ^ position_hash(seed, id.as_bytes()))
            })
        });
        g.bench_with_input(
            BenchmarkId::new("hash_fnv1a_fmix", shape),
            &ids,
            |b, ids| {
                b.iter(|| {
                    ids.iter()
                        .fold(0u64, |a, id| a ^ fnv1a_fmix(seed, id.as_bytes()))
                })
            },
        );
        g.bench_with_input(BenchmarkId::new("hash_sha256", shape), &ids, |b, ids| {
            b.iter(|| {
                ids.iter().fold(0u64, |a, id| {
                    a ^ sha256_pos(b"release-2.4.0", id.as_bytes())
                })
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("rollout/assign_fleet");
    g.sample_size(10);
    let fleet: Vec<Device> = (0..N)
        .map(|i| Device::new(format!("gw-{i:08}")).with("region", ["eu", "us", "ap"][i % 3]))
        .collect();
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("exact_100k", |b| {
        b.iter(|| black_box(plan.assign_fleet(&fleet).unwrap().rings.len()))
    });
    let mut stratified = plan.clone();
    stratified.strata = vec!["region".into()];
    g.bench_function("exact_stratified_100k", |b| {
        b.iter(|| black_box(stratified.assign_fleet(&fleet).unwrap().rings.len()))
    });
    g.finish();
}

fn selector(c: &mut Criterion) {
    let sel = Selector::from_json(
        br#"{"all":[{"equals":{"attr":"model","value":"gw-200"}},
            {"in":{"attr":"region","values":["eu","us"]}},
            {"version":{"attr":"firmware","req":">=2.0.0, <2.4.0"}},
            {"not":{"exists":{"attr":"lab"}}}]}"#,
        &Limits::default(),
    )
    .unwrap();
    let dev = Device::new("x")
        .with("model", "gw-200")
        .with("region", "us")
        .with("firmware", "2.3.1");
    let mut g = c.benchmark_group("rollout/selector");
    g.throughput(Throughput::Elements(1));
    g.bench_function("matches_4_leaves", |b| {
        b.iter(|| black_box(&sel).matches(black_box(&dev.attributes)))
    });
    g.finish();
}

fn gates(c: &mut Criterion) {
    let sprt = Gate::new(Rule::Sprt(Sprt {
        p0: 0.01,
        p1: 0.05,
        alpha: 0.005,
        beta: 0.01,
    }));
    let threshold = Gate::new(Rule::Threshold(Threshold {
        max_failure_percent: 5.0,
        min_executions: 100,
    }));
    let stats = RingStats {
        size: 10_000,
        started: 5000,
        succeeded: 80,
        failed: 3,
        ..RingStats::default()
    };
    let mut g = c.benchmark_group("rollout/gate");
    g.throughput(Throughput::Elements(1));
    for (name, gate) in [("sprt", &sprt), ("threshold", &threshold)] {
        g.bench_function(name, |b| {
            b.iter(|| black_box(gate).evaluate(black_box(&stats), 7200, SprtDecision::Continue))
        });
    }
    // One report through the whole state machine (validation, gates of all open rings,
    // start check), on a 1,000,000-device rollout.
    let mut p = plan();
    p.rings[0].gate.on_inconclusive = ota_rollout::Inconclusive::Promote;
    let sizes = [10_000u64, 90_000, 900_000];
    // One iteration is 1,000 reports.
    g.throughput(Throughput::Elements(1000));
    g.bench_function("rollout_handle_1000_reports", |b| {
        b.iter_batched(
            || {
                let mut r = Rollout::new(p.clone(), &sizes, 0).unwrap();
                r.handle(Event::Tick, 0).unwrap();
                (r, 0u64)
            },
            |(mut r, mut i)| {
                for _ in 0..1000 {
                    r.handle(
                        Event::Report {
                            ring: 0,
                            index: i,
                            outcome: Report::Succeeded,
                        },
                        1,
                    )
                    .unwrap();
                    i += 1;
                }
                black_box(r.reports())
            },
            criterion::BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, assignment, selector, gates);
criterion_main!(benches);
