//! The MQTT 5 binding against a real mosquitto (plain TCP on loopback): request/response,
//! session expiry, message expiry, shared subscriptions, redelivery handled once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;
use std::time::Duration;

use ota_mqtt::{
    ConnectOptions, Device, DeviceId, Error, Mosquitto, PROTOCOL_VERSION, Seen, Server, TopicKind,
};

const T: Duration = Duration::from_secs(5);

fn opts(broker: &Mosquitto, id: &str) -> ConnectOptions {
    ConnectOptions::new("127.0.0.1", broker.port(), id)
}

fn dev(id: &str) -> DeviceId {
    DeviceId::new(id).unwrap()
}

/// A broker, a server worker `server-1` in group `workers`, and device `dev-1`.
async fn broker_server_device() -> (Mosquitto, Server, Device) {
    let broker = Mosquitto::start().unwrap();
    let server = Server::connect(&opts(&broker, "server-1"), "workers")
        .await
        .unwrap();
    let device = Device::connect(&opts(&broker, "dev-1"), dev("dev-1"))
        .await
        .unwrap();
    (broker, server, device)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_and_response_carry_correlation_data() {
    if ota_mqtt::mosquitto_missing_for_tests() {
        return;
    }
    let (_broker, mut server, mut device) = broker_server_device().await;

    device
        .request_job(b"req-42", b"get".to_vec())
        .await
        .unwrap();
    let req = server.recv(T).await.unwrap();
    assert_eq!(req.kind, TopicKind::JobsGet);
    assert_eq!(req.device, dev("dev-1"));
    assert_eq!(req.correlation.as_deref(), Some(&b"req-42"[..]));
    assert_eq!(
        req.response_topic.as_deref(),
        Some("ota/v1/dev-1/jobs/get/accepted")
    );
    assert_eq!(req.protocol.as_deref(), Some(PROTOCOL_VERSION));
    server.respond(&req, true, b"job-1".to_vec()).await.unwrap();
    server.ack(&req).await.unwrap();

    let answer = device.recv(T).await.unwrap();
    assert_eq!(answer.kind, TopicKind::JobsGetAccepted);
    assert_eq!(answer.correlation.as_deref(), Some(&b"req-42"[..]));
    assert_eq!(answer.payload, b"job-1");
    device.ack(&answer).await.unwrap();

    device
        .update_job(b"upd-1", b"IN_PROGRESS".to_vec())
        .await
        .unwrap();
    let upd = server.recv(T).await.unwrap();
    assert_eq!(upd.kind, TopicKind::JobsUpdate);
    server
        .respond(&upd, false, b"unknown job".to_vec())
        .await
        .unwrap();
    server.ack(&upd).await.unwrap();
    let answer = device.recv(T).await.unwrap();
    assert_eq!(answer.kind, TopicKind::JobsUpdateRejected);
    assert_eq!(answer.correlation.as_deref(), Some(&b"upd-1"[..]));
    // A reported twin is not a request: nothing to respond to.
    device.report_twin(b"t".to_vec()).await.unwrap();
    let report = server.recv(T).await.unwrap();
    assert!(matches!(
        server.respond(&report, true, vec![]).await,
        Err(Error::UnknownTopic(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_device_gets_its_job_when_it_returns_but_not_a_stale_one() {
    if ota_mqtt::mosquitto_missing_for_tests() {
        return;
    }
    let broker = Mosquitto::start().unwrap();
    let server = Server::connect(&opts(&broker, "server-1"), "workers")
        .await
        .unwrap();
    let device = Device::connect(&opts(&broker, "dev-2"), dev("dev-2"))
        .await
        .unwrap();
    assert!(!device.session_present());
    device.disconnect().await;

    server
        .notify_job(
            &dev("dev-2"),
            b"stale".to_vec(),
            Some(Duration::from_secs(1)),
        )
        .await
        .unwrap();
    server
        .notify_job(
            &dev("dev-2"),
            b"fresh".to_vec(),
            Some(Duration::from_secs(600)),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;

    let mut device = Device::connect(&opts(&broker, "dev-2"), dev("dev-2"))
        .await
        .unwrap();
    assert!(device.session_present());
    let job = device.recv(T).await.unwrap();
    assert_eq!(job.kind, TopicKind::JobsNotify);
    assert_eq!(
        job.payload, b"fresh",
        "the expired job must not be delivered"
    );
    device.ack(&job).await.unwrap();
    assert!(matches!(
        device.recv(Duration::from_millis(500)).await,
        Err(Error::Timeout(_))
    ));

    // A clean session (expiry 0) gets nothing queued.
    let mut o = opts(&broker, "dev-3");
    o.session_expiry = Duration::ZERO;
    Device::connect(&o, dev("dev-3"))
        .await
        .unwrap()
        .disconnect()
        .await;
    server
        .notify_job(&dev("dev-3"), b"lost".to_vec(), None)
        .await
        .unwrap();
    let mut device = Device::connect(&o, dev("dev-3")).await.unwrap();
    assert!(!device.session_present());
    assert!(device.recv(Duration::from_millis(500)).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_subscription_splits_reports_between_workers() {
    if ota_mqtt::mosquitto_missing_for_tests() {
        return;
    }
    let broker = Mosquitto::start().unwrap();
    let mut a = Server::connect(&opts(&broker, "worker-a"), "workers")
        .await
        .unwrap();
    let mut b = Server::connect(&opts(&broker, "worker-b"), "workers")
        .await
        .unwrap();
    let device = Device::connect(&opts(&broker, "dev-4"), dev("dev-4"))
        .await
        .unwrap();
    let n = 40;
    for i in 0..n {
        device.report(format!("r{i}").into_bytes()).await.unwrap();
    }
    let mut got: HashMap<Vec<u8>, &str> = HashMap::new();
    let (mut from_a, mut from_b) = (0, 0);
    while got.len() < n {
        tokio::select! {
            m = a.recv(T) => { let m = m.unwrap(); a.ack(&m).await.unwrap(); from_a += 1;
                assert!(got.insert(m.payload, "a").is_none()); }
            m = b.recv(T) => { let m = m.unwrap(); b.ack(&m).await.unwrap(); from_b += 1;
                assert!(got.insert(m.payload, "b").is_none()); }
        }
    }
    assert!(from_a > 0 && from_b > 0, "a {from_a}, b {from_b}");
    assert_eq!(from_a + from_b, n);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_not_acknowledged_is_redelivered_and_applied_once() {
    if ota_mqtt::mosquitto_missing_for_tests() {
        return;
    }
    let broker = Mosquitto::start().unwrap();
    let mut worker = Server::connect(&opts(&broker, "worker-r"), "workers")
        .await
        .unwrap();
    let device = Device::connect(&opts(&broker, "dev-5"), dev("dev-5"))
        .await
        .unwrap();
    device.report(b"report-1".to_vec()).await.unwrap();

    let mut applied = Seen::new(1000);
    let mut count = 0;
    let first = worker.recv(T).await.unwrap();
    assert!(!first.redelivered);
    if applied.first_time(first.payload.clone()) {
        count += 1;
    }
    // The worker dies before its PUBACK.
    drop(worker);
    let mut worker = Server::connect(&opts(&broker, "worker-r"), "workers")
        .await
        .unwrap();
    let again = worker.recv(T).await.unwrap();
    assert_eq!(again.payload, b"report-1");
    assert!(again.redelivered);
    if applied.first_time(again.payload.clone()) {
        count += 1;
    }
    worker.ack(&again).await.unwrap();
    assert_eq!(count, 1);
}

/// The broker restarts: a worker's shared subscription and a device's subscriptions still
/// deliver what is published after the restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_deliver_after_a_broker_restart() {
    if ota_mqtt::mosquitto_missing_for_tests() {
        return;
    }
    let mut broker = Mosquitto::start().unwrap();
    let mut worker = Server::connect(&opts(&broker, "worker-s"), "workers")
        .await
        .unwrap();
    let mut device = Device::connect(&opts(&broker, "dev-6"), dev("dev-6"))
        .await
        .unwrap();
    tokio::task::block_in_place(|| broker.restart().unwrap());
    // Both reconnect by themselves (back-off at most 1 s) and subscribe again.
    assert!(worker.recv(Duration::from_secs(2)).await.is_err());
    device.report(b"after restart".to_vec()).await.unwrap();
    let m = worker.recv(Duration::from_secs(10)).await.unwrap();
    assert_eq!(m.payload, b"after restart");
    assert_eq!(worker.reconnections(), (1, 0));
    worker
        .notify_job(&dev("dev-6"), b"job".to_vec(), None)
        .await
        .unwrap();
    let m = device.recv(Duration::from_secs(10)).await.unwrap();
    assert_eq!(m.payload, b"job");
}

/// A job document larger than rumqttc's default incoming limit (10 KiB): the client tells the
/// broker its own limit (256 KiB) and takes it; before, the connection dropped at every
/// delivery and the job never arrived.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_of_100_kib_is_delivered() {
    if ota_mqtt::mosquitto_missing_for_tests() {
        return;
    }
    let (_broker, server, mut device) = broker_server_device().await;
    let big = vec![0x5a; 100 * 1024];
    server
        .notify_job(&dev("dev-1"), big.clone(), None)
        .await
        .unwrap();
    let m = device.recv(T).await.unwrap();
    assert_eq!(
        (m.kind, m.payload.len()),
        (TopicKind::JobsNotify, big.len())
    );
    assert_eq!(device.reconnections(), (0, 0));
}

/// Every report answered twice (a re-send answered again, a redelivery): the late answers are
/// acknowledged and dropped, so they never reach the 32 unacknowledged messages after which
/// the broker stops sending, and 60 confirmed reports go through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_duplicate_answers_do_not_stall_the_device() {
    if ota_mqtt::mosquitto_missing_for_tests() {
        return;
    }
    let (_broker, mut server, mut device) = broker_server_device().await;
    device.set_confirmation(Duration::from_millis(500), 10);
    let n = 60u64;
    let worker = tokio::spawn(async move {
        let mut answered = 0;
        while answered < n {
            let Ok(m) = server.recv(Duration::from_secs(10)).await else {
                break;
            };
            server.respond(&m, true, Vec::new()).await.unwrap();
            server.respond(&m, true, Vec::new()).await.unwrap();
            server.ack(&m).await.unwrap();
            answered += 1;
        }
        server.disconnect().await;
        answered
    });
    for id in 1..=n {
        let r = common::sim::report(id, "2.0.0");
        assert!(device.send_report(&r).await.unwrap(), "report {id}");
    }
    assert_eq!(worker.await.unwrap(), n);
    // At most the last report's second answer is left (it came after the first was taken).
    let mut left = 0;
    while let Ok(m) = device.recv(Duration::from_millis(300)).await {
        assert_eq!(m.kind, TopicKind::ReportsAccepted);
        left += 1;
    }
    assert!(left <= 1, "{left} answers left over");
}

/// `send_confirmed` on `jobs/get` takes its own answer (a `jobs/get` answer is never dropped
/// as a late one: it may carry a job) and leaves an answer to another question for `recv`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirmed_jobs_get_takes_its_answer_and_keeps_others() {
    if ota_mqtt::mosquitto_missing_for_tests() {
        return;
    }
    let (_broker, mut server, mut device) = broker_server_device().await;
    device.set_confirmation(Duration::from_secs(2), 3);
    device.request_job(b"old", Vec::new()).await.unwrap();
    let worker = tokio::spawn(async move {
        for _ in 0..2 {
            let m = server.recv(T).await.unwrap();
            server.respond(&m, true, b"job".to_vec()).await.unwrap();
            server.ack(&m).await.unwrap();
        }
        server.disconnect().await;
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        device
            .send_confirmed(TopicKind::JobsGet, b"new", Vec::new())
            .await
            .unwrap()
    );
    worker.await.unwrap();
    let m = device.recv(T).await.unwrap();
    assert_eq!(
        (m.kind, m.correlation.as_deref()),
        (TopicKind::JobsGetAccepted, Some(&b"old"[..]))
    );
}
