//! The supply-chain flow through the real `ota` binary: a manifest with CRA fields, a CycloneDX
//! 1.5 SBOM written by `ota sbom write`, bound by `ota manifest build --sbom`, checked by
//! `ota sbom validate` (and refused when its digest does not match), shown by `ota manifest show`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use assert_cmd::Command;
use serde_json::{Value, json};
use std::path::Path;

const VENDOR: &str = "61636d652d6c6f636b732d766e647221";
const CLASS: &str = "736d6172742d6c6f636b2d636c617373";
const SUPPORT_END: u64 = 1_924_992_000; // 2031-01-01T00:00:00Z

fn run(dir: &Path, args: &[&str]) -> (i32, Value, String) {
    let out = Command::cargo_bin("ota")
        .unwrap()
        .current_dir(dir)
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap(),
        v,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ok(dir: &Path, args: &[&str]) -> Value {
    let (code, v, err) = run(dir, args);
    assert_eq!(code, 0, "ota {args:?} failed: {err} {v}");
    v
}

fn build(dir: &Path, out: &str, extra: &[&str]) -> Value {
    let mut args = vec![
        "manifest",
        "build",
        "--spec",
        "release.json",
        "--images",
        "images",
        "--out",
        out,
        "--cve",
        "lock-fw=CVE-2024-12345",
        "--update-class",
        "door-app=feature",
        "--support-ends-at",
        "1924992000",
        "--max-security-deferral",
        "604800",
    ];
    args.extend_from_slice(extra);
    ok(dir, &args)
}

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("images")).unwrap();
    std::fs::write(d.join("images/fw.bin"), b"lock firmware 2.0".repeat(500)).unwrap();
    std::fs::write(d.join("images/app.bin"), b"door app 3.1".repeat(100)).unwrap();
    let spec = json!({
        "name": "lock-2026.12", "version": "2026.12.0", "sequence": 7, "security_counter": 1,
        "issued_at": 1_764_000_000u64,
        "compatibility": {"vendor": VENDOR, "classes": [CLASS], "hardware": ["B"]},
        "components": [
            {"id": "lock-fw", "layer": "firmware", "version": "2.0.0", "upgrade_from": "^1",
             "image_file": "fw.bin"},
            {"id": "door-app", "layer": "application", "version": "3.1.0", "upgrade_from": "^3",
             "image_file": "app.bin"}
        ]
    });
    std::fs::write(d.join("release.json"), spec.to_string()).unwrap();
    let meta = json!({"supplier": "Acme Locks", "dependencies": [
        {"name": "zephyr", "version": "3.7.0", "supplier": "Zephyr Project",
         "sha256": "ab".repeat(32), "purl": "pkg:github/zephyrproject-rtos/zephyr@v3.7.0"},
        {"name": "mbedtls", "version": "3.6.2"}
    ]});
    std::fs::write(d.join("fw.deps.json"), meta.to_string()).unwrap();
    dir
}

/// Manifest without SBOM -> SBOM -> manifest that binds it.
fn bound_release(d: &Path) {
    build(d, "m0.cbor", &[]);
    ok(
        d,
        &[
            "sbom",
            "write",
            "--manifest",
            "m0.cbor",
            "--component",
            "lock-fw",
            "--meta",
            "fw.deps.json",
            "--out",
            "lock-fw.cdx.json",
        ],
    );
    build(
        d,
        "m.cbor",
        &[
            "--sbom",
            "lock-fw=lock-fw.cdx.json",
            "--sbom-uri",
            "lock-fw=https://updates.example.invalid/sbom/lock-fw-2.0.0.cdx.json",
        ],
    );
}

#[test]
fn sbom_written_validates_and_is_bound_by_the_manifest() {
    let dir = setup();
    let d = dir.path();
    bound_release(d);
    let text = std::fs::read(d.join("lock-fw.cdx.json")).unwrap();
    let sbom: Value = serde_json::from_slice(&text).unwrap();
    assert_eq!(sbom["bomFormat"], "CycloneDX");
    assert_eq!(sbom["specVersion"], "1.5");
    assert_eq!(sbom["metadata"]["component"]["name"], "lock-fw");
    assert_eq!(sbom["metadata"]["component"]["version"], "2.0.0");
    assert_eq!(sbom["metadata"]["component"]["type"], "firmware");
    assert_eq!(sbom["components"][0]["name"], "zephyr");
    assert_eq!(sbom["components"][0]["hashes"][0]["alg"], "SHA-256");
    assert_eq!(sbom["dependencies"][0]["ref"], "lock-fw");
    assert_eq!(
        sbom["dependencies"][0]["dependsOn"],
        json!(["zephyr@3.7.0", "mbedtls@3.6.2"])
    );

    // Deterministic: the same inputs give the same bytes (the digest the manifest records).
    ok(
        d,
        &[
            "sbom",
            "write",
            "--manifest",
            "m.cbor",
            "--component",
            "lock-fw",
            "--meta",
            "fw.deps.json",
            "--out",
            "again.cdx.json",
        ],
    );
    assert_eq!(std::fs::read(d.join("again.cdx.json")).unwrap(), text);

    let v = ok(
        d,
        &[
            "sbom",
            "validate",
            "--manifest",
            "m.cbor",
            "--component",
            "lock-fw",
            "lock-fw.cdx.json",
        ],
    );
    assert_eq!(v["bound_to"], "lock-fw");
    assert_eq!(v["components"], 2);

    let shown = ok(d, &["manifest", "show", "m.cbor"]);
    let sc = &shown["supply_chain"];
    assert_eq!(sc["release_class"], "security");
    assert_eq!(sc["support_ends_at"], SUPPORT_END);
    assert_eq!(sc["support_ends_at_utc"], "2031-01-01T00:00:00Z");
    assert_eq!(sc["max_security_deferral"], 604_800);
    assert_eq!(sc["components"][0]["update_class"], "security");
    assert_eq!(sc["components"][0]["cves"], json!(["CVE-2024-12345"]));
    assert_eq!(sc["components"][0]["sbom"]["format"], "CycloneDX-1.5+json");
    assert_eq!(
        sc["components"][0]["sbom"]["uri"],
        "https://updates.example.invalid/sbom/lock-fw-2.0.0.cdx.json"
    );
    assert_eq!(sc["components"][1]["update_class"], "feature");
    let m = &shown["manifest"]["components"][0]["sbom"];
    assert_eq!(
        m["sha256"],
        sha2_hex(&std::fs::read(d.join("lock-fw.cdx.json")).unwrap())
    );
}

fn sha2_hex(b: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

#[test]
fn an_sbom_whose_digest_does_not_match_the_manifest_is_refused() {
    let dir = setup();
    let d = dir.path();
    bound_release(d);
    // Still a valid CycloneDX 1.5 document, but not the one the manifest names.
    let text = std::fs::read_to_string(d.join("lock-fw.cdx.json")).unwrap();
    let swapped = text.replace("Zephyr Project", "Someone Else");
    assert_ne!(swapped, text);
    std::fs::write(d.join("other.cdx.json"), &swapped).unwrap();
    ok(d, &["sbom", "validate", "other.cdx.json"]);
    let (code, v, err) = run(
        d,
        &[
            "sbom",
            "validate",
            "--manifest",
            "m.cbor",
            "--component",
            "lock-fw",
            "other.cdx.json",
        ],
    );
    assert_eq!(code, 1, "{err}");
    let msg = v["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains("does not match the manifest's SBOM reference of `lock-fw`"),
        "{msg}"
    );
    // A component without an SBOM reference is refused too.
    let (code, _, _) = run(
        d,
        &[
            "sbom",
            "validate",
            "--manifest",
            "m.cbor",
            "--component",
            "door-app",
            "lock-fw.cdx.json",
        ],
    );
    assert_eq!(code, 1);
}

#[test]
fn an_invalid_sbom_is_refused_by_the_validator_and_by_manifest_build() {
    let dir = setup();
    let d = dir.path();
    bound_release(d);
    let text = std::fs::read_to_string(d.join("lock-fw.cdx.json")).unwrap();
    let bad = text.replace(&"ab".repeat(32), "not-a-digest");
    std::fs::write(d.join("bad.cdx.json"), &bad).unwrap();
    let (code, v, err) = run(d, &["sbom", "validate", "bad.cdx.json"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        v["message"]
            .as_str()
            .unwrap_or_default()
            .contains("validation failed"),
        "{v}"
    );
    let (code, _, _) = run(
        d,
        &[
            "manifest",
            "build",
            "--spec",
            "release.json",
            "--images",
            "images",
            "--out",
            "m2.cbor",
            "--sbom",
            "lock-fw=bad.cdx.json",
        ],
    );
    assert_eq!(code, 2);
    let (code, _, _) = run(
        d,
        &[
            "manifest",
            "build",
            "--spec",
            "release.json",
            "--images",
            "images",
            "--out",
            "m3.cbor",
            "--cve",
            "lock-fw=CVE-24-1",
        ],
    );
    assert_eq!(code, 2);
}

/// The signature covers the SBOM reference: the signed manifest verifies, the SBOM checks against
/// the envelope, and an envelope whose SBOM digest was changed (to match another document) no
/// longer verifies.
#[test]
fn the_signature_covers_the_sbom_reference() {
    let dir = setup();
    let d = dir.path();
    bound_release(d);
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
    ok(d, &["sign", "--key", "k.pem", "m.cbor", "--out", "m.cose"]);
    let verify = [
        "verify",
        "--root",
        "root.signed",
        "--now",
        "1764000100",
        "m.cose",
    ];
    ok(d, &verify);
    let v = ok(
        d,
        &[
            "sbom",
            "validate",
            "--manifest",
            "m.cose",
            "--component",
            "lock-fw",
            "lock-fw.cdx.json",
        ],
    );
    assert_eq!(v["bound_to"], "lock-fw");

    // Point the envelope's SBOM reference at another document: the digest is in the signed
    // payload, so the signature no longer verifies.
    let sbom = std::fs::read(d.join("lock-fw.cdx.json")).unwrap();
    let digest: Vec<u8> = {
        use sha2::Digest;
        sha2::Sha256::digest(&sbom).to_vec()
    };
    let mut cose = std::fs::read(d.join("m.cose")).unwrap();
    let at = cose
        .windows(32)
        .position(|w| w == digest.as_slice())
        .expect("the SBOM digest is in the envelope");
    let other: Vec<u8> = {
        use sha2::Digest;
        sha2::Sha256::digest(b"another SBOM").to_vec()
    };
    cose[at..at + 32].copy_from_slice(&other);
    std::fs::write(d.join("m.cose"), &cose).unwrap();
    let (code, _, err) = run(d, &verify);
    assert_eq!(code, 1, "a changed SBOM reference verified: {err}");
}
