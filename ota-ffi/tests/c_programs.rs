//! Compiles the C programs in `tests/c/` against `libota.a` with
//! `gcc -std=c11 -Wall -Wextra -Werror -fsanitize=address,undefined`, runs them, and checks what
//! they print. `.ci/steps/ffi.sh` runs the same programs once more under valgrind.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// `target/<profile>`: the test binary lives in `target/<profile>/deps/`.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(Path::parent).unwrap().to_path_buf()
}

fn gcc_available() -> bool {
    Command::new("gcc").arg("--version").output().is_ok()
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
    if !gcc_available() {
        assert!(std::env::var_os("CI").is_none(), "gcc is required in CI");
        eprintln!("skipping: gcc not found");
        return;
    }
    let out = build_and_run("status", &[]);
    let version_line = format!("version {}", env!("CARGO_PKG_VERSION"));
    assert!(out.lines().any(|l| l == version_line), "{out}");
    assert!(
        out.lines().any(|l| l == "status messages 8 distinct"),
        "{out}"
    );
    assert_eq!(out.lines().last(), Some("PASS"), "{out}");
}
