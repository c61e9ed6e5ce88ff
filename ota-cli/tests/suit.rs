//! `ota suit show` and `ota suit verify` on the libcsuit example envelopes (ota-suit's test data):
//! show decodes without verifying and says so; verify checks the ES256 signature, maps to an ota
//! manifest that `ota manifest show` reads back, and refuses a changed envelope or another key.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const OTA: &str = env!("CARGO_BIN_EXE_ota");

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../ota-suit/tests/data")
        .join(name)
}

fn ota(args: &[&str]) -> Output {
    Command::new(OTA).args(args).output().unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn show_prints_the_manifest_and_says_it_is_not_verified() {
    let out = ota(&["suit", "show", s(&data("suit_manifest_exp4.suit"))]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("sequence number 4, 3 component(s) [00, 02, 01]"),
        "{text}"
    );
    assert!(text.contains("NOT verified"), "{text}");
    assert!(text.contains("directive-copy"), "{text}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("not checked"));
    let json = ota(&[
        "--json",
        "suit",
        "show",
        s(&data("suit_manifest_exp2A.suit")),
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(doc["verified"], false);
    assert_eq!(doc["sequence_number"], 2);
    assert_eq!(doc["install"]["elided"], true);
    assert_eq!(doc["signature_algorithms"][0], -9);
}

#[test]
fn verify_maps_and_writes_the_ota_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("release.cbor");
    let anchor = data("trust_anchor_secp256r1_pub.pem");
    let out = ota(&[
        "suit",
        "verify",
        s(&data("suit_manifest_exp5.suit")),
        "--anchor",
        s(&anchor),
        "--manifest-out",
        s(&out_path),
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("verified (Es256), sequence number 5"),
        "{text}"
    );
    assert!(
        text.contains("01: 76834 bytes, SHA-256 0123456789abcdef"),
        "{text}"
    );
    let m = ota_manifest::Manifest::from_cbor(&std::fs::read(&out_path).unwrap()).unwrap();
    assert_eq!(m.sequence, 5);
    assert_eq!(m.components.len(), 2);
    // Example 3 needs the slot; with it, the slot's image.
    let e3 = s(&data("suit_manifest_exp3.suit")).to_string();
    let without = ota(&["--json", "suit", "verify", &e3, "--anchor", s(&anchor)]);
    assert!(without.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&without.stdout).unwrap();
    assert!(doc["mapping_error"].as_str().unwrap().contains("slot"));
    let with = ota(&[
        "--json",
        "suit",
        "verify",
        &e3,
        "--anchor",
        s(&anchor),
        "--slot",
        "1",
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&with.stdout).unwrap();
    assert_eq!(doc["ota_manifest"]["components"][0]["size"], 76834);
}

#[test]
fn verify_refuses_a_changed_envelope_and_another_key() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(data("suit_manifest_exp1.suit")).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let changed = dir.path().join("changed.suit");
    std::fs::write(&changed, &bytes).unwrap();
    let anchor = data("trust_anchor_secp256r1_pub.pem");
    let out = ota(&["suit", "verify", s(&changed), "--anchor", s(&anchor)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not verified"));
    let key = ota_verify::SecretKey::from_seed(&[3; 32]).public_key();
    let pem = dir.path().join("ed.pem");
    std::fs::write(&pem, key.to_spki_pem().unwrap()).unwrap();
    let out = ota(&[
        "suit",
        "verify",
        s(&data("suit_manifest_exp1.suit")),
        "--anchor",
        s(&pem),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("no signature with the trust anchor's algorithm")
    );
}
