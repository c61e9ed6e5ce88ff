//! Compiles the C programs in `tests/c/` against `libota.a` with
//! `gcc -std=c11 -Wall -Wextra -Werror -fsanitize=address,undefined`, runs them, and checks what
//! they print. `.ci/steps/ffi.sh` runs the same programs once more under valgrind.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod fixtures;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// `target/<profile>`: the test binary lives in `target/<profile>/deps/`.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(Path::parent).unwrap().to_path_buf()
}

fn gcc_available() -> bool {
    Command::new("gcc").arg("--version").output().is_ok()
}

/// The fixture directory, written once per test run (the same bytes every time: see
/// `tests/fixtures/mod.rs`).
fn fixture_dir() -> String {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let dir = profile_dir().join("c-tests/fixtures");
        fixtures::write_all(&dir).unwrap();
        dir
    });
    dir.to_str().unwrap().to_owned()
}

/// Skips (locally) or fails (in CI) when gcc is missing; true when the test should go on.
fn need_gcc() -> bool {
    if gcc_available() {
        return true;
    }
    assert!(std::env::var_os("CI").is_none(), "gcc is required in CI");
    eprintln!("skipping: gcc not found");
    false
}

/// Asserts that `line` is one of the output's lines.
#[track_caller]
fn has_line(out: &str, line: &str) {
    assert!(
        out.lines().any(|l| l == line),
        "missing line {line:?} in:\n{out}"
    );
}

/// Builds `tests/c/<name>.c` with sanitizers and runs it with `args`; returns its stdout.
fn build_and_run(name: &str, args: &[&str]) -> String {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let profile = profile_dir();
    // `cargo test` leaves the static library in deps/; `cargo build` copies it up a level.
    let lib = [profile.join("deps/libota.a"), profile.join("libota.a")]
        .into_iter()
        .find(|p| p.is_file())
        .expect("libota.a was not built");
    let out_dir = profile.join("c-tests");
    std::fs::create_dir_all(&out_dir).unwrap();
    let exe = out_dir.join(name);
    let compile = Command::new("gcc")
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-g", "-O1"])
        .arg("-fsanitize=address,undefined")
        .arg("-fno-sanitize-recover=all")
        .arg("-I")
        .arg(crate_dir.join("include"))
        .arg(crate_dir.join("tests/c").join(format!("{name}.c")))
        .arg(&lib)
        .args(["-lpthread", "-ldl", "-lm", "-o"])
        .arg(&exe)
        .output()
        .unwrap();
    assert!(
        compile.status.success(),
        "gcc failed for {name}:\n{}",
        String::from_utf8_lossy(&compile.stderr)
    );
    let run = Command::new(&exe)
        .args(args)
        .env("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        .env("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(
        run.status.success(),
        "{name} failed ({}):\nstdout:\n{stdout}\nstderr:\n{}",
        run.status,
        String::from_utf8_lossy(&run.stderr)
    );
    stdout
}

#[test]
fn status_program() {
    if !need_gcc() {
        return;
    }
    let out = build_and_run("status", &[]);
    let version_line = format!("version {}", env!("CARGO_PKG_VERSION"));
    assert!(out.lines().any(|l| l == version_line), "{out}");
    assert!(
        out.lines().any(|l| l == "status messages 11 distinct"),
        "{out}"
    );
    assert_eq!(out.lines().last(), Some("PASS"), "{out}");
}

#[test]
fn agent_program_installs_a_release_end_to_end() {
    if !need_gcc() {
        return;
    }
    let dir = fixture_dir();
    let out = build_and_run("agent", &[&dir]);
    let (old, new) = fixtures::images();
    let patch = std::fs::read(Path::new(&dir).join("patch.otad")).unwrap();
    has_line(&out, "verified sequence 7 signers 2");
    has_line(
        &out,
        &format!("plan steps 2 download {} reboot 1", patch.len() + 20_000),
    );
    has_line(
        &out,
        &format!("step 0 firmware delta size {} slot B reboot 1", patch.len()),
    );
    let spans = frame_spans(&patch);
    let frames = spans.len();
    let chunks = new.len().div_ceil(fixtures::FRAME_SIZE as usize);
    has_line(&out, &format!("patch frames {frames} target {}", new.len()));
    // The link drops 1000 bytes after the second frame, inside whichever frame is being read
    // then; the agent resumes from the last cursor it persisted and applies exactly the
    // remaining frames.
    let line = out
        .lines()
        .find(|l| l.starts_with("interrupted after frame "))
        .unwrap();
    let applied: usize = line["interrupted after frame ".len()..]
        .split(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(applied >= 2 && applied < frames, "{out}");
    assert!(
        line.ends_with("a caller-supplied callback reported a failure"),
        "{line}"
    );
    has_line(
        &out,
        &format!(
            "resume at frame {applied} target_offset {}",
            spans[..applied].iter().sum::<u64>()
        ),
    );
    // Only the stored prefix is read back, and the patch is fetched from the cursor on.
    let stored: u64 = spans[..applied].iter().sum();
    assert!(
        out.lines().any(|l| l.starts_with(&format!(
            "resume re-read {stored} stored bytes, fetched from patch offset "
        ))),
        "{out}"
    );
    has_line(&out, &format!("resumed frames {} done 1", frames - applied));
    has_line(&out, "firmware digest ok");
    has_line(
        &out,
        &format!("firmware chunks ok ({chunks} of {chunks}, resumed at 3)"),
    );
    has_line(&out, "step 1 app full size 20000 slot - reboot 0");
    has_line(&out, "app digest ok");
    has_line(&out, "sequence 7 recorded");
    // The slot the C agent wrote is byte for byte the new image (not only its digest).
    let slot = std::fs::read(Path::new(&dir).join("slot-b.bin")).unwrap();
    assert!(slot == new && slot != old);
    assert_eq!(out.lines().last(), Some("PASS"), "{out}");
}

#[test]
fn manifest_program() {
    if !need_gcc() {
        return;
    }
    let dir = fixture_dir();
    let out = build_and_run("manifest", &[&dir]);
    let cbor_len = std::fs::metadata(Path::new(&dir).join("manifest.cbor"))
        .unwrap()
        .len();
    has_line(
        &out,
        &format!(
            "manifest gateway 2.0.0 sequence 7 counter 3 expires {} components 2",
            fixtures::NOW + 30 * 86_400
        ),
    );
    has_line(
        &out,
        "component 0 firmware 2.0.0 layer 0 size 99504 chunks 7 deltas 1",
    );
    has_line(
        &out,
        "component 1 app 1.1.0 layer 1 size 20000 chunks 0 deltas 0",
    );
    has_line(&out, "name needs 8 bytes");
    has_line(
        &out,
        &format!("truncations refused {cbor_len} of {cbor_len}"),
    );
    has_line(&out, "plan steps 2 sequence 7 counter 3");
    has_line(&out, "unknown source image: step 0 action 1 size 99504");
    has_line(&out, "refused vendor: 111 release: wrong vendor");
    has_line(&out, "refused class: 112 release: wrong device class");
    has_line(
        &out,
        "refused hardware: 113 release: hardware revision `3.0.0` is not accepted by this release",
    );
    has_line(
        &out,
        "refused expired: 114 release: expired at 1702592000, device time is 4000000000",
    );
    has_line(
        &out,
        "refused sequence: 115 release: downgrade: sequence 7 is not newer than the accepted 7",
    );
    has_line(
        &out,
        "refused counter: 116 release: downgrade: security counter 3 is below the device floor 4",
    );
    has_line(
        &out,
        "refused upgrade-path: 117 component `firmware`: installed version 0.9.0 is outside the upgrade path >=1.0.0, <2.0.0",
    );
    has_line(
        &out,
        "refused duplicate: 119 component `firmware`: the device reports this component twice",
    );
    has_line(
        &out,
        "refused dependency: 118 component `app`: unmet dependency on `modem-fw` >=2.0.0 (installed: none)",
    );
    has_line(
        &out,
        "refused invalid: 110 component `app`: invalid manifest: depends on `firmware` >=3.0.0 but the release ships 2.0.0",
    );
    assert_eq!(out.lines().last(), Some("PASS"), "{out}");
}

#[test]
fn verify_program() {
    if !need_gcc() {
        return;
    }
    let dir = fixture_dir();
    let out = build_and_run("verify", &[&dir]);
    let env_len = std::fs::metadata(Path::new(&dir).join("manifest.cose"))
        .unwrap()
        .len();
    has_line(&out, "root version 1 expires 2000000000");
    assert!(
        out.lines()
            .any(|l| l.starts_with("verified sequence 7 signers 2 payload 533 bytes at ")),
        "{out}"
    );
    has_line(&out, "tampered payload: 200 bad signature");
    has_line(&out, &format!("truncations refused {env_len} of {env_len}"));
    has_line(&out, "rotated to version 2");
    has_line(&out, "digest verifier ok");
    has_line(&out, "chunk verifier ok (7 chunks of 16384)");
    assert_eq!(out.lines().last(), Some("PASS"), "{out}");
}

/// The target length of each frame of a native patch, from its frame headers (ota-delta
/// FORMAT.md §4: bsdiff-mode frames have variable lengths).
fn frame_spans(patch: &[u8]) -> Vec<u64> {
    let u32_at = |i: usize| u32::from_le_bytes(patch[i..i + 4].try_into().unwrap());
    let mut spans = Vec::new();
    let mut off = ota_delta::HEADER_LEN;
    while off < patch.len() {
        spans.push(u64::from(u32_at(off + 8)));
        off += ota_delta::FRAME_HEADER_LEN + u32_at(off) as usize;
    }
    spans
}

#[test]
fn delta_program() {
    if !need_gcc() {
        return;
    }
    let dir = fixture_dir();
    let out = build_and_run("delta", &[&dir]);
    let (old, new) = fixtures::images();
    let patch = std::fs::read(Path::new(&dir).join("patch.otad")).unwrap();
    let spans = frame_spans(&patch);
    let frames = spans.len();
    has_line(
        &out,
        &format!(
            "header mode 1 codec 1 frames {frames} frame_size 16384 source {} target {}",
            old.len(),
            new.len()
        ),
    );
    has_line(&out, &format!("apply ok {} bytes", new.len()));
    has_line(&out, "resume with a changed stored target refused");
    has_line(
        &out,
        &format!("resume after every frame ok {frames} of {frames}"),
    );
    // The writer accepts two calls. A frame longer than frame_size is released in pieces of
    // frame_size bytes, one call each (ota-delta FORMAT.md §4).
    let (mut calls, mut done, mut written) = (0, 0, 0u64);
    'frames: for &span in &spans {
        let mut left = span;
        while left > 0 {
            if calls == 2 {
                break 'frames;
            }
            let n = left.min(u64::from(fixtures::FRAME_SIZE));
            written += n;
            left -= n;
            calls += 1;
        }
        done += 1;
    }
    has_line(
        &out,
        &format!("write callback failed after {done} frames, {written} bytes written"),
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("bit flips in frames refused ")),
        "{out}"
    );
    assert_eq!(out.lines().last(), Some("PASS"), "{out}");
}

#[test]
fn rollout_program() {
    if !need_gcc() {
        return;
    }
    let out = build_and_run("rollout", &[]);
    has_line(&out, "rings 2");
    // Hash positions are uniform: about 5% and 45% of 999 eligible devices, the rest not yet.
    let line = out
        .lines()
        .find(|l| l.starts_with("1000 devices:"))
        .unwrap();
    let n: Vec<u32> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    assert_eq!(n.len(), 5, "{line}");
    let (ring0, ring1, not_yet, other) = (n[1], n[2], n[3], n[4]);
    assert_eq!(ring0 + ring1 + not_yet + other, 1000);
    assert_eq!(other, 1, "gw-0007 is excluded: {line}");
    assert!((25..=75).contains(&ring0), "{line}");
    assert!((380..=520).contains(&ring1), "{line}");
    has_line(
        &out,
        "gw-0001 (gw-100): ineligible: /all/0/equals: model is \"gw-100\", not \"gw-200\"",
    );
    has_line(
        &out,
        "gw-0001 (no attributes): ineligible: /all/0/equals: attribute \"model\" is missing",
    );
    has_line(&out, "lab-1: ring 0 (canary), pinned by the plan");
    has_line(&out, "gw-0007: excluded by the plan");
    // 2023-11-14 is a Tuesday; the window opens Saturday 2023-11-18 02:00 UTC.
    has_line(&out, "tuesday: may_start 0 blockers 1 next 1700272800");
    has_line(&out, "saturday 02:01: may_start 1");
    has_line(&out, "saturday, on a low battery: may_start 0 blockers 6");
    has_line(
        &out,
        "critical after the deferral limit: may_start 1 forced 1",
    );
    assert_eq!(out.lines().last(), Some("PASS"), "{out}");
}

#[test]
fn twin_program() {
    if !need_gcc() {
        return;
    }
    let out = build_and_run("twin", &[]);
    has_line(&out, r#"delta: {"fan":{"speed":3},"fw":"2.0.0"}"#);
    has_line(&out, r#"delta (nothing reported): {"a":1}"#);
    has_line(&out, "delta (in sync): {}");
    has_line(&out, r#"patch: {"a":5,"b":[1,2,3]}"#);
    has_line(&out, r#"merge: {"a":1,"b":{"d":3},"e":4}"#);
    // The copy bomb is refused inside the program (EXPECT); three copies apply.
    has_line(&out, "three copies: [0,[0],[0,[0]],[0,[0],[0,[0]]]]");
    has_line(
        &out,
        r#"diff round trip: {"x":[1,3],"y":{"w":0,"z":"new"}}"#,
    );
    assert_eq!(out.lines().last(), Some("PASS"), "{out}");
}

#[test]
fn lifecycle_program_upgrades_reverts_resumes_and_refuses() {
    if !need_gcc() {
        return;
    }
    let dir = fixture_dir();
    let out = build_and_run("lifecycle", &[&dir]);
    let patch_len = std::fs::metadata(Path::new(&dir).join("patch.otad"))
        .unwrap()
        .len();
    // Fields: state, outcome, stage, reason, Object 5 state/result, Object 9 state/result,
    // floor sequence/security counter.
    has_line(
        &out,
        "fresh: state 0 outcome 0 stage 0 reason 0 fw 0/0 sw 0/0 floor 0/0",
    );
    // Pending, trial armed on slot B with 3 tries; the floor has not moved.
    has_line(
        &out,
        "armed: state 4 outcome 0 stage 0 reason 0 fw 3/0 sw 3/3 floor 0/0",
    );
    // Committed after the reboot into B: Object 5 result 1 (success), Object 9 installed, and
    // the floor is the release's sequence 8 and security counter 4.
    has_line(
        &out,
        "upgrade: state 6 outcome 1 stage 0 reason 0 fw 0/1 sw 4/2 floor 8/4",
    );
    // B is marked good; the health probe ran once, and its call back into the agent was
    // refused with OTA_STATUS_AGENT_BUSY (604) instead of aliasing the handle.
    has_line(
        &out,
        "upgrade: booted 1 successful 1 health calls 1 reentrant call 604",
    );
    // The committed release again: rejected by anti-rollback (verify, integrity: 5 / 53).
    has_line(
        &out,
        "replayed: state 9 outcome 3 stage 2 reason 4 fw 0/5 sw 0/53 floor 8/4",
    );
    // Health check failed: Reverted (trial, health check failed), Object 5 result 8, Object 9
    // result 58; the floor stays 0; the device boots A again.
    has_line(
        &out,
        "reverted: state 8 outcome 2 stage 5 reason 8 fw 0/8 sw 0/58 floor 0/0",
    );
    has_line(&out, "reverted: booted 0 primary 0");
    has_line(&out, "store failure: store_save `C callback`: returned 1");
    // After the cuts, the link drop and a reboot, the download continued from the persisted
    // cursor (fewer bytes than the patch), and the update committed.
    let line = out
        .lines()
        .find(|l| l.starts_with("resumed download fetched "))
        .unwrap();
    let fetched: u64 = line["resumed download fetched ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(fetched > 0 && fetched < patch_len, "{line}");
    has_line(
        &out,
        &format!("resumed download fetched {fetched} of {patch_len} patch bytes"),
    );
    has_line(
        &out,
        "interrupted: state 6 outcome 1 stage 0 reason 0 fw 0/1 sw 4/2 floor 8/4",
    );
    // One flipped patch byte: Failed (verify, integrity check failure: 5 / 53), the boot
    // control written once (slot B made unbootable before the download), never armed: slot A
    // still booted and primary.
    has_line(
        &out,
        "tampered image: state 9 outcome 3 stage 2 reason 4 fw 0/5 sw 0/53 floor 0/0",
    );
    has_line(&out, "tampered image: boot writes 1 booted 0 primary 0");
    has_line(
        &out,
        "tampered envelope: state 9 outcome 3 stage 2 reason 4 fw 0/5 sw 0/53 floor 0/0",
    );
    // Cancelled: Failed (download, cancelled), Object 5 result 10.
    has_line(
        &out,
        "cancelled: state 9 outcome 3 stage 1 reason 13 fw 0/10 sw 0/57 floor 0/0",
    );
    assert_eq!(out.lines().last(), Some("PASS"), "{out}");
}

#[test]
fn suit_program_verifies_and_imports_example_1() {
    if !need_gcc() {
        return;
    }
    let dir = fixture_dir();
    let out = build_and_run("suit", &[&dir]);
    let len = std::fs::metadata(Path::new(&dir).join("suit_manifest_exp1.suit"))
        .unwrap()
        .len();
    has_line(&out, "suit verified sequence 1");
    has_line(
        &out,
        "suit manifest sequence 1 components 1 first 00 size 34768",
    );
    has_line(&out, &format!("suit tampered {len} of {len} refused"));
    // The last byte is inside the manifest: its digest no longer matches the signed one.
    has_line(
        &out,
        "suit tampered last byte: 704 the manifest does not match the digest of the authentication wrapper",
    );
    assert_eq!(out.lines().last(), Some("PASS"), "{out}");
}
