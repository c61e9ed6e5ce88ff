//! The mosquitto harness: starts on a free loopback port, restarts on the same port with its
//! persistence, and is gone (by its own pid) when dropped.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::TcpStream;

use ota_mqtt::Mosquitto;

fn alive(pid: u32) -> bool {
    // A zombie is not alive: the harness reaps its child.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.contains(") Z "))
        .unwrap_or(false)
}

#[test]
fn starts_restarts_on_the_same_port_and_stops_on_drop() {
    if ota_mqtt::mosquitto_missing_for_tests() {
        return;
    }
    let mut broker = Mosquitto::start().unwrap();
    let port = broker.port();
    let pid = broker.pid().unwrap();
    assert!(alive(pid));
    TcpStream::connect(("127.0.0.1", port)).unwrap();
    let conf = std::fs::read_to_string(broker.dir().join("mosquitto.conf")).unwrap();
    assert!(
        conf.contains(&format!("listener {port} 127.0.0.1")),
        "{conf}"
    );

    broker.stop();
    assert!(!alive(pid));
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
    // A graceful stop writes the persistence file.
    assert!(
        broker.dir().join("mosquitto.db").is_file(),
        "{}",
        broker.log_tail()
    );

    broker.restart().unwrap();
    assert_eq!(broker.port(), port);
    let pid2 = broker.pid().unwrap();
    assert_ne!(pid, pid2);
    TcpStream::connect(("127.0.0.1", port)).unwrap();
    let dir = broker.dir().to_path_buf();
    drop(broker);
    assert!(!alive(pid2));
    assert!(!dir.exists());
}

#[test]
fn two_brokers_get_two_ports() {
    if ota_mqtt::mosquitto_missing_for_tests() {
        return;
    }
    let a = Mosquitto::start().unwrap();
    let b = Mosquitto::start().unwrap();
    assert_ne!(a.port(), b.port());
}
