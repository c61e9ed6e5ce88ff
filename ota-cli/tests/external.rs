//! External signing: `ota sign --external PUB --export-to-be-signed TBS` writes the exact bytes an
//! outside signer must sign, the `openssl` CLI signs them (as a KMS or an offline ceremony would),
//! and `ota sign --attach SIG` completes the envelope, which `ota verify` accepts. A signature
//! over other bytes or by another key is refused. Skipped (with a note) when `openssl` is missing.
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

fn fails(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = ota(dir, args);
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn have_openssl() -> bool {
    let found = Command::new("openssl").arg("version").output().is_ok();
    if !found {
        eprintln!("note: openssl not found, external signing test skipped");
    }
    found
}

/// Keys a, b, c (file keys made by `ota key generate`) and e1, e2 (made by openssl, whose
/// private halves ota never sees), a root whose release role is 2 of {a, e1, e2}, and a manifest.
fn fixtures(threshold: u32) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for k in ["a", "b"] {
        ok(
            d,
            &[
                "key",
                "generate",
                "--out",
                &format!("{k}.pem"),
                "--public",
                &format!("{k}.pub.pem"),
            ],
        );
    }
    for k in ["e1", "e2", "other"] {
        openssl(
            d,
            &[
                "genpkey",
                "-algorithm",
                "ed25519",
                "-out",
                &format!("{k}.pem"),
            ],
        );
        openssl(
            d,
            &[
                "pkey",
                "-in",
                &format!("{k}.pem"),
                "-pubout",
                "-out",
                &format!("{k}.pub.pem"),
            ],
        );
    }
    std::fs::write(
        d.join("root.json"),
        format!(
            r#"{{"version": 1, "expires": 4000000000, "roles": [
            {{"role": "root", "threshold": 1, "keys": ["b.pub.pem"]}},
            {{"role": "release", "threshold": {threshold},
              "keys": ["a.pub.pem", "e1.pub.pem", "e2.pub.pem"]}}]}}"#
        ),
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
            "b.pem",
            "--out",
            "root.signed",
        ],
    );
    std::fs::write(d.join("payload.bin"), b"firmware manifest bytes").unwrap();
    dir
}

fn openssl_sign(d: &Path, key: &str, tbs: &str, sig: &str) {
    openssl(
        d,
        &[
            "pkeyutl", "-sign", "-rawin", "-inkey", key, "-in", tbs, "-out", sig,
        ],
    );
}

const VERIFY: &[&str] = &[
    "verify",
    "--root",
    "root.signed",
    "--now",
    "1000",
    "out.cose",
];

#[test]
fn one_external_signer_exported_signed_by_openssl_and_attached_verifies() {
    if !have_openssl() {
        return;
    }
    let dir = fixtures(1);
    let d = dir.path();
    ok(
        d,
        &[
            "sign",
            "payload.bin",
            "--sequence",
            "7",
            "--expires",
            "4000000000",
            "--external",
            "e1.pub.pem",
            "--export-to-be-signed",
            "tbs.bin",
            "--out",
            "partial.cose",
        ],
    );
    // The placeholder envelope does not verify.
    let (code, _) = fails(
        d,
        &[
            "verify",
            "--root",
            "root.signed",
            "--now",
            "1000",
            "partial.cose",
        ],
    );
    assert_eq!(code, 1);
    // The exported bytes are a COSE Sig_structure for COSE_Sign1: array(4), "Signature1".
    let tbs = std::fs::read(d.join("tbs.bin")).unwrap();
    assert_eq!(&tbs[..12], b"\x84\x6aSignature1");
    openssl_sign(d, "e1.pem", "tbs.bin", "e1.sig");
    assert_eq!(std::fs::read(d.join("e1.sig")).unwrap().len(), 64);

    // A signature by another key, or over other bytes, is refused and nothing is written.
    openssl_sign(d, "other.pem", "tbs.bin", "other.sig");
    std::fs::write(d.join("wrong.bin"), b"not the bytes to sign").unwrap();
    openssl_sign(d, "e1.pem", "wrong.bin", "wrong.sig");
    for (sig, key) in [
        ("other.sig", "e1.pub.pem"),
        ("wrong.sig", "e1.pub.pem"),
        ("e1.sig", "e2.pub.pem"),
    ] {
        let (code, err) = fails(
            d,
            &[
                "sign",
                "partial.cose",
                "--attach",
                sig,
                "--external",
                key,
                "--out",
                "out.cose",
            ],
        );
        assert_eq!(code, 1, "{sig} {key}: {err}");
        assert!(!d.join("out.cose").exists());
    }
    // Not 64 bytes: an input error.
    let (code, err) = fails(
        d,
        &[
            "sign",
            "partial.cose",
            "--attach",
            "wrong.bin",
            "--external",
            "e1.pub.pem",
            "--out",
            "out.cose",
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not a raw Ed25519 signature"), "{err}");

    ok(
        d,
        &[
            "sign",
            "partial.cose",
            "--attach",
            "e1.sig",
            "--external",
            "e1.pub.pem",
            "--out",
            "out.cose",
        ],
    );
    let verified = ok(d, VERIFY);
    assert!(verified.contains("verified: 1 of"), "{verified}");
}

#[test]
fn a_threshold_release_with_a_file_key_and_two_external_signers_attached_one_at_a_time() {
    if !have_openssl() {
        return;
    }
    let dir = fixtures(3);
    let d = dir.path();
    ok(
        d,
        &[
            "sign",
            "payload.bin",
            "--sequence",
            "7",
            "--expires",
            "4000000000",
            "--key",
            "a.pem",
            "--external",
            "e1.pub.pem",
            "--external",
            "e2.pub.pem",
            "--export-to-be-signed",
            "tbs1.bin",
            "--export-to-be-signed",
            "tbs2.bin",
            "--out",
            "partial.cose",
        ],
    );
    let (t1, t2) = (
        std::fs::read(d.join("tbs1.bin")).unwrap(),
        std::fs::read(d.join("tbs2.bin")).unwrap(),
    );
    assert_eq!(&t1[..11], b"\x85\x69Signature");
    assert_ne!(t1, t2, "each signer's bytes carry its own kid");
    openssl_sign(d, "e1.pem", "tbs1.bin", "e1.sig");
    openssl_sign(d, "e2.pem", "tbs2.bin", "e2.sig");
    // e2's signature over e1's bytes is refused.
    openssl_sign(d, "e2.pem", "tbs1.bin", "swapped.sig");
    let (code, _) = fails(
        d,
        &[
            "sign",
            "partial.cose",
            "--attach",
            "swapped.sig",
            "--external",
            "e2.pub.pem",
            "--out",
            "half.cose",
        ],
    );
    assert_eq!(code, 1);
    ok(
        d,
        &[
            "sign",
            "partial.cose",
            "--attach",
            "e1.sig",
            "--external",
            "e1.pub.pem",
            "--out",
            "half.cose",
        ],
    );
    // 2 of 3 is not the threshold of 3 yet.
    let (code, err) = fails(
        d,
        &[
            "verify",
            "--root",
            "root.signed",
            "--now",
            "1000",
            "half.cose",
        ],
    );
    assert_eq!(code, 1, "{err}");
    ok(
        d,
        &[
            "sign",
            "half.cose",
            "--attach",
            "e2.sig",
            "--external",
            "e2.pub.pem",
            "--out",
            "out.cose",
        ],
    );
    let verified = ok(d, VERIFY);
    assert!(verified.contains("verified: 3 of"), "{verified}");
}

#[test]
fn export_needs_one_file_per_external_signer() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(
        d,
        &["key", "generate", "--out", "k.pem", "--public", "k.pub.pem"],
    );
    std::fs::write(d.join("p"), b"x").unwrap();
    let (code, err) = fails(
        d,
        &[
            "sign",
            "p",
            "--sequence",
            "1",
            "--external",
            "k.pub.pem",
            "--external",
            "k.pub.pem",
            "--export-to-be-signed",
            "t",
            "--out",
            "o",
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("one per external signer"), "{err}");
    // None at all: the placeholder could never be replaced.
    let (code, err) = fails(
        d,
        &[
            "sign",
            "p",
            "--sequence",
            "1",
            "--external",
            "k.pub.pem",
            "--out",
            "o",
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("one per external signer"), "{err}");
    assert!(!d.join("o").exists());
}
