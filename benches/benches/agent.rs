//! ota-agent: what an update writes, how long a boot takes to recover after a power cut, and
//! the time the lifecycle adds to a delta install.
//!
//! - Counting (printed first, deterministic): store saves and bytes, flash erase/program
//!   operations, boot-control writes and bytes, the bootloader's own writes and the slot data,
//!   for an upgrade and a revert, with `FlashStore` + simulated boot control, `FileStore` +
//!   simulated boot control and `FileStore` + the U-Boot environment (RAUC scheme). Then the
//!   recovery time after a cut at every write of an upgrade (median over the cut points).
//! - Criterion: the corpus's `ssh` pair (`../shared/corpus/data/ssh`), a plain `ota_delta`
//!   apply against the same patch installed through the agent (download, apply, re-hash,
//!   arm, reboot, trial, commit) on simulated media.
//!
//! `OTA_AGENT_COUNTS_ONLY=1 cargo bench -p ota-benches --bench agent` prints only the counts.
//! Under `cargo test --benches` (debug) only the small synthetic image is used.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "agent/fixture.rs"]
mod fixture;
#[path = "agent/rig.rs"]
mod rig;

use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput};
use fixture::{Fixture, MemFetch};
use ota_agent::{Config, Env, Error, Installer, Outcome};
use rig::{BootKind, Rig, StoreKind, counted_update, drive};

fn fixtures() -> Vec<Fixture> {
    let (old, new) = fixture::synthetic(64 << 10);
    let mut v = vec![Fixture::new("synthetic 64 KiB", old, new, 4096)];
    if !cfg!(debug_assertions) {
        match fixture::corpus("ssh") {
            Some((old, new)) => v.push(Fixture::new("ssh (corpus)", old, new, 64 << 10)),
            None => eprintln!("agent bench: corpus pair ssh not found, skipped"),
        }
    }
    v
}

fn counts(fixtures: &[Fixture]) {
    println!(
        "| image | patch | backends | update | outcome | store saves | store bytes | store flash erase+program | boot-control writes (bytes) | bootloader writes (bytes) | slot writes (bytes) |"
    );
    println!("|---|---:|---|---|---|---:|---:|---:|---:|---:|---:|");
    for fx in fixtures {
        for (full, store, boot, name) in [
            (
                false,
                StoreKind::Flash,
                BootKind::Sim,
                "FlashStore + SimBoot",
            ),
            (false, StoreKind::File, BootKind::Sim, "FileStore + SimBoot"),
            (
                false,
                StoreKind::File,
                BootKind::Uboot,
                "FileStore + U-Boot env",
            ),
            (
                true,
                StoreKind::Flash,
                BootKind::Sim,
                "FlashStore + SimBoot",
            ),
        ] {
            let rel = if full {
                fx.release_full()
            } else {
                fx.release()
            };
            for healthy in [true, false] {
                let (o, w) = counted_update(fx, &rel, store, boot, healthy);
                let expected = if healthy { "Committed" } else { "Reverted" };
                assert!(format!("{o:?}").starts_with(expected), "{o:?}");
                let flash = if store == StoreKind::Flash {
                    w.store_flash_ops.to_string()
                } else {
                    "-".to_owned()
                };
                println!(
                    "| {} ({} B) | {} B ({}) | {name} | {} | {expected} | {} | {} | {flash} | {} ({}) | {} ({}) | {} ({}) |",
                    fx.name,
                    fx.new.len(),
                    fx.patch.len(),
                    ota_delta::read_header(&fx.patch[..], &ota_delta::Limits::default())
                        .unwrap()
                        .frame_count,
                    match (healthy, full) {
                        (true, false) => "upgrade (delta)",
                        (false, false) => "revert (delta)",
                        (true, true) => "upgrade (full image, 4 KiB chunks)",
                        (false, true) => "revert (full image, 4 KiB chunks)",
                    },
                    w.store_saves,
                    w.store_bytes,
                    w.boot_writes,
                    w.boot_bytes,
                    w.loader_writes,
                    w.loader_bytes,
                    w.slot_ops,
                    w.slot_bytes,
                );
            }
        }
    }
    println!();
}

/// Cut the power at write `i` of an upgrade (FlashStore + SimBoot), restore it, and time the
/// boot that follows: bootloader, record load, and the agent's boot-time rules up to its first
/// answer, with the network still down (a cut while downloading re-hashes the stored prefix
/// and stops at the first fetch). Median and spread over every cut point.
fn recovery(fx: &Fixture) {
    let rel = fx.release();
    let n = {
        let mut rig = Rig::new(fx, StoreKind::Flash, BootKind::Sim);
        let agent = rig.boot(Config::default()).unwrap();
        assert_eq!(
            drive(fx, &rel, &mut rig, true, agent, true).unwrap(),
            Outcome::Committed
        );
        rig.rail.ops()
    };
    let (mut times, mut to_rest) = (Vec::new(), Vec::new());
    for i in 1..=n {
        let mut rig = Rig::new(fx, StoreKind::Flash, BootKind::Sim);
        rig.rail.cut_at(i);
        let r = rig
            .boot(Config::default())
            .and_then(|a| drive(fx, &rel, &mut rig, true, a, true));
        assert!(matches!(r, Err(Error::PowerLost)), "cut {i}: {r:?}");
        rig.rail.restore();
        let t0 = Instant::now();
        let mut agent = rig
            .boot(Config::default())
            .unwrap_or_else(|e| panic!("boot after cut {i}: {e}"));
        let mut inst = rig.installer();
        let mut installers: [&mut dyn Installer; 1] = [&mut inst];
        let mut fetch = MemFetch {
            files: &fx.files,
            offline: true,
        };
        let mut env = Env {
            fetch: &mut fetch,
            installers: &mut installers,
            health: &mut fixture::Check(true),
            clock: &fixture::Frozen,
            release: Some(&rel),
        };
        agent.resume(&mut env).unwrap();
        times.push(t0.elapsed());
        // Then the network is up: the update goes on to rest (a cut before the first record was
        // durable left the device Idle: the release is offered again).
        let again = agent.state() == ota_agent::State::Idle;
        let o = drive(fx, &rel, &mut rig, true, agent, again).unwrap();
        assert_eq!(o, Outcome::Committed, "cut {i}");
        to_rest.push(t0.elapsed());
    }
    let t0 = Instant::now();
    let mut rig = Rig::new(fx, StoreKind::Flash, BootKind::Sim);
    let agent = rig.boot(Config::default()).unwrap();
    drive(fx, &rel, &mut rig, true, agent, true).unwrap();
    let clean = t0.elapsed();
    let stats = |mut t: Vec<Duration>| {
        t.sort();
        let q = |f: f64| t[((t.len() - 1) as f64 * f) as usize];
        format!(
            "median {:?}, min {:?}, 90th percentile {:?}, max {:?}",
            q(0.5),
            t[0],
            q(0.9),
            t[t.len() - 1]
        )
    };
    println!(
        "recovery after a cut, {} ({} B, patch {} B): N = {n} cut points (FlashStore + SimBoot), every one ends Committed",
        fx.name,
        fx.new.len(),
        fx.patch.len(),
    );
    println!(
        "- boot after the cut, network down (bootloader, record load, boot-time rules up to the agent's first answer): {}",
        stats(times)
    );
    println!(
        "- from that boot to Committed, network up: {}; a clean update from start: {clean:?}",
        stats(to_rest)
    );
    println!();
}

/// Nanoseconds this thread has run on a CPU (`/proc/thread-self/schedstat`): time another
/// process takes on a shared machine is not counted.
fn cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// The lifecycle's overhead counted in on-CPU time: `rounds` interleaved pairs of a plain
/// `ota_delta` apply and the same patch installed through the agent (FlashStore + SimBoot,
/// start to Committed, setup excluded); medians.
fn overhead(fx: &Fixture, rounds: usize) {
    let Some(_) = cpu_ns() else {
        println!("(no /proc/thread-self/schedstat: on-CPU overhead not measured)");
        return;
    };
    let rel = fx.release();
    let (mut plain, mut agent_t) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let t = cpu_ns().unwrap();
        let mut out = Vec::with_capacity(fx.new.len());
        ota_delta::apply_patch(&fx.patch[..], fx.old.as_slice(), &mut out).unwrap();
        plain.push(cpu_ns().unwrap() - t);
        assert_eq!(out, fx.new);
        let mut rig = Rig::new(fx, StoreKind::Flash, BootKind::Sim);
        let agent = rig.boot(Config::default()).unwrap();
        let t = cpu_ns().unwrap();
        let o = drive(fx, &rel, &mut rig, true, agent, true).unwrap();
        agent_t.push(cpu_ns().unwrap() - t);
        assert_eq!(o, Outcome::Committed);
    }
    plain.sort_unstable();
    agent_t.sort_unstable();
    let (p, a) = (plain[rounds / 2], agent_t[rounds / 2]);
    println!(
        "lifecycle overhead, {} ({} B, patch {} B), on-CPU time, median of {rounds} interleaved pairs: plain ota_delta apply {:.2} ms, installed through the agent {:.2} ms, ratio {:.2}x (+{:.2} ms)",
        fx.name,
        fx.new.len(),
        fx.patch.len(),
        p as f64 / 1e6,
        a as f64 / 1e6,
        a as f64 / p as f64,
        (a as f64 - p as f64) / 1e6,
    );
    println!();
}

fn bench(c: &mut Criterion, fixtures: &[Fixture]) {
    let fx = fixtures.last().unwrap();
    let rel = fx.release();
    let mut g = c.benchmark_group(format!(
        "agent/{}",
        if fixtures.len() > 1 {
            "ssh"
        } else {
            "synthetic"
        }
    ));
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Bytes(fx.new.len() as u64));
    g.bench_function("ota_delta_apply", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(fx.new.len());
            ota_delta::apply_patch(&fx.patch[..], fx.old.as_slice(), &mut out).unwrap();
            assert_eq!(out.len(), fx.new.len());
            out
        });
    });
    g.bench_function("agent_install", |b| {
        b.iter_batched(
            || {
                let mut rig = Rig::new(fx, StoreKind::Flash, BootKind::Sim);
                let agent = rig.boot(Config::default()).unwrap();
                (rig, agent)
            },
            |(mut rig, agent)| {
                let o = drive(fx, &rel, &mut rig, true, agent, true).unwrap();
                assert_eq!(o, Outcome::Committed);
                rig
            },
            BatchSize::PerIteration,
        );
    });
    g.finish();
}

fn main() {
    let fixtures = fixtures();
    counts(&fixtures);
    for fx in &fixtures {
        recovery(fx);
    }
    if let Some(fx) = fixtures.last() {
        overhead(fx, if cfg!(debug_assertions) { 1 } else { 31 });
    }
    if std::env::var_os("OTA_AGENT_COUNTS_ONLY").is_some() {
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c, &fixtures);
    c.final_summary();
}
