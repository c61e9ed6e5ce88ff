//! A job end to end on mosquitto with `ota-protocol` messages: notify, verify, progress,
//! outcome, each applied once by the server; a job whose envelope does not verify is refused
//! (REJECTED, `Unverified`) and nothing is installed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::sim::{SimInstaller, job, release, report};
use ota_mqtt::{ConnectOptions, Device, DeviceId, Ingest, Ingested, Mosquitto, Server};
use ota_protocol::{JobExecution, RefusalRule, Status, StatusKind};
use tokio::sync::{Mutex, watch};

const T: Duration = Duration::from_secs(5);

fn opts(broker: &Mosquitto, id: &str) -> ConnectOptions {
    ConnectOptions::new("127.0.0.1", broker.port(), id)
}

/// A server worker that applies and answers everything until told to stop; returns what it
/// did.
fn serve(
    mut server: Server,
    ingest: Arc<Mutex<Ingest>>,
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
            server.answer(&m, &r).await.unwrap();
            server.ack(&m).await.unwrap();
            out.push(r);
        }
        out
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verified_job_is_installed_and_a_forged_one_is_refused() {
    if ota_mqtt::mosquitto_missing_for_tests() {
        return;
    }
    let broker = Mosquitto::start().unwrap();
    let server = Server::connect(&opts(&broker, "server-1"), "workers")
        .await
        .unwrap();
    let jobs = Server::connect(&opts(&broker, "server-jobs"), "jobs")
        .await
        .unwrap();
    let id = DeviceId::new("dev-1").unwrap();
    let mut device = Device::connect(&opts(&broker, "dev-1"), id.clone())
        .await
        .unwrap();
    let ingest = Arc::new(Mutex::new(Ingest::new(64)));
    let (stop, stop_rx) = watch::channel(false);
    let worker = serve(server, ingest.clone(), stop_rx);
    let rel = release();
    let mut installer = SimInstaller::new(rel.root.clone());

    // The forged release is a valid COSE envelope signed by a key the device does not trust.
    for (job_id, envelope) in [("job-good", &rel.good), ("job-forged", &rel.forged)] {
        let doc = job(job_id, envelope);
        let queued = JobExecution::queued(doc.job_id.clone(), 1);
        ingest.lock().await.queue(&id, queued.clone());
        jobs.send_job(&id, &doc, 1_800_000_000).await.unwrap();

        let m = device.recv(T).await.unwrap();
        let received = Device::decode_job(&m).unwrap();
        assert_eq!(received, doc);
        device.ack(&m).await.unwrap();
        // Each update waits for the server's answer, so when this returns all were applied.
        let last = device
            .run_job(&mut installer, &received, &queued)
            .await
            .unwrap();
        assert_eq!(ingest.lock().await.execution(&id, job_id).unwrap(), &last);
    }
    assert_eq!(installer.installed, 1, "the forged job was installed");
    {
        let ingest = ingest.lock().await;
        let good = ingest.execution(&id, "job-good").unwrap();
        assert_eq!(
            (good.version, good.status.kind()),
            (5, StatusKind::Succeeded)
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
    }

    // Reports: applied once per report id, a repeat is recognised (and still answered).
    assert!(device.send_report(&report(1, "2.0.0")).await.unwrap());
    assert!(device.send_report(&report(1, "2.0.0")).await.unwrap());
    assert!(device.send_report(&report(2, "2.0.0")).await.unwrap());
    stop.send(true).unwrap();
    let done = worker.await.unwrap();
    assert!(
        !done.iter().any(|g| matches!(g, Ingested::Refused(_))),
        "{done:?}"
    );
    let reports: Vec<_> = done
        .iter()
        .filter(|g| matches!(g, Ingested::Report(_) | Ingested::DuplicateReport))
        .collect();
    assert!(matches!(reports[0], Ingested::Report(r) if r.report_id == 1));
    assert_eq!(reports[1], &Ingested::DuplicateReport);
    assert!(matches!(reports[2], Ingested::Report(r) if r.report_id == 2));
}

/// A job canceled by the server after it was queued (or one the server never queued) is
/// answered on `jobs/update/rejected` when the device claims it: the device stops with
/// `JobRejected`, installs nothing and sends nothing more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_the_server_rejects_is_not_installed() {
    if ota_mqtt::mosquitto_missing_for_tests() {
        return;
    }
    let broker = Mosquitto::start().unwrap();
    let server = Server::connect(&opts(&broker, "server-1"), "workers")
        .await
        .unwrap();
    let id = DeviceId::new("dev-1").unwrap();
    let mut device = Device::connect(&opts(&broker, "dev-1"), id.clone())
        .await
        .unwrap();
    let ingest = Arc::new(Mutex::new(Ingest::new(64)));
    let (stop, stop_rx) = watch::channel(false);
    let worker = serve(server, ingest.clone(), stop_rx);
    let rel = release();
    let mut installer = SimInstaller::new(rel.root.clone());

    // Canceled on the server: the execution there is terminal (CANCELED, version 2).
    let doc = job("job-canceled", &rel.good);
    let queued = JobExecution::queued(doc.job_id.clone(), 1);
    let canceled = queued.next(Status::Canceled);
    ingest.lock().await.queue(&id, canceled.clone());
    let e = device
        .run_job(&mut installer, &doc, &queued)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ota_mqtt::Error::JobRejected { job_id, version: 2 } if job_id == "job-canceled"),
        "{e}"
    );
    assert_eq!(
        ingest.lock().await.execution(&id, "job-canceled").unwrap(),
        &canceled
    );
    // Never queued for this device at all.
    let doc = job("job-unknown", &rel.good);
    let queued = JobExecution::queued(doc.job_id.clone(), 1);
    let e = device
        .run_job(&mut installer, &doc, &queued)
        .await
        .unwrap_err();
    assert!(matches!(e, ota_mqtt::Error::JobRejected { .. }), "{e}");
    assert_eq!(installer.installed, 0, "a rejected job was installed");

    // The control: a job the server has queued goes through (claim, progress, outcome).
    let doc = job("job-live", &rel.good);
    let queued = JobExecution::queued(doc.job_id.clone(), 1);
    ingest.lock().await.queue(&id, queued.clone());
    let last = device.run_job(&mut installer, &doc, &queued).await.unwrap();
    assert_eq!(last.status, Status::Succeeded);
    assert_eq!(installer.installed, 1);
    stop.send(true).unwrap();
    let done = worker.await.unwrap();
    // Exactly the two claims were refused; nothing after them was sent.
    let refused = done
        .iter()
        .filter(|g| matches!(g, Ingested::Refused(_) | Ingested::UnknownJob(_)))
        .count();
    assert_eq!(refused, 2, "{done:?}");
    drop(broker);
}

/// The device re-sends an update until it is answered: a server that was not there when the
/// update was first sent (its shared subscription did not exist yet, so the broker dropped
/// it) still gets it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_nobody_received_is_sent_again_until_answered() {
    if ota_mqtt::mosquitto_missing_for_tests() {
        return;
    }
    let broker = Mosquitto::start().unwrap();
    let id = DeviceId::new("dev-2").unwrap();
    let mut device = Device::connect(&opts(&broker, "dev-2"), id.clone())
        .await
        .unwrap();
    device.set_confirmation(Duration::from_millis(300), 20);
    let ingest = Arc::new(Mutex::new(Ingest::new(64)));
    let (stop, stop_rx) = watch::channel(false);
    let port = broker.port();
    let late = {
        let ingest = ingest.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(700)).await;
            let o = ConnectOptions::new("127.0.0.1", port, "server-late");
            let worker = serve(Server::connect(&o, "late").await.unwrap(), ingest, stop_rx);
            worker.await.unwrap()
        })
    };
    assert!(device.send_report(&report(7, "1.0.0")).await.unwrap());
    stop.send(true).unwrap();
    let done = late.await.unwrap();
    assert!(
        matches!(&done[0], Ingested::Report(r) if r.report_id == 7),
        "{done:?}"
    );
}
