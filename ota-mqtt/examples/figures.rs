//! Figures for benches/RESULTS.md: bytes on the wire per device per update, messages per second
//! through mosquitto, memory per connected device. Loopback only, bounded.
//!
//! `cargo run -p ota-mqtt --example figures [devices]` starts mosquitto (the harness);
//! `cargo run -p ota-mqtt --example figures -- [devices] --broker PORT PID` measures a broker
//! already listening on 127.0.0.1:PORT as process PID (how rumqttd was compared: README).
//! The broker's memory is the growth of its resident set (VmRSS) while the devices connect.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/common/sim.rs"]
#[allow(dead_code)]
mod sim;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ota_mqtt::{ConnectOptions, Device, DeviceId, Ingest, Mosquitto, Server};
use ota_protocol::JobExecution;
use sim::{SimInstaller, job, release, report};
use tokio::net::{TcpListener, TcpStream};

const T: Duration = Duration::from_secs(10);

/// The broker measured: its loopback port and its process (for its memory).
struct Broker {
    port: u16,
    pid: u32,
}

impl Broker {
    fn port(&self) -> u16 {
        self.port
    }
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// A loopback TCP proxy in front of the broker that counts the bytes each way.
async fn counting_proxy(broker_port: u16) -> (u16, Arc<AtomicU64>, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let up = Arc::new(AtomicU64::new(0));
    let down = Arc::new(AtomicU64::new(0));
    let (u, d) = (up.clone(), down.clone());
    tokio::spawn(async move {
        // Bounded: serves connections until the example ends.
        while let Ok((mut client, _)) = listener.accept().await {
            let (u, d) = (u.clone(), d.clone());
            tokio::spawn(async move {
                let mut server = TcpStream::connect(("127.0.0.1", broker_port))
                    .await
                    .unwrap();
                client.set_nodelay(true).unwrap();
                server.set_nodelay(true).unwrap();
                let (mut cr, mut cw) = client.split();
                let (mut sr, mut sw) = server.split();
                tokio::join!(pipe(&mut cr, &mut sw, &u), pipe(&mut sr, &mut cw, &d));
            });
        }
    });
    (port, up, down)
}

/// Copies until EOF, counting every chunk as it passes.
async fn pipe(
    from: &mut (impl tokio::io::AsyncRead + Unpin),
    to: &mut (impl tokio::io::AsyncWrite + Unpin),
    count: &AtomicU64,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 16 * 1024];
    while let Ok(n) = from.read(&mut buf).await {
        if n == 0 || to.write_all(&buf[..n]).await.is_err() {
            break;
        }
        count.fetch_add(n as u64, Ordering::SeqCst);
    }
    let _ = to.shutdown().await;
}

async fn wire_bytes(broker: &Broker) {
    let mut server = Server::connect(
        &ConnectOptions::new("127.0.0.1", broker.port(), "srv-w"),
        "workers",
    )
    .await
    .unwrap();
    let (port, up, down) = counting_proxy(broker.port()).await;
    let id = DeviceId::new("dev-wire").unwrap();
    let mut device = Device::connect(
        &ConnectOptions::new("127.0.0.1", port, "dev-wire"),
        id.clone(),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (u0, d0) = (up.load(Ordering::SeqCst), down.load(Ordering::SeqCst));
    // Once per connection (and reconnection): `next_job` asks `jobs/get`; nothing is pending.
    let (waited, ()) = tokio::join!(device.next_job(Duration::from_millis(700)), async {
        let m = server.recv(T).await.unwrap();
        server.answer_job_request(&m, None).await.unwrap();
        server.ack(&m).await.unwrap();
    });
    assert!(waited.is_err(), "no job was pending");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (ua, da) = (up.load(Ordering::SeqCst), down.load(Ordering::SeqCst));
    let rel = release();
    let doc = job("fw-2-0", &rel.good);
    let job_cbor = doc.to_cbor().unwrap().len();
    let mut ingest = Ingest::new(8);
    let queued = JobExecution::queued(doc.job_id.clone(), 1);
    ingest.queue(&id, queued.clone());
    server.send_job(&id, &doc, 1_800_000_000).await.unwrap();
    // The server applies and answers the 4 execution updates (the claim, two progress steps,
    // the outcome) and the report.
    let serving = tokio::spawn(async move {
        for _ in 0..5 {
            let m = server.recv(T).await.unwrap();
            let r = ingest.apply(&m).unwrap();
            server.answer(&m, &r).await.unwrap();
            server.ack(&m).await.unwrap();
        }
        // Dropping the server now would drop its last answer still queued: disconnect sends it.
        server.disconnect().await;
        ingest
    });
    let received = device.next_job(T).await.unwrap();
    let last = device
        .run_job(&mut SimInstaller::new(rel.root.clone()), &received, &queued)
        .await
        .unwrap();
    let rep = report(1, "2.0.0");
    let report_cbor = rep.to_cbor().unwrap().len();
    assert!(device.send_report(&rep).await.unwrap());
    let ingest = serving.await.unwrap();
    assert_eq!(ingest.execution(&id, "fw-2-0"), Some(&last));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (u1, d1) = (up.load(Ordering::SeqCst), down.load(Ordering::SeqCst));
    println!(
        "wire: one update (job notify + 4 execution updates + 1 report, each answered, QoS 1 with acks) = \
         {} B device->broker + {} B broker->device = {} B; payloads: job {job_cbor} B (with a {} B signed envelope), report \
         {report_cbor} B; connect+subscribe before it: {u0} B up, {d0} B down (plain TCP; TLS adds \
         its handshake and ~22-29 B per record); jobs/get answered \"none\", once per connection: \
         {} B up, {} B down",
        u1 - ua,
        d1 - da,
        (u1 - ua) + (d1 - da),
        rel.good.len(),
        ua - u0,
        da - d0
    );
    device.disconnect().await;
}

async fn throughput(broker: &Broker, n: usize) {
    let mut worker = Server::connect(
        &ConnectOptions::new("127.0.0.1", broker.port(), "srv-t"),
        "tput",
    )
    .await
    .unwrap();
    let device = Device::connect(
        &ConnectOptions::new("127.0.0.1", broker.port(), "dev-tput"),
        DeviceId::new("dev-tput").unwrap(),
    )
    .await
    .unwrap();
    let payload = report(1, "2.0.0").to_cbor().unwrap();
    let start = Instant::now();
    let send = async {
        for _ in 0..n {
            device.report(payload.clone()).await.unwrap();
        }
    };
    let recv = async {
        for _ in 0..n {
            let m = worker.recv(T).await.unwrap();
            worker.ack(&m).await.unwrap();
        }
    };
    tokio::join!(send, recv);
    let secs = start.elapsed().as_secs_f64();
    println!(
        "throughput: {n} QoS 1 reports ({} B payload) device -> broker -> worker in {secs:.2} s \
         = {:.0} messages/s (one publisher, one subscriber, manual acks)",
        payload.len(),
        n as f64 / secs
    );
}

async fn memory(broker: &Broker, n: usize) {
    let me = std::process::id();
    let broker_pid = broker.pid;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (c0, b0) = (rss_kib(me), rss_kib(broker_pid));
    let mut devices = Vec::new();
    for i in 0..n {
        let id = format!("mem-{i:04}");
        devices.push(
            Device::connect(
                &ConnectOptions::new("127.0.0.1", broker.port(), id.clone()),
                DeviceId::new(id).unwrap(),
            )
            .await
            .unwrap(),
        );
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (c1, b1) = (rss_kib(me), rss_kib(broker_pid));
    println!(
        "memory: {n} connected devices (9 subscriptions each): client process +{} KiB = {:.1} KiB \
         per device; broker +{} KiB = {:.1} KiB per device",
        c1 - c0,
        (c1 - c0) as f64 / n as f64,
        b1 - b0,
        (b1 - b0) as f64 / n as f64
    );
    for d in devices {
        d.disconnect().await;
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let external = args.iter().position(|a| a == "--broker").map(|i| {
        let arg = |j: usize| args.get(i + j).map(String::as_str);
        let (Some(port), Some(pid)) = (
            arg(1).and_then(|a| a.parse::<u16>().ok()),
            arg(2).and_then(|a| a.parse::<u32>().ok()),
        ) else {
            panic!("--broker PORT PID");
        };
        (port, pid)
    });
    // The harness's broker lives until the end of main.
    let mosquitto;
    let broker = match external {
        Some((port, pid)) => Broker { port, pid },
        None => {
            mosquitto = Mosquitto::start().unwrap();
            Broker {
                port: mosquitto.port(),
                pid: mosquitto.pid().unwrap(),
            }
        }
    };
    wire_bytes(&broker).await;
    throughput(&broker, 20_000).await;
    memory(&broker, n).await;
}
