//! A job end to end on mosquitto with `ota-protocol` messages: notify, verify, progress,
//! outcome, each applied once by the server; a job whose envelope does not verify is refused
//! (REJECTED, `Unverified`) and nothing is installed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::sim::{GOOD_ENVELOPE, SimInstaller, job, report};
use ota_mqtt::{ConnectOptions, Device, DeviceId, Ingest, Ingested, Mosquitto, Server};
use ota_protocol::{JobExecution, RefusalRule, Status, StatusKind};

const T: Duration = Duration::from_secs(5);

fn opts(broker: &Mosquitto, id: &str) -> ConnectOptions {
    ConnectOptions::new("127.0.0.1", broker.port(), id)
}

/// Receives from the server until `n` messages were applied (duplicates do not count).
async fn ingest_until(server: &mut Server, ingest: &mut Ingest, n: usize) -> Vec<Ingested> {
    let mut out = Vec::new();
    let mut applied = 0;
    while applied < n {
        let m = server.recv(T).await.unwrap();
        let r = ingest.apply(&m).unwrap();
        server.ack(&m).await.unwrap();
        match &r {
            Ingested::Execution(v) => applied += v.len(),
            Ingested::Report(_) => applied += 1,
            _ => {}
        }
        out.push(r);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verified_job_is_installed_and_a_forged_one_is_refused() {
    let broker = Mosquitto::start().unwrap();
    let mut server = Server::connect(&opts(&broker, "server-1"), "workers")
        .await
        .unwrap();
    let id = DeviceId::new("dev-1").unwrap();
    let mut device = Device::connect(&opts(&broker, "dev-1"), id.clone())
        .await
        .unwrap();
    let mut ingest = Ingest::new(64);
    let mut installer = SimInstaller { installed: 0 };

    for (job_id, envelope) in [
        ("job-good", GOOD_ENVELOPE),
        ("job-forged", &b"tampered"[..]),
    ] {
        let doc = job(job_id, envelope);
        let queued = JobExecution::queued(doc.job_id.clone(), 1);
        ingest.queue(&id, queued.clone());
        server.send_job(&id, &doc, 1_800_000_000).await.unwrap();

        let m = device.recv(T).await.unwrap();
        let received = Device::decode_job(&m).unwrap();
        assert_eq!(received, doc);
        device.ack(&m).await.unwrap();
        let last = device
            .run_job(&mut installer, &received, &queued)
            .await
            .unwrap();
        let expect = if job_id == "job-good" { 3 } else { 1 };
        let got = ingest_until(&mut server, &mut ingest, expect).await;
        assert!(
            !got.iter().any(|g| matches!(g, Ingested::Refused(_))),
            "{got:?}"
        );
        assert_eq!(ingest.execution(&id, job_id).unwrap(), &last);
    }
    assert_eq!(installer.installed, 1, "the forged job was installed");
    let good = ingest.execution(&id, "job-good").unwrap();
    assert_eq!(
        (good.version, good.status.kind()),
        (4, StatusKind::Succeeded)
    );
    let forged = ingest.execution(&id, "job-forged").unwrap();
    match &forged.status {
        Status::Rejected { refusal } => {
            assert!(
                matches!(refusal.rule, RefusalRule::Unverified { .. }),
                "{refusal:?}"
            )
        }
        other => panic!("{other:?}"),
    }

    // Reports: applied once per report id, a repeat is recognised.
    device.send_report(&report(1, "2.0.0")).await.unwrap();
    device.send_report(&report(1, "2.0.0")).await.unwrap();
    device.send_report(&report(2, "2.0.0")).await.unwrap();
    let mut kinds = Vec::new();
    for _ in 0..3 {
        let m = server.recv(T).await.unwrap();
        kinds.push(ingest.apply(&m).unwrap());
        server.ack(&m).await.unwrap();
    }
    assert!(matches!(kinds[0], Ingested::Report(ref r) if r.report_id == 1));
    assert_eq!(kinds[1], Ingested::DuplicateReport);
    assert!(matches!(kinds[2], Ingested::Report(ref r) if r.report_id == 2));
}
