//! Differential check against an independent CBOR implementation, python `cbor2`: random valid
//! messages encoded by this crate are decoded by cbor2 and re-encoded with `canonical=True`; the
//! bytes must be equal. Skipped (with a message) when python3 or cbor2 is missing, unless
//! `OTA_REQUIRE_CBOR2=1`. The committed fixtures (tests/fixtures.rs) check the other direction
//! without python.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;

use common::*;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;

fn cbor2_available() -> bool {
    Command::new("python3")
        .args(["-c", "import cbor2"])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn cbor2_re_encodes_our_messages_identically() {
    if !cbor2_available() {
        assert!(
            std::env::var("OTA_REQUIRE_CBOR2").as_deref() != Ok("1"),
            "OTA_REQUIRE_CBOR2=1 but python3 with cbor2 is not available"
        );
        eprintln!("SKIPPED: python3 with cbor2 not available (pip install cbor2)");
        return;
    }
    let dir = std::env::temp_dir().join(format!("ota-protocol-cbor2-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut runner = TestRunner::deterministic();
    let mut n = 0;
    let mut write = |bytes: Vec<u8>| {
        std::fs::write(dir.join(format!("{n:04}.cbor")), bytes).unwrap();
        n += 1;
    };
    for _ in 0..150 {
        write(
            any_job()
                .new_tree(&mut runner)
                .unwrap()
                .current()
                .to_cbor()
                .unwrap(),
        );
        write(
            any_execution()
                .new_tree(&mut runner)
                .unwrap()
                .current()
                .to_cbor()
                .unwrap(),
        );
        write(
            any_report()
                .new_tree(&mut runner)
                .unwrap()
                .current()
                .to_cbor()
                .unwrap(),
        );
    }
    write(sample_job().to_cbor().unwrap());
    write(sample_report().to_cbor().unwrap());
    let script = format!("{}/tests/data/cbor2_check.py", env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("python3")
        .arg(script)
        .arg(&dir)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.trim(), "checked 452");
}
