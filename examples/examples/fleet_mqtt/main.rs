//! The second flagship demo: the fleet side (`ota-server` over SQLite) and 1,000 devices
//! (`ota-agent` on simulated flash) talking MQTT 5 through a real broker on loopback.
//!
//! ```text
//! cargo run --release --example fleet_mqtt [-- --devices N --seed S --deadline SECS]
//! ```
//!
//! - The broker: mosquitto, started by this program on a free loopback port (`ota-mqtt` has no
//!   embedded broker) and stopped by its process id when the run ends, also on errors.
//! - The fleet side: one `ota_server::Server` over a SQLite file in a temporary directory, behind
//!   one `ota_mqtt::Server` worker (a shared subscription): each execution update, report and
//!   job request is decoded and handled in one transaction, answered, and the messages it
//!   produces (jobs, desired twins) are published.
//! - Each device: its own MQTT connection (`ota_mqtt::Device`) and an `ota_agent::Agent` on
//!   simulated media (`ota_agent::sim`: a flash for the agent's record, one for the bootloader's
//!   metadata, A/B firmware slots) behind `ota_mqtt::AgentInstaller`: it verifies the signed
//!   release, decides, downloads the delta (or the full image) from an in-memory CDN, writes the
//!   inactive slot, reboots into the trial, runs its health check (the booted image's driver for
//!   the board's sensor) and commits or reverts, reporting each step.
//! - Two deployments through rings of 1% / 10% / 89% with an SPRT gate per ring: a good
//!   firmware that completes, then a bad one (built for revisions B and C only, and without the
//!   driver of sensor variant 1) that revision A devices refuse and the canary gate aborts.
//!
//! Bounded: every wait has a timeout, the whole run a deadline (`--deadline`, default 300 s)
//! that stops it with an error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod device;
mod fleet;
mod report;
mod vendor;

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ota_examples::table::{bytes, count, percent};
use ota_mqtt::ConnectOptions;
use ota_protocol::{Status, StatusKind};
use ota_server::{DeploymentSpec, ReleaseRecord, SqliteStore};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::device::{DeviceEnd, Profile, Shared, device_task, fleet};
use crate::fleet::{Fleet, Traffic, plan};
use crate::report::{gate_lines, ring_report};
use crate::vendor::{Cdn, HW, Vendor};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Res<T> = Result<T, BoxError>;

/// The service's clock at the start of the run (seconds since the epoch); the run adds the
/// real seconds that pass.
const EPOCH: u64 = 1_800_000_000;
const RING_NAMES: [&str; 3] = ["canary", "early", "everyone"];
const FIRMWARE_SIZE: usize = 24 << 10;
const SLOT_SIZE: usize = 32 << 10;
/// How many devices connect at the same time (the broker's accept queue stays short).
const CONNECT_AT_ONCE: usize = 64;
/// Boots a device goes through for one job at most (install, trial, revert).
const MAX_BOOTS_PER_JOB: usize = 4;
/// The fleet worker's share group: the devices never see it (ota-mqtt TOPICS.md).
const SHARE_GROUP: &str = "fleet-7f3a9c";

struct Opts {
    devices: usize,
    seed: u64,
    deadline: Duration,
}

const USAGE: &str = "usage: fleet_mqtt [--devices N (default 1000)] [--seed S (default 2026)] \
                     [--deadline SECS (default 300)]";

fn parse_args() -> Result<Option<Opts>, String> {
    let mut o = Opts {
        devices: 1000,
        seed: 2026,
        deadline: Duration::from_secs(300),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .ok_or_else(|| format!("{name} needs a value"))?
                .parse::<u64>()
                .map_err(|e| format!("{name}: {e}"))
        };
        match a.as_str() {
            "--devices" => o.devices = value("--devices")? as usize,
            "--seed" => o.seed = value("--seed")?,
            "--deadline" => o.deadline = Duration::from_secs(value("--deadline")?),
            "-h" | "--help" => return Ok(None),
            other => return Err(format!("unknown option {other}")),
        }
    }
    if !(10..=5000).contains(&o.devices) {
        return Err("--devices must be between 10 and 5000".into());
    }
    Ok(Some(o))
}

fn main() -> ExitCode {
    let opts = match parse_args() {
        Ok(Some(o)) => o,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("error: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if ota_mqtt::mosquitto_binary().is_none_or(|p| !p.is_file()) {
        eprintln!(
            "error: this demo needs the mosquitto MQTT broker, which is not installed.\n\
             Install it with `sudo apt-get install mosquitto` (Debian, Ubuntu), \
             `sudo dnf install mosquitto` (Fedora), `brew install mosquitto` (macOS), \
             or `bash .ci/setup/mqtt.sh` from the repository root;\n\
             or point OTA_MOSQUITTO at the binary."
        );
        return ExitCode::from(2);
    }
    let need = opts.devices as u64 * 2 + 256;
    if let Some(limit) = open_files_limit()
        && limit < need
    {
        eprintln!(
            "error: the open files limit is {limit}, {} devices need {need} (one socket each \
             here and one in the broker): raise it with `ulimit -n {need}`",
            opts.devices
        );
        return ExitCode::from(2);
    }
    let mut broker = match ota_mqtt::Mosquitto::start() {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: starting mosquitto: {e}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            broker.stop();
            eprintln!("error: tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let port = broker.port();
    let pid = broker.pid().unwrap_or(0);
    let result = runtime.block_on(async {
        match tokio::time::timeout(opts.deadline, run(&opts, port, pid)).await {
            Ok(r) => r,
            Err(_) => Err(format!(
                "the run did not finish within its deadline of {} s (--deadline)",
                opts.deadline.as_secs()
            )
            .into()),
        }
    });
    // Device and worker tasks still running are dropped with the runtime (their connections
    // close), then the broker is stopped by its pid.
    runtime.shutdown_timeout(Duration::from_secs(5));
    let log_tail = broker.log_tail();
    broker.stop();
    match result {
        Ok(text) => {
            print!("{text}");
            println!("  broker          mosquitto pid {pid} stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            eprintln!("broker log (last lines):\n{log_tail}");
            ExitCode::FAILURE
        }
    }
}

/// The soft `Max open files` limit of this process, from `/proc/self/limits` (Linux).
fn open_files_limit() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// The run: the fleet, the fleet side, the devices online, the two releases, the end state.
async fn run(opts: &Opts, port: u16, pid: u32) -> Res<String> {
    let t0 = Instant::now();
    let cdn = Arc::new(Cdn::default());
    let shared = Arc::new(Shared {
        vendor: Vendor::new(opts.seed)?,
        cdn: cdn.clone(),
        start: Instant::now(),
    });
    let profiles = fleet(opts.devices, opts.seed);
    let mut text = format!(
        "ota fleet over MQTT: {} devices, seed {}\n\
         The fleet side is ota-server over SQLite behind an ota-mqtt worker; each device is an \
         ota-agent on simulated flash behind ota-mqtt's AgentInstaller, with its own MQTT 5 \
         connection to mosquitto on 127.0.0.1:{port} (pid {pid}).\n\n",
        count(opts.devices as u64),
        opts.seed
    );
    text += &describe_fleet(&profiles);

    // The fleet side: the database, the devices registered, the releases.
    let dir = tempfile::Builder::new()
        .prefix("ota-fleet-mqtt-")
        .tempdir()?;
    let db = dir.path().join("fleet.db");
    let mut server = ota_server::Server::new(SqliteStore::open(&db)?);
    let now = shared.now();
    for p in &profiles {
        let attributes = BTreeMap::from([
            (
                "hw".to_owned(),
                HW.get(p.hardware).copied().unwrap_or("A").to_owned(),
            ),
            ("sensor".to_owned(), p.sensor.to_string()),
        ]);
        server.register_device(&p.id, attributes, now)?;
    }
    let mut releases = Vec::new();
    for (id, version, from, hardware, sequence) in [
        ("fw-2.0.0", "2.0.0", "1.0.0", &["A", "B", "C"][..], 2),
        ("fw-2.1.0", "2.1.0", "2.0.0", &["B", "C"][..], 3),
    ] {
        let (envelope, artifacts, files) =
            shared.vendor.release(version, from, hardware, sequence)?;
        let patch = files
            .iter()
            .find(|(u, _)| u.ends_with(".patch"))
            .map_or(0, |(_, b)| b.len());
        for (uri, bytes) in files {
            cdn.put(uri, bytes);
        }
        let record = server.add_release(id, &envelope, artifacts, &shared.vendor.root, now)?;
        releases.push(Shipped {
            record,
            from,
            envelope: envelope.len(),
            full: shared.vendor.build(version)?.image.len() as u64,
            patch: patch as u64,
            hardware: hardware.join(", "),
        });
    }

    // The broker's clients: the fleet worker, then every device.
    let mqtt = ota_mqtt::Server::connect(
        &ConnectOptions::new("127.0.0.1", port, "fleet-worker-1"),
        SHARE_GROUP,
    )
    .await?;
    let mut fleet = Fleet {
        server,
        mqtt,
        shared: shared.clone(),
        traffic: Traffic::default(),
    };
    let (stop, tasks, secs) = connect_devices(&profiles, &shared, port).await?;
    text += &format!(
        "  mqtt        {} device connections + 1 fleet worker, connected in {secs:.1} s\n",
        count(profiles.len() as u64),
    );

    let mut reports = 0;
    let [good, bad] = &releases[..] else {
        return Err("two releases".into());
    };
    text += &good_release(&mut fleet, good, &profiles, opts.seed, &mut reports).await?;
    text += &bad_release(&mut fleet, bad, &profiles, opts.seed, &mut reports).await?;

    // Every device's last report, then stop the devices and look at their flash.
    fleet.drain(reports, Duration::from_secs(60)).await?;
    stop.send(true)?;
    let mut ends = Vec::with_capacity(tasks.len());
    for t in tasks {
        ends.push(t.await??);
    }
    text += &end_state(&mut fleet, &ends, &profiles, &shared, dir.path())?;
    fleet.mqtt.disconnect().await;
    text += &format!("  wall time       {:.1} s\n", t0.elapsed().as_secs_f64());
    Ok(text)
}

/// A release the vendor shipped and the fleet side holds.
struct Shipped {
    record: ReleaseRecord,
    from: &'static str,
    envelope: usize,
    full: u64,
    patch: u64,
    hardware: String,
}

fn describe_fleet(profiles: &[Profile]) -> String {
    let by_hw = |f: &dyn Fn(&Profile) -> bool| {
        HW.iter()
            .enumerate()
            .map(|(k, h)| {
                let n = profiles.iter().filter(|p| p.hardware == k && f(p)).count();
                format!("{h} {}", count(n as u64))
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut text = String::from("Fleet\n");
    text += &format!("  hardware    {}\n", by_hw(&|_| true));
    text += &format!(
        "  sensor 1    {} (the rest sensor 0)\n",
        by_hw(&|p| p.sensor == 1)
    );
    text += &format!(
        "  firmware    1.0.0 {}, 0.9.0 {} (A/B slots, {} KiB each)\n",
        count(profiles.iter().filter(|p| p.factory == 1).count() as u64),
        count(profiles.iter().filter(|p| p.factory == 0).count() as u64),
        SLOT_SIZE >> 10
    );
    text += "  rollout     rings canary 1% (stratified by revision x sensor) -> early 10% -> \
             everyone (the remaining 89%); SPRT gate per ring (p0 1%, p1 5%, alpha 5%, beta 10%)\n";
    text
}

type Devices = (watch::Sender<bool>, Vec<JoinHandle<Res<DeviceEnd>>>, f64);

/// Starts one task per device (a few connecting at a time) and returns once every device is
/// connected and subscribed: a job published to a device that has no session yet would be
/// dropped by the broker.
async fn connect_devices(profiles: &[Profile], shared: &Arc<Shared>, port: u16) -> Res<Devices> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let gate = Arc::new(tokio::sync::Semaphore::new(CONNECT_AT_ONCE));
    let (connected_tx, mut connected_rx) = tokio::sync::mpsc::channel(profiles.len());
    let connecting = Instant::now();
    let mut tasks = Vec::with_capacity(profiles.len());
    for p in profiles {
        tasks.push(tokio::spawn(device_task(
            p.clone(),
            shared.clone(),
            port,
            stop_rx.clone(),
            gate.clone(),
            connected_tx.clone(),
        )));
    }
    drop(connected_tx);
    let mut online = 0;
    let until = tokio::time::Instant::now() + Duration::from_secs(60);
    while online < profiles.len() {
        match tokio::time::timeout_at(until, connected_rx.recv()).await {
            Ok(Some(())) => online += 1,
            Ok(None) | Err(_) => {
                let ended = tasks.iter().filter(|t| t.is_finished()).count();
                return Err(format!(
                    "only {online} of {} devices connected within 60 s ({ended} device tasks \
                     ended)",
                    profiles.len()
                )
                .into());
            }
        }
    }
    Ok((stop_tx, tasks, connecting.elapsed().as_secs_f64()))
}

/// Release 1: a good firmware through every ring.
async fn good_release(
    fleet: &mut Fleet,
    shipped: &Shipped,
    profiles: &[Profile],
    seed: u64,
    reports: &mut u64,
) -> Res<String> {
    let title = "Release 1 - good: firmware 2.0.0";
    let story = "firmware 2.0.0 for revisions A, B and C, with a delta from 1.0.0 (devices on \
                 0.9.0 get the full image).";
    roll_out(fleet, title, story, shipped, profiles, seed, reports).await
}

/// Release 2: a bad firmware, refused by revision A and aborted by the canary gate.
async fn bad_release(
    fleet: &mut Fleet,
    shipped: &Shipped,
    profiles: &[Profile],
    seed: u64,
    reports: &mut u64,
) -> Res<String> {
    let title = "Release 2 - bad: firmware 2.1.0";
    let story = "firmware 2.1.0 is built for revisions B and C only (the plan targets every \
                 device by mistake: revision A refuses it by the manifest's install decision) \
                 and lost the driver of sensor variant 1: those devices fail the trial boot's \
                 health check and fall back.";
    roll_out(fleet, title, story, shipped, profiles, seed, reports).await
}

/// One deployment of `shipped` over the rings, and what it did.
async fn roll_out(
    fleet: &mut Fleet,
    title: &str,
    story: &str,
    shipped: &Shipped,
    profiles: &[Profile],
    seed: u64,
    reports: &mut u64,
) -> Res<String> {
    let rec = &shipped.record;
    let mut text = format!("\n{title}\n  {story}\n");
    text += &format!(
        "  release: {}; hardware {}; signed envelope {} B; delta {} -> {}: {} of {} full ({})\n",
        rec.name,
        shipped.hardware,
        shipped.envelope,
        shipped.from,
        rec.version,
        bytes(shipped.patch),
        bytes(shipped.full),
        percent(shipped.patch, shipped.full),
    );
    let (d0, f0) = fleet.shared.cdn.served();
    let before = fleet.traffic;
    let spec = DeploymentSpec {
        id: format!("deploy-{}", rec.id.replace('.', "-")),
        release: rec.id.clone(),
        plan: plan(&format!("{}-{seed}", rec.id)),
        policy: Default::default(),
        execution_timeout_secs: Some(120),
    };
    let (dep, secs) = fleet.deploy(&spec).await?;
    let executions = tokio::task::block_in_place(|| fleet.server.executions(&spec.id))?;
    // Each device that ran the job sends a report after it.
    *reports += executions
        .iter()
        .filter(|e| {
            !matches!(
                e.execution.status.kind(),
                StatusKind::Canceled | StatusKind::TimedOut | StatusKind::Removed
            )
        })
        .count() as u64;
    let (d1, f1) = fleet.shared.cdn.served();
    text += &ring_report(&dep, &executions, profiles);
    let installs = executions
        .iter()
        .filter(|e| {
            matches!(
                e.execution.status,
                Status::Succeeded | Status::Failed { reverted: true, .. }
            )
        })
        .count() as u64;
    let (delta, full) = (d1 - d0, f1 - f0);
    text += &format!(
        "  bytes sent: {} ({} as deltas, {} as full images) vs {} if every install took the \
         full image ({})\n",
        bytes(delta + full),
        bytes(delta),
        bytes(full),
        bytes(installs * shipped.full),
        percent(delta + full, installs * shipped.full),
    );
    let t = fleet.traffic;
    text += &format!(
        "  mqtt: {} messages from devices ({} execution updates, {} reports, {} repeats \
         recognised, {} refused); {} jobs and {} desired twins published; {secs} s\n",
        count(t.received - before.received),
        count(t.updates - before.updates),
        count(t.reports - before.reports),
        count(t.duplicates - before.duplicates),
        count(t.refused - before.refused),
        count(t.jobs_sent - before.jobs_sent),
        count(t.desired_sent - before.desired_sent),
    );
    text += &gate_lines(&dep);
    Ok(text)
}

/// What the devices' flash boots against what the server recorded from their reports.
fn end_state(
    fleet: &mut Fleet,
    ends: &[DeviceEnd],
    profiles: &[Profile],
    shared: &Shared,
    dir: &std::path::Path,
) -> Res<String> {
    let mut running: BTreeMap<String, u64> = BTreeMap::new();
    for e in ends {
        let v = e
            .running
            .and_then(|b| shared.vendor.builds.get(b))
            .map_or_else(|| "unknown".to_owned(), |b| b.version.to_string());
        *running.entry(v).or_default() += 1;
    }
    let mut inventory: BTreeMap<String, u64> = BTreeMap::new();
    for p in profiles {
        let rec = tokio::task::block_in_place(|| fleet.server.device(&p.id))?;
        let v = rec
            .and_then(|d| d.installed.first().map(|c| c.version.clone()))
            .unwrap_or_else(|| "not reported".into());
        *inventory.entry(v).or_default() += 1;
    }
    let show = |m: &BTreeMap<String, u64>| {
        m.iter()
            .rev()
            .map(|(v, n)| format!("{v} {}", count(*n)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let db_bytes = ["fleet.db", "fleet.db-wal"]
        .iter()
        .map(|f| std::fs::metadata(dir.join(f)).map_or(0, |m| m.len()))
        .sum();
    let mut text = String::from("\nEnd state\n");
    text += &format!("  firmware booted (devices' flash)   {}\n", show(&running));
    text += &format!(
        "  firmware reported (server's view)  {}\n",
        show(&inventory)
    );
    text += &format!(
        "  boots           {} in all; desired twins received {}; jobs run {}\n",
        count(ends.iter().map(|e| e.boots).sum()),
        count(ends.iter().map(|e| e.desired_seen).sum()),
        count(ends.iter().map(|e| e.jobs).sum()),
    );
    text += &format!(
        "  database        {} (SQLite file and WAL)\n  fleet worker    {} reconnections\n",
        bytes(db_bytes),
        fleet.mqtt.reconnections().0
    );
    Ok(text)
}
