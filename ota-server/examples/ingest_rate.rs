//! Figures: messages ingested per second on SQLite and on PostgreSQL (one instance, then two),
//! storage bytes per device, peak memory of a deployment over many devices.
//!
//! `cargo run --release -p ota-server --example ingest_rate -- [DEVICES] [BIG_FLEET] [PARTS]`
//! (defaults 5,000, 100,000 and `sqlite,pg,big`). SQLite runs with `synchronous = FULL`.
//! PostgreSQL runs in a throwaway cluster, without fsync unless `OTA_BENCH_DURABLE=1` (on a
//! disk shared with other jobs every fsync costs several ms, which then is all one measures);
//! skipped when PostgreSQL is not installed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use common::*;
use ota_protocol::{JobExecution, StatusKind};
use ota_server::{DeploymentSpec, PostgresStore, Server, SqliteStore, Store};

fn setup<S: Store>(s: &mut Server<S>, devices: usize) {
    register(s, devices);
    s.create_deployment(&deployment_spec(), NOW).unwrap();
}

/// Registers `devices` devices in batches of 10,000 (one transaction each), each batch made
/// when it is sent; adds release `r2`.
fn register<S: Store>(s: &mut Server<S>, devices: usize) {
    for start in (0..devices).step_by(10_000) {
        let batch: Vec<(String, ota_rollout::Attributes)> = (start..devices.min(start + 10_000))
            .map(|i| (device_name(i), Default::default()))
            .collect();
        s.register_devices(&batch, NOW).unwrap();
    }
    let v = Vendor::new();
    s.add_release("r2", &v.release("2.0.0", 2), artifacts(), &v.trust, NOW)
        .unwrap();
}

fn deployment_spec() -> DeploymentSpec {
    DeploymentSpec {
        id: "d1".into(),
        release: "r2".into(),
        // One ring: every device starts at once; the gate never aborts (below 50% failures).
        plan: plan(&[1.0], 50.0, 100),
        policy: Default::default(),
        execution_timeout_secs: None,
    }
}

#[derive(Default, Clone, Copy)]
struct Rates {
    reports: f64,
    progress: f64,
    terminal: f64,
}

/// Ingests, for the devices `i % of == part`, a report, an IN_PROGRESS and a SUCCEEDED update
/// (three passes, one per kind); returns the seconds each pass took and the time of each
/// terminal update (from the call to the committed gate decision), in seconds.
fn ingest<S: Store>(
    s: &mut Server<S>,
    devices: usize,
    part: usize,
    of: usize,
) -> ([f64; 3], Vec<f64>) {
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
    let mut lat = Vec::with_capacity(mine.len());
    for (&i, v2) in mine.iter().zip(&v2s) {
        let e = if i % 50 == 7 {
            failed(v2)
        } else {
            succeeded(v2)
        };
        let t1 = Instant::now();
        assert!(
            s.handle_execution(&device_name(i), &e, NOW + 3)
                .unwrap()
                .accepted()
        );
        lat.push(t1.elapsed().as_secs_f64());
    }
    ([a, b, t.elapsed().as_secs_f64()], lat)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let k = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(k).copied().unwrap_or(0.0)
}

fn run<S: Store>(
    name: &str,
    devices: usize,
    open: impl Fn() -> Server<S> + Sync,
    instances: usize,
) -> Rates {
    let mut s = open();
    setup(&mut s, devices);
    let results: Vec<([f64; 3], Vec<f64>)> = std::thread::scope(|scope| {
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
    let per_kind: Vec<[f64; 3]> = results.iter().map(|r| r.0).collect();
    let mut lat: Vec<f64> = results.into_iter().flat_map(|r| r.1).collect();
    lat.sort_by(f64::total_cmp);
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
    println!(
        "{:<24} terminal update to committed gate decision: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        "",
        percentile(&lat, 0.5) * 1e3,
        percentile(&lat, 0.99) * 1e3,
        lat.last().copied().unwrap_or(0.0) * 1e3
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
    let parts = std::env::args()
        .nth(3)
        .unwrap_or_else(|| "sqlite,pg,big".to_owned());
    let durable = std::env::var("OTA_BENCH_DURABLE").as_deref() == Ok("1");
    println!(
        "ota-server ingest_rate: {devices} devices, one deployment, one ring; per device a report, an IN_PROGRESS and a terminal update"
    );

    let dir = tempfile::tempdir().unwrap();
    if parts.contains("sqlite") {
        sqlite(&dir, devices);
    }
    if parts.contains("pg") {
        pg(devices, durable);
    }
    if parts.contains("big") {
        big_fleet(&dir, big);
    }
}

fn sqlite(dir: &tempfile::TempDir, devices: usize) {
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
}

fn pg(devices: usize, durable: bool) {
    let name = if durable {
        "postgresql (fsync)"
    } else {
        "postgresql (no fsync)"
    };
    match pg::Cluster::start_with(durable) {
        None => println!("postgresql: not installed, skipped"),
        Some(cluster) => {
            let db = cluster.create_db();
            run(
                name,
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
                name,
                devices,
                || Server::new(PostgresStore::connect(&db2).unwrap()),
                2,
            );
        }
    }
}

fn big_fleet(dir: &tempfile::TempDir, big: usize) {
    // Memory: a deployment over `big` devices (SQLite in memory would count the database
    // itself: use a file).
    let path3 = dir.path().join("big.db");
    let mut s = Server::new(SqliteStore::open(&path3).unwrap());
    let before = peak_rss_kib();
    let t = Instant::now();
    register(&mut s, big);
    println!(
        "{big} devices: registration in {:.1} s, peak RSS {} MiB (before: {} MiB)",
        t.elapsed().as_secs_f64(),
        peak_rss_kib() / 1024,
        before / 1024
    );
    // The bounded path: create_deployment_queued, then the jobs drained 1,000 devices a page
    // (as a transport would publish them).
    let t = Instant::now();
    let queued = s.create_deployment_queued(&deployment_spec(), NOW).unwrap();
    let created = t.elapsed().as_secs_f64();
    let created_rss = peak_rss_kib();
    let t = Instant::now();
    let (mut jobs, mut after) = (0u64, None::<String>);
    loop {
        let (out, next) = s.queued_jobs("d1", after.as_deref(), 1_000).unwrap();
        jobs += out
            .iter()
            .filter(|o| matches!(o, ota_server::Outbound::Job { .. }))
            .count() as u64;
        match next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(jobs, queued);
    println!(
        "{big} devices: deployment created ({queued} queued) in {created:.1} s, peak RSS {} MiB; \
         {jobs} jobs drained in pages of 1,000 in {:.1} s, peak RSS {} MiB",
        created_rss / 1024,
        t.elapsed().as_secs_f64(),
        peak_rss_kib() / 1024
    );
    let bytes = std::fs::metadata(&path3).unwrap().len()
        + std::fs::metadata(path3.with_extension("db-wal")).map_or(0, |m| m.len());
    println!(
        "sqlite storage at {big} devices, all queued: {} bytes per device",
        bytes / big as u64
    );
    // Terminal updates at this fleet size: each rewrites the deployment's rollout state.
    let n = 1_000.min(big);
    let queued: Vec<JobExecution> = (0..n)
        .map(|i| {
            s.execution("d1", &device_name(i))
                .unwrap()
                .unwrap()
                .execution
        })
        .collect();
    let v2s: Vec<JobExecution> = queued.iter().map(in_progress).collect();
    for (i, v2) in v2s.iter().enumerate() {
        s.handle_execution(&device_name(i), v2, NOW + 2).unwrap();
    }
    let t = Instant::now();
    for (i, v2) in v2s.iter().enumerate() {
        assert!(
            s.handle_execution(&device_name(i), &succeeded(v2), NOW + 3)
                .unwrap()
                .accepted()
        );
    }
    println!(
        "sqlite at {big} devices: {:.0} terminal updates/s (first {n}), peak RSS now {} MiB",
        n as f64 / t.elapsed().as_secs_f64(),
        peak_rss_kib() / 1024
    );
}
