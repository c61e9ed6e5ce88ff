//! Provisioning and revoking devices on a running mosquitto (dynamic-security plugin) with
//! `Admin`: a device unknown to the broker may do nothing, works once added, is disconnected
//! and may do nothing again once removed; a device cannot use the control topic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::pki::Pki;
use ota_mqtt::{
    Access, Admin, ConnectOptions, DYNSEC_CONTROL, Device, DeviceId, Error, Mosquitto, Server,
    TlsIdentity,
};

const T: Duration = Duration::from_secs(5);
const QUIET: Duration = Duration::from_millis(700);

fn dev(id: &str) -> DeviceId {
    DeviceId::new(id).unwrap()
}

struct Fleet {
    pki: Pki,
    broker: Mosquitto,
}

impl Fleet {
    fn new() -> Self {
        let pki = Pki::new();
        let access = Access::new()
            .server(dev("ota-server-1"))
            .admin(dev("ota-admin"))
            .devices([dev("dev-a")]);
        let broker = Mosquitto::start_tls(&pki.broker_files(), &access).unwrap();
        Self { pki, broker }
    }
    fn opts(&self, cn: &str) -> ConnectOptions {
        self.opts_with(cn, self.pki.client(cn, false))
    }
    fn opts_with(&self, client_id: &str, tls: TlsIdentity) -> ConnectOptions {
        let mut o = ConnectOptions::new("127.0.0.1", self.broker.port(), client_id).with_tls(tls);
        o.connect_timeout = Duration::from_secs(3);
        o
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_added_while_the_broker_runs_works_and_once_removed_may_do_nothing() {
    if ota_mqtt::mosquitto_missing_for_tests() {
        return;
    }
    let f = Fleet::new();
    let server = Server::connect(&f.opts("ota-server-1"), "workers")
        .await
        .unwrap();
    let mut admin = Admin::connect(&f.opts("ota-admin")).await.unwrap();

    // Not provisioned: refused.
    common::assert_refused(
        Device::connect(&f.opts("dev-n"), dev("dev-n")).await,
        "",
        "before",
    );
    admin.add_device(&dev("dev-n")).await.unwrap();
    let mut n = Device::connect(&f.opts("dev-n"), dev("dev-n"))
        .await
        .unwrap();
    server
        .notify_job(&dev("dev-n"), b"job-n".to_vec(), None)
        .await
        .unwrap();
    let m = n.recv(T).await.unwrap();
    assert_eq!(m.payload, b"job-n");
    n.ack(&m).await.unwrap();
    // Adding it again is refused with the plugin's reason.
    match admin.add_device(&dev("dev-n")).await {
        Err(Error::Provisioning(why)) => assert!(why.contains("exists"), "{why}"),
        other => panic!("second add: {other:?}"),
    }

    // Revoked: disconnected at once, and nothing reaches it afterwards.
    admin.remove_device(&dev("dev-n")).await.unwrap();
    let t0 = Instant::now();
    while n.reconnections().0 == 0 && t0.elapsed() < T {
        let _ = n.recv(Duration::from_millis(100)).await;
    }
    assert!(
        n.reconnections().0 >= 1,
        "the revoked device was not disconnected"
    );
    server
        .notify_job(&dev("dev-n"), b"job-n-2".to_vec(), None)
        .await
        .unwrap();
    assert!(matches!(n.recv(QUIET).await, Err(Error::Timeout(_))));
    common::assert_refused(
        Device::connect(&f.opts("dev-n"), dev("dev-n")).await,
        "",
        "after",
    );
    // Removing an unknown device says so.
    assert!(matches!(
        admin.remove_device(&dev("dev-n")).await,
        Err(Error::Provisioning(_))
    ));
}

/// A device publishes a command that would provision a new identity: the broker drops it
/// (the device has no admin role), and the identity stays unknown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_cannot_provision_anything() {
    if ota_mqtt::mosquitto_missing_for_tests() {
        return;
    }
    let f = Fleet::new();
    let mut a = Device::connect(&f.opts("dev-a"), dev("dev-a"))
        .await
        .unwrap();
    let evil = concat!(
        r#"{"commands": [{"command": "createClient", "username": "dev-evil", "roles": "#,
        r#"[{"rolename": "ota-server"}]}]}"#
    );
    a.publish_raw(DYNSEC_CONTROL.to_owned(), evil.as_bytes().to_vec())
        .await
        .unwrap();
    // Nor can it read the plugin's answers.
    common::assert_refused(
        a.subscribe_raw(&[ota_mqtt::DYNSEC_RESPONSE.to_owned()], T)
            .await,
        "",
        "the plugin's answers",
    );
    tokio::time::sleep(QUIET).await;
    common::assert_refused(
        Server::connect(&f.opts("dev-evil"), "workers").await,
        "",
        "dev-evil",
    );
    // And a device identity cannot act as an admin.
    common::assert_refused(
        Admin::connect(&f.opts("dev-a")).await,
        "",
        "admin as a device",
    );
}
