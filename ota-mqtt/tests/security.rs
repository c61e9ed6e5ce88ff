//! TLS and the ACL on a real mosquitto: each device is locked to its own topics.
//! The test CA, broker and client certificates are made by the test with the openssl CLI.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::pki::Pki;
use ota_mqtt::{
    ConnectOptions, Device, DeviceId, Error, Mosquitto, Server, TlsIdentity, TopicKind, Topics,
};

const T: Duration = Duration::from_secs(5);
const QUIET: Duration = Duration::from_millis(700);

fn opts(broker: &Mosquitto, client_id: &str, tls: TlsIdentity) -> ConnectOptions {
    let mut o = ConnectOptions::new("127.0.0.1", broker.port(), client_id).with_tls(tls);
    o.connect_timeout = Duration::from_secs(3);
    o
}

fn dev(id: &str) -> DeviceId {
    DeviceId::new(id).unwrap()
}

struct Fleet {
    pki: Pki,
    broker: Mosquitto,
}

fn fleet() -> Fleet {
    let pki = Pki::new();
    let broker = Mosquitto::start_tls(&pki.broker_files()).unwrap();
    Fleet { pki, broker }
}

impl Fleet {
    async fn device(&self, id: &str) -> Device {
        let o = opts(&self.broker, id, self.pki.client(id, false));
        Device::connect(&o, dev(id)).await.unwrap()
    }
    async fn server(&self) -> Server {
        let o = opts(
            &self.broker,
            "ota-server-1",
            self.pki.client("ota-server", false),
        );
        Server::connect(&o, "workers").await.unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_with_its_certificate_uses_its_own_topics() {
    if ota_mqtt::mosquitto_missing_for_tests() {
        return;
    }
    let f = fleet();
    let mut server = f.server().await;
    let mut a = f.device("dev-a").await;
    server
        .notify_job(&dev("dev-a"), b"job".to_vec(), None)
        .await
        .unwrap();
    let job = a.recv(T).await.unwrap();
    assert_eq!(
        (job.kind, job.payload.as_slice()),
        (TopicKind::JobsNotify, &b"job"[..])
    );
    a.report(b"report-a".to_vec()).await.unwrap();
    let r = server.recv(T).await.unwrap();
    assert_eq!((r.device, r.payload), (dev("dev-a"), b"report-a".to_vec()));
}

/// mosquitto 2.0's acl_file does not check SUBSCRIBE (every filter gets SUBACK success); it
/// checks read access on every message it delivers. So the property is: whatever A subscribes
/// to, nothing of B's (or of any other device) reaches A.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_a_cannot_read_the_jobs_of_b_even_with_wildcards() {
    if ota_mqtt::mosquitto_missing_for_tests() {
        return;
    }
    let f = fleet();
    let server = f.server().await;
    let mut a = f.device("dev-a").await;
    let mut b = f.device("dev-b").await;
    let b_topics = Topics::new(dev("dev-b"));
    let filters: Vec<String> = [
        b_topics.topic(TopicKind::JobsNotify),
        b_topics.topic(TopicKind::JobsGetAccepted),
        "ota/v1/+/jobs/notify".to_owned(),
        "ota/v1/+/+/+".to_owned(),
        "ota/v1/#".to_owned(),
        "#".to_owned(),
        "$share/g/ota/v1/+/jobs/notify".to_owned(),
    ]
    .into();
    // Granted or refused, it must not matter: check what is delivered.
    let _ = a.subscribe_raw(&filters, T).await;
    // A connection that claims to be B (client id and topics of B) with A's certificate.
    let o = opts(&f.broker, "dev-b-impostor", f.pki.client("dev-a", false));
    let mut impostor = Device::connect(&o, dev("dev-b")).await.unwrap();

    server
        .notify_job(&dev("dev-b"), b"job-b".to_vec(), None)
        .await
        .unwrap();
    server
        .set_desired(&dev("dev-b"), b"twin-b".to_vec())
        .await
        .unwrap();
    server
        .notify_job(&dev("dev-c"), b"job-c".to_vec(), None)
        .await
        .unwrap();
    let got = b.recv(T).await.unwrap();
    assert_eq!(got.payload, b"job-b");
    assert!(
        matches!(a.recv(QUIET).await, Err(Error::Timeout(_))),
        "A saw another's message"
    );
    assert!(
        matches!(impostor.recv(QUIET).await, Err(Error::Timeout(_))),
        "impostor saw B's job"
    );
    // A still gets its own job through its own subscription.
    server
        .notify_job(&dev("dev-a"), b"job-a".to_vec(), None)
        .await
        .unwrap();
    let own = a.recv(T).await.unwrap();
    assert_eq!((own.device, own.payload), (dev("dev-a"), b"job-a".to_vec()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_a_cannot_publish_as_b() {
    if ota_mqtt::mosquitto_missing_for_tests() {
        return;
    }
    let f = fleet();
    let mut server = f.server().await;
    let a = f.device("dev-a").await;
    let b_topics = Topics::new(dev("dev-b"));
    for kind in [
        TopicKind::Reports,
        TopicKind::JobsUpdate,
        TopicKind::JobsGet,
    ] {
        a.publish_raw(b_topics.topic(kind), b"forged".to_vec())
            .await
            .unwrap();
    }
    // Nor can it answer itself as the server, or send a job to B.
    let a_topics = Topics::new(dev("dev-a"));
    a.publish_raw(
        a_topics.topic(TopicKind::JobsGetAccepted),
        b"forged".to_vec(),
    )
    .await
    .unwrap();
    a.publish_raw(b_topics.topic(TopicKind::JobsNotify), b"forged".to_vec())
        .await
        .unwrap();
    a.report(b"genuine".to_vec()).await.unwrap();
    let first = server.recv(T).await.unwrap();
    assert_eq!(
        (first.device, first.payload),
        (dev("dev-a"), b"genuine".to_vec())
    );
    assert!(matches!(server.recv(QUIET).await, Err(Error::Timeout(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_without_a_valid_certificate_cannot_connect() {
    if ota_mqtt::mosquitto_missing_for_tests() {
        return;
    }
    let f = fleet();
    // Signed by another CA, with a CN the ACL would accept.
    let rogue = opts(&f.broker, "dev-a", f.pki.client("dev-a", true));
    match Device::connect(&rogue, dev("dev-a")).await {
        Err(Error::Connection(_)) => {}
        other => panic!("rogue certificate: {:?}", other.map(|_| ())),
    }
    let none = opts(&f.broker, "dev-a", f.pki.no_client_certificate());
    match Device::connect(&none, dev("dev-a")).await {
        Err(Error::Connection(_)) => {}
        other => panic!("no certificate: {:?}", other.map(|_| ())),
    }
    // Plain TCP to the TLS port is refused too.
    let plain = ConnectOptions::new("127.0.0.1", f.broker.port(), "dev-a");
    assert!(Device::connect(&plain, dev("dev-a")).await.is_err());
    // The genuine certificate works on the same broker.
    f.device("dev-a").await;
}

/// A device that subscribes to `$share/{group}/ota/v1/+/reports` joins the server workers' share
/// group; mosquitto 2.0 then hands it every other report, fails the read check and drops it: half
/// the reports are lost. mosquitto 2.0's acl_file does not check SUBSCRIBE, so the group name is
/// the defence: a secret per deployment (TOPICS.md, "Known weakness"). This test shows the
/// mitigation; the next one (ignored) shows the loss when the device knows the name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_that_guesses_a_share_group_steals_no_reports() {
    if ota_mqtt::mosquitto_missing_for_tests() {
        return;
    }
    steal_reports_with_group("workers").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "known weakness of mosquitto 2.0 acl_file: a device that knows the share group name takes reports away"]
async fn a_device_that_knows_the_share_group_steals_no_reports() {
    if ota_mqtt::mosquitto_missing_for_tests() {
        return;
    }
    steal_reports_with_group(SECRET_GROUP).await;
}

const SECRET_GROUP: &str = "srv-4f0c9a7e2b1d4c38a6e1";

async fn steal_reports_with_group(device_group: &str) {
    let f = fleet();
    let o = opts(&f.broker, "ota-server-1", f.pki.client("ota-server", false));
    let mut server = Server::connect(&o, SECRET_GROUP).await.unwrap();
    let mut a = f.device("dev-a").await;
    let b = f.device("dev-b").await;
    let filter = format!("$share/{device_group}/ota/v1/+/reports");
    let _ = a.subscribe_raw(&[filter], T).await;
    let n = 20;
    for i in 0..n {
        b.report(format!("r{i}").into_bytes()).await.unwrap();
    }
    let mut got = 0;
    while got < n {
        match server.recv(Duration::from_secs(2)).await {
            Ok(m) => {
                server.ack(&m).await.unwrap();
                got += 1;
            }
            Err(_) => break,
        }
    }
    assert!(matches!(a.recv(QUIET).await, Err(Error::Timeout(_))));
    assert_eq!(got, n, "reports lost to the device in the share group");
}

/// The same device in the servers' share group, but the reports are sent as the crate sends
/// them, each re-sent until a server answers it (`send_report`): the broker still hands the
/// device its share and drops it, and every report reaches the server all the same, applied
/// once. The device reads none of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_in_the_share_group_delays_confirmed_reports_but_none_is_lost() {
    if ota_mqtt::mosquitto_missing_for_tests() {
        return;
    }
    let f = fleet();
    let o = opts(&f.broker, "ota-server-1", f.pki.client("ota-server", false));
    let mut server = Server::connect(&o, SECRET_GROUP).await.unwrap();
    let mut a = f.device("dev-a").await;
    let mut b = f.device("dev-b").await;
    b.set_confirmation(Duration::from_millis(300), 40);
    let filter = format!("$share/{SECRET_GROUP}/ota/v1/+/reports");
    let _ = a.subscribe_raw(&[filter], T).await;
    let n = 10u64;
    let worker = tokio::spawn(async move {
        let mut ingest = ota_mqtt::Ingest::new(64);
        let (mut applied, mut repeats) = (Vec::new(), 0);
        // Bounded: stops once every report was applied, or after 60 quiet seconds in all.
        for _ in 0..200 {
            let Ok(m) = server.recv(Duration::from_millis(300)).await else {
                if applied.len() as u64 == n {
                    break;
                }
                continue;
            };
            let r = ingest.apply(&m).unwrap();
            match &r {
                ota_mqtt::Ingested::Report(r) => applied.push(r.report_id),
                ota_mqtt::Ingested::DuplicateReport => repeats += 1,
                other => panic!("{other:?}"),
            }
            server.answer(&m, &r).await.unwrap();
            server.ack(&m).await.unwrap();
        }
        (applied, repeats)
    });
    for id in 1..=n {
        let r = common::sim::report(id, "2.0.0");
        assert!(b.send_report(&r).await.unwrap(), "report {id} refused");
    }
    let (applied, _repeats) = worker.await.unwrap();
    assert_eq!(
        applied,
        (1..=n).collect::<Vec<_>>(),
        "each report applied once, in order"
    );
    assert!(matches!(a.recv(QUIET).await, Err(Error::Timeout(_))));
}
