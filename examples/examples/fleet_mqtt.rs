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

use std::collections::{BTreeMap, HashMap};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ota_agent::sim::{PowerRail, SimBoot, SimFlash, SimSlots};
use ota_agent::{
    Agent, Config, FetchError, FlashStore, Geometry, Health, HealthCheck, SlotInstaller,
};
use ota_examples::images::{BuildInfo, Firmware};
use ota_examples::rng::{Rng, hash_label};
use ota_examples::table::{Table, bytes, count, percent};
use ota_manifest::semver::{Version, VersionReq};
use ota_manifest::{
    Compatibility, Component, DeltaAlgorithm, DeltaSource, DeviceState, Extensions, Installed,
    Layer, Manifest, Slot,
};
use ota_mqtt::{AgentInstaller, ConnectOptions, Device, DeviceId, Download, TopicKind};
use ota_protocol::{DeviceReport, InstalledComponent, JobExecution, Status, StatusKind};
use ota_rollout::{FailAction, Gate, Inconclusive, Plan, Ring, Rule, Sprt};
use ota_server::{Artifact, DeploymentRecord, DeploymentSpec, Outbound, SqliteStore};
use ota_verify::{Role, SecretKey, SignOptions, TrustRoot};
use tokio::sync::watch;

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

// ---------------------------------------------------------------------------------------------
// The vendor: keys, trust root, firmware images, deltas, signed releases, the CDN.

/// A firmware build the vendor shipped.
struct Build {
    version: Version,
    image: Vec<u8>,
    sha: ota_manifest::Sha256,
}

struct Vendor {
    root: TrustRoot,
    key: SecretKey,
    /// 0.9.0, 1.0.0, 2.0.0 (good), 2.1.0 (bad).
    builds: Vec<Build>,
}

const HW: [&str; 3] = ["A", "B", "C"];

impl Vendor {
    fn new(seed: u64) -> Res<Self> {
        // From the seed, so the run is reproducible: real keys come from a CSPRNG or an HSM.
        let mut key_seed = [0u8; 32];
        Rng::stream(seed, "release key").fill(&mut key_seed);
        let key = SecretKey::from_seed(&key_seed);
        let root = TrustRoot::builder(1, EPOCH + 365 * 86_400)
            .role(Role::ROOT, 1, &[key.public_key()])
            .role(Role::RELEASE, 1, &[key.public_key()])
            .build()?;
        let info = |version: &str, hardware_mask: u8, sensor_mask: u8| BuildInfo {
            version: version.into(),
            hardware_mask,
            sensor_mask,
        };
        let v09 = Firmware::base(hash_label(seed, "fw"), FIRMWARE_SIZE, info("0.9.0", 7, 3));
        let v10 = v09.next_version(hash_label(seed, "fw 1.0"), 6, info("1.0.0", 7, 3));
        let v20 = v10.next_version(hash_label(seed, "fw 2.0"), 4, info("2.0.0", 7, 3));
        // The bad build: for revisions B and C only, and without the driver of sensor variant 1.
        let v21 = v20.next_version(hash_label(seed, "fw 2.1"), 3, info("2.1.0", 6, 1));
        let builds = [("0.9.0", v09), ("1.0.0", v10), ("2.0.0", v20), ("2.1.0", v21)]
            .into_iter()
            .map(|(v, fw)| {
                let image = fw.render();
                Ok(Build {
                    version: Version::parse(v)?,
                    sha: ota_manifest::Sha256::of(&image),
                    image,
                })
            })
            .collect::<Res<Vec<_>>>()?;
        if builds.iter().any(|b| b.image.len() > SLOT_SIZE) {
            return Err("a firmware image is larger than the simulated slot".into());
        }
        Ok(Vendor { root, key, builds })
    }

    fn build(&self, version: &str) -> Res<&Build> {
        self.builds
            .iter()
            .find(|b| b.version.to_string() == version)
            .ok_or_else(|| format!("no build {version}").into())
    }

    /// A signed release of `version` with a delta from `from`, for `hardware`; returns the
    /// envelope, the artifacts (URIs) and their bytes for the CDN.
    fn release(
        &self,
        version: &str,
        from: &str,
        hardware: &[&str],
        sequence: u64,
    ) -> Res<(Vec<u8>, Vec<Artifact>, Vec<(String, Vec<u8>)>)> {
        let new = self.build(version)?;
        let old = self.build(from)?;
        let patch = ota_delta::diff_with(
            &old.image,
            &new.image,
            &ota_delta::DiffOptions {
                frame_size: 4096,
                ..Default::default()
            },
        )?;
        let mut fw = Component::from_image(
            "firmware",
            Layer::Firmware,
            new.version.clone(),
            VersionReq::STAR,
            &new.image,
            Some(4096),
        )?;
        fw.deltas.push(DeltaSource::from_patch(
            old.version.clone(),
            &old.image,
            &patch,
            DeltaAlgorithm::OtaDelta,
        ));
        let manifest = Manifest {
            name: format!("firmware {version}"),
            version: new.version.clone(),
            sequence,
            security_counter: 1,
            issued_at: EPOCH - 60,
            expires_at: Some(EPOCH + 30 * 86_400),
            notes_uri: None,
            compatibility: Compatibility {
                vendor: ota_manifest::DeviceId::new(b"acme")?,
                classes: vec![ota_manifest::DeviceId::new(b"sensor")?],
                hardware: hardware.iter().map(|h| (*h).to_owned()).collect(),
                hardware_ranges: vec![],
            },
            components: vec![fw],
            extensions: Extensions::new(),
        };
        let opts = SignOptions {
            sequence: Some(sequence),
            expires: Some(EPOCH + 30 * 86_400),
            ..Default::default()
        };
        let envelope = ota_verify::sign(&manifest.to_cbor()?, &[&self.key], &opts)?;
        let full_uri = format!("cdn://firmware/{version}.bin");
        let delta_uri = format!("cdn://firmware/{from}-{version}.patch");
        let artifacts = vec![
            Artifact {
                component: "firmware".into(),
                from_sha256: None,
                uri: full_uri.clone(),
            },
            Artifact {
                component: "firmware".into(),
                from_sha256: Some(ota_protocol::Sha256(old.sha.0)),
                uri: delta_uri.clone(),
            },
        ];
        let files = vec![(full_uri, new.image.clone()), (delta_uri, patch)];
        Ok((envelope, artifacts, files))
    }
}

/// The content delivery network: files by URI, and the bytes it served.
#[derive(Default)]
struct Cdn {
    files: Mutex<HashMap<String, Arc<Vec<u8>>>>,
    delta_bytes: AtomicU64,
    full_bytes: AtomicU64,
}

impl Cdn {
    fn put(&self, uri: String, bytes: Vec<u8>) {
        if let Ok(mut f) = self.files.lock() {
            f.insert(uri, Arc::new(bytes));
        }
    }

    fn served(&self) -> (u64, u64) {
        (
            self.delta_bytes.load(Ordering::Relaxed),
            self.full_bytes.load(Ordering::Relaxed),
        )
    }
}

/// A device's downloader: byte ranges from the CDN.
struct CdnDownload(Arc<Cdn>);

impl Download for CdnDownload {
    fn fetch(&mut self, uri: &str, offset: u64, buf: &mut [u8]) -> Result<usize, FetchError> {
        let file = self
            .0
            .files
            .lock()
            .map_err(|_| FetchError::ConnectionLost("cdn lock".into()))?
            .get(uri)
            .cloned()
            .ok_or_else(|| FetchError::NotFound(uri.into()))?;
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(file.len());
        let n = buf.len().min(file.len() - start);
        buf[..n].copy_from_slice(&file[start..start + n]);
        let counter = if uri.ends_with(".patch") {
            &self.0.delta_bytes
        } else {
            &self.0.full_bytes
        };
        counter.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

// ---------------------------------------------------------------------------------------------
// The devices.

/// What a device is: its board and the firmware it left the factory with.
#[derive(Clone)]
struct Profile {
    id: String,
    hardware: usize,
    sensor: u8,
    factory: usize,
}

fn fleet(n: usize, seed: u64) -> Vec<Profile> {
    let mut rng = Rng::stream(seed, "fleet");
    (0..n)
        .map(|i| {
            let hardware = rng.below(3) as usize;
            // Sensor variant 1 is fitted to every revision C board and half of revision B.
            let sensor = match hardware {
                2 => 1,
                1 => u8::from(rng.chance(0.5)),
                _ => 0,
            };
            // One device in ten still runs 0.9.0 (no delta from it: the full image).
            let factory = if rng.chance(0.1) { 0 } else { 1 };
            Profile {
                id: format!("dev-{i:04}"),
                hardware,
                sensor,
                factory,
            }
        })
        .collect()
}

/// The health check after a trial boot: the booted image must have the driver of the board's
/// sensor (read from the image's build-info block).
struct SensorCheck {
    ok: bool,
    why: String,
}

impl HealthCheck for SensorCheck {
    fn check(&mut self, _deadline_ms: u64) -> Health {
        if self.ok {
            Health::Pass
        } else {
            Health::Fail(self.why.clone())
        }
    }
}

/// The device's hardware: kept across reboots.
struct Hardware {
    record: SimFlash,
    bootmeta: SimFlash,
    slots: SimSlots,
}

type Inst = AgentInstaller<FlashStore<SimFlash>, SimBoot>;

struct Shared {
    vendor: Vendor,
    cdn: Arc<Cdn>,
    start: Instant,
}

impl Shared {
    fn now(&self) -> u64 {
        EPOCH + self.start.elapsed().as_secs()
    }
}

impl Hardware {
    fn new(p: &Profile, shared: &Shared) -> Self {
        let rail = PowerRail::new();
        let g = |sector_size| Geometry {
            sector_size,
            sector_count: 2,
            write_align: 8,
            erased: 0xFF,
        };
        let slots = SimSlots::new(rail.clone(), SLOT_SIZE, 0xFF);
        if let Some(b) = shared.vendor.builds.get(p.factory) {
            slots.factory(Slot::A, &b.image);
        }
        Hardware {
            record: SimFlash::new(rail.clone(), g(2048)),
            bootmeta: SimFlash::new(rail, g(256)),
            slots,
        }
    }

    /// The build in `slot`, recognised by its bytes.
    fn build_in(&self, slot: Slot, shared: &Shared) -> Option<usize> {
        shared
            .vendor
            .builds
            .iter()
            .position(|b| self.slots.snapshot(slot, b.image.len()) == b.image)
    }

    /// Powers on: the bootloader picks a slot, the agent opens its record.
    fn boot(&self, p: &Profile, shared: &Shared) -> Res<(Inst, Slot, Option<usize>)> {
        let boot = SimBoot::power_on(self.bootmeta.clone(), 0)?;
        let slot = boot.booted();
        let running = self.build_in(slot, shared);
        let info = running
            .and_then(|b| shared.vendor.builds.get(b))
            .and_then(|b| BuildInfo::read(&b.image));
        let check = match info {
            Some(i) if i.sensor_mask & (1 << p.sensor) != 0 => SensorCheck {
                ok: true,
                why: String::new(),
            },
            Some(i) => SensorCheck {
                ok: false,
                why: format!(
                    "sensor variant {} does not answer (no driver in {})",
                    p.sensor, i.version
                ),
            },
            None => SensorCheck {
                ok: false,
                why: "no build-info block in the booted image".into(),
            },
        };
        let store = FlashStore::new(self.record.clone(), 0)?;
        let agent = Agent::open(store, boot, Config::default())?;
        let installed = running
            .and_then(|b| shared.vendor.builds.get(b))
            .map(|b| Installed {
                id: "firmware".into(),
                version: b.version.clone(),
                sha256: b.sha,
            });
        let state = DeviceState {
            vendor: ota_manifest::DeviceId::new(b"acme")?,
            class: ota_manifest::DeviceId::new(b"sensor")?,
            hardware: HW.get(p.hardware).copied().unwrap_or("A").into(),
            installed: installed.into_iter().collect(),
            security_counter: 0,
            last_sequence: None,
            now: shared.now(),
            active_slot: slot,
        };
        let inst = AgentInstaller::new(
            agent,
            shared.vendor.root.clone(),
            state,
            CdnDownload(shared.cdn.clone()),
            check,
        )
        .with_installer(SlotInstaller::firmware(self.slots.clone()));
        Ok((inst, slot, running))
    }
}

/// What a device did, for the end-state lines.
struct DeviceEnd {
    running: Option<usize>,
    boots: u64,
    desired_seen: u64,
    jobs: u64,
}

/// One device: connects, then runs each job it is sent (rebooting as the agent asks) and sends
/// a report after each, until told to stop.
async fn device_task(
    p: Profile,
    shared: Arc<Shared>,
    port: u16,
    mut stop: watch::Receiver<bool>,
    connect_gate: Arc<tokio::sync::Semaphore>,
    connected: tokio::sync::mpsc::Sender<()>,
) -> Res<DeviceEnd> {
    let hw = Hardware::new(&p, &shared);
    let id = DeviceId::new(p.id.as_str())?;
    let mut dev = {
        let _permit = connect_gate.acquire().await?;
        let mut o = ConnectOptions::new("127.0.0.1", port, p.id.as_str());
        o.connect_timeout = Duration::from_secs(30);
        Device::connect(&o, id).await?
    };
    // Subscribed: jobs published from now on reach this device (its session keeps them).
    connected.send(()).await?;
    drop(connected);
    // Answers may wait behind a whole ring's updates in the server's queue: re-send after 15 s.
    dev.set_confirmation(Duration::from_secs(15), 8);
    let mut end = DeviceEnd {
        running: None,
        boots: 1,
        desired_seen: 0,
        jobs: 0,
    };
    let (mut inst, _, mut running) = hw.boot(&p, &shared)?;
    let mut report_id = 0u64;
    // Jobs already run to their outcome (a job delivered twice is run once).
    let mut done: Vec<ota_protocol::JobId> = Vec::new();
    loop {
        let m = tokio::select! {
            _ = stop.changed() => break,
            m = dev.recv(Duration::from_millis(500)) => m,
        };
        let m = match m {
            Ok(m) => m,
            Err(ota_mqtt::Error::Timeout(_)) => continue,
            Err(e) => return Err(e.into()),
        };
        dev.ack(&m).await?;
        match m.kind {
            TopicKind::TwinDesired => end.desired_seen += 1,
            TopicKind::JobsNotify => {
                let job = Device::decode_job(&m)?;
                if done.contains(&job.job_id) {
                    continue;
                }
                end.jobs += 1;
                let mut last = JobExecution::queued(job.job_id.clone(), 1);
                inst.device_mut().now = shared.now();
                for _ in 0..MAX_BOOTS_PER_JOB {
                    last = dev.run_job(&mut inst, &job, &last).await?;
                    if last.status.kind().is_terminal() {
                        break;
                    }
                    // The agent asked for a reboot (trial boot, revert), or the download
                    // stopped: power-cycle and run the job again from the agent's record.
                    drop(inst);
                    (inst, _, running) = hw.boot(&p, &shared)?;
                    end.boots += 1;
                }
                if !last.status.kind().is_terminal() {
                    return Err(format!(
                        "{}: job {} not finished after {MAX_BOOTS_PER_JOB} boots",
                        p.id, job.job_id
                    )
                    .into());
                }
                done.push(job.job_id.clone());
                // The inventory report (what runs now), so the server's records follow.
                report_id += 1;
                let build = running.and_then(|b| shared.vendor.builds.get(b));
                let report = DeviceReport {
                    report_id,
                    sent_at: shared.now(),
                    installed: build
                        .map(|b| InstalledComponent {
                            id: "firmware".into(),
                            version: b.version.to_string(),
                            sha256: Some(ota_protocol::Sha256(b.sha.0)),
                        })
                        .into_iter()
                        .collect(),
                    active_slot: None,
                    boot_count: end.boots,
                    reboot_loops: 0,
                    uptime_since_install: None,
                    health: BTreeMap::new(),
                };
                dev.send_report(&report).await?;
            }
            _ => {}
        }
    }
    end.running = running;
    dev.disconnect().await;
    Ok(end)
}

// ---------------------------------------------------------------------------------------------
// The fleet side.

/// Counters of the fleet worker.
#[derive(Default, Clone, Copy)]
struct Traffic {
    received: u64,
    updates: u64,
    reports: u64,
    duplicates: u64,
    refused: u64,
    jobs_sent: u64,
    desired_sent: u64,
    service_updates: u64,
}

struct Fleet {
    server: ota_server::Server<SqliteStore>,
    mqtt: ota_mqtt::Server,
    shared: Arc<Shared>,
    traffic: Traffic,
}

impl Fleet {
    /// Publishes what the server said to send.
    async fn publish(&mut self, out: Vec<Outbound>) -> Res<()> {
        let now = self.shared.now();
        for o in out {
            match o {
                Outbound::Job { device, job } => {
                    self.mqtt.send_job(&DeviceId::new(device)?, &job, now).await?;
                    self.traffic.jobs_sent += 1;
                }
                Outbound::Desired {
                    device,
                    desired,
                    version,
                } => {
                    let body = serde_json::to_vec(
                        &serde_json::json!({ "version": version, "desired": desired }),
                    )?;
                    self.mqtt.set_desired(&DeviceId::new(device)?, body).await?;
                    self.traffic.desired_sent += 1;
                }
                // A service-side change (CANCELED, TIMED_OUT): ota-mqtt has no topic for it
                // yet; the device learns it when its next update is refused.
                _ => self.traffic.service_updates += 1,
            }
        }
        Ok(())
    }

    /// Handles one message from a device: one transaction, the answer, what it produced.
    async fn handle(&mut self, m: ota_mqtt::Message) -> Res<()> {
        self.traffic.received += 1;
        let now = self.shared.now();
        let device = m.device.as_str().to_owned();
        match m.kind {
            TopicKind::JobsUpdate | TopicKind::Reports => {
                let r = tokio::task::block_in_place(|| {
                    self.server.handle_cbor(&device, &m.payload, now)
                });
                match r {
                    Ok(ingested) => {
                        match &ingested {
                            ota_server::Ingested::Execution { .. } => self.traffic.updates += 1,
                            ota_server::Ingested::Report { .. } => self.traffic.reports += 1,
                            ota_server::Ingested::DuplicateExecution
                            | ota_server::Ingested::DuplicateReport => {
                                self.traffic.duplicates += 1;
                            }
                            _ => self.traffic.refused += 1,
                        }
                        self.mqtt
                            .respond(&m, ingested.accepted(), Vec::new())
                            .await?;
                        let out = ingested.outbound().to_vec();
                        self.publish(out).await?;
                    }
                    // A message that does not decode: refused, nothing changed.
                    Err(ota_server::Error::Protocol { .. }) => {
                        self.traffic.refused += 1;
                        self.mqtt.respond(&m, false, Vec::new()).await?;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            TopicKind::JobsGet => {
                let jobs = tokio::task::block_in_place(|| self.server.pending_jobs(&device))?;
                match jobs.into_iter().find_map(|o| match o {
                    Outbound::Job { job, .. } => Some(job),
                    _ => None,
                }) {
                    Some(job) => self.mqtt.respond(&m, true, job.to_cbor()?).await?,
                    None => self.mqtt.respond(&m, false, Vec::new()).await?,
                }
            }
            TopicKind::TwinReported => {
                let _ = tokio::task::block_in_place(|| {
                    self.server.handle_twin_reported(&device, &m.payload, now)
                });
            }
            _ => {}
        }
        self.mqtt.ack(&m).await?;
        Ok(())
    }

    /// Runs a deployment until its rollout is over and every execution it queued is terminal.
    async fn deploy(&mut self, spec: &DeploymentSpec) -> Res<(DeploymentRecord, u64)> {
        let started = Instant::now();
        let now = self.shared.now();
        let out = tokio::task::block_in_place(|| self.server.create_deployment(spec, now))?;
        self.publish(out).await?;
        let mut last_tick = Instant::now();
        loop {
            match self.mqtt.recv(Duration::from_millis(100)).await {
                Ok(m) => self.handle(m).await?,
                Err(ota_mqtt::Error::Timeout(_)) => {}
                Err(e) => return Err(e.into()),
            }
            if last_tick.elapsed() >= Duration::from_secs(1) {
                last_tick = Instant::now();
                let now = self.shared.now();
                let out = tokio::task::block_in_place(|| self.server.tick(now))?;
                self.publish(out).await?;
                let (dep, open) = tokio::task::block_in_place(|| -> Res<_> {
                    let dep = self.server.deployment(&spec.id)?;
                    let open = self
                        .server
                        .executions(&spec.id)?
                        .iter()
                        .filter(|e| !e.execution.status.kind().is_terminal())
                        .count();
                    Ok((dep, open))
                })?;
                if !dep.is_open() && open == 0 {
                    return Ok((dep, started.elapsed().as_secs()));
                }
            }
        }
    }

    /// Keeps serving (reports after the last outcome) until `expected` reports are in, at most
    /// `max` long.
    async fn drain(&mut self, expected: u64, max: Duration) -> Res<()> {
        let until = Instant::now() + max;
        while self.traffic.reports < expected && Instant::now() < until {
            match self.mqtt.recv(Duration::from_millis(100)).await {
                Ok(m) => self.handle(m).await?,
                Err(ota_mqtt::Error::Timeout(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}

fn plan(salt: &str) -> Plan {
    // fleet_rollout's gate: SPRT on the failure rate, baseline 1%, unacceptable 5%.
    let mut gate = Gate::new(Rule::Sprt(Sprt {
        p0: 0.01,
        p1: 0.05,
        alpha: 0.05,
        beta: 0.10,
    }));
    gate.on_fail = FailAction::Abort;
    gate.on_inconclusive = Inconclusive::Promote;
    let rings = RING_NAMES
        .iter()
        .zip(ota_rollout::DEFAULT_RING_SHARES)
        .map(|(name, share)| Ring {
            name: (*name).to_owned(),
            share,
            gate: gate.clone(),
        })
        .collect();
    let mut plan = Plan::new(salt, rings);
    // Canaries like the fleet: every revision and sensor variant among them.
    plan.strata = vec!["hw".into(), "sensor".into()];
    plan
}

// ---------------------------------------------------------------------------------------------
// The run and its report.

async fn run(opts: &Opts, port: u16, pid: u32) -> Res<String> {
    let t0 = Instant::now();
    let mut text = String::new();
    let vendor = Vendor::new(opts.seed)?;
    let cdn = Arc::new(Cdn::default());
    let shared = Arc::new(Shared {
        vendor,
        cdn: cdn.clone(),
        start: Instant::now(),
    });
    let profiles = fleet(opts.devices, opts.seed);

    text += &format!(
        "ota fleet over MQTT: {} devices, seed {}\n\
         The fleet side is ota-server over SQLite behind an ota-mqtt worker; each device is an \
         ota-agent on simulated flash behind ota-mqtt's AgentInstaller, with its own MQTT 5 \
         connection to mosquitto on 127.0.0.1:{port} (pid {pid}).\n\n",
        count(opts.devices as u64),
        opts.seed
    );
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
    text += "Fleet\n";
    text += &format!("  hardware    {}\n", by_hw(&|_| true));
    text += &format!("  sensor 1    {} (the rest sensor 0)\n", by_hw(&|p| p.sensor == 1));
    text += &format!(
        "  firmware    1.0.0 {}, 0.9.0 {} (A/B slots, {} KiB each)\n",
        count(profiles.iter().filter(|p| p.factory == 1).count() as u64),
        count(profiles.iter().filter(|p| p.factory == 0).count() as u64),
        SLOT_SIZE >> 10
    );
    text += "  rollout     rings canary 1% (stratified by revision x sensor) -> early 10% -> \
             everyone (the remaining 89%); SPRT gate per ring (p0 1%, p1 5%, alpha 5%, beta 10%)\n";

    // The fleet side: the database, the devices registered, the releases.
    let dir = tempfile::Builder::new().prefix("ota-fleet-mqtt-").tempdir()?;
    let db = dir.path().join("fleet.db");
    let mut server = ota_server::Server::new(SqliteStore::open(&db)?);
    let now = shared.now();
    for p in &profiles {
        let attributes = BTreeMap::from([
            ("hw".to_owned(), HW.get(p.hardware).copied().unwrap_or("A").to_owned()),
            ("sensor".to_owned(), p.sensor.to_string()),
        ]);
        server.register_device(&p.id, attributes, now)?;
    }
    let mut releases = Vec::new();
    for (id, version, from, hardware, sequence) in [
        ("fw-2.0.0", "2.0.0", "1.0.0", &["A", "B", "C"][..], 2),
        ("fw-2.1.0", "2.1.0", "2.0.0", &["B", "C"][..], 3),
    ] {
        let (envelope, artifacts, files) = shared.vendor.release(version, from, hardware, sequence)?;
        for (uri, bytes) in files {
            cdn.put(uri, bytes);
        }
        let full = shared.vendor.build(version)?.image.len() as u64;
        let patch = cdn
            .files
            .lock()
            .map_err(|_| "cdn lock")?
            .get(&format!("cdn://firmware/{from}-{version}.patch"))
            .map_or(0, |f| f.len() as u64);
        let rec = server.add_release(id, &envelope, artifacts, &shared.vendor.root, now)?;
        releases.push((rec, envelope.len(), full, patch, hardware.join(", ")));
    }

    // The broker's clients: the fleet worker, then every device (a few connecting at a time).
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
    let (stop_tx, stop_rx) = watch::channel(false);
    let gate = Arc::new(tokio::sync::Semaphore::new(CONNECT_AT_ONCE));
    let (connected_tx, mut connected_rx) = tokio::sync::mpsc::channel(profiles.len());
    let connecting = Instant::now();
    let mut tasks = Vec::with_capacity(profiles.len());
    for p in &profiles {
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
    // The rollouts start once every device is connected and subscribed (a job published to a
    // device that has no session yet would be dropped by the broker).
    let mut online = 0;
    let until = tokio::time::Instant::now() + Duration::from_secs(60);
    while online < profiles.len() {
        match tokio::time::timeout_at(until, connected_rx.recv()).await {
            Ok(Some(())) => online += 1,
            Ok(None) | Err(_) => {
                let failed = tasks.iter().filter(|t| t.is_finished()).count();
                return Err(format!(
                    "only {online} of {} devices connected within 60 s ({failed} device tasks \
                     ended)",
                    profiles.len()
                )
                .into());
            }
        }
    }
    text += &format!(
        "  mqtt        {} device connections + 1 fleet worker, connected in {:.1} s\n",
        count(profiles.len() as u64),
        connecting.elapsed().as_secs_f64()
    );

    let scenarios = [
        (
            "Release 1 - good: firmware 2.0.0",
            "firmware 2.0.0 for revisions A, B and C, with a delta from 1.0.0 (devices on 0.9.0 \
             get the full image).",
            "fw-2.0.0",
        ),
        (
            "Release 2 - bad: firmware 2.1.0",
            "firmware 2.1.0 is built for revisions B and C only (the plan targets every device by \
             mistake: revision A refuses it by the manifest's install decision) and lost the \
             driver of sensor variant 1: those devices fail the trial boot's health check and \
             fall back.",
            "fw-2.1.0",
        ),
    ];
    let mut reports_expected = 0u64;
    for (k, (title, story, release)) in scenarios.iter().enumerate() {
        let (rec, envelope_len, full, patch, hardware) = &releases[k];
        text += &format!("\n{title}\n  {story}\n");
        text += &format!(
            "  release: {}; hardware {hardware}; signed envelope {envelope_len} B; \
             delta {} -> {}: {} of {} full ({})\n",
            rec.name,
            if k == 0 { "1.0.0" } else { "2.0.0" },
            rec.version,
            bytes(*patch),
            bytes(*full),
            percent(*patch, *full),
        );
        let (d0, f0) = cdn.served();
        let before = fleet.traffic;
        let spec = DeploymentSpec {
            id: format!("deploy-{}", release.replace('.', "-")),
            release: (*release).to_owned(),
            plan: plan(&format!("{release}-{}", opts.seed)),
            policy: Default::default(),
            execution_timeout_secs: Some(120),
        };
        let (dep, secs) = fleet.deploy(&spec).await?;
        let executions = tokio::task::block_in_place(|| fleet.server.executions(&spec.id))?;
        reports_expected += executions
            .iter()
            .filter(|e| {
                !matches!(
                    e.execution.status.kind(),
                    StatusKind::Canceled | StatusKind::TimedOut | StatusKind::Removed
                )
            })
            .count() as u64;
        let (d1, f1) = cdn.served();
        text += &ring_report(&dep, &executions, &profiles);
        let installs = executions
            .iter()
            .filter(|e| {
                matches!(
                    e.execution.status,
                    Status::Succeeded | Status::Failed { reverted: true, .. }
                )
            })
            .count() as u64;
        text += &format!(
            "  bytes sent: {} ({} as deltas, {} as full images) vs {} if every install took the \
             full image ({})\n",
            bytes((d1 - d0) + (f1 - f0)),
            bytes(d1 - d0),
            bytes(f1 - f0),
            bytes(installs * full),
            percent((d1 - d0) + (f1 - f0), installs * full),
        );
        let t = fleet.traffic;
        text += &format!(
            "  mqtt: {} messages from devices ({} execution updates, {} reports, {} repeats \
             recognised, {} refused); {} jobs and {} desired twins published; {} s\n",
            count(t.received - before.received),
            count(t.updates - before.updates),
            count(t.reports - before.reports),
            count(t.duplicates - before.duplicates),
            count(t.refused - before.refused),
            count(t.jobs_sent - before.jobs_sent),
            count(t.desired_sent - before.desired_sent),
            secs,
        );
        text += &gate_lines(&dep);
    }

    // Every device's last report, then stop the devices and look at their flash.
    fleet.drain(reports_expected, Duration::from_secs(60)).await?;
    stop_tx.send(true)?;
    let mut ends = Vec::with_capacity(tasks.len());
    for t in tasks {
        ends.push(t.await??);
    }
    let mqtt_stats = fleet.mqtt.reconnections();
    fleet.mqtt.disconnect().await;
    let mut running: BTreeMap<String, u64> = BTreeMap::new();
    for e in &ends {
        let v = e
            .running
            .and_then(|b| shared.vendor.builds.get(b))
            .map_or_else(|| "unknown".to_owned(), |b| b.version.to_string());
        *running.entry(v).or_default() += 1;
    }
    let mut inventory: BTreeMap<String, u64> = BTreeMap::new();
    for p in &profiles {
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
    let db_bytes = std::fs::metadata(&db).map_or(0, |m| m.len())
        + std::fs::metadata(dir.path().join("fleet.db-wal")).map_or(0, |m| m.len());
    text += "\nEnd state\n";
    text += &format!("  firmware booted (devices' flash)   {}\n", show(&running));
    text += &format!("  firmware reported (server's view)  {}\n", show(&inventory));
    text += &format!(
        "  boots           {} in all; desired twins received {}; jobs run {}\n",
        count(ends.iter().map(|e| e.boots).sum()),
        count(ends.iter().map(|e| e.desired_seen).sum()),
        count(ends.iter().map(|e| e.jobs).sum()),
    );
    text += &format!(
        "  database        {} (SQLite file and WAL)\n  fleet worker    {} reconnections\n",
        bytes(db_bytes),
        mqtt_stats.0
    );
    text += &format!("  wall time       {:.1} s\n", t0.elapsed().as_secs_f64());
    Ok(text)
}

/// The per-ring table and the refusal and failure reasons, from the server's records.
fn ring_report(
    dep: &DeploymentRecord,
    executions: &[ota_server::ExecutionRecord],
    profiles: &[Profile],
) -> String {
    let mut t = Table::new([
        "ring",
        "devices",
        "offered",
        "installed",
        "refused",
        "rolled back",
        "failed",
        "canceled",
        "never offered",
    ]);
    for (k, ring) in dep.rollout.rings().iter().enumerate() {
        let mine: Vec<_> = executions.iter().filter(|e| e.member.ring == k).collect();
        let n = |f: &dyn Fn(&Status) -> bool| {
            count(mine.iter().filter(|e| f(&e.execution.status)).count() as u64)
        };
        t.row([
            RING_NAMES.get(k).copied().unwrap_or("?").to_owned(),
            count(ring.stats.size),
            count(mine.len() as u64),
            n(&|s| matches!(s, Status::Succeeded)),
            n(&|s| matches!(s, Status::Rejected { .. })),
            n(&|s| matches!(s, Status::Failed { reverted: true, .. })),
            n(&|s| {
                matches!(s, Status::Failed { reverted: false, .. } | Status::TimedOut)
            }),
            n(&|s| matches!(s, Status::Canceled)),
            count(ring.stats.size.saturating_sub(mine.len() as u64)),
        ]);
    }
    let mut text = t.render("  ");
    let hw_of: HashMap<&str, usize> = profiles
        .iter()
        .map(|p| (p.id.as_str(), p.hardware))
        .collect();
    let mut reasons: BTreeMap<String, u64> = BTreeMap::new();
    let mut refused_hw = [0u64; 3];
    for e in executions {
        let line = match &e.execution.status {
            Status::Rejected { refusal } => {
                if let Some(h) = hw_of.get(e.device.as_str()) {
                    refused_hw[*h] += 1;
                }
                format!("refused     x  {:?}", refusal.rule)
            }
            Status::Failed {
                stage,
                reason,
                reverted,
                detail,
            } => format!(
                "{} x  stage {stage}, {reason:?}{}",
                if *reverted { "rolled back" } else { "failed     " },
                detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default()
            ),
            _ => continue,
        };
        *reasons.entry(line).or_default() += 1;
    }
    for (line, n) in reasons {
        let (head, tail) = line.split_once(" x ").unwrap_or((&line, ""));
        text += &format!("    {} {} x {}\n", head.trim_end(), count(n), tail.trim());
    }
    if refused_hw.iter().any(|&n| n > 0) {
        text += &format!(
            "  refused by revision: {} (counted apart: never a success or a failure for the gate; \
             tally {})\n",
            HW.iter()
                .zip(refused_hw)
                .map(|(h, n)| format!("{h} {}", count(n)))
                .collect::<Vec<_>>()
                .join(", "),
            count(dep.tally.iter().map(|t| t.rejected).sum())
        );
    }
    text
}

/// When each ring opened, and how the rollout ended (with the gate's verdict on an abort).
fn gate_lines(dep: &DeploymentRecord) -> String {
    let mut text = String::from("  gate decisions:\n");
    for (k, ring) in dep.rollout.rings().iter().enumerate().skip(1) {
        if let Some(at) = ring.opened_at {
            text += &format!(
                "    +{:>3} s  promote {} -> {}\n",
                at.saturating_sub(dep.created_at),
                RING_NAMES.get(k - 1).copied().unwrap_or("?"),
                RING_NAMES.get(k).copied().unwrap_or("?"),
            );
        }
    }
    let at = dep.last_now.saturating_sub(dep.created_at);
    match dep.rollout.status() {
        ota_rollout::Status::Completed => {
            text += &format!("    +{at:>3} s  complete: every device of every ring reported\n");
            text += "  status: completed\n";
        }
        ota_rollout::Status::Aborted { ring, verdict } => {
            let name = RING_NAMES.get(*ring).copied().unwrap_or("?");
            text += &format!("    +{at:>3} s  ABORT at {name}  {verdict}\n");
            let received: usize = dep
                .rollout
                .rings()
                .iter()
                .map(|r| r.stats.started as usize)
                .sum();
            let later: u64 = dep
                .rollout
                .rings()
                .iter()
                .skip(ring + 1)
                .map(|r| r.stats.started)
                .sum();
            text += &format!(
                "  blast radius: {} devices were offered the release, later rings received it: {}\n",
                count(received as u64),
                count(later)
            );
            text += &format!("  status: aborted at ring {name}\n");
        }
        other => text += &format!("  status: {other:?}\n"),
    }
    text
}
