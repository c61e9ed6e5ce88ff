//! `ota twin ...` driven as a user would: the real binary, real files, exit codes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use assert_cmd::Command;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

fn ota() -> Command {
    Command::cargo_bin("ota").unwrap()
}

fn write_json(dir: &Path, name: &str, v: &Value) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, v.to_string()).unwrap();
    p
}

fn stdout_json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn delta_reports_only_what_differs() {
    let dir = tempfile::tempdir().unwrap();
    let desired = write_json(
        dir.path(),
        "d.json",
        &json!({"fw": "2.0.0", "led": {"on": true, "hz": 2}, "tags": [1, 2]}),
    );
    let reported = write_json(
        dir.path(),
        "r.json",
        &json!({"fw": "1.0.0", "led": {"on": true, "hz": 1}, "tags": [1, 2], "uptime": 5}),
    );
    let out = ota()
        .args(["--json", "twin", "delta"])
        .arg(&desired)
        .arg(&reported)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v = stdout_json(&out);
    assert_eq!(v["delta"], json!({"fw": "2.0.0", "led": {"hz": 2}}));
    assert_eq!(v["in_sync"], json!(false));
}

#[test]
fn diff_then_apply_round_trips_and_bad_patch_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let a = json!({"apps": ["a", "b", "c", "d"], "mode": "eco"});
    let b = json!({"apps": ["a", "x", "b", "c", "d"], "mode": "eco", "new": {"k": 1}});
    let pa = write_json(dir.path(), "a.json", &a);
    let pb = write_json(dir.path(), "b.json", &b);
    let out = ota()
        .args(["--json", "twin", "diff"])
        .arg(&pa)
        .arg(&pb)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let patch = stdout_json(&out)["patch"].clone();
    let ppatch = write_json(dir.path(), "p.json", &patch);
    let result = dir.path().join("out.json");
    let out = ota()
        .args(["twin", "apply"])
        .arg(&pa)
        .arg(&ppatch)
        .arg("--out")
        .arg(&result)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Value = serde_json::from_slice(&std::fs::read(&result).unwrap()).unwrap();
    assert_eq!(got, b);

    // A patch whose test fails is refused (exit 1) and the output file is not touched.
    let bad = write_json(
        dir.path(),
        "bad.json",
        &json!([{"op": "test", "path": "/mode", "value": "turbo"}]),
    );
    let out = ota()
        .args(["twin", "apply"])
        .arg(&pa)
        .arg(&bad)
        .arg("--out")
        .arg(&result)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let still: Value = serde_json::from_slice(&std::fs::read(&result).unwrap()).unwrap();
    assert_eq!(still, b);
}

#[test]
fn merge_patch_cannot_express_null_without_fallback() {
    let dir = tempfile::tempdir().unwrap();
    let pa = write_json(dir.path(), "a.json", &json!({"mode": "eco"}));
    let pb = write_json(dir.path(), "b.json", &json!({"mode": null}));
    let out = ota()
        .args(["twin", "diff", "--merge-patch"])
        .arg(&pa)
        .arg(&pb)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let out = ota()
        .args(["--json", "twin", "diff", "--merge-patch", "--fallback"])
        .arg(&pa)
        .arg(&pb)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout_json(&out)["kind"], json!("json-patch"));
}

#[test]
fn unreadable_or_malformed_input_exits_2_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, "{\"a\": ").unwrap();
    let ok = write_json(dir.path(), "ok.json", &json!({}));
    let out = ota()
        .args(["twin", "delta"])
        .arg(&broken)
        .arg(&ok)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("broken.json"));
    let out = ota()
        .args(["twin", "delta", "/nonexistent/d.json"])
        .arg(&ok)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // Bad usage is exit 2 as well (clap's own convention matches ours).
    let out = ota().args(["twin", "frobnicate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}
