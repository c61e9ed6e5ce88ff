//! `ota rollout ...` through the real binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use assert_cmd::Command;
use serde_json::{Value, json};
use std::path::Path;

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
        {"name": "canary", "fraction": 0.01, "gate": {"rule": {"kind": "sprt", "p0": 0.01, "p1": 0.05, "alpha": 0.005, "beta": 0.01}}},
        {"name": "early", "fraction": 0.1, "gate": {"rule": {"kind": "threshold", "max_failure_percent": 5, "min_executions": 100}}},
        {"name": "everyone", "fraction": 1.0, "gate": {"rule": {"kind": "manual"}}}],
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
    assert!((sizes[1] as f64 - 0.09 * eligible).abs() < 5.0 * (eligible * 0.09f64 * 0.91).sqrt());
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
    assert_eq!(sizes[0] + sizes[1], 90); // ceil(0.10 * 900)
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
