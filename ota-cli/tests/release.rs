//! A complete release through the real `ota` binary: keys -> trust root -> manifest from images
//! -> sign -> verify -> plan -> delta make/apply, and every refusal with its exit code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use assert_cmd::Command;
use serde_json::{Value, json};
use std::path::Path;

const NOW: u64 = 1_800_000_000;
const VENDOR: &str = "61636d652d6c6f636b732d766e647221";
const CLASS: &str = "736d6172742d6c6f636b2d636c617373";

fn ota(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("ota").unwrap();
    c.current_dir(dir);
    c
}

/// Runs `ota --json args` in `dir`; returns the exit code, the JSON output and stderr.
fn run(dir: &Path, args: &[&str]) -> (i32, Value, String) {
    let out = ota(dir).arg("--json").args(args).output().unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap(),
        v,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ok(dir: &Path, args: &[&str]) -> Value {
    let (code, v, err) = run(dir, args);
    assert_eq!(code, 0, "ota {args:?} failed: {err}");
    v
}

fn image(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| ((i / 97) as u8).wrapping_mul(seed) ^ (i % 13) as u8)
        .collect()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).unwrap();
}

struct Release {
    dir: tempfile::TempDir,
    old_sha: String,
}

fn release() -> Release {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for name in ["root-a", "root-b", "release"] {
        ok(
            d,
            &[
                "key",
                "generate",
                "--out",
                &format!("{name}.pem"),
                "--public",
                &format!("{name}.pub.pem"),
            ],
        );
    }
    let root_spec = json!({"version": 1, "expires": NOW + 86_400 * 365, "roles": [
        {"role": "root", "threshold": 2, "keys": ["root-a.pub.pem", "root-b.pub.pem"]},
        {"role": "release", "threshold": 1, "keys": ["release.pub.pem"]}]});
    write(d, "root.json", root_spec.to_string().as_bytes());
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
            "root-a.pem",
            "--key",
            "root-b.pem",
            "--out",
            "root.signed",
        ],
    );

    std::fs::create_dir(d.join("images")).unwrap();
    let old = image(3, 300_000);
    let mut new = old.clone();
    for i in (0..new.len()).step_by(5000) {
        new[i] ^= 0x5a;
    }
    write(&d.join("images"), "fw-1.0.0.bin", &old);
    write(&d.join("images"), "fw-1.1.0.bin", &new);
    ok(
        d,
        &[
            "delta",
            "make",
            "images/fw-1.0.0.bin",
            "images/fw-1.1.0.bin",
            "--out",
            "images/fw.patch",
        ],
    );
    let spec = json!({
        "name": "lock-fw-1.1", "version": "1.1.0", "sequence": 42, "security_counter": 1,
        "issued_at": NOW - 100, "expires_at": NOW + 86_400 * 30,
        "compatibility": {"vendor": VENDOR, "classes": [CLASS], "hardware": ["B", "C"]},
        "components": [{
            "id": "lock-fw", "layer": "firmware", "version": "1.1.0", "upgrade_from": "^1.0",
            "image_file": "fw-1.1.0.bin", "chunk_size": 65536,
            "deltas": [{"from_version": "1.0.0", "from_image_file": "fw-1.0.0.bin",
                        "patch_file": "fw.patch"}]
        }]
    });
    write(d, "release.json", spec.to_string().as_bytes());
    ok(
        d,
        &[
            "manifest",
            "build",
            "--spec",
            "release.json",
            "--images",
            "images",
            "--out",
            "m.cbor",
        ],
    );
    ok(
        d,
        &["sign", "--key", "release.pem", "m.cbor", "--out", "m.cose"],
    );
    let old_sha = sha256_hex(&old);
    Release { dir, old_sha }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn device(d: &Path, name: &str, hardware: &str, old_sha: &str, last_sequence: u64) {
    let dev = json!({"vendor": VENDOR, "class": CLASS, "hardware": hardware,
        "installed": [{"id": "lock-fw", "version": "1.0.0", "sha256": old_sha}],
        "security_counter": 1, "last_sequence": last_sequence, "now": NOW, "active_slot": "A"});
    write(d, name, dev.to_string().as_bytes());
}

#[test]
fn complete_release_in_order() {
    let r = release();
    let d = r.dir.path();
    let shown = ok(d, &["manifest", "show", "m.cose"]);
    assert_eq!(shown["manifest"]["sequence"], json!(42));
    assert_eq!(shown["signed_envelope"], json!(true));
    let comp = &shown["manifest"]["components"][0];
    assert_eq!(comp["size"], json!(300_000));
    assert_eq!(comp["chunks"]["sha256"].as_array().unwrap().len(), 5);
    assert_eq!(comp["deltas"][0]["from_sha256"], json!(r.old_sha));

    let v = ok(
        d,
        &[
            "verify",
            "--root",
            "root.signed",
            "--min-sequence",
            "42",
            "--now",
            &NOW.to_string(),
            "m.cose",
            "--payload-out",
            "verified.cbor",
        ],
    );
    assert_eq!(v["sequence"], json!(42));
    assert_eq!(v["signers"], json!(1));
    assert_eq!(
        std::fs::read(d.join("verified.cbor")).unwrap(),
        std::fs::read(d.join("m.cbor")).unwrap()
    );

    device(d, "dev-b.json", "B", &r.old_sha, 41);
    let p = ok(
        d,
        &[
            "plan",
            "--manifest",
            "m.cose",
            "--root",
            "root.signed",
            "--device",
            "dev-b.json",
        ],
    );
    assert_eq!(p["reboot"], json!(true));
    let step = &p["steps"][0];
    assert_eq!(step["slot"], json!("B"));
    assert_eq!(step["action"]["delta_from"], json!("1.0.0"));

    ok(
        d,
        &[
            "delta",
            "apply",
            "images/fw-1.0.0.bin",
            "images/fw.patch",
            "--out",
            "slot-b.bin",
        ],
    );
    assert_eq!(
        std::fs::read(d.join("slot-b.bin")).unwrap(),
        std::fs::read(d.join("images/fw-1.1.0.bin")).unwrap()
    );
}

#[test]
fn refusals_exit_1_with_the_reason() {
    let r = release();
    let d = r.dir.path();
    let now = NOW.to_string();

    // Tampered envelope.
    let mut env = std::fs::read(d.join("m.cose")).unwrap();
    let at = env.len() - 70;
    env[at] ^= 1;
    write(d, "tampered.cose", &env);
    let (code, _, err) = run(
        d,
        &[
            "verify",
            "--root",
            "root.signed",
            "--now",
            &now,
            "tampered.cose",
        ],
    );
    assert_eq!(code, 1, "{err}");

    // Signed by a key the trust root does not know.
    ok(d, &["key", "generate", "--out", "rogue.pem"]);
    ok(
        d,
        &[
            "sign",
            "--key",
            "rogue.pem",
            "m.cbor",
            "--out",
            "rogue.cose",
        ],
    );
    let (code, _, err) = run(
        d,
        &[
            "verify",
            "--root",
            "root.signed",
            "--now",
            &now,
            "rogue.cose",
        ],
    );
    assert_eq!(code, 1);
    assert!(err.contains("not verified"), "{err}");

    // Expired: the manifest's expiry is 30 days out.
    let later = (NOW + 86_400 * 31).to_string();
    let (code, _, err) = run(
        d,
        &["verify", "--root", "root.signed", "--now", &later, "m.cose"],
    );
    assert_eq!(code, 1);
    assert!(err.to_lowercase().contains("expire"), "{err}");

    // Rollback: the device already accepted sequence 42.
    let (code, _, err) = run(
        d,
        &[
            "verify",
            "--root",
            "root.signed",
            "--now",
            &now,
            "--min-sequence",
            "43",
            "m.cose",
        ],
    );
    assert_eq!(code, 1);
    assert!(
        err.to_lowercase().contains("rollback") || err.contains("42"),
        "{err}"
    );

    // Wrong hardware generation: revision A is not in the release's list.
    device(d, "dev-a.json", "A", &r.old_sha, 41);
    let (code, _, err) = run(
        d,
        &[
            "plan",
            "--manifest",
            "m.cose",
            "--root",
            "root.signed",
            "--device",
            "dev-a.json",
        ],
    );
    assert_eq!(code, 1);
    assert!(err.contains("hardware"), "{err}");

    // Unreadable input is exit 2, naming the file.
    let (code, _, err) = run(d, &["verify", "--root", "root.signed", "missing.cose"]);
    assert_eq!(code, 2);
    assert!(err.contains("missing.cose"));
}

#[test]
fn trust_root_rotation_chain() {
    let r = release();
    let d = r.dir.path();
    ok(
        d,
        &[
            "key",
            "generate",
            "--out",
            "root-c.pem",
            "--public",
            "root-c.pub.pem",
        ],
    );
    let v2 = json!({"version": 2, "expires": NOW + 86_400 * 365, "roles": [
        {"role": "root", "threshold": 2, "keys": ["root-b.pub.pem", "root-c.pub.pem"]},
        {"role": "release", "threshold": 1, "keys": ["release.pub.pem"]}]});
    write(d, "root2.json", v2.to_string().as_bytes());
    ok(
        d,
        &[
            "root",
            "build",
            "--spec",
            "root2.json",
            "--out",
            "root2.cbor",
        ],
    );
    // Signed only by the new keys: v1's threshold (a + b) is not met.
    ok(
        d,
        &[
            "root",
            "sign",
            "root2.cbor",
            "--key",
            "root-c.pem",
            "--key",
            "root-b.pem",
            "--out",
            "bad2.signed",
        ],
    );
    let (code, _, _) = run(
        d,
        &[
            "root",
            "update",
            "--trusted",
            "root.signed",
            "--now",
            &NOW.to_string(),
            "bad2.signed",
        ],
    );
    assert_eq!(code, 1);
    // Signed by a threshold of v1's root keys and of v2's.
    ok(
        d,
        &[
            "root",
            "sign",
            "root2.cbor",
            "--key",
            "root-a.pem",
            "--key",
            "root-b.pem",
            "--key",
            "root-c.pem",
            "--out",
            "root2.signed",
        ],
    );
    let v = ok(
        d,
        &[
            "root",
            "update",
            "--trusted",
            "root.signed",
            "--now",
            &NOW.to_string(),
            "root2.signed",
        ],
    );
    assert_eq!(v["version"], json!(2));
}

#[test]
fn openssl_key_signs_what_ota_verifies() {
    let r = release();
    let d = r.dir.path();
    let keygen = std::process::Command::new("openssl")
        .current_dir(d)
        .args(["genpkey", "-algorithm", "ed25519", "-out", "ossl.pem"])
        .status();
    match keygen {
        Ok(s) if s.success() => {}
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "openssl is required in CI"
            );
            eprintln!("skipping: openssl not available");
            return;
        }
    }
    let root_spec = json!({"version": 1, "expires": NOW + 86_400, "roles": [
        {"role": "root", "threshold": 1, "keys": ["ossl.pem"]},
        {"role": "release", "threshold": 1, "keys": ["ossl.pem"]}]});
    write(d, "ossl-root.json", root_spec.to_string().as_bytes());
    ok(
        d,
        &[
            "root",
            "build",
            "--spec",
            "ossl-root.json",
            "--out",
            "ossl-root.cbor",
        ],
    );
    ok(
        d,
        &[
            "root",
            "sign",
            "ossl-root.cbor",
            "--key",
            "ossl.pem",
            "--out",
            "ossl-root.signed",
        ],
    );
    ok(
        d,
        &["sign", "--key", "ossl.pem", "m.cbor", "--out", "ossl.cose"],
    );
    let v = ok(
        d,
        &[
            "verify",
            "--root",
            "ossl-root.signed",
            "--now",
            &NOW.to_string(),
            "ossl.cose",
        ],
    );
    assert_eq!(v["sequence"], json!(42));
}
