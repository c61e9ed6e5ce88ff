//! `ota delta ...` driven as a user would: make, info, apply, resume after an interrupted
//! download, refusals, and the classic BSDIFF40 format with Debian's bspatch.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;

fn ota() -> Command {
    Command::cargo_bin("ota").unwrap()
}

/// A deterministic "firmware" pair: code-like bytes, the new one with edits and a shifted block.
fn images() -> (Vec<u8>, Vec<u8>) {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let old: Vec<u8> = (0..600_000)
        .map(|i| {
            if i % 7 == 0 {
                (next() % 16) as u8
            } else {
                (i / 13 % 251) as u8
            }
        })
        .collect();
    let mut new = old.clone();
    for i in (1000..new.len()).step_by(4099) {
        new[i] = new[i].wrapping_add(3);
    }
    new.splice(200_000..200_000, (0..777).map(|i| (i % 256) as u8));
    (old, new)
}

fn run_json(cmd: &mut Command) -> (i32, Value) {
    let out = cmd.output().unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap(), v)
}

fn setup(dir: &Path) -> (Vec<u8>, Vec<u8>) {
    let (old, new) = images();
    std::fs::write(dir.join("old.bin"), &old).unwrap();
    std::fs::write(dir.join("new.bin"), &new).unwrap();
    (old, new)
}

#[test]
fn make_info_apply() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_, new) = setup(d);
    let (code, v) = run_json(
        ota()
            .current_dir(d)
            .args([
                "--json", "delta", "make", "old.bin", "new.bin", "--out", "p.patch",
            ])
            .args(["--frame-size", "65536"]),
    );
    assert_eq!(code, 0, "{v}");
    let patch_bytes = v["patch_bytes"].as_u64().unwrap();
    assert!(
        patch_bytes < new.len() as u64 / 4,
        "patch {patch_bytes} bytes"
    );
    let (code, info) = run_json(
        ota()
            .current_dir(d)
            .args(["--json", "delta", "info", "p.patch"]),
    );
    assert_eq!(code, 0);
    assert_eq!(info["target_size"].as_u64(), Some(new.len() as u64));
    assert_eq!(info["frame_size"].as_u64(), Some(65536));
    // bsdiff-mode frames cover as much target as 64 KiB of patch content describes (ota-delta
    // FORMAT.md §4): this small edit is one frame.
    assert_eq!(info["frame_count"].as_u64(), Some(1));
    let (code, _) = run_json(
        ota()
            .current_dir(d)
            .args(["delta", "apply", "old.bin", "p.patch", "--out", "got.bin"]),
    );
    assert_eq!(code, 0);
    assert_eq!(std::fs::read(d.join("got.bin")).unwrap(), new);
}

/// `--profile mcu`: a DEFLATE patch with small frames, which `ota delta apply` also applies.
#[test]
fn mcu_profile_make_info_apply() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_, new) = setup(d);
    let (code, v) = run_json(ota().current_dir(d).args([
        "--json",
        "delta",
        "make",
        "old.bin",
        "new.bin",
        "--out",
        "m.patch",
        "--profile",
        "mcu",
    ]));
    assert_eq!(code, 0, "{v}");
    let (code, info) = run_json(
        ota()
            .current_dir(d)
            .args(["--json", "delta", "info", "m.patch"]),
    );
    assert_eq!(code, 0);
    assert_eq!(info["codec"].as_str(), Some("Deflate"), "{info}");
    // The default MCU frames: 10 KiB (a 10,496-byte frame buffer, within 16 KiB of RAM).
    assert_eq!(info["frame_size"].as_u64(), Some(10 * 1024), "{info}");
    let (code, _) = run_json(
        ota()
            .current_dir(d)
            .args(["delta", "apply", "old.bin", "m.patch", "--out", "got.bin"]),
    );
    assert_eq!(code, 0);
    assert_eq!(std::fs::read(d.join("got.bin")).unwrap(), new);
    // Larger frames for a device with more RAM (a 12,544-byte frame buffer), up to 12 KiB.
    let (code, v) = run_json(ota().current_dir(d).args([
        "--json",
        "delta",
        "make",
        "old.bin",
        "new.bin",
        "--out",
        "m12.patch",
        "--profile",
        "mcu",
        "--frame-size",
        "12288",
    ]));
    assert_eq!(code, 0, "{v}");
    let (code, info) =
        run_json(
            ota()
                .current_dir(d)
                .args(["--json", "delta", "info", "m12.patch"]),
        );
    assert_eq!(code, 0);
    assert_eq!(info["frame_size"].as_u64(), Some(12288), "{info}");
    let (code, _) = run_json(ota().current_dir(d).args([
        "delta",
        "apply",
        "old.bin",
        "m12.patch",
        "--out",
        "got12.bin",
    ]));
    assert_eq!(code, 0);
    assert_eq!(std::fs::read(d.join("got12.bin")).unwrap(), new);
    // Over the profile's maximum: refused, nothing written.
    let (code, _) = run_json(ota().current_dir(d).args([
        "delta",
        "make",
        "old.bin",
        "new.bin",
        "--out",
        "m16.patch",
        "--profile",
        "mcu",
        "--frame-size",
        "16384",
    ]));
    assert_ne!(code, 0);
    assert!(!d.join("m16.patch").exists());
    // Not for the classic format.
    let (code, _) = run_json(ota().current_dir(d).args([
        "delta",
        "make",
        "old.bin",
        "new.bin",
        "--out",
        "b.patch",
        "--profile",
        "mcu",
        "--format",
        "bsdiff",
    ]));
    assert_ne!(code, 0);
}

#[test]
fn interrupted_download_resumes_from_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_, new) = setup(d);
    ota()
        .current_dir(d)
        .args([
            "delta", "make", "old.bin", "new.bin", "--out", "p.patch", "--mode", "full",
        ])
        .args(["--frame-size", "65536"])
        .assert()
        .success();
    let full = std::fs::read(d.join("p.patch")).unwrap();
    // The download stopped half way.
    std::fs::write(d.join("dl.patch"), &full[..full.len() / 2]).unwrap();
    let out = ota()
        .current_dir(d)
        .args([
            "delta", "apply", "old.bin", "dl.patch", "--out", "got.bin", "--resume", "c.bin",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        !d.join("got.bin").exists(),
        "no output under the final name"
    );
    let cursor = std::fs::read(d.join("c.bin")).unwrap();
    assert_eq!(cursor.len(), 64);
    let kept = std::fs::metadata(d.join("got.bin.partial")).unwrap().len();
    assert!(kept > 0 && kept < new.len() as u64);
    // The rest arrives; the same command continues and finishes.
    std::fs::write(d.join("dl.patch"), &full).unwrap();
    ota()
        .current_dir(d)
        .args([
            "delta", "apply", "old.bin", "dl.patch", "--out", "got.bin", "--resume", "c.bin",
        ])
        .assert()
        .success();
    assert_eq!(std::fs::read(d.join("got.bin")).unwrap(), new);
    assert!(!d.join("c.bin").exists() && !d.join("got.bin.partial").exists());
}

#[test]
fn tampered_patch_or_wrong_source_is_refused_with_nothing_written() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    setup(d);
    ota()
        .current_dir(d)
        .args(["delta", "make", "old.bin", "new.bin", "--out", "p.patch"])
        .assert()
        .success();
    let mut p = std::fs::read(d.join("p.patch")).unwrap();
    let mid = p.len() / 2;
    p[mid] ^= 0x10;
    std::fs::write(d.join("bad.patch"), &p).unwrap();
    let out = ota()
        .current_dir(d)
        .args(["delta", "apply", "old.bin", "bad.patch", "--out", "got.bin"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(!d.join("got.bin").exists() && !d.join("got.bin.partial").exists());
    // The patch applied to the wrong source (the new image) is refused before anything is written.
    let out = ota()
        .current_dir(d)
        .args(["delta", "apply", "new.bin", "p.patch", "--out", "got.bin"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("source"));
    assert!(!d.join("got.bin").exists());
}

#[test]
fn classic_bsdiff_format_applies_with_bspatch() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_, new) = setup(d);
    ota()
        .current_dir(d)
        .args([
            "delta", "make", "old.bin", "new.bin", "--out", "c.patch", "--format", "bsdiff",
        ])
        .assert()
        .success();
    assert_eq!(&std::fs::read(d.join("c.patch")).unwrap()[..8], b"BSDIFF40");
    // Our own apply takes it.
    ota()
        .current_dir(d)
        .args(["delta", "apply", "old.bin", "c.patch", "--out", "ours.bin"])
        .assert()
        .success();
    assert_eq!(std::fs::read(d.join("ours.bin")).unwrap(), new);
    // So does Debian's bspatch.
    let status = std::process::Command::new("bspatch")
        .current_dir(d)
        .args(["old.bin", "theirs.bin", "c.patch"])
        .status();
    match status {
        Ok(s) => {
            assert!(s.success());
            assert_eq!(std::fs::read(d.join("theirs.bin")).unwrap(), new);
        }
        Err(_) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "bspatch is required in CI"
            );
            eprintln!("skipping the bspatch half: bspatch not installed");
        }
    }
}

/// Makes a full-mode patch with 64 KiB frames and runs an apply cut half way through it with
/// `--resume c.bin`: leaves `got.bin.partial` and the cursor. Returns the full patch.
fn interrupted_half_way(d: &Path) -> Vec<u8> {
    ota()
        .current_dir(d)
        .args([
            "delta", "make", "old.bin", "new.bin", "--out", "p.patch", "--mode", "full",
        ])
        .args(["--frame-size", "65536"])
        .assert()
        .success();
    let full = std::fs::read(d.join("p.patch")).unwrap();
    std::fs::write(d.join("dl.patch"), &full[..full.len() / 2]).unwrap();
    ota()
        .current_dir(d)
        .args([
            "delta", "apply", "old.bin", "dl.patch", "--out", "got.bin", "--resume", "c.bin",
        ])
        .assert()
        .code(1);
    assert!(d.join("c.bin").exists() && d.join("got.bin.partial").exists());
    std::fs::write(d.join("dl.patch"), &full).unwrap();
    full
}

/// Issue 15 §1: a byte of NEW.partial flipped between the interruption and the resume made the
/// rerun exit 0 with "SHA-256 ... verified" on a wrong file. Now the stored prefix is re-hashed.
#[test]
fn resume_refuses_a_partial_file_changed_since_the_interruption() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_, new) = setup(d);
    interrupted_half_way(d);
    let mut partial = std::fs::read(d.join("got.bin.partial")).unwrap();
    partial[1000] ^= 0x01;
    std::fs::write(d.join("got.bin.partial"), &partial).unwrap();
    let args = [
        "delta", "apply", "old.bin", "dl.patch", "--out", "got.bin", "--resume", "c.bin",
    ];
    let out = ota().current_dir(d).args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("stored target differs"), "{stderr}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("verified"));
    assert!(!d.join("got.bin").exists());
    // The damaged staging file and its cursor are gone: the same command starts over.
    assert!(!d.join("got.bin.partial").exists() && !d.join("c.bin").exists());
    ota().current_dir(d).args(args).assert().success();
    assert_eq!(std::fs::read(d.join("got.bin")).unwrap(), new);
}

/// Issue 15 §3: a crash between the final rename and the cursor's removal left a cursor
/// without its partial file; the rerun failed with "cannot resume: No such file".
#[test]
fn leftover_cursor_without_its_partial_file_starts_over() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_, new) = setup(d);
    interrupted_half_way(d);
    std::fs::remove_file(d.join("got.bin.partial")).unwrap();
    ota()
        .current_dir(d)
        .args([
            "delta", "apply", "old.bin", "dl.patch", "--out", "got.bin", "--resume", "c.bin",
        ])
        .assert()
        .success();
    assert_eq!(std::fs::read(d.join("got.bin")).unwrap(), new);
    assert!(!d.join("c.bin").exists());
}

/// Issue 15 §3: patches on a pipe. The magic was read, then the file reopened ("bad magic");
/// `info` seeked back ("Illegal seek").
#[test]
fn patches_from_a_pipe_apply_and_show() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_, new) = setup(d);
    ota()
        .current_dir(d)
        .args(["delta", "make", "old.bin", "new.bin", "--out", "p.patch"])
        .assert()
        .success();
    ota()
        .current_dir(d)
        .args(["delta", "make", "old.bin", "new.bin", "--out", "c.patch"])
        .args(["--format", "bsdiff"])
        .assert()
        .success();
    for name in ["p.patch", "c.patch"] {
        let patch = std::fs::read(d.join(name)).unwrap();
        ota()
            .current_dir(d)
            .args([
                "delta",
                "apply",
                "old.bin",
                "/dev/stdin",
                "--out",
                "got.bin",
            ])
            .write_stdin(patch.clone())
            .assert()
            .success();
        assert_eq!(std::fs::read(d.join("got.bin")).unwrap(), new, "{name}");
        std::fs::remove_file(d.join("got.bin")).unwrap();
        let (code, v) = run_json(
            ota()
                .current_dir(d)
                .args(["--json", "delta", "info", "/dev/stdin"])
                .write_stdin(patch),
        );
        assert_eq!(code, 0, "{name}: {v}");
    }
    // A resume reads past the covered frames of a piped patch instead of seeking.
    interrupted_half_way(d);
    let full = std::fs::read(d.join("p.patch")).unwrap();
    ota()
        .current_dir(d)
        .args([
            "delta",
            "apply",
            "old.bin",
            "/dev/stdin",
            "--out",
            "got.bin",
            "--resume",
            "c.bin",
        ])
        .write_stdin(full)
        .assert()
        .success();
    assert_eq!(std::fs::read(d.join("got.bin")).unwrap(), new);
}
