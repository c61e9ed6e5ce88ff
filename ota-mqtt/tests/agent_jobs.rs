//! `ota-agent`'s lifecycle driven over MQTT (`AgentInstaller`) on mosquitto, on a simulated
//! device (flash for the agent's record and the boot metadata, two firmware slots): a job ends
//! Committed and SUCCEEDED; a release whose health check fails reverts and is FAILED (trial);
//! a release for other hardware and a forged one are REJECTED with slot A untouched; a
//! connection dropped mid-download (MQTT and the fetch) resumes from the delta cursor.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use ota_agent::sim::{PowerRail, SimBoot, SimFlash, SimSlots};
use ota_agent::{
    Agent, Config, FetchError, FlashStore, Geometry, Health, HealthCheck, SlotInstaller, State,
};
use ota_manifest::semver::{Version, VersionReq};
use ota_manifest::{
    Compatibility, Component, DeltaAlgorithm, DeltaSource, DeviceState, Extensions, Installed,
    Layer, Manifest, Slot,
};
use ota_mqtt::{
    AgentInstaller, ConnectOptions, Device, DeviceId, Download, Ingest, Ingested, Mosquitto,
    Server, TopicKind,
};
use ota_protocol::{
    ComponentSources, DeltaLocation, InstallPolicy, JobDocument, JobExecution, JobId, RefusalRule,
    ReleaseSource, Stage, Status, StatusKind,
};
use ota_verify::{Role, SecretKey, SignOptions, TrustRoot};
use tokio::sync::{Mutex, watch};

const T: Duration = Duration::from_secs(10);
const NOW: u64 = 1_800_000_000;

fn did(s: &str) -> ota_manifest::DeviceId {
    ota_manifest::DeviceId::new(s.as_bytes()).unwrap()
}

/// Deterministic bytes: text-like runs a delta can match, then incompressible bytes so the
/// patch has several frames.
fn images() -> (Vec<u8>, Vec<u8>) {
    let old: Vec<u8> = (0..12_000u32).map(|i| (i % 61) as u8 + 32).collect();
    let mut new = old.clone();
    for i in (0..new.len()).step_by(501) {
        new[i] = new[i].wrapping_add(3);
    }
    let mut x = 0x9E37_79B9u32;
    new.extend((0..12_000).map(|_| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x as u8
    }));
    (old, new)
}

struct Fixture {
    root: TrustRoot,
    key: SecretKey,
    old: Vec<u8>,
    new: Vec<u8>,
    patch: Vec<u8>,
    /// URI -> bytes.
    files: HashMap<String, Vec<u8>>,
}

impl Fixture {
    fn new() -> Self {
        let key = SecretKey::from_seed(&[7; 32]);
        let root = TrustRoot::builder(1, NOW + 86_400)
            .role(Role::ROOT, 1, &[key.public_key()])
            .role(Role::RELEASE, 1, &[key.public_key()])
            .build()
            .unwrap();
        let (old, new) = images();
        let opts = ota_delta::DiffOptions {
            frame_size: 4096,
            ..Default::default()
        };
        let patch = ota_delta::diff_with(&old, &new, &opts).unwrap();
        let files = HashMap::from([
            ("mem://fw-2.bin".to_owned(), new.clone()),
            ("mem://fw-1-2.patch".to_owned(), patch.clone()),
        ]);
        Fixture {
            root,
            key,
            old,
            new,
            patch,
            files,
        }
    }

    /// Release 2 of the firmware for `hardware`, with a delta from release 1, signed by `key`.
    fn envelope(&self, hardware: &str, key: &SecretKey) -> Vec<u8> {
        self.envelope_named("release 2", hardware, key)
    }

    fn envelope_named(&self, name: &str, hardware: &str, key: &SecretKey) -> Vec<u8> {
        let v = |n| Version::new(n, 0, 0);
        let mut fw = Component::from_image(
            "firmware",
            Layer::Firmware,
            v(2),
            VersionReq::STAR,
            &self.new,
            Some(1024),
        )
        .unwrap();
        fw.deltas.push(DeltaSource::from_patch(
            v(1),
            &self.old,
            &self.patch,
            DeltaAlgorithm::OtaDelta,
        ));
        let m = Manifest {
            name: name.into(),
            version: v(2),
            sequence: 2,
            security_counter: 1,
            issued_at: NOW - 10,
            expires_at: Some(NOW + 86_400),
            notes_uri: None,
            support_ends_at: None,
            max_security_deferral: None,
            compatibility: Compatibility {
                vendor: did("acme"),
                classes: vec![did("sensor")],
                hardware: vec![hardware.into()],
                hardware_ranges: vec![],
            },
            components: vec![fw],
            extensions: Extensions::new(),
        };
        let opts = SignOptions {
            sequence: Some(2),
            expires: Some(NOW + 86_400),
            ..Default::default()
        };
        ota_verify::sign(&m.to_cbor().unwrap(), &[key], &opts).unwrap()
    }

    fn job(&self, id: &str, envelope: Vec<u8>) -> JobDocument {
        JobDocument {
            job_id: JobId::new(id).unwrap(),
            rollout: "rollout-1".into(),
            ring: 0,
            release: ReleaseSource::Inline(envelope),
            images: vec![ComponentSources {
                component: "firmware".into(),
                full: Some("mem://fw-2.bin".into()),
                deltas: vec![DeltaLocation {
                    from_sha256: ota_protocol::Sha256(ota_manifest::Sha256::of(&self.old).0),
                    uri: "mem://fw-1-2.patch".into(),
                }],
            }],
            policy: InstallPolicy::default(),
        }
    }

    fn device_state(&self) -> DeviceState {
        DeviceState {
            vendor: did("acme"),
            class: did("sensor"),
            hardware: "rev1".into(),
            installed: vec![Installed {
                id: "firmware".into(),
                version: Version::new(1, 0, 0),
                sha256: ota_manifest::Sha256::of(&self.old),
            }],
            security_counter: 0,
            last_sequence: None,
            now: NOW,
            active_slot: Slot::A,
        }
    }
}

/// Every fetch, as (uri, offset, bytes served).
type Log = Arc<StdMutex<Vec<(String, u64, usize)>>>;

/// Serves the fixture's files; when `drop_at` bytes have been served in all, runs `on_drop`
/// (the test drops the MQTT connection there) and fails that fetch with a lost connection.
struct MemDownload {
    files: HashMap<String, Vec<u8>>,
    log: Log,
    served: u64,
    drop_at: Option<u64>,
    on_drop: Option<Box<dyn FnMut() + Send>>,
}

impl Download for MemDownload {
    fn fetch(&mut self, uri: &str, offset: u64, buf: &mut [u8]) -> Result<usize, FetchError> {
        let f = self
            .files
            .get(uri)
            .ok_or_else(|| FetchError::NotFound(uri.into()))?;
        let mut want = buf.len();
        if let Some(at) = self.drop_at {
            let left = at.saturating_sub(self.served) as usize;
            if left == 0 {
                self.drop_at = None;
                if let Some(f) = self.on_drop.as_mut() {
                    f();
                }
                return Err(FetchError::ConnectionLost("dropped mid-download".into()));
            }
            want = want.min(left);
        }
        let start = (offset as usize).min(f.len());
        let n = want.min(f.len() - start);
        buf[..n].copy_from_slice(&f[start..start + n]);
        self.served += n as u64;
        self.log.lock().unwrap().push((uri.into(), offset, n));
        Ok(n)
    }
}

struct Healthy(bool);

impl HealthCheck for Healthy {
    fn check(&mut self, _deadline_ms: u64) -> Health {
        if self.0 {
            Health::Pass
        } else {
            Health::Fail("the new firmware does not answer".into())
        }
    }
}

/// The simulated device's hardware; "booting" opens the agent over it again.
struct SimDevice {
    record: SimFlash,
    bootmeta: SimFlash,
    slots: SimSlots,
}

type Installer = AgentInstaller<FlashStore<SimFlash>, SimBoot>;

impl SimDevice {
    fn new(fx: &Fixture) -> Self {
        let rail = PowerRail::new();
        let g = |sector_size| Geometry {
            sector_size,
            sector_count: 2,
            write_align: 8,
            erased: 0xFF,
        };
        let slots = SimSlots::new(rail.clone(), 32 << 10, 0xFF);
        slots.factory(Slot::A, &fx.old);
        SimDevice {
            record: SimFlash::new(rail.clone(), g(2048)),
            bootmeta: SimFlash::new(rail, g(256)),
            slots,
        }
    }

    fn boot(&self, fx: &Fixture, download: MemDownload, healthy: bool) -> Installer {
        let boot = SimBoot::power_on(self.bootmeta.clone(), 0).unwrap();
        let store = FlashStore::new(self.record.clone(), 0).unwrap();
        let agent = Agent::open(store, boot, Config::default()).unwrap();
        AgentInstaller::new(
            agent,
            fx.root.clone(),
            fx.device_state(),
            download,
            Healthy(healthy),
        )
        .with_installer(SlotInstaller::firmware(self.slots.clone()))
    }

    fn booted(&self) -> Slot {
        SimBoot::power_on(self.bootmeta.clone(), 0)
            .unwrap()
            .booted()
    }
}

fn mem(fx: &Fixture, log: &Log) -> MemDownload {
    MemDownload {
        files: fx.files.clone(),
        log: log.clone(),
        served: 0,
        drop_at: None,
        on_drop: None,
    }
}

fn opts(port: u16, id: &str) -> ConnectOptions {
    ConnectOptions::new("127.0.0.1", port, id)
}

/// A server worker that applies and answers every update, and answers `jobs/get` with the
/// device's job, until told to stop; returns what it applied.
fn serve(
    mut server: Server,
    ingest: Arc<Mutex<Ingest>>,
    job: JobDocument,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<Vec<Ingested>> {
    tokio::spawn(async move {
        let mut out = Vec::new();
        loop {
            let m = tokio::select! {
                _ = stop.changed() => break,
                m = server.recv(Duration::from_millis(200)) => m,
            };
            let Ok(m) = m else { continue };
            let r = ingest.lock().await.apply(&m).unwrap();
            if r == Ingested::JobRequest {
                let _ = server.respond(&m, true, job.to_cbor().unwrap()).await;
            } else {
                let _ = server.answer(&m, &r).await;
            }
            let _ = server.ack(&m).await;
            out.push(r);
        }
        out
    })
}

struct Net {
    ingest: Arc<Mutex<Ingest>>,
    stop: watch::Sender<bool>,
    worker: tokio::task::JoinHandle<Vec<Ingested>>,
    device: Device,
    id: DeviceId,
}

/// A server worker, and the device connected, subscribed and holding its job (received on
/// `jobs/notify`, acknowledged).
async fn connect(port: u16, doc: &JobDocument, dev: &str) -> (Net, JobExecution) {
    let id = DeviceId::new(dev).unwrap();
    let ingest = Arc::new(Mutex::new(Ingest::new(64)));
    let (stop, stop_rx) = watch::channel(false);
    let server = Server::connect(&opts(port, &format!("{dev}-worker")), "workers")
        .await
        .unwrap();
    let worker = serve(server, ingest.clone(), doc.clone(), stop_rx);
    let mut device = Device::connect(&opts(port, dev), id.clone()).await.unwrap();
    device.set_confirmation(Duration::from_millis(300), 60);
    let queued = JobExecution::queued(doc.job_id.clone(), 1);
    ingest.lock().await.queue(&id, queued.clone());
    let jobs = Server::connect(&opts(port, &format!("{dev}-jobs")), "jobs")
        .await
        .unwrap();
    jobs.send_job(&id, doc, NOW).await.unwrap();
    let m = device.recv(T).await.unwrap();
    assert_eq!(&Device::decode_job(&m).unwrap(), doc);
    device.ack(&m).await.unwrap();
    jobs.disconnect().await;
    let net = Net {
        ingest,
        stop,
        worker,
        device,
        id,
    };
    (net, queued)
}

impl Net {
    async fn finish(self) -> Vec<Ingested> {
        self.stop.send(true).unwrap();
        self.worker.await.unwrap()
    }

    async fn server_view(&self, job: &str) -> JobExecution {
        self.ingest
            .lock()
            .await
            .execution(&self.id, job)
            .unwrap()
            .clone()
    }
}

fn succeeded(done: &[Ingested]) -> usize {
    done.iter()
        .filter_map(|g| match g {
            Ingested::Execution(v) => Some(v),
            _ => None,
        })
        .flatten()
        .filter(|e| e.status.kind() == StatusKind::Succeeded)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_over_mqtt_is_installed_by_the_agent_and_committed() {
    if ota_mqtt::mosquitto_missing_for_tests() {
        return;
    }
    let broker = Mosquitto::start().unwrap();
    let fx = Fixture::new();
    let doc = fx.job("job-commit", fx.envelope("rev1", &fx.key));
    let (mut net, queued) = connect(broker.port(), &doc, "dev-commit").await;
    let sim = SimDevice::new(&fx);
    let log = Log::default();

    let mut inst = sim.boot(&fx, mem(&fx, &log), true);
    let last = net.device.run_job(&mut inst, &doc, &queued).await.unwrap();
    // Downloaded (the delta, the job's URI), staged, armed: the device must reboot.
    assert_eq!(inst.agent().state(), State::Pending);
    assert_eq!(last.status.kind(), StatusKind::InProgress);
    assert!(
        log.lock()
            .unwrap()
            .iter()
            .all(|(u, ..)| u == "mem://fw-1-2.patch")
    );
    assert_eq!(net.server_view("job-commit").await, last);

    // The reboot: the bootloader tries slot B, the agent runs the health check and commits.
    drop(inst);
    assert_eq!(sim.booted(), Slot::B);
    let mut inst = sim.boot(&fx, mem(&fx, &log), true);
    let last = net.device.run_job(&mut inst, &doc, &last).await.unwrap();
    assert_eq!(last.status, Status::Succeeded);
    assert_eq!(inst.agent().state(), State::Committed);
    assert_eq!(inst.agent().floor().sequence, 2);
    let slot_b = sim.slots.snapshot(Slot::B, fx.new.len());
    assert_eq!(
        ota_manifest::Sha256::of(&slot_b),
        ota_manifest::Sha256::of(&fx.new)
    );
    assert_eq!(sim.slots.snapshot(Slot::A, fx.old.len()), fx.old);

    // The job delivered again (a redelivery, or jobs/get after a reboot) is recognised by its
    // envelope: nothing installed or applied twice. Its claim repeats the first run's (a
    // duplicate, answered `accepted`); the outcome after it is a version the server's execution,
    // already SUCCEEDED, does not take: answered `rejected`, and the device stops there.
    let writes = sim.slots.writes();
    let again = net.device.run_job(&mut inst, &doc, &queued).await;
    assert!(
        matches!(again, Err(ota_mqtt::Error::JobRejected { .. })),
        "{again:?}"
    );
    assert_eq!(net.server_view("job-commit").await, last);
    assert_eq!(sim.slots.writes(), writes);
    let done = net.finish().await;
    assert_eq!(succeeded(&done), 1, "{done:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_that_fails_its_health_check_reverts_and_is_failed_at_trial() {
    if ota_mqtt::mosquitto_missing_for_tests() {
        return;
    }
    let broker = Mosquitto::start().unwrap();
    let fx = Fixture::new();
    let doc = fx.job("job-revert", fx.envelope("rev1", &fx.key));
    let (mut net, queued) = connect(broker.port(), &doc, "dev-revert").await;
    let sim = SimDevice::new(&fx);
    let log = Log::default();

    let mut inst = sim.boot(&fx, mem(&fx, &log), false);
    let mut last = net.device.run_job(&mut inst, &doc, &queued).await.unwrap();
    // Boot B (trial, the check fails, revert), boot A (the revert is reported). Bounded.
    for _ in 0..3 {
        if last.status.kind().is_terminal() {
            break;
        }
        drop(inst);
        inst = sim.boot(&fx, mem(&fx, &log), false);
        last = net.device.run_job(&mut inst, &doc, &last).await.unwrap();
    }
    assert_eq!(
        last.status,
        Status::Failed {
            stage: Stage::Trial,
            reason: ota_protocol::Reason::HealthCheckFailed,
            reverted: true,
            detail: None,
        }
    );
    assert_eq!(inst.agent().state(), State::Reverted);
    assert_eq!(inst.agent().floor().sequence, 0, "the floor did not rise");
    drop(inst);
    assert_eq!(sim.booted(), Slot::A);
    assert_eq!(sim.slots.snapshot(Slot::A, fx.old.len()), fx.old);
    assert_eq!(net.server_view("job-revert").await, last);
    let done = net.finish().await;
    assert_eq!(succeeded(&done), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_hardware_and_forged_releases_are_rejected_and_nothing_is_written() {
    if ota_mqtt::mosquitto_missing_for_tests() {
        return;
    }
    let broker = Mosquitto::start().unwrap();
    let fx = Fixture::new();
    let attacker = SecretKey::from_seed(&[66; 32]);
    let sim = SimDevice::new(&fx);
    let log = Log::default();
    let cases = [
        ("job-rev2", fx.envelope("rev2", &fx.key)),
        ("job-forged", fx.envelope("rev1", &attacker)),
    ];
    for (job_id, envelope) in cases {
        let doc = fx.job(job_id, envelope);
        let (mut net, queued) = connect(broker.port(), &doc, &format!("dev-{job_id}")).await;
        let mut inst = sim.boot(&fx, mem(&fx, &log), true);
        let last = net.device.run_job(&mut inst, &doc, &queued).await.unwrap();
        let Status::Rejected { refusal } = &last.status else {
            panic!("{last:?}")
        };
        match job_id {
            "job-rev2" => assert_eq!(
                refusal.rule,
                RefusalRule::WrongHardware {
                    revision: "rev1".into()
                }
            ),
            _ => assert!(
                matches!(refusal.rule, RefusalRule::Unverified { .. }),
                "{refusal:?}"
            ),
        }
        assert_eq!(
            inst.agent().state(),
            State::Idle,
            "a refusal is not recorded"
        );
        assert_eq!(net.server_view(job_id).await, last);
        net.finish().await;
    }
    assert!(log.lock().unwrap().is_empty(), "nothing was fetched");
    assert_eq!(sim.slots.writes(), 0, "no slot was written");
    assert_eq!(sim.slots.snapshot(Slot::A, fx.old.len()), fx.old);
    assert_eq!(sim.booted(), Slot::A);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_dropped_mid_download_resumes_from_the_delta_cursor() {
    if ota_mqtt::mosquitto_missing_for_tests() {
        return;
    }
    let broker = Arc::new(StdMutex::new(Mosquitto::start().unwrap()));
    let port = broker.lock().unwrap().port();
    let fx = Fixture::new();
    let doc = fx.job("job-resume", fx.envelope("rev1", &fx.key));
    let (mut net, queued) = connect(port, &doc, "dev-resume").await;
    let sim = SimDevice::new(&fx);
    let log = Log::default();

    // At two thirds of the patch the network goes: the broker restarts (every MQTT
    // connection drops; sessions are persisted) and that fetch fails.
    let drop_at = fx.patch.len() as u64 * 2 / 3;
    let mut download = mem(&fx, &log);
    download.drop_at = Some(drop_at);
    let b = broker.clone();
    download.on_drop = Some(Box::new(move || b.lock().unwrap().restart().unwrap()));
    let mut inst = sim.boot(&fx, download, true);
    let last = net.device.run_job(&mut inst, &doc, &queued).await.unwrap();
    assert_eq!(inst.agent().state(), State::Downloading);
    let Status::InProgress { stage, progress } = last.status.clone() else {
        panic!("{last:?}")
    };
    let saved = inst.agent().download_offset().unwrap();
    assert_eq!(stage, Stage::Download);
    assert_eq!(progress.done, saved);
    assert!(
        saved > ota_delta::HEADER_LEN as u64 && saved <= drop_at,
        "cursor at {saved}, dropped at {drop_at}"
    );
    assert_eq!(net.server_view("job-resume").await, last);
    assert!(
        net.device.reconnections().0 >= 1,
        "the MQTT connection dropped"
    );
    let before = log.lock().unwrap().len();

    // Connected again: the device asks for its job (jobs/get) and runs it again.
    net.device.request_job(b"get-1", Vec::new()).await.unwrap();
    let mut again = None;
    for _ in 0..10 {
        let m = net.device.recv(T).await.unwrap();
        net.device.ack(&m).await.unwrap();
        if m.kind == TopicKind::JobsGetAccepted {
            again = Some(Device::decode_job(&m).unwrap());
            break;
        }
    }
    let again = again.expect("the job again on jobs/get");
    assert_eq!(again, doc);
    let last = net.device.run_job(&mut inst, &again, &last).await.unwrap();
    assert_eq!(inst.agent().state(), State::Pending);

    // Only the patch header and the bytes from the saved cursor on were fetched again.
    let after: Vec<_> = log.lock().unwrap()[before..].to_vec();
    let bytes: usize = after.iter().map(|(_, _, n)| n).sum();
    assert!(
        bytes < fx.patch.len(),
        "{bytes} bytes fetched again of {}",
        fx.patch.len()
    );
    let header = ota_delta::HEADER_LEN as u64;
    let body: Vec<_> = after.iter().filter(|(_, o, _)| *o >= header).collect();
    assert_eq!(body.first().map(|(_, o, _)| *o), Some(saved), "{after:?}");
    assert!(
        after
            .iter()
            .all(|(u, o, n)| u == "mem://fw-1-2.patch" && (*o >= saved || o + *n as u64 <= header)),
        "{after:?}"
    );

    // Reboot into B, health passes: committed, the image is right, one SUCCEEDED.
    drop(inst);
    let mut inst = sim.boot(&fx, mem(&fx, &log), true);
    let last = net.device.run_job(&mut inst, &doc, &last).await.unwrap();
    assert_eq!(last.status, Status::Succeeded);
    assert_eq!(inst.agent().state(), State::Committed);
    assert_eq!(sim.slots.snapshot(Slot::B, fx.new.len()), fx.new);
    assert_eq!(net.server_view("job-resume").await, last);
    let done = net.finish().await;
    assert_eq!(succeeded(&done), 1, "{done:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_for_another_release_supersedes_an_interrupted_download() {
    if ota_mqtt::mosquitto_missing_for_tests() {
        return;
    }
    let broker = Mosquitto::start().unwrap();
    let fx = Fixture::new();
    let first = fx.job("job-first", fx.envelope("rev1", &fx.key));
    let second = fx.job(
        "job-second",
        fx.envelope_named("release 2, rebuilt", "rev1", &fx.key),
    );
    let (mut net, queued) = connect(broker.port(), &first, "dev-super").await;
    let sim = SimDevice::new(&fx);
    let log = Log::default();
    let mut download = mem(&fx, &log);
    download.drop_at = Some(fx.patch.len() as u64 / 2);
    let mut inst = sim.boot(&fx, download, true);
    let last = net
        .device
        .run_job(&mut inst, &first, &queued)
        .await
        .unwrap();
    assert_eq!(inst.agent().state(), State::Downloading);
    assert_eq!(last.status.kind(), StatusKind::InProgress);

    // The second job (another envelope) comes before the first finished its download: the
    // agent cancels the first and installs the second; the second's outcome is its own.
    let queued2 = JobExecution::queued(second.job_id.clone(), 1);
    net.ingest.lock().await.queue(&net.id, queued2.clone());
    let last2 = net
        .device
        .run_job(&mut inst, &second, &queued2)
        .await
        .unwrap();
    assert_eq!(inst.agent().state(), State::Pending);
    assert_eq!(last2.status.kind(), StatusKind::InProgress);
    drop(inst);
    let mut inst = sim.boot(&fx, mem(&fx, &log), true);
    let last2 = net
        .device
        .run_job(&mut inst, &second, &last2)
        .await
        .unwrap();
    assert_eq!(last2.status, Status::Succeeded);
    let second_digest = ota_verify::Sha256::digest(match &second.release {
        ReleaseSource::Inline(e) => e,
        ReleaseSource::Remote(_) => unreachable!(),
    })
    .0;
    assert_eq!(inst.agent().release_digest(), &second_digest);
    assert_eq!(sim.slots.snapshot(Slot::B, fx.new.len()), fx.new);
    net.finish().await;
}
