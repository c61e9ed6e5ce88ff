//! Figures: messages ingested per second on SQLite and on PostgreSQL (one instance, then two),
//! storage bytes per device, peak memory of a deployment over many devices.
//!
//! `cargo run --release -p ota-server --example ingest_rate -- [DEVICES] [BIG_FLEET]`
//! (defaults 5,000 and 100,000). PostgreSQL runs in a throwaway cluster with fsync and
//! synchronous commit on (as in production); skipped when PostgreSQL is not installed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use common::*;
use ota_protocol::{JobExecution, StatusKind};
use ota_server::{DeploymentSpec, PostgresStore, Server, SqliteStore, Store};

fn setup<S: Store>(s: &mut Server<S>, devices: usize) {
    for i in 0..devices {
        s.register_device(&device_name(i), Default::default(), NOW)
            .unwrap();
    }
    let v = Vendor::new();
    s.add_release("r2", &v.release("2.0.0", 2), artifacts(), &v.trust, NOW)
        .unwrap();
    let spec = DeploymentSpec {
        id: "d1".into(),
        release: "r2".into(),
        // One ring: every device starts at once; the gate never aborts (below 50% failures).
        plan: plan(&[1.0], 50.0, 100),
        policy: Default::default(),
        execution_timeout_secs: None,
    };
    s.create_deployment(&spec, NOW).unwrap();
}

#[derive(Default, Clone, Copy)]
struct Rates {
    reports: f64,
    progress: f64,
    terminal: f64,
}

/// Ingests, for the devices `i % of == part`, a report, an IN_PROGRESS and a SUCCEEDED update
/// (three passes, one per kind); returns the seconds each pass took.
fn ingest<S: Store>(s: &mut Server<S>, devices: usize, part: usize, of: usize) -> [f64; 3] {
    let mine: Vec<usize> = (0..devices).filter(|i| i % of == part).collect();
    let queued: Vec<JobExecution> = mine
        .iter()
        .map(|&i| {
            s.execution("d1", &device_name(i))
                .unwrap()
                .unwrap()
                .execution
        })
        .collect();
    let t = Instant::now();
    for &i in &mine {
        let r = report(i as u64 + 1, NOW, "1.0.0");
        assert!(
            s.handle_report(&device_name(i), &r, NOW + 1)
                .unwrap()
                .accepted()
        );
    }
    let a = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut v2s = Vec::new();
    for (&i, q) in mine.iter().zip(&queued) {
        let v2 = in_progress(q);
        assert!(
            s.handle_execution(&device_name(i), &v2, NOW + 2)
                .unwrap()
                .accepted()
        );
        v2s.push(v2);
    }
    let b = t.elapsed().as_secs_f64();
    let t = Instant::now();
    for (&i, v2) in mine.iter().zip(&v2s) {
        let e = if i % 50 == 7 {
            failed(v2)
        } else {
            succeeded(v2)
        };
        assert!(
            s.handle_execution(&device_name(i), &e, NOW + 3)
                .unwrap()
                .accepted()
        );
    }
    [a, b, t.elapsed().as_secs_f64()]
}

fn run<S: Store>(
    name: &str,
    devices: usize,
    open: impl Fn() -> Server<S> + Sync,
    instances: usize,
) -> Rates {
    let mut s = open();
    setup(&mut s, devices);
    let per_kind: Vec<[f64; 3]> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..instances)
            .map(|part| {
                let open = &open;
                scope.spawn(move || {
                    let mut s = open();
                    ingest(&mut s, devices, part, instances)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    // The slowest instance bounds each pass (they ran side by side).
    let secs = |k: usize| per_kind.iter().map(|p| p[k]).fold(0.0, f64::max);
    let r = Rates {
        reports: devices as f64 / secs(0),
        progress: devices as f64 / secs(1),
        terminal: devices as f64 / secs(2),
    };
    let dep = s.deployment("d1").unwrap();
    let st = dep.rollout.rings()[0].stats;
    assert_eq!(
        st.succeeded + st.failed,
        devices as u64,
        "{name}: every terminal update counted"
    );
    assert!(
        s.executions("d1")
            .unwrap()
            .iter()
            .all(|e| e.execution.status.kind() != StatusKind::Queued)
    );
    println!(
        "{name:<24} {instances} instance(s) {devices:>7} devices: reports {:>7.0}/s, in-progress updates {:>7.0}/s, terminal updates {:>7.0}/s",
        r.reports, r.progress, r.terminal
    );
    r
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let devices = args.first().copied().unwrap_or(5_000);
    let big = args.get(1).copied().unwrap_or(100_000);
    println!(
        "ota-server ingest_rate: {devices} devices, one deployment, one ring; per device a report, an IN_PROGRESS and a terminal update"
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("one.db");
    run(
        "sqlite (file, FULL sync)",
        devices,
        || Server::new(SqliteStore::open(&path).unwrap()),
        1,
    );
    let bytes = std::fs::metadata(&path).unwrap().len()
        + std::fs::metadata(path.with_extension("db-wal")).map_or(0, |m| m.len());
    println!(
        "sqlite storage: {} bytes per device (file + WAL)",
        bytes / devices as u64
    );
    let path2 = dir.path().join("two.db");
    run(
        "sqlite (file, FULL sync)",
        devices,
        || Server::new(SqliteStore::open(&path2).unwrap()),
        2,
    );

    match pg::Cluster::start_with(true) {
        None => println!("postgresql: not installed, skipped"),
        Some(cluster) => {
            let db = cluster.create_db();
            run(
                "postgresql (durable)",
                devices,
                || Server::new(PostgresStore::connect(&db).unwrap()),
                1,
            );
            let mut c = postgres::Client::connect(&db, postgres::NoTls).unwrap();
            let size: i64 = c
                .query_one("SELECT pg_database_size(current_database())", &[])
                .unwrap()
                .get(0);
            let empty = cluster.create_db();
            let mut c = postgres::Client::connect(&empty, postgres::NoTls).unwrap();
            let _ = PostgresStore::connect(&empty).unwrap();
            let base: i64 = c
                .query_one("SELECT pg_database_size(current_database())", &[])
                .unwrap()
                .get(0);
            println!(
                "postgresql storage: {} bytes per device (database size over an empty schema)",
                (size - base) / devices as i64
            );
            let db2 = cluster.create_db();
            run(
                "postgresql (durable)",
                devices,
                || Server::new(PostgresStore::connect(&db2).unwrap()),
                2,
            );
        }
    }

    // Memory: a deployment over `big` devices (SQLite in memory would count the database
    // itself: use a file).
    let path3 = dir.path().join("big.db");
    let mut s = Server::new(SqliteStore::open(&path3).unwrap());
    let before = peak_rss_kib();
    let t = Instant::now();
    setup(&mut s, big);
    println!(
        "{big} devices: registration and deployment in {:.1} s, peak RSS {} MiB (before: {} MiB)",
        t.elapsed().as_secs_f64(),
        peak_rss_kib() / 1024,
        before / 1024
    );
    let bytes = std::fs::metadata(&path3).unwrap().len()
        + std::fs::metadata(path3.with_extension("db-wal")).map_or(0, |m| m.len());
    println!(
        "sqlite storage at {big} devices, all queued: {} bytes per device",
        bytes / big as u64
    );
}
