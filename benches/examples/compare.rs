//! The comparison runner's in-process half: each figure of ours beside the reference measured in
//! the same run, with the ratio, as Markdown on stdout. `benches/run.sh` calls it and adds the
//! delta tables; run it alone with
//!
//! ```text
//! cargo run --release -p ota-benches --example compare -- [--quick] [--only sha256,twin,...]
//! ```
//!
//! `--quick` uses small inputs and few repetitions (CI's smoke run: the numbers mean nothing
//! there, but every comparison runs, so a broken one fails CI).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ota_benches::measure::{mb_per_s, median_time, run_command};
use ota_benches::table::{Table, fmt_bytes, fmt_duration, fmt_ratio};
use ota_benches::twin_docs;
use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

/// One table of the report.
type Section = fn(&Mode);

struct Mode {
    quick: bool,
    runs: usize,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // Child mode: stream a file through ota-verify's digest verifier (one process per run, as
    // for the command-line tools it is compared with).
    if args.first().map(String::as_str) == Some("--sha256-file") {
        sha256_child(&args[1], &args[2]);
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let mode = Mode {
        quick,
        runs: if quick { 1 } else { 7 },
    };
    // `--only NAME[,NAME...]` runs only those sections (to re-measure one table after a change).
    let only: Option<Vec<&str>> = args.iter().position(|a| a == "--only").map(|i| {
        args.get(i + 1)
            .map_or("", String::as_str)
            .split(',')
            .collect()
    });
    let sections: [(&str, Section); 5] = [
        ("sha256", sha256),
        ("ed25519", ed25519),
        ("manifest", manifest),
        ("twin", twin),
        ("rollout", rollout),
    ];
    if let Some(names) = &only
        && let Some(bad) = names
            .iter()
            .find(|n| !sections.iter().any(|(s, _)| s == *n))
    {
        panic!("--only: unknown section {bad:?} (sha256, ed25519, manifest, twin, rollout)");
    }
    for (name, section) in sections {
        if only.as_ref().is_none_or(|names| names.contains(&name)) {
            section(&mode);
        }
    }
}

fn sha256_child(path: &str, expected_hex: &str) {
    let mut f = std::fs::File::open(path).unwrap();
    let size = f.metadata().unwrap().len();
    let mut expected = [0u8; 32];
    for (i, b) in expected.iter_mut().enumerate() {
        *b = u8::from_str_radix(&expected_hex[2 * i..2 * i + 2], 16).unwrap();
    }
    // The device's path: the verifier hashes as bytes pass and fails at the end on a mismatch.
    let mut hasher = ota_verify::HashingReader::new(&mut f, size, ota_verify::Sha256(expected));
    let mut buf = vec![0u8; 256 << 10];
    loop {
        let n = hasher.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
    }
    let seen = hasher.seen();
    assert_eq!(seen, size);
    std::io::stdout().write_all(b"ok\n").unwrap();
}

fn sha256(m: &Mode) {
    let size: u64 = if m.quick { 8 << 20 } else { 256 << 20 };
    let dir = tempfile_dir();
    let path = dir.join("data.bin");
    {
        let mut f = std::fs::File::create(&path).unwrap();
        let mut r = twin_docs::Lcg(42);
        let block: Vec<u8> = (0..1 << 20).map(|_| r.next_u31() as u8).collect();
        for _ in 0..size >> 20 {
            f.write_all(&block).unwrap();
        }
        // Write the file back before timing: otherwise the kernel flushes 256 MiB of dirty pages
        // during the first tool's runs and charges it for them.
        f.sync_all().unwrap();
    }
    let p = path.to_str().unwrap();
    let digest = ota_verify::Sha256::digest(&std::fs::read(&path).unwrap());
    let hex: String = digest
        .as_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let exe = std::env::current_exe().unwrap();
    let exe = exe.to_str().unwrap();
    let tools: [(&str, &str, Vec<&str>); 3] = [
        (
            "**ota-verify** `HashingReader` (sha2 0.11)",
            exe,
            vec!["--sha256-file", p, &hex],
        ),
        (
            "`openssl dgst -sha256`",
            "openssl",
            vec!["dgst", "-sha256", p],
        ),
        ("`sha256sum`", "sha256sum", vec![p]),
    ];
    // Runs interleaved (ours, openssl, sha256sum, ours, ...), so a change in the machine's load
    // falls on every tool alike; medians per tool.
    let mut walls: Vec<Vec<Duration>> = vec![Vec::new(); tools.len()];
    let mut cpus: Vec<Vec<Duration>> = vec![Vec::new(); tools.len()];
    let mut failed: Vec<Option<String>> = vec![None; tools.len()];
    for _ in 0..m.runs.max(1) {
        for (i, (_, prog, args)) in tools.iter().enumerate() {
            if failed[i].is_some() {
                continue;
            }
            match run_command(prog, args, None, 1) {
                Ok(c) => {
                    walls[i].push(c.wall);
                    cpus[i].extend(c.cpu);
                }
                Err(e) => failed[i] = Some(e.to_string()),
            }
        }
    }
    if let Some(e) = &failed[0] {
        panic!("ota-verify's SHA-256 child failed: {e}");
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v.get(v.len() / 2).copied()
    };
    // A zero CPU time (below the 10 ms resolution, as in --quick) is no measurement.
    let ours_cpu = median(&mut cpus[0]).filter(|c| !c.is_zero());
    let mut t = Table::new(&[
        "tool",
        "wall time (median)",
        "CPU time (median)",
        "throughput (by CPU time)",
        "CPU time / ota-verify",
    ]);
    for (i, (name, _, _)) in tools.iter().enumerate() {
        if let Some(e) = &failed[i] {
            t.row(vec![(*name).into(), format!("failed: {e}")]);
            continue;
        }
        let wall = median(&mut walls[i]).unwrap_or_default();
        let cpu = median(&mut cpus[i]).filter(|c| !c.is_zero());
        t.row(vec![
            (*name).into(),
            fmt_duration(wall),
            cpu.map_or("-".into(), fmt_duration),
            format!("{:.0} MB/s", mb_per_s(size, cpu.unwrap_or(wall))),
            match (cpu, ours_cpu) {
                (Some(c), Some(o)) => fmt_ratio(c.as_secs_f64(), o.as_secs_f64()),
                _ => "-".into(),
            },
        ]);
    }
    println!("## SHA-256 throughput\n");
    println!(
        "One process per run over the same {}-byte file (written back and page-cached first), \
         {} runs of each tool interleaved, medians. CPU time is user + system from \
         `/usr/bin/time -v` (10 ms resolution); it is the figure to read on a shared machine, where \
         wall time also counts waiting for a core. Ratio > 1 means the other tool is slower.\n",
        fmt_bytes(size),
        m.runs
    );
    println!("{}", t.to_markdown());
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempfile_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("ota-compare-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn ed25519(m: &Mode) {
    use ota_verify::{SecretKey, Signer};
    let n = if m.quick { 50 } else { 2000 };
    let key = SecretKey::from_seed(&[7; 32]);
    let public = key.public_key();
    let msg = [0x5au8; 64];
    let sig = Signer::sign(&key, &msg).unwrap();
    let per = median_time(m.runs, || {
        for _ in 0..n {
            public.verify_strict(&msg, &sig).unwrap();
        }
    }) / n;
    // openssl's own in-process loop: `openssl speed ed25519` (verify operations per second).
    let secs = if m.quick { "1" } else { "3" };
    let ossl = std::process::Command::new("openssl")
        .args(["speed", "-seconds", secs, "ed25519"])
        .output()
        .ok()
        .and_then(|o| parse_openssl_speed_verify(&String::from_utf8_lossy(&o.stdout)));
    let mut t = Table::new(&[
        "implementation",
        "verify, per signature",
        "verifies / s",
        "time / ota-verify",
    ]);
    t.row(vec![
        "**ota-verify** `PublicKey::verify_strict` (ed25519-dalek 3)".into(),
        fmt_duration(per),
        format!("{:.0}", 1.0 / per.as_secs_f64()),
        "1.00x".into(),
    ]);
    match ossl {
        Some(per_s) => {
            let d = Duration::from_secs_f64(1.0 / per_s);
            t.row(vec![
                "`openssl speed ed25519` (OpenSSL's own loop)".into(),
                fmt_duration(d),
                format!("{per_s:.0}"),
                fmt_ratio(d.as_secs_f64(), per.as_secs_f64()),
            ]);
        }
        None => t.row(vec![
            "`openssl speed ed25519`".into(),
            "not available".into(),
        ]),
    }
    println!("## Ed25519 verification\n");
    println!(
        "64-byte message; ours: median of {} loops of {n} strict verifications in one process; \
         OpenSSL: its `speed` loop ({secs} s). Per-signature `openssl pkeyutl -verify` processes \
         would measure process start-up, not verification.\n",
        m.runs
    );
    println!("{}", t.to_markdown());
}

/// The verify/s figure of `openssl speed ed25519`'s last table line.
fn parse_openssl_speed_verify(out: &str) -> Option<f64> {
    let line = out.lines().rev().find(|l| l.contains("Ed25519"))?;
    let nums: Vec<f64> = line
        .split_whitespace()
        .filter_map(|w| w.parse::<f64>().ok())
        .collect();
    nums.last().copied()
}

fn manifest(m: &Mode) {
    use ota_manifest::semver::{Version, VersionReq};
    use ota_manifest::{Component, DeltaAlgorithm, DeltaSource, Layer, Manifest};
    let old = vec![1u8; 4096];
    let new = vec![2u8; 4096];
    let patch = vec![3u8; 300];
    let mut c = Component::from_image(
        "fw",
        Layer::Firmware,
        Version::new(1, 1, 0),
        VersionReq::parse("^1.0").unwrap(),
        &new,
        None,
    )
    .unwrap();
    c.deltas.push(DeltaSource::from_patch(
        Version::new(1, 0, 0),
        &old,
        &patch,
        DeltaAlgorithm::OtaDelta,
    ));
    let json = serde_json::json!({
        "name": "fw-1.1", "version": "1.1.0", "sequence": 2, "security_counter": 0,
        "issued_at": 1_800_000_000u64,
        "compatibility": {"vendor": "fa6b4a53d5ad5fdfbe9de663e4d41ffe",
                          "classes": ["1492af1425695e48bf429b2d51f2ab45"], "hardware": ["B"]},
        "components": [serde_json::to_value(&c).unwrap()]
    });
    let manifest = Manifest::from_json(&json.to_string()).unwrap();
    let cbor = manifest.to_cbor().unwrap();
    let json_text = manifest.to_json().unwrap();
    let enc = median_time(m.runs, || {
        for _ in 0..200 {
            std::hint::black_box(manifest.to_cbor().unwrap());
        }
    }) / 200;
    let dec = median_time(m.runs, || {
        for _ in 0..200 {
            std::hint::black_box(Manifest::from_cbor(&cbor).unwrap());
        }
    }) / 200;
    let dec_json = median_time(m.runs, || {
        for _ in 0..200 {
            std::hint::black_box(Manifest::from_json(&json_text).unwrap());
        }
    }) / 200;
    println!("## Manifest size and speed\n");
    println!(
        "A one-component firmware manifest with one delta source, vendor and class ids (16-byte \
         UUIDs) and one hardware revision, beside the IETF SUIT examples (signed envelopes, \
         `shared/vectors/suit/`). Encode {} / decode {} (CBOR), decode {} (JSON), median of {} \
         loops of 200.\n",
        fmt_duration(enc),
        fmt_duration(dec),
        fmt_duration(dec_json),
        m.runs
    );
    let mut t = Table::new(&["document", "bytes", "ota / this"]);
    t.row(vec![
        "**ota-manifest**, canonical CBOR (unsigned)".into(),
        cbor.len().to_string(),
        "1.00x".into(),
    ]);
    t.row(vec![
        "ota-manifest, JSON form".into(),
        json_text.len().to_string(),
        fmt_ratio(cbor.len() as f64, json_text.len() as f64),
    ]);
    if let Some(dir) = ota_benches::vectors_dir() {
        let mut names: Vec<_> = std::fs::read_dir(dir.join("suit"))
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        names.sort();
        for p in names
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "suit"))
        {
            let len = std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
            t.row(vec![
                format!(
                    "SUIT `{}` (signed)",
                    p.file_name().unwrap().to_string_lossy()
                ),
                len.to_string(),
                fmt_ratio(cbor.len() as f64, len as f64),
            ]);
        }
    }
    println!("{}", t.to_markdown());
}

fn twin(m: &Mode) {
    let sizes: &[usize] = if m.quick {
        &[1 << 10]
    } else {
        &[1 << 10, 10 << 10, 100 << 10, 1 << 20]
    };
    let mut t = Table::new(&[
        "document",
        "ota-twin diff",
        "json-patch diff",
        "diff time ota/json-patch",
        "ota-twin apply",
        "json-patch apply",
        "apply time ota/json-patch",
        "ota patch bytes",
        "json-patch patch bytes",
        "size ota/json-patch",
    ]);
    for &size in sizes {
        let a = twin_docs::document(size);
        let b = twin_docs::modified(&a);
        let ours = ota_twin::diff(&a, &b);
        let theirs = json_patch::diff(&a, &b);
        // Both patches must be right before their speed means anything.
        let mut check = a.clone();
        ours.apply(&mut check).unwrap();
        assert_eq!(check, b);
        let mut check = a.clone();
        json_patch::patch(&mut check, &theirs).unwrap();
        assert_eq!(check, b);
        let reps = if m.quick {
            1
        } else {
            (4 << 20) / size.max(1) + 1
        } as u32;
        let d_ours = median_time(m.runs, || {
            for _ in 0..reps {
                std::hint::black_box(ota_twin::diff(&a, &b));
            }
        }) / reps;
        let d_theirs = median_time(m.runs, || {
            for _ in 0..reps {
                std::hint::black_box(json_patch::diff(&a, &b));
            }
        }) / reps;
        let a_ours = median_time(m.runs, || {
            for _ in 0..reps {
                let mut doc = a.clone();
                ours.apply(&mut doc).unwrap();
                std::hint::black_box(doc);
            }
        }) / reps;
        let a_theirs = median_time(m.runs, || {
            for _ in 0..reps {
                let mut doc = a.clone();
                json_patch::patch(&mut doc, &theirs).unwrap();
                std::hint::black_box(doc);
            }
        }) / reps;
        let s_ours = ours.to_json().len();
        let s_theirs = serde_json::to_string(&theirs).unwrap().len();
        t.row(vec![
            fmt_bytes(a.to_string().len() as u64),
            fmt_duration(d_ours),
            fmt_duration(d_theirs),
            fmt_ratio(d_ours.as_secs_f64(), d_theirs.as_secs_f64()),
            fmt_duration(a_ours),
            fmt_duration(a_theirs),
            fmt_ratio(a_ours.as_secs_f64(), a_theirs.as_secs_f64()),
            fmt_bytes(s_ours as u64),
            fmt_bytes(s_theirs as u64),
            fmt_ratio(s_ours as f64, s_theirs as f64),
        ]);
    }
    println!("## Twin diff and apply vs the `json-patch` crate\n");
    println!(
        "Same documents and the same edit (leaf changes, two array insertions, one removal, one \
         moved element, one renamed and one added key: `benches/src/twin_docs.rs`); both patches \
         checked to turn A into B; apply includes cloning A. Median of {} runs.\n",
        m.runs
    );
    println!("{}", t.to_markdown());
}

fn rollout(m: &Mode) {
    use ota_rollout::sim::gate_summary;
    use ota_rollout::{Rule, Sprt, Threshold};
    let runs = if m.quick { 300 } else { 10_000 };
    let sprt = Rule::Sprt(Sprt {
        p0: 0.01,
        p1: 0.05,
        alpha: 0.005,
        beta: 0.01,
    });
    let threshold = Rule::Threshold(Threshold {
        max_failure_percent: 5.0,
        min_executions: 100,
    });
    let mut t = Table::new(&[
        "gate",
        "bad release (5%) stopped",
        "mean reports to stop it",
        "good release (1%) stopped (false abort)",
    ]);
    for (name, rule) in [
        ("**SPRT** p0=1% p1=5% alpha=0.5% beta=1%", sprt),
        ("threshold: >5% after 100 reports (AWS-style)", threshold),
    ] {
        let bad = gate_summary(rule, 0.05, 1000, runs, 1);
        let good = gate_summary(rule, 0.01, 1000, runs, 2);
        t.row(vec![
            name.into(),
            format!("{:.1}%", 100.0 * bad.failed as f64 / bad.runs as f64),
            format!("{:.1}", bad.mean_reports_to_fail),
            format!("{:.2}%", 100.0 * good.failed as f64 / good.runs as f64),
        ]);
    }
    println!("## Rollout gates\n");
    println!(
        "{runs} simulated gates per cell, each watching up to 1,000 device reports \
         (`ota_rollout::sim::gate_summary`, seeds 1 and 2). Whole-rollout figures (blast radius \
         on 10,000 and 1,000,000 devices) are in `benches/results/rollout.md`.\n"
    );
    println!("{}", t.to_markdown());
    let _ = Path::new(".");
}
