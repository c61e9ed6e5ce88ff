//! Inputs the command does not control: endless ones (`/dev/zero`, a FIFO, `/dev/stdin`),
//! oversized files, and a stdout whose reader goes away. Each input is refused with exit 2 and a
//! message naming its limit, as soon as it passes the limit; a closed stdout is a quiet, normal
//! end. Never a panic (101) or an abort (134).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const OTA: &str = env!("CARGO_BIN_EXE_ota");

fn ota(dir: &Path, args: &[&str]) -> Output {
    Command::new(OTA)
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// A directory with a key, a signed trust root, a manifest and its envelope, and a device.
fn fixtures() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ok = |args: &[&str]| {
        let out = ota(d, args);
        assert!(
            out.status.success(),
            "ota {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    ok(&["key", "generate", "--out", "k.pem", "--public", "k.pub.pem"]);
    std::fs::write(
        d.join("root.json"),
        r#"{"version": 1, "expires": 4000000000, "roles": [
            {"role": "root", "threshold": 1, "keys": ["k.pub.pem"]},
            {"role": "release", "threshold": 1, "keys": ["k.pub.pem"]}]}"#,
    )
    .unwrap();
    ok(&["root", "build", "--spec", "root.json", "--out", "root.cbor"]);
    ok(&[
        "root",
        "sign",
        "root.cbor",
        "--key",
        "k.pem",
        "--out",
        "root.signed",
    ]);
    std::fs::write(
        d.join("m.json"),
        r#"{"name": "n", "version": "1.0.0", "sequence": 3, "security_counter": 0,
            "issued_at": 1, "expires_at": 4000000000,
            "compatibility": {"vendor": "01", "classes": ["02"], "hardware": ["A"]},
            "components": [{"id": "fw", "layer": "firmware", "version": "1.0.0",
              "upgrade_from": "*", "size": 1,
              "sha256": "0000000000000000000000000000000000000000000000000000000000000000"}]}"#,
    )
    .unwrap();
    ok(&["manifest", "build", "--spec", "m.json", "--out", "m.cbor"]);
    ok(&["sign", "--key", "k.pem", "m.cbor", "--out", "m.cose"]);
    std::fs::write(
        d.join("device.json"),
        r#"{"vendor": "01", "class": "02", "hardware": "A", "now": 100}"#,
    )
    .unwrap();
    std::fs::write(d.join("doc.json"), "{}").unwrap();
    dir
}

/// Every command's argument list with `INPUT` where the file under test goes, and the limit
/// the message must name.
fn commands() -> Vec<(Vec<&'static str>, &'static str)> {
    vec![
        (
            vec!["key", "id", "INPUT"],
            "16384-byte (16 KiB) limit of a PEM key",
        ),
        (
            vec!["sign", "--key", "INPUT", "m.cbor", "--out", "x.cose"],
            "limit of a PEM key",
        ),
        (
            vec![
                "sign",
                "--key",
                "k.pem",
                "--sequence",
                "1",
                "INPUT",
                "--out",
                "x.cose",
            ],
            "8388608-byte (8 MiB) limit of a signed payload",
        ),
        (
            vec!["root", "build", "--spec", "INPUT", "--out", "x.cbor"],
            "65536-byte (64 KiB) limit of a trust root",
        ),
        (
            vec![
                "root", "sign", "INPUT", "--key", "k.pem", "--out", "x.signed",
            ],
            "limit of a trust root",
        ),
        (vec!["root", "show", "INPUT"], "limit of a trust root"),
        (
            vec!["root", "update", "--trusted", "INPUT"],
            "limit of a trust root",
        ),
        (
            vec!["root", "update", "--trusted", "root.signed", "INPUT"],
            "limit of a trust root",
        ),
        (
            vec!["manifest", "build", "--spec", "INPUT", "--out", "x.cbor"],
            "262144-byte (256 KiB) limit of a release description",
        ),
        (
            vec!["manifest", "show", "INPUT"],
            "262144-byte (256 KiB) limit of a manifest",
        ),
        (
            vec!["verify", "--root", "INPUT", "m.cose"],
            "limit of a trust root",
        ),
        (
            vec!["verify", "--root", "root.signed", "INPUT"],
            "8454144-byte (8256 KiB) limit of a signed envelope",
        ),
        (
            vec![
                "verify",
                "--root",
                "root.signed",
                "m.cose",
                "--payload",
                "INPUT",
            ],
            "limit of a signed payload",
        ),
        (
            vec!["plan", "--manifest", "INPUT", "--device", "device.json"],
            "limit of a manifest",
        ),
        (
            vec!["plan", "--manifest", "m.cose", "--device", "INPUT"],
            "65536-byte (64 KiB) limit of a device description",
        ),
        (
            vec![
                "plan",
                "--manifest",
                "m.cose",
                "--device",
                "device.json",
                "--root",
                "INPUT",
            ],
            "limit of a trust root",
        ),
        (
            vec!["twin", "delta", "INPUT", "doc.json"],
            "262144-byte (256 KiB) limit of a twin document",
        ),
        (
            vec!["twin", "delta", "doc.json", "INPUT"],
            "limit of a twin document",
        ),
        (
            vec!["twin", "diff", "doc.json", "INPUT"],
            "limit of a twin document",
        ),
        (
            vec!["twin", "apply", "INPUT", "doc.json"],
            "limit of a twin document",
        ),
        (
            vec!["twin", "apply", "doc.json", "INPUT"],
            "limit of a twin document",
        ),
    ]
}

fn with_input(args: &[&'static str], input: &str) -> Vec<String> {
    args.iter()
        .map(|a| if *a == "INPUT" { input } else { a }.to_string())
        .collect()
}

#[track_caller]
fn assert_refused_over_limit(out: &Output, args: &[String], limit: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "ota {args:?}: {err}");
    assert!(err.contains(limit), "ota {args:?}: no {limit:?} in {err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn endless_dev_zero_is_refused_at_each_inputs_limit() {
    let dir = fixtures();
    for (args, limit) in commands() {
        let args = with_input(&args, "/dev/zero");
        let out = Command::new(OTA)
            .current_dir(dir.path())
            .args(&args)
            .output()
            .unwrap();
        assert_refused_over_limit(&out, &args, limit);
    }
}

/// Sparse files just over each limit, and 200 MiB: refused before anything is read.
#[test]
fn oversized_files_are_refused_naming_the_limit() {
    let dir = fixtures();
    let big = dir.path().join("big");
    for size in [8 * 1024 * 1024 + 64 * 1024 + 1, 200 << 20] {
        std::fs::File::create(&big).unwrap().set_len(size).unwrap();
        for (args, limit) in commands() {
            let args = with_input(&args, "big");
            let out = Command::new(OTA)
                .current_dir(dir.path())
                .args(&args)
                .output()
                .unwrap();
            assert_refused_over_limit(&out, &args, limit);
        }
    }
    // One byte over the manifest limit, in JSON with --json: the failure is JSON on stdout too.
    let mut text = b"{".to_vec();
    text.resize(256 * 1024 + 1, b' ');
    std::fs::write(&big, &text).unwrap();
    let out = ota(dir.path(), &["--json", "manifest", "show", "big"]);
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["error"], "input");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("262144-byte (256 KiB) limit of a manifest"),
        "{v}"
    );
}

/// Writes zeros into `w` until the reader goes away.
fn feed_zeros(mut w: impl Write) {
    let zeros = [0u8; 64 * 1024];
    while w.write_all(&zeros).is_ok() {}
}

#[test]
fn an_endless_fifo_is_refused_at_the_limit() {
    let dir = fixtures();
    let fifo: PathBuf = dir.path().join("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    for (args, limit) in [
        (vec!["manifest", "show", "INPUT"], "limit of a manifest"),
        (
            vec!["verify", "--root", "INPUT", "m.cose"],
            "limit of a trust root",
        ),
        (
            vec!["twin", "delta", "INPUT", "doc.json"],
            "limit of a twin document",
        ),
    ] {
        let writer = {
            let fifo = fifo.clone();
            // Opening a FIFO for writing waits for its reader: the command under test.
            std::thread::spawn(move || {
                feed_zeros(std::fs::File::options().write(true).open(fifo).unwrap())
            })
        };
        let args = with_input(&args, fifo.to_str().unwrap());
        let out = ota_strings(dir.path(), &args);
        // Should the command have failed before opening the FIFO, open it here (without
        // waiting) so that the writer's open returns and it sees the reader go away.
        {
            use std::os::unix::fs::OpenOptionsExt;
            const O_NONBLOCK: i32 = 0o4000;
            let _unblock = std::fs::File::options()
                .read(true)
                .custom_flags(O_NONBLOCK)
                .open(&fifo)
                .unwrap();
        }
        writer.join().unwrap();
        assert_refused_over_limit(&out, &args, limit);
    }
}

fn ota_strings(dir: &Path, args: &[String]) -> Output {
    Command::new(OTA)
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn endless_dev_stdin_is_refused_at_the_limit() {
    let dir = fixtures();
    let mut child = Command::new(OTA)
        .current_dir(dir.path())
        .args(["key", "id", "/dev/stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || feed_zeros(stdin));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert_refused_over_limit(&out, &["key id /dev/stdin".into()], "limit of a PEM key");
}

/// Runs `ota args` with stdout a pipe that the test reads `keep` bytes from and then closes.
fn with_closed_stdout(dir: &Path, args: &[&str], keep: usize) -> (Option<i32>, Vec<u8>, String) {
    let mut child = Command::new(OTA)
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut got = vec![0u8; keep];
    stdout.read_exact(&mut got).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        got,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_closed_stdout_is_a_quiet_normal_end() {
    let dir = fixtures();
    let d = dir.path();
    // A desired document whose delta prints about 250 KB: more than a pipe holds, so the
    // command is still writing when the reader goes away after one byte.
    let desired: serde_json::Map<String, serde_json::Value> = (0..4000)
        .map(|i| (format!("key{i:05}"), serde_json::json!("v".repeat(50))))
        .collect();
    std::fs::write(
        d.join("desired.json"),
        serde_json::Value::Object(desired).to_string(),
    )
    .unwrap();
    for json in [false, true] {
        let mut args = vec!["twin", "delta", "desired.json", "doc.json"];
        if json {
            args.insert(0, "--json");
        }
        let (code, first, err) = with_closed_stdout(d, &args, 1);
        assert_eq!(first, b"{");
        assert_eq!(code, Some(0), "ota {args:?}: {err}");
        assert_eq!(err, "", "a closed stdout is not reported: {err}");
    }
    // Output after the reader left, with nothing read at all.
    let (code, _, err) = with_closed_stdout(d, &["rollout", "simulate", "--runs", "200"], 0);
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // A failure keeps its own exit code when its JSON cannot be written either.
    let (code, _, err) = with_closed_stdout(d, &["--json", "key", "id", "missing.pem"], 0);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("missing.pem"), "{err}");
}

/// A JSON Patch of 1.4 KB whose copies double the document 40 times (2^40 elements) is refused
/// once its copies pass their limit; copies within it still apply, and a failing operation is
/// named by its index in the whole patch.
#[test]
fn a_json_patch_copy_bomb_is_refused_at_the_limit() {
    let dir = fixtures();
    let d = dir.path();
    std::fs::write(d.join("one.json"), "[0]").unwrap();
    let bomb: Vec<_> = (0..40)
        .map(|_| serde_json::json!({"op": "copy", "from": "", "path": "/-"}))
        .collect();
    std::fs::write(
        d.join("bomb.json"),
        serde_json::Value::from(bomb).to_string(),
    )
    .unwrap();
    let out = ota(d, &["twin", "apply", "one.json", "bomb.json"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(
            "(copy from \"\") is over the 1048576-byte (1 MiB) limit of what a patch's copies add"
        ),
        "{err}"
    );
    // A subtree that copies itself into itself, with --out: refused, nothing written.
    std::fs::write(d.join("sub.json"), r#"{"a": [0], "b": 1}"#).unwrap();
    let bomb: Vec<_> = (0..40)
        .map(|_| serde_json::json!({"op": "copy", "from": "/a", "path": "/a/-"}))
        .collect();
    std::fs::write(
        d.join("bomb2.json"),
        serde_json::Value::from(bomb).to_string(),
    )
    .unwrap();
    let out = ota(
        d,
        &[
            "twin",
            "apply",
            "sub.json",
            "bomb2.json",
            "--out",
            "r2.json",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("(copy from \"/a\") is over the 1048576-byte"),
        "{err}"
    );
    assert!(!d.join("r2.json").exists());

    std::fs::write(d.join("d.json"), r#"{"a": [1, 2], "b": {"c": 1}}"#).unwrap();
    std::fs::write(
        d.join("p.json"),
        r#"[{"op": "copy", "from": "/a", "path": "/x"}, {"op": "test", "path": "/x", "value": [1, 2]},
            {"op": "remove", "path": "/b/c"}]"#,
    )
    .unwrap();
    let out = ota(d, &["--json", "twin", "apply", "d.json", "p.json"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["document"],
        serde_json::json!({"a": [1, 2], "b": {}, "x": [1, 2]})
    );
    std::fs::write(
        d.join("p2.json"),
        r#"[{"op": "copy", "from": "/a", "path": "/x"}, {"op": "remove", "path": "/zz"}]"#,
    )
    .unwrap();
    let out = ota(
        d,
        &["twin", "apply", "d.json", "p2.json", "--out", "r.json"],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("operation 1 (remove) failed at \"/zz\""),
        "{err}"
    );
    assert!(!d.join("r.json").exists());
}
