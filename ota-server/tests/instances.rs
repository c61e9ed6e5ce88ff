//! Two server instances, in two processes, over one PostgreSQL database ingest one stream of
//! device messages together, as an MQTT 5 shared subscription would split it (at least once:
//! a message not acknowledged is delivered again, to whichever worker is alive). One worker is
//! killed (SIGKILL, by its pid) in the middle. Checks: no message lost, none counted twice, and
//! the final state equals what one instance reaches on the same messages.
//!
//! The broker is simulated by the test (over the workers' stdin/stdout), not mosquitto.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::*;
use ota_protocol::{JobExecution, Message, Status, StatusKind};
use ota_server::{DeploymentSpec, Ingested, PostgresStore, Server, Store};

const DEVICES: usize = 300;
const WORKER_ENV: &str = "OTA_SERVER_TEST_WORKER_DB";
const T: u64 = NOW + 10;

/// The worker: not a test of its own (it returns at once unless started by `two_instances…`).
#[test]
fn worker_process() {
    let Ok(params) = std::env::var(WORKER_ENV) else {
        return;
    };
    let mut server = Server::new(PostgresStore::connect(&params).unwrap());
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout();
    for line in stdin.lock().lines() {
        let line = line.unwrap();
        let (seq, rest) = line.split_once('\t').unwrap();
        let (device, hex) = rest.split_once('\t').unwrap();
        let accepted = server
            .handle_cbor(device, &from_hex(hex), T)
            .unwrap()
            .accepted();
        writeln!(stdout, "ACK\t{seq}\t{}", u8::from(accepted)).unwrap();
        stdout.flush().unwrap();
    }
}

/// Messages travel as hex of their canonical CBOR, one per line.
fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn from_hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

struct Worker {
    child: Child,
    stdin: ChildStdin,
    alive: bool,
}

fn spawn_worker(id: usize, params: &str, acks: mpsc::Sender<(usize, u64, bool)>) -> Worker {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "worker_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(WORKER_ENV, params)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            // libtest's "test worker_process ... " may precede the first ack on its line.
            let Some(at) = line.find("ACK\t") else {
                continue;
            };
            let mut f = line[at..].split('\t').skip(1);
            let seq: u64 = f.next().unwrap().parse().unwrap();
            let ok = f.next() == Some("1");
            if acks.send((id, seq, ok)).is_err() {
                break;
            }
        }
    });
    Worker {
        child,
        stdin,
        alive: true,
    }
}

/// What device `i` does: most succeed, every 23rd fails; in the last ring every 31st refuses.
fn messages_for(i: usize, e: &JobExecution, last_ring: bool) -> Vec<(String, String)> {
    let device = device_name(i);
    let v2 = in_progress(e);
    let v3 = if i % 23 == 5 {
        failed(&v2)
    } else if last_ring && i % 31 == 3 {
        rejected(&v2)
    } else {
        succeeded(&v2)
    };
    let r = report(i as u64 * 10 + 1, NOW, "2.0.0");
    [
        Message::Execution(v2),
        Message::Report(r),
        Message::Execution(v3),
    ]
    .iter()
    .map(|m| (device.clone(), to_hex(&m.to_cbor().unwrap())))
    .collect()
}

/// The messages of the devices whose jobs are queued now (one phase: a ring).
fn phase<S: Store>(s: &mut Server<S>) -> Vec<(String, String)> {
    let dep = s.deployment("d1").unwrap();
    let last_ring = dep.rollout.active_ring() + 1 == dep.rollout.rings().len();
    let mut out = Vec::new();
    for e in s.executions("d1").unwrap() {
        if e.execution.status.kind() == StatusKind::Queued {
            let i: usize = e.device["dev-".len()..].parse().unwrap();
            out.extend(messages_for(i, &e.execution, last_ring));
        }
    }
    out
}

fn setup<S: Store>(s: &mut Server<S>) {
    for i in 0..DEVICES {
        s.register_device(&device_name(i), Default::default(), NOW)
            .unwrap();
    }
    let v = Vendor::new();
    s.add_release("r2", &v.release("2.0.0", 2), artifacts(), &v.trust, NOW)
        .unwrap();
    let spec = DeploymentSpec {
        id: "d1".into(),
        release: "r2".into(),
        plan: plan(&[0.1, 0.3, 0.6], 20.0, 10),
        policy: Default::default(),
        execution_timeout_secs: None,
    };
    s.create_deployment(&spec, NOW).unwrap();
}

/// The single-instance result: every message once, in order.
fn reference(params: &str) -> Server<PostgresStore> {
    let mut s = Server::new(PostgresStore::connect(params).unwrap());
    setup(&mut s);
    for _ in 0..3 {
        for (device, json) in phase(&mut s) {
            assert!(
                s.handle_cbor(&device, &from_hex(&json), T)
                    .unwrap()
                    .accepted()
            );
        }
    }
    s
}

#[test]
fn two_instances_one_killed_midway_equal_one_instance() {
    let Some(cluster) = pg::Cluster::start() else {
        return;
    };
    let mut single = reference(&cluster.create_db());
    let shared_db = cluster.create_db();
    let mut control = Server::new(PostgresStore::connect(&shared_db).unwrap());
    setup(&mut control);

    let (tx, rx) = mpsc::channel();
    let mut workers = vec![
        spawn_worker(0, &shared_db, tx.clone()),
        spawn_worker(1, &shared_db, tx),
    ];
    let mut seq = 0u64;
    let mut total = 0usize;
    let mut redelivered = 0usize;
    let mut killed_with_inflight = None;
    let mut dispatches = 0usize;
    for ring in 0..3 {
        let msgs = phase(&mut control);
        assert!(!msgs.is_empty(), "ring {ring} started nothing");
        total += msgs.len();
        let mut pending: VecDeque<(String, String, bool)> =
            msgs.into_iter().map(|(d, j)| (d, j, false)).collect();
        let mut inflight: HashMap<u64, (usize, (String, String, bool))> = HashMap::new();
        let mut acked = 0usize;
        let mut next = 0usize;
        while !(pending.is_empty() && inflight.is_empty()) {
            // Keep up to 8 messages in flight per live worker, round robin.
            while let Some(m) = pending.pop_front() {
                let live: Vec<usize> = (0..workers.len()).filter(|&w| workers[w].alive).collect();
                let w = live[next % live.len()];
                if inflight.values().filter(|(x, _)| *x == w).count() >= 8 {
                    pending.push_front(m);
                    break;
                }
                next += 1;
                seq += 1;
                dispatches += 1;
                assert!(dispatches < 40 * DEVICES * 3, "no progress");
                writeln!(workers[w].stdin, "{seq}\t{}\t{}", m.0, m.1).unwrap();
                workers[w].stdin.flush().unwrap();
                inflight.insert(seq, (w, m));
            }
            let Ok((_, s, ok)) = rx.recv_timeout(Duration::from_secs(120)) else {
                panic!(
                    "no ack in 120 s: ring {ring}, {acked} acked, {} pending, in flight {:?}",
                    pending.len(),
                    inflight
                        .iter()
                        .map(|(s, (w, m))| (*s, *w, m.0.clone()))
                        .collect::<Vec<_>>()
                );
            };
            let Some((_, m)) = inflight.remove(&s) else {
                continue;
            };
            acked += 1;
            if !ok {
                // Refused for now (a later version before the one it follows): the device
                // sends it again.
                pending.push_back(m);
            } else if s % 7 == 0 && !m.2 {
                // The acknowledgement was "lost": the broker delivers it again.
                redelivered += 1;
                pending.push_back((m.0, m.1, true));
            }
            if ring == 1 && acked == 200 && workers[0].alive {
                // Kill worker 0 in the middle of the ring, whatever it is doing; what it held
                // unacknowledged goes to the other worker.
                workers[0].child.kill().unwrap();
                workers[0].child.wait().unwrap();
                workers[0].alive = false;
                let orphans: Vec<u64> = inflight
                    .iter()
                    .filter(|(_, (w, _))| *w == 0)
                    .map(|(s, _)| *s)
                    .collect();
                killed_with_inflight = Some(orphans.len());
                for s in orphans {
                    if let Some((_, m)) = inflight.remove(&s) {
                        pending.push_front(m);
                    }
                }
            }
        }
    }
    for w in &mut workers {
        if w.alive {
            let _ = w.child.kill();
            let _ = w.child.wait();
        }
    }
    assert!(killed_with_inflight.is_some(), "the kill did not happen");
    eprintln!(
        "{total} messages, {redelivered} redelivered, {} in flight at the kill, {dispatches} dispatches",
        killed_with_inflight.unwrap_or(0)
    );
    assert!(redelivered > 0);

    // Same final state as one instance: the rollout (counts, reported bits, status), the tally,
    // every execution and its history, every device's report count.
    let a = control.deployment("d1").unwrap();
    let b = single.deployment("d1").unwrap();
    assert_eq!(a, b);
    assert_eq!(
        *a.rollout.status(),
        ota_rollout::Status::Completed,
        "rejected devices complete their ring as refusals"
    );
    assert!(a.tally[2].rejected > 0);
    let ea = control.executions("d1").unwrap();
    let eb = single.executions("d1").unwrap();
    assert_eq!(ea, eb);
    assert_eq!(ea.len(), DEVICES);
    assert!(ea.iter().all(|e| e.execution.status.kind().is_terminal()));
    for i in 0..DEVICES {
        let d = device_name(i);
        assert_eq!(control.device(&d).unwrap().unwrap().reports, 1, "{d}");
        assert_eq!(control.history("d1", &d).unwrap().len(), 3, "{d}");
        // Nothing further: a redelivery now changes nothing.
        let e = control.execution("d1", &d).unwrap().unwrap().execution;
        assert_eq!(
            control.handle_execution(&d, &e, T).unwrap(),
            Ingested::DuplicateExecution
        );
    }
    let succeeded: u64 = a.rollout.rings().iter().map(|r| r.stats.succeeded).sum();
    let failed: u64 = a.rollout.rings().iter().map(|r| r.stats.failed).sum();
    let rejected: u64 = a.tally.iter().map(|t| t.rejected).sum();
    assert_eq!(succeeded + failed + rejected, DEVICES as u64);
    assert_eq!(a.rollout.refused(), rejected);
    let _ = Status::Succeeded;
}
