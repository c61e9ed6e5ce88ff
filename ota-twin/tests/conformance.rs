//! Conformance: the published RFC 6902 suites (json-patch-tests) and the RFC 7396 examples.
//! The vector files are copied under tests/data/ with their SOURCE.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ota_twin::{Error, Patch, apply_merge_patch};
use serde_json::Value;

fn records(path: &str) -> Vec<Value> {
    let text = std::fs::read(format!("{}/tests/data/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    serde_json::from_slice::<Value>(&text)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// Runs every record; returns (ran, disabled skipped).
fn run_suite(path: &str) -> (usize, usize) {
    let mut ran = 0;
    let mut skipped = 0;
    for (n, r) in records(path).iter().enumerate() {
        if r.get("disabled").and_then(Value::as_bool) == Some(true) {
            skipped += 1;
            continue;
        }
        ran += 1;
        let what = format!("{path} #{n} {:?}", r.get("comment"));
        let doc = r["doc"].clone();
        let mut work = doc.clone();
        // A malformed patch is refused before anything is applied.
        let result = Patch::from_value(&r["patch"]).and_then(|p| p.apply(&mut work));
        if r.get("error").is_some() {
            let err = result.expect_err(&what);
            assert!(
                matches!(
                    err,
                    Error::MalformedPatch { .. } | Error::PatchFailed { .. }
                ),
                "{what}: {err:?}"
            );
            assert_eq!(work, doc, "{what}: a failed patch changed the document");
        } else {
            result.unwrap_or_else(|e| panic!("{what}: {e}"));
            match r.get("expected") {
                Some(expected) => assert_eq!(&work, expected, "{what}"),
                // Records with neither `expected` nor `error` hold only passing `test` ops.
                None => assert_eq!(work, doc, "{what}"),
            }
        }
    }
    (ran, skipped)
}

#[test]
fn json_patch_tests_json() {
    // 78 records, 3 of them `disabled`.
    assert_eq!(run_suite("json-patch/tests.json"), (75, 3));
}

#[test]
fn json_patch_spec_tests_json() {
    // The RFC 6902 appendix A examples: 17 records, 1 `disabled` (A.13, duplicate `op`, which a
    // JSON object model cannot see).
    assert_eq!(run_suite("json-patch/spec_tests.json"), (16, 1));
}

#[test]
fn merge_patch_rfc7396_appendix_a() {
    let recs = records("json-merge-patch/rfc7396-appendix-a.json");
    assert_eq!(recs.len(), 15);
    for r in &recs {
        let mut doc = r["doc"].clone();
        apply_merge_patch(&mut doc, &r["patch"]);
        assert_eq!(doc, r["expected"], "{}", r["comment"]);
    }
}
