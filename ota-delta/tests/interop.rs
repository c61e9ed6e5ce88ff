//! BSDIFF40 interoperability with Debian's `bsdiff`/`bspatch` (an independent implementation),
//! on real file pairs from the corpus when present, else on generated data.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{bytes, mutate};
use ota_delta::{DiffOptions, Limits, apply_patch, export_bsdiff, import_bsdiff};
use std::path::PathBuf;
use std::process::Command;

fn tool(name: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "{name} is required in CI (.ci/setup/delta.sh installs it)"
        );
        eprintln!("skipping: {name} not installed (apt-get install bsdiff)");
    }
    found
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ota-delta-interop-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

/// Pairs: a generated one, plus the small real ones from the shared corpus if it is there.
fn pairs() -> Vec<(String, Vec<u8>, Vec<u8>)> {
    let old = bytes(77, 120_000);
    let mut v = vec![("generated".to_string(), old.clone(), mutate(&old, 77))];
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/data");
    for p in ["ujson_so", "ssh"] {
        if let (Ok(o), Ok(n)) = (
            std::fs::read(corpus.join(p).join("old")),
            std::fs::read(corpus.join(p).join("new")),
        ) {
            v.push((p.to_string(), o, n));
        }
    }
    v
}

fn fast() -> DiffOptions {
    DiffOptions {
        preset: 6,
        extreme: false,
        ..DiffOptions::default()
    }
}

#[test]
fn exported_patch_applies_with_debian_bspatch() {
    if !tool("bspatch") {
        return;
    }
    for (name, old, new) in pairs() {
        let native = ota_delta::diff_with(&old, &new, &fast()).unwrap();
        let classic = export_bsdiff(&old, &native, &Limits::default()).unwrap();
        let (o, p, n) = (tmp("old"), tmp("patch"), tmp("new"));
        std::fs::write(&o, &old).unwrap();
        std::fs::write(&p, &classic).unwrap();
        let st = Command::new("bspatch").args([&o, &n, &p]).status().unwrap();
        assert!(st.success(), "{name}: bspatch failed");
        assert_eq!(
            std::fs::read(&n).unwrap(),
            new,
            "{name}: bspatch output differs"
        );
    }
}

#[test]
fn debian_bsdiff_patch_imports_and_applies() {
    if !tool("bsdiff") {
        return;
    }
    for (name, old, new) in pairs() {
        let (o, n, p) = (tmp("old2"), tmp("new2"), tmp("patch2"));
        std::fs::write(&o, &old).unwrap();
        std::fs::write(&n, &new).unwrap();
        let st = Command::new("bsdiff").args([&o, &n, &p]).status().unwrap();
        assert!(st.success(), "{name}: bsdiff failed");
        let classic = std::fs::read(&p).unwrap();
        assert_eq!(
            ota_delta::apply_bsdiff(&old, &classic, &Limits::default()).unwrap(),
            new,
            "{name}"
        );
        let native = import_bsdiff(&old, &classic, &Limits::default(), &fast()).unwrap();
        let mut out = Vec::new();
        apply_patch(&native[..], &old[..], &mut out).unwrap();
        assert_eq!(out, new, "{name}: imported patch");
        // The import keeps bsdiff's matches; it is at most a little larger than the classic patch
        // (and usually smaller: LZMA2 instead of bzip2).
        assert!(
            native.len() <= classic.len() + classic.len() / 10 + 512,
            "{name}: {} vs {}",
            native.len(),
            classic.len()
        );
    }
}
