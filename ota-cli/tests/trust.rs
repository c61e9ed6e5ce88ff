//! Trust roots and envelopes as the README describes them: a bad signature on a trust root is a
//! refusal (exit 1) wherever the root is read, `root show` gives the real reason an unsigned
//! root is refused, and `plan` says when it did not check a signature and refuses an envelope
//! whose sequence is not the manifest's.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

const OTA: &str = env!("CARGO_BIN_EXE_ota");

fn ota(dir: &Path, args: &[&str]) -> Output {
    Command::new(OTA)
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = ota(dir, args);
    assert!(
        out.status.success(),
        "ota {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs a command expected to fail; returns its exit code and stderr.
fn fails(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = ota(dir, args);
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn fixtures() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(
        d,
        &["key", "generate", "--out", "k.pem", "--public", "k.pub.pem"],
    );
    std::fs::write(
        d.join("root.json"),
        r#"{"version": 1, "expires": 4000000000, "roles": [
            {"role": "root", "threshold": 1, "keys": ["k.pub.pem"]},
            {"role": "release", "threshold": 1, "keys": ["k.pub.pem"]}]}"#,
    )
    .unwrap();
    ok(
        d,
        &["root", "build", "--spec", "root.json", "--out", "root.cbor"],
    );
    ok(
        d,
        &[
            "root",
            "sign",
            "root.cbor",
            "--key",
            "k.pem",
            "--out",
            "root.signed",
        ],
    );
    std::fs::write(
        d.join("m.json"),
        r#"{"name": "n", "version": "1.0.0", "sequence": 42, "security_counter": 0,
            "issued_at": 1, "expires_at": 4000000000,
            "compatibility": {"vendor": "01", "classes": ["02"], "hardware": ["A"]},
            "components": [{"id": "fw", "layer": "firmware", "version": "1.0.0",
              "upgrade_from": "*", "size": 1,
              "sha256": "0000000000000000000000000000000000000000000000000000000000000000"}]}"#,
    )
    .unwrap();
    ok(
        d,
        &["manifest", "build", "--spec", "m.json", "--out", "m.cbor"],
    );
    ok(d, &["sign", "--key", "k.pem", "m.cbor", "--out", "m.cose"]);
    std::fs::write(
        d.join("device.json"),
        r#"{"vendor": "01", "class": "02", "hardware": "A", "last_sequence": 41, "now": 100}"#,
    )
    .unwrap();
    dir
}

#[test]
fn a_trust_root_with_a_bad_signature_is_refused_with_exit_1() {
    let dir = fixtures();
    let d = dir.path();
    // The signature is the last 64 bytes of the COSE_Sign.
    let mut signed = std::fs::read(d.join("root.signed")).unwrap();
    let at = signed.len() - 10;
    signed[at] ^= 1;
    std::fs::write(d.join("bad.signed"), &signed).unwrap();
    for args in [
        &["root", "show", "bad.signed"][..],
        &["verify", "--root", "bad.signed", "m.cose"],
        &["root", "update", "--trusted", "bad.signed"],
        &[
            "plan",
            "--manifest",
            "m.cose",
            "--device",
            "device.json",
            "--root",
            "bad.signed",
        ],
    ] {
        let (code, err) = fails(d, args);
        assert_eq!(code, 1, "ota {args:?}: {err}");
        assert!(
            err.contains("bad.signed: not a valid signed trust root: bad signature"),
            "{err}"
        );
    }
    // Bytes that are no trust root at all stay bad input (exit 2).
    std::fs::write(d.join("junk.signed"), b"\x84junk").unwrap();
    let (code, err) = fails(d, &["verify", "--root", "junk.signed", "m.cose"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn root_show_gives_the_real_reason_for_a_non_canonical_unsigned_root() {
    let dir = fixtures();
    let d = dir.path();
    let shown = ok(d, &["--json", "root", "show", "root.cbor"]);
    assert!(shown.contains(r#""signed":false"#), "{shown}");
    let shown = ok(d, &["--json", "root", "show", "root.signed"]);
    assert!(shown.contains(r#""signed":true"#), "{shown}");

    // Map key 0 (the type marker) replaced by key 1: keys out of order.
    let mut root = std::fs::read(d.join("root.cbor")).unwrap();
    assert_eq!(root[..2], [0xa5, 0x00]);
    root[1] = 0x01;
    std::fs::write(d.join("unordered.cbor"), &root).unwrap();
    let (code, err) = fails(d, &["root", "show", "unordered.cbor"]);
    let (sign_code, sign_err) = fails(
        d,
        &[
            "root",
            "sign",
            "unordered.cbor",
            "--key",
            "k.pem",
            "--out",
            "x",
        ],
    );
    assert_eq!((code, sign_code), (2, 2));
    let reason = "trust root map keys must be 0, 1, 2, 3, 4 in order";
    assert!(sign_err.contains(reason), "{sign_err}");
    assert!(err.contains(reason), "root show hides the reason: {err}");
    assert!(!err.contains("array"), "{err}");
}

#[test]
fn plan_without_root_says_the_signature_was_not_checked() {
    let dir = fixtures();
    let d = dir.path();
    let out = ota(
        d,
        &["plan", "--manifest", "m.cose", "--device", "device.json"],
    );
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("m.cose: the envelope's signature was not checked"),
        "{err}"
    );
    // With --root, or on a bare manifest, there is nothing to say.
    for args in [
        &[
            "plan",
            "--manifest",
            "m.cose",
            "--device",
            "device.json",
            "--root",
            "root.signed",
        ][..],
        &["plan", "--manifest", "m.cbor", "--device", "device.json"],
    ] {
        let out = ota(d, args);
        assert!(out.status.success(), "{args:?}");
        assert!(
            out.stderr.is_empty(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn plan_refuses_an_envelope_whose_sequence_is_not_the_manifests() {
    let dir = fixtures();
    let d = dir.path();
    // `ota sign` refuses to write such an envelope, so sign with the library: the manifest says
    // sequence 42, the signed header 43. A device that trusted the header would record 43.
    let pem = std::fs::read_to_string(d.join("k.pem")).unwrap();
    let key = ota_verify::SecretKey::from_pkcs8_pem(&pem).unwrap();
    let manifest = std::fs::read(d.join("m.cbor")).unwrap();
    let opts = ota_verify::SignOptions {
        sequence: Some(43),
        expires: Some(4_000_000_000),
        ..ota_verify::SignOptions::default()
    };
    let env = ota_verify::sign1(&manifest, &key, &opts).unwrap();
    std::fs::write(d.join("m43.cose"), env).unwrap();
    for with_root in [true, false] {
        let mut args = vec!["plan", "--manifest", "m43.cose", "--device", "device.json"];
        if with_root {
            args.extend(["--root", "root.signed"]);
        }
        let (code, err) = fails(d, &args);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(
            err.contains(
                "m43.cose: the envelope's sequence 43 differs from the manifest's sequence 42"
            ),
            "{err}"
        );
    }
}
