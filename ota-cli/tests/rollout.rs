//! `ota rollout ...` through the real binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use assert_cmd::Command;
use serde_json::{Value, json};
use std::io::Read;
use std::path::Path;
use std::process::Stdio;

fn run(dir: &Path, args: &[&str]) -> (i32, Value) {
    let out = Command::cargo_bin("ota")
        .unwrap()
        .current_dir(dir)
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap(), v)
}

fn setup(dir: &Path, n: usize) {
    let plan = json!({"salt": "release-7", "rings": [
        {"name": "canary", "share": 0.01, "gate": {"rule": {"kind": "sprt", "p0": 0.01, "p1": 0.05, "alpha": 0.005, "beta": 0.01}}},
        {"name": "early", "share": 0.1, "gate": {"rule": {"kind": "threshold", "max_failure_percent": 5, "min_executions": 100}}},
        {"name": "everyone", "share": 0.89, "gate": {"rule": {"kind": "manual"}}}],
        "eligibility": {"version": {"attr": "fw", "req": ">=1.0.0"}},
        "pinned": {"lab-1": 0}, "excluded": ["dev-3"]});
    std::fs::write(dir.join("plan.json"), plan.to_string()).unwrap();
    let mut lines = String::new();
    lines.push_str(&json!({"id": "lab-1", "attributes": {"fw": "1.2.0"}}).to_string());
    lines.push('\n');
    for i in 0..n {
        // One device in ten runs firmware too old for the release.
        let fw = if i % 10 == 9 { "0.9.0" } else { "1.2.0" };
        lines.push_str(&json!({"id": format!("dev-{i}"), "attributes": {"fw": fw}}).to_string());
        lines.push('\n');
    }
    std::fs::write(dir.join("fleet.jsonl"), lines).unwrap();
}

fn by_id(v: &Value) -> std::collections::HashMap<String, Value> {
    v["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["id"].as_str().unwrap().to_string(), d.clone()))
        .collect()
}

#[test]
fn stateless_assignment_covers_the_fleet_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path(), 20_000);
    let (code, v) = run(
        dir.path(),
        &[
            "rollout",
            "assign",
            "--plan",
            "plan.json",
            "--devices",
            "fleet.jsonl",
        ],
    );
    assert_eq!(code, 0);
    let devices = by_id(&v);
    assert_eq!(devices.len(), 20_001);
    assert_eq!(devices["lab-1"]["ring"], json!(0));
    assert_eq!(devices["lab-1"]["pinned"], json!(true));
    assert_eq!(devices["dev-3"]["excluded"], json!(true));
    assert!(
        devices["dev-9"]["ineligible"]
            .as_str()
            .unwrap()
            .contains("fw")
    );
    // 17,999 eligible devices by hash (+1 pinned): the canary ring is about 1% of them.
    let sizes: Vec<u64> = v["ring_sizes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect();
    let eligible = 17_999.0;
    assert!(
        (sizes[0] as f64 - 1.0 - 0.01 * eligible).abs() < 5.0 * (eligible * 0.01f64 * 0.99).sqrt()
    );
    // The early ring is its own 10% (shares, not cumulative bounds).
    assert!((sizes[1] as f64 - 0.10 * eligible).abs() < 5.0 * (eligible * 0.10f64 * 0.90).sqrt());
    assert_eq!(sizes.iter().sum::<u64>(), 18_000);
    // The same input gives the same rings (stable, deterministic).
    let (_, again) = run(
        dir.path(),
        &[
            "rollout",
            "assign",
            "--plan",
            "plan.json",
            "--devices",
            "fleet.jsonl",
        ],
    );
    assert_eq!(v, again);
}

#[test]
fn exact_assignment_gives_exact_ring_sizes() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path(), 1_000);
    let (code, v) = run(
        dir.path(),
        &[
            "rollout",
            "assign",
            "--exact",
            "--plan",
            "plan.json",
            "--devices",
            "fleet.jsonl",
        ],
    );
    assert_eq!(code, 0);
    // 900 eligible devices minus the excluded one, plus lab-1: 900 in all.
    let sizes: Vec<u64> = v["ring_sizes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect();
    assert_eq!(sizes.iter().sum::<u64>(), 900);
    assert_eq!(sizes[0], 9); // ceil(0.01 * 900)
    assert_eq!(sizes[0] + sizes[1], 99); // ceil((0.01 + 0.10) * 900)
    assert_eq!(sizes[2], 801);
    // Every device once, in ring order, the excluded and ineligible ones after the rings.
    let devices = v["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 1_001);
    assert_eq!(devices[0]["ring"], json!(0));
    assert_eq!(devices[900]["excluded"], json!(true));
    assert!(devices[901]["ineligible"].is_string());
    assert_eq!(v["ok"], json!(true));
}

#[test]
fn bad_plan_is_exit_2_and_simulation_separates_good_from_bad() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path(), 10);
    std::fs::write(dir.path().join("bad.json"), r#"{"salt": "s", "rings": []}"#).unwrap();
    let (code, _) = run(
        dir.path(),
        &[
            "rollout",
            "assign",
            "--plan",
            "bad.json",
            "--devices",
            "fleet.jsonl",
        ],
    );
    assert_eq!(code, 2);
    let (code, v) = run(
        dir.path(),
        &["rollout", "simulate", "--runs", "2000", "--seed", "7"],
    );
    assert_eq!(code, 0);
    let rows = v["rows"].as_array().unwrap();
    let find = |rule: &str, release: &str| {
        rows.iter()
            .find(|r| r["rule"] == json!(rule) && r["release"] == json!(release))
            .unwrap()
            .clone()
    };
    let bad = find("sprt", "bad");
    let good = find("sprt", "good");
    assert!(bad["stopped_fraction"].as_f64().unwrap() > 0.95, "{bad}");
    assert!(good["stopped_fraction"].as_f64().unwrap() < 0.02, "{good}");
    assert!(
        bad["mean_reports_to_stop"].as_f64().unwrap() < 150.0,
        "{bad}"
    );
}

/// Runs `ota ARGS` with its stdout closed before it writes: the command must end quietly
/// (exit 0, no panic), as `ota ... | head -c1` expects. Before the fix it panicked (exit 101).
fn closed_stdout(dir: &Path, args: &[&str]) -> (i32, String) {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("ota"))
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (child.wait().unwrap().code().unwrap_or(-1), err)
}

#[test]
fn closed_stdout_is_a_normal_end() {
    let dir = tempfile::tempdir().unwrap();
    // 20,000 rows are far more than a pipe holds, so the write fails whatever the timing.
    setup(dir.path(), 20_000);
    for json in [false, true] {
        for exact in [false, true] {
            let mut args = vec!["rollout", "assign", "--plan", "plan.json"];
            args.extend(["--devices", "fleet.jsonl"]);
            if exact {
                args.push("--exact");
            }
            if json {
                args.push("--json");
            }
            let (code, err) = closed_stdout(dir.path(), &args);
            assert_eq!((code, err.as_str()), (0, ""), "{args:?}");
        }
    }
    let (code, err) = closed_stdout(dir.path(), &["rollout", "simulate", "--runs", "200"]);
    assert_eq!((code, err.as_str()), (0, ""));
}

#[test]
fn endless_or_oversized_device_lists_are_refused_with_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path(), 3);
    let assign = |devices: &str| {
        let out = Command::cargo_bin("ota")
            .unwrap()
            .current_dir(dir.path())
            .args([
                "rollout",
                "assign",
                "--plan",
                "plan.json",
                "--devices",
                devices,
            ])
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // One endless line: refused at the line limit, not at the memory limit.
    let (code, err) = assign("/dev/zero");
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("line 1: longer than the 65536-byte limit"),
        "{err}"
    );
    // A line just over the limit, after good lines.
    let long = format!(
        "{}\n{}\n",
        json!({"id": "ok-1"}),
        json!({"id": "d", "attributes": {"pad": "x".repeat(70_000)}})
    );
    std::fs::write(dir.path().join("long.jsonl"), long).unwrap();
    let (code, err) = assign("long.jsonl");
    assert_eq!(code, 2);
    assert!(
        err.contains("line 2: longer than the 65536-byte limit"),
        "{err}"
    );
    // An id over the plan's 256-byte limit on ids.
    let id = json!({"id": "i".repeat(257)}).to_string();
    std::fs::write(dir.path().join("id.jsonl"), id).unwrap();
    let (code, err) = assign("id.jsonl");
    assert_eq!(code, 2);
    assert!(
        err.contains("device id of 257 bytes, over the 256-byte limit"),
        "{err}"
    );
    // A line of exactly the limit (without its newline) is accepted.
    let pad = 65_536
        - json!({"id": "e", "attributes": {"p": ""}})
            .to_string()
            .len();
    let exact = json!({"id": "e", "attributes": {"p": "x".repeat(pad)}}).to_string();
    assert_eq!(exact.len(), 65_536);
    std::fs::write(dir.path().join("exact.jsonl"), exact + "\n").unwrap();
    let (code, err) = assign("exact.jsonl");
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_plan_with_cumulative_fractions_says_what_replaced_them() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path(), 3);
    let old = json!({"salt": "s", "rings": [
        {"name": "canary", "fraction": 0.01, "gate": {"rule": {"kind": "manual"}}},
        {"name": "everyone", "fraction": 1.0, "gate": {"rule": {"kind": "manual"}}}]});
    std::fs::write(dir.path().join("old.json"), old.to_string()).unwrap();
    let (code, v) = run(
        dir.path(),
        &[
            "rollout",
            "assign",
            "--plan",
            "old.json",
            "--devices",
            "fleet.jsonl",
        ],
    );
    assert_eq!(code, 2);
    assert!(v["message"].as_str().unwrap().contains("`share`"), "{v}");
    // Shares written as cumulative bounds add up to more than the fleet.
    let slip = json!({"salt": "s", "rings": [
        {"name": "canary", "share": 0.01, "gate": {"rule": {"kind": "manual"}}},
        {"name": "everyone", "share": 1.0, "gate": {"rule": {"kind": "manual"}}}]});
    std::fs::write(dir.path().join("slip.json"), slip.to_string()).unwrap();
    let (code, v) = run(
        dir.path(),
        &[
            "rollout",
            "assign",
            "--plan",
            "slip.json",
            "--devices",
            "fleet.jsonl",
        ],
    );
    assert_eq!(code, 2);
    assert!(
        v["message"].as_str().unwrap().contains("/rings/1/share"),
        "{v}"
    );
}

/// `--exact` holds the fleet it ranks, so it takes a bounded number of devices (memory stays
/// under the 64 MiB every command keeps to); the stateless mode takes the same list.
#[test]
fn exact_mode_refuses_more_devices_than_its_limit() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path(), 50_001);
    let run = |exact: bool| {
        let mut cmd = Command::cargo_bin("ota").unwrap();
        cmd.current_dir(dir.path()).args([
            "rollout",
            "assign",
            "--plan",
            "plan.json",
            "--devices",
            "fleet.jsonl",
        ]);
        if exact {
            cmd.arg("--exact");
        }
        cmd.output().unwrap()
    };
    let out = run(true);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("more than 50000 devices"), "{err}");
    let out = run(false);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
