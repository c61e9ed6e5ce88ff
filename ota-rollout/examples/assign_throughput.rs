//! Stateless assignment throughput, for a loaded machine: run it under `time` and divide by the
//! *user CPU* time, which preemption by other processes does not inflate (criterion measures wall
//! time). `cargo run --release -p ota-rollout --example assign_throughput -- [rounds]`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;

use ota_rollout::{Gate, Plan, Ring, Rule};

fn main() {
    let rounds: u64 = std::env::args().nth(1).map_or(50, |s| s.parse().unwrap());
    let plan = Plan::new(
        "release-2.4.0",
        ota_rollout::DEFAULT_RING_SHARES
            .iter()
            .map(|&f| Ring {
                name: "r".into(),
                share: f,
                gate: Gate::new(Rule::Manual),
            })
            .collect(),
    );
    let assigner = plan.assigner();
    for (shape, ids) in [
        (
            "serial12",
            (0..1_000_000u64)
                .map(|i| format!("gw-{i:09}"))
                .collect::<Vec<_>>(),
        ),
        (
            "uuid36",
            (0..1_000_000u64)
                .map(|i| {
                    format!(
                        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
                        i * 2654435761 % (1 << 32),
                        i % 65536,
                        i % 4096,
                        (i / 7) % 4096,
                        i.wrapping_mul(11400714819323198485) % (1 << 48)
                    )
                })
                .collect(),
        ),
    ] {
        let t = std::time::Instant::now();
        let mut counts = [0u64; 4];
        for _ in 0..rounds {
            for id in black_box(&ids) {
                counts[assigner.ring_of(id).unwrap_or(3)] += 1;
            }
        }
        let n = rounds * ids.len() as u64;
        let secs = t.elapsed().as_secs_f64();
        println!(
            "{shape}: {n} assignments in {secs:.3} s wall = {:.1} M/s wall; ring counts {:?}",
            n as f64 / secs / 1e6,
            counts
        );
    }
}
