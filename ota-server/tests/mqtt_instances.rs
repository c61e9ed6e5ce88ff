//! Issue 19, item 5: two `ota-server` instances, each its own process, over one PostgreSQL
//! database and one mosquitto broker, run one rollout together. The devices' messages reach
//! them through an MQTT 5 shared subscription (`$share/{group}/ota/v1/+/…`, `ota-mqtt`'s
//! `Server`), which splits the stream between the two. 300 simulated devices (one MQTT
//! connection each) ask for their job (`jobs/get`), then send an IN_PROGRESS update, a report
//! and their outcome, each re-sent until a server answers it (`ota-mqtt`'s end-to-end
//! confirmation). Instance 0 is killed (SIGKILL, by its pid) in the middle of the second ring,
//! whatever it is doing.
//!
//! Checks: every device's three messages are in the database once (no report lost, none
//! counted twice: one report per device, three history entries per execution, ring counts
//! summing to the fleet), both instances took part, the survivor carried on, and the final
//! state (rollout, tallies, executions, histories) equals what a single instance reaches on the
//! same messages delivered once and in order.
//!
//! Bounded: 300 devices, three messages each; every wait has a deadline (180 s in all);
//! loopback only; the processes started here are ended by their pids. Skips (with a note)
//! without PostgreSQL or mosquitto, unless `OTA_REQUIRE_POSTGRES=1` / `OTA_REQUIRE_MOSQUITTO=1`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;
use ota_mqtt::{ConnectOptions, Device, DeviceId, Mosquitto, TopicKind};
use ota_protocol::{DeviceReport, JobExecution, StatusKind};
use ota_server::{DeploymentSpec, Ingested, Outbound, PostgresStore, Server, Store};

const DEVICES: usize = 300;
const GROUP: &str = "ota-servers-7f3a";
const DB_ENV: &str = "OTA_SERVER_MQTT_WORKER_DB";
const PORT_ENV: &str = "OTA_SERVER_MQTT_WORKER_PORT";
const NAME_ENV: &str = "OTA_SERVER_MQTT_WORKER_NAME";
/// The servers' clock (fixed, so that one instance and two record the same times).
const T: u64 = NOW + 10;
const DEADLINE: Duration = Duration::from_secs(180);

/// The shares and gate of the rollout. The gate is order-independent here on purpose (at most
/// 8 failures in a ring, so no prefix of 20 or more reports is above 40%): the comparison with
/// one instance must not depend on which instance happened to see which report first.
fn the_plan() -> ota_rollout::Plan {
    plan(&[0.1, 0.3, 0.6], 40.0, 20)
}

/// What device `i` does with its job: most succeed, every 23rd fails; in the last ring every
/// 31st refuses the release (REJECTED: counted apart, never fed to the gate).
fn outcome(i: usize, queued: &JobExecution, last_ring: bool) -> [JobExecution; 2] {
    let v2 = in_progress(queued);
    let v3 = if i % 23 == 5 {
        failed(&v2)
    } else if last_ring && i % 31 == 3 {
        rejected(&v2)
    } else {
        succeeded(&v2)
    };
    [v2, v3]
}

fn device_report(i: usize) -> DeviceReport {
    report(i as u64 * 10 + 1, NOW, "2.0.0")
}

fn setup<S: Store>(s: &mut Server<S>) {
    for i in 0..DEVICES {
        s.register_device(&device_name(i), Default::default(), NOW)
            .unwrap();
    }
    let v = Vendor::new();
    s.add_release("r2", &v.release("2.0.0", 2), artifacts(), &v.trust, NOW)
        .unwrap();
}

fn deploy<S: Store>(s: &mut Server<S>) {
    let spec = DeploymentSpec {
        id: "d1".into(),
        release: "r2".into(),
        plan: the_plan(),
        policy: Default::default(),
        execution_timeout_secs: None,
    };
    s.create_deployment(&spec, NOW).unwrap();
}

/// One instance, every message once, ring by ring in device order.
fn reference(params: &str) -> Server<PostgresStore> {
    let mut s = Server::new(PostgresStore::connect(params).unwrap());
    setup(&mut s);
    deploy(&mut s);
    for _ in 0..3 {
        let dep = s.deployment("d1").unwrap();
        let last_ring = dep.rollout.active_ring() + 1 == dep.rollout.rings().len();
        for e in s.executions("d1").unwrap() {
            if e.execution.status.kind() != StatusKind::Queued {
                continue;
            }
            let i: usize = e.device["dev-".len()..].parse().unwrap();
            let [v2, v3] = outcome(i, &e.execution, last_ring);
            assert!(s.handle_execution(&e.device, &v2, T).unwrap().accepted());
            assert!(
                s.handle_report(&e.device, &device_report(i), T)
                    .unwrap()
                    .accepted()
            );
            assert!(s.handle_execution(&e.device, &v3, T).unwrap().accepted());
        }
    }
    s
}

/// The server instance: not a test of its own (it returns at once unless started by
/// `two_instances_…` with its environment). One MQTT connection in the shared group, one
/// PostgreSQL connection; each message is handled in one transaction, what it causes (jobs of
/// a promotion, jobs a `jobs/get` asks for) is published, then the device is answered and the
/// message acknowledged. One line on stdout per message handled.
#[test]
fn mqtt_server_instance() {
    let (Ok(db), Ok(port), Ok(name)) = (
        std::env::var(DB_ENV),
        std::env::var(PORT_ENV),
        std::env::var(NAME_ENV),
    ) else {
        return;
    };
    let port: u16 = port.parse().unwrap();
    // The MQTT client runs on its own runtime thread; the (blocking) database calls on this
    // thread, outside the runtime.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let mut opts = ConnectOptions::new("127.0.0.1", port, name);
    // A clean session: when this process dies the broker ends its membership of the group at
    // once, and what it held unacknowledged is re-sent by the devices to the survivor.
    opts.session_expiry = Duration::ZERO;
    let mut mq = rt
        .block_on(ota_mqtt::Server::connect(&opts, GROUP))
        .unwrap();
    let mut server = Server::new(PostgresStore::connect(&db).unwrap());
    let mut stdout = std::io::stdout();
    writeln!(stdout, "READY").unwrap();
    stdout.flush().unwrap();
    loop {
        let m = match rt.block_on(mq.recv(Duration::from_secs(1))) {
            Ok(m) => m,
            Err(ota_mqtt::Error::Timeout(_)) => continue,
            Err(e) => panic!("recv: {e}"),
        };
        let device = m.device.as_str().to_owned();
        let (ingested, out) = match m.kind {
            TopicKind::Reports => {
                let r = DeviceReport::from_cbor(&m.payload).unwrap();
                let i = server.handle_report(&device, &r, T).unwrap();
                (Some(i), Vec::new())
            }
            TopicKind::JobsUpdate => {
                let e = JobExecution::from_cbor(&m.payload).unwrap();
                let i = server.handle_execution(&device, &e, T).unwrap();
                (Some(i), Vec::new())
            }
            TopicKind::JobsGet => (None, server.pending_jobs(&device).unwrap()),
            _ => (None, Vec::new()),
        };
        let out = out
            .iter()
            .chain(ingested.iter().flat_map(Ingested::outbound))
            .cloned()
            .collect::<Vec<_>>();
        rt.block_on(async {
            for o in &out {
                if let Outbound::Job { device, job } = o {
                    let id = DeviceId::new(device.clone()).unwrap();
                    mq.send_job(&id, job, T).await.unwrap();
                }
            }
            let accepted = ingested.as_ref().is_none_or(Ingested::accepted);
            if m.kind.answers().is_some() {
                mq.respond(&m, accepted, Vec::new()).await.unwrap();
            }
            mq.ack(&m).await.unwrap();
        });
        let what = match &ingested {
            Some(Ingested::DuplicateReport | Ingested::DuplicateExecution) => "dup",
            Some(i) if i.accepted() => "new",
            Some(_) => "refused",
            None => "get",
        };
        writeln!(stdout, "HANDLED\t{what}").unwrap();
        stdout.flush().unwrap();
    }
}

struct Instance {
    child: Child,
    alive: bool,
}

/// Counts of what an instance handled, from its stdout.
#[derive(Default)]
struct Handled {
    new: AtomicUsize,
    dup: AtomicUsize,
    other: AtomicUsize,
}

fn spawn_instance(
    n: usize,
    db: &str,
    port: u16,
    handled: Arc<Handled>,
    ready: mpsc::Sender<usize>,
) -> Instance {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "mqtt_server_instance",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(DB_ENV, db)
        .env(PORT_ENV, port.to_string())
        .env(NAME_ENV, format!("ota-server-{n}"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            // libtest's "test mqtt_server_instance ... " may precede the first line.
            if line.ends_with("READY") {
                let _ = ready.send(n);
            } else if line.contains("HANDLED\tnew") {
                handled.new.fetch_add(1, Ordering::SeqCst);
            } else if line.contains("HANDLED\tdup") {
                handled.dup.fetch_add(1, Ordering::SeqCst);
            } else if line.contains("HANDLED") {
                handled.other.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    Instance { child, alive: true }
}

/// A device: asks for its job until one comes (`jobs/get`, again every 3 s: a job published
/// by an instance that died before sending it is found that way), then sends its three
/// messages, each until a server answers it.
async fn device_task(port: u16, i: usize, connected: Arc<AtomicUsize>) {
    let id = device_name(i);
    let mut opts = ConnectOptions::new("127.0.0.1", port, id.clone());
    opts.connect_timeout = Duration::from_secs(20);
    let mut device = Device::connect(&opts, DeviceId::new(id.clone()).unwrap())
        .await
        .unwrap_or_else(|e| panic!("{id}: {e}"));
    device.set_confirmation(Duration::from_secs(2), 20);
    connected.fetch_add(1, Ordering::SeqCst);
    let start = Instant::now();
    let mut asked = 0u32;
    let doc = loop {
        assert!(start.elapsed() < DEADLINE, "{id}: no job");
        asked += 1;
        device
            .send_confirmed(TopicKind::JobsGet, &asked.to_be_bytes(), Vec::new())
            .await
            .unwrap_or_else(|e| panic!("{id}: jobs/get: {e}"));
        match device.recv(Duration::from_secs(3)).await {
            Ok(m) => {
                device.ack(&m).await.unwrap();
                if m.kind == TopicKind::JobsNotify {
                    break Device::decode_job(&m).unwrap();
                }
            }
            Err(ota_mqtt::Error::Timeout(_)) => {}
            Err(e) => panic!("{id}: {e}"),
        }
    };
    let queued = JobExecution::queued(doc.job_id.clone(), 1);
    let [v2, v3] = outcome(i, &queued, doc.ring == 2);
    assert!(
        device.send_execution(&v2).await.unwrap(),
        "{id}: v2 refused"
    );
    assert!(
        device.send_report(&device_report(i)).await.unwrap(),
        "{id}: report refused"
    );
    assert!(
        device.send_execution(&v3).await.unwrap(),
        "{id}: v3 refused"
    );
    device.disconnect().await;
}

#[test]
fn two_instances_over_mqtt_one_killed_midway_equal_one_instance() {
    if ota_mqtt::mosquitto_missing_for_tests() {
        return;
    }
    let Some(cluster) = pg::Cluster::start() else {
        return;
    };
    let limit = std::fs::read_to_string("/proc/self/limits")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3)?.parse::<usize>().ok())
        .unwrap_or(usize::MAX);
    assert!(limit > DEVICES + 100, "open files limit {limit} too low");

    let mut single = reference(&cluster.create_db());

    let broker = Mosquitto::start().unwrap();
    let port = broker.port();
    let shared_db = cluster.create_db();
    let mut control = Server::new(PostgresStore::connect(&shared_db).unwrap());
    setup(&mut control);

    let (ready_tx, ready_rx) = mpsc::channel();
    let handled = [Arc::new(Handled::default()), Arc::new(Handled::default())];
    let mut instances: Vec<Instance> = (0..2)
        .map(|n| spawn_instance(n, &shared_db, port, handled[n].clone(), ready_tx.clone()))
        .collect();
    for _ in 0..2 {
        ready_rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("an instance did not start: {}", broker.log_tail()));
    }
    deploy(&mut control);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let connected = Arc::new(AtomicUsize::new(0));
    let devices: Vec<_> = (0..DEVICES)
        .map(|i| rt.spawn(device_task(port, i, connected.clone())))
        .collect();

    // Kill instance 0 once the second ring is under way: the first ring (30 devices) done and
    // 30 of the second ring's 90 terminal.
    let start = Instant::now();
    let mut killed_at = None;
    loop {
        assert!(
            start.elapsed() < DEADLINE,
            "not done in {DEADLINE:?}: {} devices finished; broker log: {}",
            devices.iter().filter(|d| d.is_finished()).count(),
            broker.log_tail()
        );
        if devices.iter().all(|d| d.is_finished()) {
            break;
        }
        if killed_at.is_none() {
            let terminal = control
                .executions("d1")
                .unwrap()
                .iter()
                .filter(|e| e.execution.status.kind().is_terminal())
                .count();
            if terminal >= 60 {
                let before = handled[0].new.load(Ordering::SeqCst);
                instances[0].child.kill().unwrap();
                instances[0].child.wait().unwrap();
                instances[0].alive = false;
                let ring = control.deployment("d1").unwrap().rollout.active_ring();
                killed_at = Some((
                    terminal,
                    ring,
                    before,
                    handled[1].new.load(Ordering::SeqCst),
                ));
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    for d in devices {
        rt.block_on(d).unwrap();
    }
    for inst in &mut instances {
        if inst.alive {
            let _ = inst.child.kill();
            let _ = inst.child.wait();
        }
    }
    let (terminal_at_kill, ring_at_kill, new0, new1_at_kill) =
        killed_at.expect("the kill did not happen");
    let count = |h: &Handled| {
        (
            h.new.load(Ordering::SeqCst),
            h.dup.load(Ordering::SeqCst),
            h.other.load(Ordering::SeqCst),
        )
    };
    eprintln!(
        "killed instance 0 at {terminal_at_kill} terminal executions (ring {ring_at_kill}); \
         (applied, duplicates, other) instance 0 {:?}, instance 1 {:?}; {:?}",
        count(&handled[0]),
        count(&handled[1]),
        start.elapsed()
    );
    assert_eq!(
        ring_at_kill, 1,
        "the kill came in the middle of the second ring"
    );
    assert!(new0 > 0, "instance 0 took no part before the kill");
    assert!(new1_at_kill > 0, "instance 1 took no part before the kill");
    assert!(
        handled[1].new.load(Ordering::SeqCst) > new1_at_kill,
        "the survivor carried on"
    );
    // Every device message applied once: three per device, by one instance or the other.
    // An instance prints after its commit, so the killed one may have applied one message it
    // did not get to print (the survivor then saw that message's re-send as a duplicate).
    let applied = handled[0].new.load(Ordering::SeqCst) + handled[1].new.load(Ordering::SeqCst);
    assert!(
        (3 * DEVICES - 1..=3 * DEVICES).contains(&applied),
        "{applied} messages applied for {} sent",
        3 * DEVICES
    );

    // The same final state as one instance: the rollout (counts, reported bits, status), the
    // tallies, every execution and its history, every device's report count.
    let a = control.deployment("d1").unwrap();
    let b = single.deployment("d1").unwrap();
    assert_eq!(a, b);
    assert_eq!(
        *a.rollout.status(),
        ota_rollout::Status::Completed,
        "the last ring's rejected devices complete it as refusals"
    );
    assert_eq!(a.rollout.active_ring(), 2);
    assert!(a.tally[2].rejected > 0);
    let ea = control.executions("d1").unwrap();
    assert_eq!(ea, single.executions("d1").unwrap());
    assert_eq!(ea.len(), DEVICES);
    assert!(ea.iter().all(|e| e.execution.status.kind().is_terminal()));
    for i in 0..DEVICES {
        let d = device_name(i);
        assert_eq!(control.device(&d).unwrap().unwrap().reports, 1, "{d}");
        let h = control.history("d1", &d).unwrap();
        assert_eq!(h.len(), 3, "{d}");
        assert_eq!(h, single.history("d1", &d).unwrap(), "{d}");
    }
    let succeeded: u64 = a.rollout.rings().iter().map(|r| r.stats.succeeded).sum();
    let failed: u64 = a.rollout.rings().iter().map(|r| r.stats.failed).sum();
    let rejected: u64 = a.tally.iter().map(|t| t.rejected).sum();
    assert_eq!(succeeded + failed + rejected, DEVICES as u64);
    assert_eq!(a.rollout.refused(), rejected);
    assert!(failed > 0);
    drop(broker);
}
