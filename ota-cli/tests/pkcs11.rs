//! `ota key generate --pkcs11 URI`, `ota key id URI`, `ota root build` with a URI in its
//! description, `ota root sign --key pkcs11:...` and `ota sign --key
//! pkcs11:...` against SoftHSM2 (Debian `softhsm2`, `.ci/setup/pkcs11.sh`): a root signed by a
//! token key, and a 2-of-3 release signed by the token key and a file key, verify. Each test
//! makes its own token directory and passes SOFTHSM2_CONF to the `ota` processes. Skipped, with
//! a note, when the module is not installed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

const OTA: &str = env!("CARGO_BIN_EXE_ota");
const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

fn ota(dir: &Path, args: &[&str]) -> Output {
    Command::new(OTA)
        .current_dir(dir)
        .env("SOFTHSM2_CONF", dir.join("softhsm2.conf"))
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

/// A token labelled `ota-test` (user PIN in the file `pin`) in `dir/tokens`, or None (and a
/// note) without SoftHSM2.
fn token() -> Option<tempfile::TempDir> {
    if !Path::new(MODULE).exists() {
        // CI installs SoftHSM2 (.ci/setup/pkcs11.sh) and sets OTA_REQUIRE_SOFTHSM=1: never skip there.
        assert!(
            std::env::var("OTA_REQUIRE_SOFTHSM").as_deref() != Ok("1"),
            "OTA_REQUIRE_SOFTHSM=1 but {MODULE} is not installed"
        );
        eprintln!("note: {MODULE} not installed (.ci/setup/pkcs11.sh), PKCS#11 CLI test skipped");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("tokens")).unwrap();
    std::fs::write(
        d.join("softhsm2.conf"),
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            d.join("tokens").display()
        ),
    )
    .unwrap();
    let out = Command::new("softhsm2-util")
        .env("SOFTHSM2_CONF", d.join("softhsm2.conf"))
        .args([
            "--init-token",
            "--free",
            "--label",
            "ota-test",
            "--so-pin",
            "000000",
            "--pin",
            "1234",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(d.join("pin"), "1234\n").unwrap();
    Some(dir)
}

fn uri(d: &Path, object: &str) -> String {
    format!(
        "pkcs11:token=ota-test;object={object}?pin-source={}&module-path={MODULE}",
        d.join("pin").display()
    )
}

#[test]
fn a_token_key_signs_the_root_and_with_a_file_key_a_2_of_3_release() {
    let Some(dir) = token() else { return };
    let d = dir.path();
    let tok = uri(d, "release-1");
    let made = ok(
        d,
        &["key", "generate", "--pkcs11", &tok, "--public", "t.pub.pem"],
    );
    assert!(made.contains("not extractable"), "{made}");
    // The same label again is refused.
    let (code, err) = fails(d, &["key", "generate", "--pkcs11", &tok]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("already on the token"), "{err}");
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
    // `key id` reads the public key from the token too.
    assert_eq!(
        ok(d, &["key", "id", &tok]),
        ok(d, &["key", "id", "t.pub.pem"])
    );
    // The root description names the root key by its URI, the release keys by files.
    std::fs::write(
        d.join("root.json"),
        format!(
            r#"{{"version": 1, "expires": 4000000000, "roles": [
            {{"role": "root", "threshold": 1, "keys": ["{tok}"]}},
            {{"role": "release", "threshold": 2,
             "keys": ["t.pub.pem", "a.pub.pem", "b.pub.pem"]}}]}}"#
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
            &tok,
            "--out",
            "root.signed",
        ],
    );
    std::fs::write(d.join("payload.bin"), b"release bytes").unwrap();
    let sign = |keys: &[&str], out: &str| {
        let mut args = vec![
            "sign",
            "payload.bin",
            "--sequence",
            "5",
            "--expires",
            "4000000000",
            "--out",
            out,
        ];
        for k in keys {
            args.extend(["--key", k]);
        }
        ok(d, &args);
    };
    sign(&[&tok, "a.pem"], "two.cose");
    let v = ok(
        d,
        &[
            "verify",
            "--root",
            "root.signed",
            "--now",
            "1000",
            "two.cose",
        ],
    );
    assert!(v.contains("verified: 2 of"), "{v}");
    // The token key alone is below the threshold.
    sign(&[&tok], "one.cose");
    let (code, _) = fails(
        d,
        &[
            "verify",
            "--root",
            "root.signed",
            "--now",
            "1000",
            "one.cose",
        ],
    );
    assert_eq!(code, 1);
    // A URI naming no key on the token, or a malformed URI, is an input error.
    let (code, err) = fails(
        d,
        &[
            "sign",
            "payload.bin",
            "--sequence",
            "5",
            "--key",
            &uri(d, "nope"),
            "--out",
            "x.cose",
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("0 private key objects"), "{err}");
    let (code, err) = fails(
        d,
        &[
            "sign",
            "payload.bin",
            "--sequence",
            "5",
            "--key",
            "pkcs11:token=ota-test;slot=1",
            "--out",
            "x.cose",
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("pkcs11 URI at byte 22"), "{err}");
}
