//! The copy limit of JSON Patch apply (`Limits::patch_copy_bytes`): a copy bomb (each copy of
//! the root into itself doubles the document) is refused before it allocates, atomically, and
//! naming the operation; patches within the limit apply exactly as with no limit at all.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ota_twin::{Error, Limit, Limits, Patch, apply_patch, apply_patch_limited};
use proptest::prelude::*;
use serde_json::{Value, json};

/// 40 copies of the root into `/-` of the root array: 1.4 KB asking for 2^40 values.
fn bomb() -> Patch {
    let ops: Vec<Value> = (0..40)
        .map(|_| json!({"op": "copy", "from": "", "path": "/-"}))
        .collect();
    let p = Patch::from_value(&Value::from(ops)).unwrap();
    assert!(p.to_json().len() < 1500);
    p
}

fn unlimited() -> Limits {
    let mut l = Limits::custom();
    l.patch_copy_bytes = usize::MAX;
    l
}

#[test]
fn copy_bomb_is_refused_and_leaves_the_document_untouched() {
    let original = json!([0]);
    let mut doc = original.clone();
    let err = bomb().apply(&mut doc).unwrap_err();
    assert_eq!(doc, original);
    // [0] is 3 bytes; after k copies the document is 3 * 2^k + ... bytes: the copy at index k
    // adds the whole document. The 1 MiB default lets copies 0..=17 through (2^18 * 4 - 4
    // bytes added in total would pass it) and refuses the next one.
    let Error::PatchLimitExceeded {
        index,
        op,
        pointer,
        limit,
        actual,
        max,
    } = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!(
        (*op, pointer.as_str(), *limit),
        ("copy", "", Limit::PatchCopyBytes)
    );
    assert_eq!(*max, 1024 * 1024);
    assert!(*actual > *max);
    assert!((15..20).contains(index), "{index}");
    let text = err.to_string();
    assert!(
        text.contains(&format!("JSON patch operation {index} (copy) at \"\""))
            && text.contains("patch copy size limit exceeded"),
        "{text}"
    );

    // The same through the free function, and a subtree bomb (copy a growing member).
    let mut doc = original.clone();
    assert!(matches!(
        apply_patch(&mut doc, &bomb()),
        Err(Error::PatchLimitExceeded { .. })
    ));
    assert_eq!(doc, original);
    let original = json!({"a": [1], "keep": "me"});
    let mut doc = original.clone();
    let ops: Vec<Value> = (0..40)
        .map(|_| json!({"op": "copy", "from": "/a", "path": "/a/-"}))
        .collect();
    let err = Patch::from_value(&Value::from(ops))
        .unwrap()
        .apply(&mut doc)
        .unwrap_err();
    assert!(
        matches!(&err, Error::PatchLimitExceeded { pointer, .. } if pointer == "/a"),
        "{err:?}"
    );
    assert_eq!(doc, original);
}

#[test]
fn the_limit_is_exact_and_counts_every_copy_of_the_patch() {
    // Each copy of /a adds `"abcd"`, 6 bytes: 3 copies need 18 bytes.
    let p = Patch::from_value(&json!([
        {"op": "copy", "from": "/a", "path": "/b"},
        {"op": "add", "path": "/big", "value": "an add is not counted: its value is in the patch"},
        {"op": "copy", "from": "/a", "path": "/c"},
        {"op": "move", "from": "/big", "path": "/moved"},
        {"op": "copy", "from": "/a", "path": "/d"},
    ]))
    .unwrap();
    let start = json!({"a": "abcd"});
    let mut limits = Limits::custom();
    limits.patch_copy_bytes = 18;
    let mut doc = start.clone();
    apply_patch_limited(&mut doc, &p, &limits).unwrap();
    assert_eq!(doc["d"], "abcd");
    assert_eq!(doc["moved"].as_str().map(str::len), Some(48));

    limits.patch_copy_bytes = 17;
    let mut doc = start.clone();
    let err = p.apply_limited(&mut doc, &limits).unwrap_err();
    assert_eq!(
        err,
        Error::PatchLimitExceeded {
            index: 4,
            op: "copy",
            pointer: "/a".into(),
            limit: Limit::PatchCopyBytes,
            actual: 18,
            max: 17,
        }
    );
    assert_eq!(
        doc, start,
        "a refused patch is undone (add, move and copies)"
    );
}

#[test]
fn profiles_have_a_copy_limit() {
    assert_eq!(Limits::aws().patch_copy_bytes, 128 * 1024);
    assert_eq!(Limits::azure().patch_copy_bytes, 256 * 1024);
    assert_eq!(Limits::custom().patch_copy_bytes, 1024 * 1024);
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (-3i64..300).prop_map(Value::from),
        Just(json!(2.5)),
        "[ab\"\\\n]{0,3}".prop_map(Value::from),
    ]
}

fn doc() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map("[ab]{0,2}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    /// With a random copy limit, a patch rich in copies either applies exactly as with no limit
    /// (and its copies added at most the limit), or is refused with the document untouched
    /// (and its copies, applied without limit, would have added more).
    #[test]
    fn within_the_limit_patches_apply_as_without_one(
        a in doc(),
        ops in prop::collection::vec(
            (0u8..4, "(/(a|b|0|1|-|)){0,2}", "(/(a|b|0|1|)){0,2}", leaf()), 1..8),
        max in 0usize..200,
    ) {
        let names = ["copy", "add", "remove", "move"];
        let patch = Patch::from_value(&Value::Array(ops.iter().map(|(k, p, f, v)| {
            json!({"op": names[*k as usize], "path": p, "from": f, "value": v})
        }).collect())).unwrap();
        let mut free = a.clone();
        let free_result = patch.apply_limited(&mut free, &unlimited());
        let mut limits = Limits::custom();
        limits.patch_copy_bytes = max;
        let mut bounded = a.clone();
        match patch.apply_limited(&mut bounded, &limits) {
            Err(Error::PatchLimitExceeded { actual, max: m, .. }) => {
                prop_assert_eq!(m, max);
                prop_assert!(actual > max);
                prop_assert_eq!(&bounded, &a);
            }
            other => {
                prop_assert_eq!(other, free_result);
                prop_assert_eq!(&bounded, &free);
            }
        }
        // The default limit (1 MiB) never bites on documents this small.
        let mut default = a.clone();
        let default_result = patch.apply(&mut default);
        prop_assert_eq!(default_result, patch.apply_limited(&mut a.clone(), &unlimited()));
        prop_assert_eq!(&default, &free);
    }
}

/// A `move` costs no copy of the moved value, even in the undo log: otherwise a patch of moves
/// back and forth of a large member would hold one copy per move until the patch ends (a 16 MiB
/// patch of moves of a 16 MiB member: terabytes). Checked by identity: the value a rolled-back
/// move puts back is the very allocation it took away, not a clone.
#[test]
fn a_rolled_back_move_restores_the_value_itself_not_a_copy() {
    let big = "x".repeat(1 << 16);
    let mut doc = json!({"a": big, "arr": [[1, 2]], "b": {"c": [3]}});
    let before = doc.clone();
    let a_ptr = doc["a"].as_str().unwrap().as_ptr() as usize;
    let arr_ptr = doc["arr"][0].as_array().unwrap().as_ptr() as usize;
    let c_ptr = doc["b"]["c"].as_array().unwrap().as_ptr() as usize;
    let p = Patch::from_value(&json!([
        {"op": "move", "from": "/a", "path": "/z"},
        {"op": "move", "from": "/z", "path": "/b/c"},
        {"op": "move", "from": "/arr/0", "path": "/arr/-"},
        {"op": "move", "from": "/b/c", "path": "/a"},
        {"op": "move", "from": "/b", "path": "/arr/0"},
        {"op": "move", "from": "/arr/0", "path": "/nowhere/x"},
    ]))
    .unwrap();
    let err = p.apply(&mut doc).unwrap_err();
    assert!(
        matches!(&err, Error::PatchFailed { index: 5, .. }),
        "{err:?}"
    );
    assert_eq!(doc, before);
    assert_eq!(doc["a"].as_str().unwrap().as_ptr() as usize, a_ptr);
    assert_eq!(doc["arr"][0].as_array().unwrap().as_ptr() as usize, arr_ptr);
    assert_eq!(doc["b"]["c"].as_array().unwrap().as_ptr() as usize, c_ptr);
}
