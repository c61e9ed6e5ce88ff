//! TLS and access control on a real mosquitto (the dynamic-security plugin): each device is
//! locked to its own topics, for publish and for subscribe.
//! The test CA, broker and client certificates are made by the test with the openssl CLI.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::pki::Pki;
use ota_mqtt::{
    Access, ConnectOptions, Device, DeviceId, Error, Mosquitto, Server, TlsIdentity, TopicKind,
    Topics,
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

/// The identities the broker knows: two server workers and three devices. `dev-x` has a
/// certificate from the fleet CA but is not provisioned.
fn fleet() -> Fleet {
    let pki = Pki::new();
    let access = Access::new()
        .server(dev("ota-server-1"))
        .server(dev("ota-server-2"))
        .devices(["dev-a", "dev-b", "dev-c"].map(dev));
    let broker = Mosquitto::start_tls(&pki.broker_files(), &access).unwrap();
    Fleet { pki, broker }
}

impl Fleet {
    async fn device(&self, id: &str) -> Device {
        let o = opts(&self.broker, id, self.pki.client(id, false));
        Device::connect(&o, dev(id)).await.unwrap()
    }
    async fn server_as(&self, cn: &str, group: &str) -> Server {
        // The client id asked for does not matter: the broker uses the certificate's CN.
        let o = opts(&self.broker, "ota-server", self.pki.client(cn, false));
        Server::connect(&o, group).await.unwrap()
    }
    async fn server(&self) -> Server {
        self.server_as("ota-server-1", "workers").await
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

/// The dynamic-security plugin checks SUBSCRIBE: every filter that is not one of A's own
/// topics is refused (SUBACK "not authorized"), wildcards and share groups included; and
/// nothing of B's (or of any other device) is delivered to A.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_a_cannot_subscribe_to_the_jobs_of_b_nor_to_wildcards() {
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
    for filter in &filters {
        let refused = a.subscribe_raw(std::slice::from_ref(filter), T).await;
        common::assert_refused(refused, filter, filter);
    }

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
    // A still gets its own job through its own subscription.
    server
        .notify_job(&dev("dev-a"), b"job-a".to_vec(), None)
        .await
        .unwrap();
    let own = a.recv(T).await.unwrap();
    assert_eq!((own.device, own.payload), (dev("dev-a"), b"job-a".to_vec()));
}

/// A connection with A's certificate that asks for B's client id gets A's (the broker sets
/// the client id from the certificate's CN): B's connection and session are untouched, and B's
/// topics are refused to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_cannot_take_over_the_session_of_another() {
    if ota_mqtt::mosquitto_missing_for_tests() {
        return;
    }
    let f = fleet();
    let server = f.server().await;
    let mut b = f.device("dev-b").await;
    let o = opts(&f.broker, "dev-b", f.pki.client("dev-a", false));
    common::assert_refused(
        Device::connect(&o, dev("dev-b")).await,
        "ota/v1/dev-b/",
        "impostor",
    );
    server
        .notify_job(&dev("dev-b"), b"job-b".to_vec(), None)
        .await
        .unwrap();
    let got = b.recv(T).await.unwrap();
    assert_eq!(got.payload, b"job-b");
    assert_eq!(
        b.reconnections(),
        (0, 0),
        "B was disconnected by the impostor"
    );
}

/// A certificate signed by the fleet CA whose CN the broker does not know (a device not
/// provisioned, or a leaked test certificate) connects, and may do nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_that_is_not_provisioned_may_do_nothing() {
    if ota_mqtt::mosquitto_missing_for_tests() {
        return;
    }
    let f = fleet();
    let o = opts(&f.broker, "dev-x", f.pki.client("dev-x", false));
    common::assert_refused(
        Device::connect(&o, dev("dev-x")).await,
        "ota/v1/dev-x/",
        "unprovisioned",
    );
}

/// Two server workers, each with its own certificate, connecting with the same client id:
/// the broker gives each its CN as client id, so neither disconnects the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_workers_with_their_own_certificates_do_not_collide() {
    if ota_mqtt::mosquitto_missing_for_tests() {
        return;
    }
    let f = fleet();
    let mut s1 = f.server_as("ota-server-1", "workers").await;
    let mut s2 = f.server_as("ota-server-2", "workers").await;
    let a = f.device("dev-a").await;
    let n = 20;
    for i in 0..n {
        a.report(format!("r{i}").into_bytes()).await.unwrap();
    }
    let (mut got1, mut got2) = (0, 0);
    for _ in 0..(4 * n) {
        tokio::select! {
            m = s1.recv(QUIET) => if let Ok(m) = m { s1.ack(&m).await.unwrap(); got1 += 1; },
            m = s2.recv(QUIET) => if let Ok(m) = m { s2.ack(&m).await.unwrap(); got2 += 1; },
        }
        if got1 + got2 == n {
            break;
        }
    }
    assert_eq!(got1 + got2, n);
    assert!(
        got1 > 0 && got2 > 0,
        "the group did not split: {got1} / {got2}"
    );
    assert_eq!((s1.reconnections(), s2.reconnections()), ((0, 0), (0, 0)));
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

/// A device that subscribes to `$share/{group}/ota/v1/+/reports` would join the server
/// workers' share group, and the broker would hand it a share of every device's reports (and
/// drop them, failing the read check). The plugin refuses the subscription, whether the device
/// guesses the group name or knows it: every report reaches the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_that_guesses_a_share_group_steals_no_reports() {
    if ota_mqtt::mosquitto_missing_for_tests() {
        return;
    }
    steal_reports_with_group("workers").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_that_knows_the_share_group_steals_no_reports() {
    if ota_mqtt::mosquitto_missing_for_tests() {
        return;
    }
    steal_reports_with_group(SECRET_GROUP).await;
}

const SECRET_GROUP: &str = "srv-4f0c9a7e2b1d4c38a6e1";

async fn steal_reports_with_group(device_group: &str) {
    let f = fleet();
    let mut server = f.server_as("ota-server-1", SECRET_GROUP).await;
    let mut a = f.device("dev-a").await;
    let b = f.device("dev-b").await;
    let filter = format!("$share/{device_group}/ota/v1/+/reports");
    let refused = a.subscribe_raw(std::slice::from_ref(&filter), T).await;
    common::assert_refused(refused, &filter, "a share group");
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
