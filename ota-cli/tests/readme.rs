//! What the README promises, checked against the real binary: the release in five commands
//! with its `release.json` and `device.json` exactly as printed there, an example in every
//! command's `--help`, and JSON on stdout for usage errors under `--json`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

const OTA: &str = env!("CARGO_BIN_EXE_ota");
const README: &str = include_str!("../README.md");

/// The body of the first fenced block whose opening line is exactly "```" + `info`.
fn fenced(info: &str) -> &'static str {
    let open = format!("```{info}\n");
    let start = README
        .find(&open)
        .unwrap_or_else(|| panic!("no ```{info} block in the README"))
        + open.len();
    let len = README[start..].find("```\n").unwrap();
    &README[start..start + len]
}

fn ota(args: &[&str]) -> Output {
    Command::new(OTA).args(args).output().unwrap()
}

#[test]
fn the_readme_release_runs_verbatim() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let script = fenced("sh");
    assert!(
        script
            .contains("ota plan --manifest manifest.cose --root root.signed --device device.json")
    );
    std::fs::write(d.join("release.json"), fenced("json release.json")).unwrap();
    std::fs::write(d.join("device.json"), fenced("json device.json")).unwrap();
    let bin_dir = Path::new(OTA).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .args(["-e", "-o", "pipefail", "-c", script])
        .current_dir(d)
        .env("PATH", path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the README's release failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The plan is the delta from the installed 1.0.0 (the README's device.json names the digest
    // of images/fw-1.0.0.bin), into slot B with a reboot.
    let plan = stdout.lines().find(|l| l.starts_with("install ")).unwrap();
    assert!(plan.contains("lock-fw-1.1 1.1.0 (sequence 42)"), "{plan}");
    assert!(plan.ends_with("reboot into the other slot"), "{plan}");
    assert!(stdout.contains(r#""delta_from":"1.0.0""#), "{stdout}");
    assert!(stdout.contains(r#""slot":"B""#), "{stdout}");

    // The README's release.json is a complete manifest: every field it names is in the result.
    let shown = ota(&[
        "--json",
        "manifest",
        "show",
        d.join("manifest.cbor").to_str().unwrap(),
    ]);
    let v: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    let m = &v["manifest"];
    assert_eq!(
        m["notes_uri"],
        "https://updates.example.com/lock/1.1.0/notes.html"
    );
    assert_eq!(
        m["compatibility"]["hardware"],
        serde_json::json!(["B", "C"])
    );
    let c = &m["components"][0];
    assert_eq!(c["size"], 288_894);
    assert_eq!(c["chunks"]["chunk_size"], 65_536);
    assert_eq!(
        c["deltas"][0]["from_sha256"],
        "44969d026ed4164dbe77d48d4d359e98ac4057008cafd61723be72bff83e5fd4"
    );
}

/// The commands listed under "Commands:" in a help text (without `help`).
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_commands_help_has_an_example() {
    let mut pending: Vec<Vec<String>> = vec![vec![]];
    let mut leaves = Vec::new();
    while let Some(path) = pending.pop() {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let out = ota(&args);
        assert!(out.status.success(), "ota {args:?}");
        let help = String::from_utf8(out.stdout).unwrap();
        let children = subcommands(&help);
        if children.is_empty() {
            assert!(
                help.contains("\nExample: ota "),
                "`ota {}` has no example:\n{help}",
                path.join(" ")
            );
            leaves.push(path.join(" "));
        }
        for c in children {
            let mut p = path.clone();
            p.push(c);
            pending.push(p);
        }
    }
    // The walk found every command (a parse of the help that found nothing would pass above).
    for cmd in [
        "plan",
        "sign",
        "verify",
        "key generate",
        "root show",
        "delta apply",
        "twin diff",
        "rollout assign",
    ] {
        assert!(leaves.iter().any(|l| l == cmd), "{cmd} not in {leaves:?}");
    }
    assert!(leaves.len() >= 19, "{leaves:?}");

    let plan = String::from_utf8(ota(&["plan", "--help"]).stdout).unwrap();
    for field in [
        "DEVICE.json",
        "\"installed\"",
        "\"last_sequence\"",
        "\"now\"",
        "\"active_slot\"",
    ] {
        assert!(
            plan.contains(field),
            "plan --help does not describe {field}"
        );
    }
}

#[test]
fn usage_errors_are_json_on_stdout_with_json() {
    for args in [
        &["--json", "plan", "--bogus"][..],
        &["plan", "--json"],
        &["--json", "no-such-command"],
        &["--json"],
    ] {
        let out = ota(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: stdout is not JSON ({e}): {:?}", out.stdout));
        assert_eq!(v["ok"], false, "{args:?}");
        assert_eq!(v["error"], "input", "{args:?}");
        let message = v["message"].as_str().unwrap();
        assert!(
            !message.is_empty() && !message.starts_with("error:"),
            "{message}"
        );
        // clap's own explanation, with the usage line, stays on stderr for people.
        assert!(!out.stderr.is_empty(), "{args:?}");
    }
    let out = ota(&["--json", "plan", "--bogus"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["message"].as_str().unwrap().contains("--bogus"), "{v}");
    // Without --json, stdout stays empty; help and version are not errors.
    let out = ota(&["plan", "--bogus"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let out = ota(&["--json", "--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ota "));
    // `--json` after `--` is an argument, not the flag.
    let out = ota(&["twin", "delta", "--", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}
