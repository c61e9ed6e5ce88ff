#![no_main]
//! JSON Patch and merge patch application on hostile input: never panics; a failed JSON Patch
//! leaves the document exactly as it was; CBOR-decoded patches re-encode to the same bytes;
//! diff(doc, patched) round-trips. Input: a document and a patch, separated by a 0 byte, each
//! JSON; or, when the first byte is 0xff, a CBOR patch applied to a fixed document.

use libfuzzer_sys::fuzz_target;
use ota_twin::serde_json::{self, Value, json};
use ota_twin::{Limits, MergeOrJson, Patch, apply_merge_patch, diff, diff_merge_or_json};

fn check(doc: &Value, patch: &Patch) {
    let mut work = doc.clone();
    match patch.apply(&mut work) {
        Err(_) => assert_eq!(&work, doc, "a failed patch changed the document"),
        Ok(()) => {
            let back = diff(doc, &work);
            let mut again = doc.clone();
            back.apply(&mut again).expect("a generated patch applies");
            assert_eq!(again, work);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if let Some((&0xff, rest)) = data.split_first() {
        if let Ok(p) = Patch::from_cbor(rest, &Limits::custom()) {
            assert_eq!(p.to_cbor(), rest);
            let doc = json!({"a": [1, 2, {"b": "c"}], "d": {"e": null, "f": 1.5}, "": [[]]});
            check(&doc, &p);
        }
        return;
    }
    let Some(split) = data.iter().position(|b| *b == 0) else {
        return;
    };
    let Ok(doc) = serde_json::from_slice::<Value>(&data[..split]) else {
        return;
    };
    let Ok(pv) = serde_json::from_slice::<Value>(&data[split + 1..]) else {
        return;
    };
    if let Ok(p) = Patch::from_value(&pv) {
        check(&doc, &p);
    }
    // Every JSON value is a merge patch.
    let mut merged = doc.clone();
    apply_merge_patch(&mut merged, &pv);
    let mut again = doc.clone();
    match diff_merge_or_json(&doc, &merged) {
        MergeOrJson::Merge(m) => apply_merge_patch(&mut again, &m),
        MergeOrJson::Json(p) => p.apply(&mut again).expect("a generated patch applies"),
    }
    assert_eq!(again, merged);
});
