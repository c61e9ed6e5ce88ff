//! How C programs build against the library: the header compiles as strict C90 (and as C++),
//! and `libota.so` carries the SONAME `libota.so.<major>`, which a program linked against it
//! records and the loader then finds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// `target/<profile>`: the test binary lives in `target/<profile>/deps/`.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(Path::parent).unwrap().to_path_buf()
}

/// Skips (locally) or fails (in CI) when a tool is missing; true when the test should go on.
fn need(tool: &str) -> bool {
    if Command::new(tool).arg("--version").output().is_ok() {
        return true;
    }
    assert!(std::env::var_os("CI").is_none(), "{tool} is required in CI");
    eprintln!("skipping: {tool} not found");
    false
}

/// A file the build left in `target/<profile>/deps/` (cargo test) or `target/<profile>/`.
fn built(name: &str) -> PathBuf {
    let profile = profile_dir();
    [profile.join("deps").join(name), profile.join(name)]
        .into_iter()
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{name} was not built"))
}

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn out_dir() -> PathBuf {
    let dir = profile_dir().join("c-tests/linking");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[track_caller]
fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const SONAME: &str = concat!("libota.so.", env!("CARGO_PKG_VERSION_MAJOR"));

#[test]
fn header_compiles_as_strict_c90_and_the_program_runs() {
    if !need("gcc") {
        return;
    }
    let exe = out_dir().join("c90-static");
    run_ok(
        Command::new("gcc")
            .args(["-std=c90", "-pedantic", "-Wall", "-Wextra", "-Werror"])
            .arg("-I")
            .arg(crate_dir().join("include"))
            .arg(crate_dir().join("tests/c/c90.c"))
            .arg(built("libota.a"))
            .args(["-lpthread", "-ldl", "-lm", "-o"])
            .arg(&exe),
    );
    let out = run_ok(&mut Command::new(&exe));
    assert_eq!(out.lines().last(), Some("PASS"), "{out}");
}

#[test]
fn header_compiles_as_cpp() {
    if !need("g++") {
        return;
    }
    run_ok(
        Command::new("g++")
            .args(["-std=c++11", "-Wall", "-Wextra", "-Werror", "-fsyntax-only"])
            .args(["-x", "c++"])
            .arg("-I")
            .arg(crate_dir().join("include"))
            .arg(crate_dir().join("tests/c/c90.c")),
    );
}

/// The value of one tag of `readelf -d` (`SONAME`, `NEEDED`...), all occurrences.
fn dynamic_tags(file: &Path, tag: &str) -> Vec<String> {
    let out = run_ok(Command::new("readelf").arg("-d").arg(file));
    out.lines()
        .filter(|l| l.contains(&format!("({tag})")))
        .filter_map(|l| {
            let start = l.find('[')? + 1;
            let end = l.rfind(']')?;
            Some(l[start..end].to_string())
        })
        .collect()
}

#[test]
fn shared_library_has_a_versioned_soname_that_programs_record() {
    if !cfg!(target_os = "linux") || !need("gcc") || !need("readelf") {
        return;
    }
    let so = built("libota.so");
    assert_eq!(dynamic_tags(&so, "SONAME"), [SONAME]);

    // Install as install.sh does: the versioned file, SONAME -> it, libota.so -> SONAME.
    let lib = out_dir().join("lib");
    let _ = std::fs::remove_dir_all(&lib);
    std::fs::create_dir_all(&lib).unwrap();
    let versioned = format!("libota.so.{}", env!("CARGO_PKG_VERSION"));
    std::fs::copy(&so, lib.join(&versioned)).unwrap();
    std::os::unix::fs::symlink(&versioned, lib.join(SONAME)).unwrap();
    std::os::unix::fs::symlink(SONAME, lib.join("libota.so")).unwrap();

    let exe = out_dir().join("c90-shared");
    run_ok(
        Command::new("gcc")
            .args(["-std=c90", "-pedantic", "-Wall", "-Wextra", "-Werror"])
            .arg("-I")
            .arg(crate_dir().join("include"))
            .arg(crate_dir().join("tests/c/c90.c"))
            .arg("-L")
            .arg(&lib)
            .args(["-lota", "-o"])
            .arg(&exe),
    );
    let needed = dynamic_tags(&exe, "NEEDED");
    assert!(needed.iter().any(|n| n == SONAME), "{needed:?}");
    assert!(!needed.iter().any(|n| n == "libota.so"), "{needed:?}");
    let out = run_ok(Command::new(&exe).env("LD_LIBRARY_PATH", &lib));
    assert_eq!(out.lines().last(), Some("PASS"), "{out}");
}
