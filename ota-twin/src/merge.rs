//! JSON Merge Patch (RFC 7396): apply, and generate from two documents.

use serde_json::{Map, Value};

use crate::diff::diff;
use crate::error::{Error, Result};
use crate::patch::Patch;
use crate::pointer::Pointer;

/// Applies a merge patch to `doc` (RFC 7396 section 2). Never fails: every JSON value is a
/// valid merge patch.
///
/// ```
/// use serde_json::json;
/// let mut doc = json!({"a": "b", "c": {"d": "e", "f": "g"}});
/// ota_twin::apply_merge_patch(&mut doc, &json!({"a": "z", "c": {"f": null}}));
/// assert_eq!(doc, json!({"a": "z", "c": {"d": "e"}}));
/// ```
pub fn apply_merge_patch(doc: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *doc = patch.clone();
        return;
    };
    if !doc.is_object() {
        *doc = Value::Object(Map::new());
    }
    if let Value::Object(target) = doc {
        for (k, v) in p {
            if v.is_null() {
                target.remove(k);
            } else {
                apply_merge_patch(target.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

/// Generates the smallest merge patch that turns `from` into `to`.
///
/// # Errors
/// [`Error::NullNotExpressible`] when `to` holds `null` as an object member at a place the patch
/// would have to write (RFC 7396 reads `null` as "delete"). Use [`diff_merge_or_json`] to fall
/// back to a JSON Patch in that case.
///
/// ```
/// use serde_json::json;
/// let a = json!({"mode": "eco", "led": {"on": true, "hz": 2}});
/// let b = json!({"mode": "eco", "led": {"on": false}});
/// assert_eq!(ota_twin::diff_merge_patch(&a, &b).unwrap(), json!({"led": {"on": false, "hz": null}}));
/// let err = ota_twin::diff_merge_patch(&a, &json!({"mode": null})).unwrap_err();
/// assert!(matches!(err, ota_twin::Error::NullNotExpressible { .. }));
/// ```
pub fn diff_merge_patch(from: &Value, to: &Value) -> Result<Value> {
    let mut path = Pointer::root();
    merge_diff(from, to, &mut path)
}

/// A patch of either kind, from [`diff_merge_or_json`].
#[derive(Debug, Clone, PartialEq)]
pub enum MergeOrJson {
    /// A JSON Merge Patch (RFC 7396) expresses the change.
    Merge(Value),
    /// It does not (a `null` member in the target); this JSON Patch (RFC 6902) does.
    Json(Patch),
}

/// A merge patch when one can express the change, else an explicit fallback to a JSON Patch.
pub fn diff_merge_or_json(from: &Value, to: &Value) -> MergeOrJson {
    match diff_merge_patch(from, to) {
        Ok(p) => MergeOrJson::Merge(p),
        Err(_) => MergeOrJson::Json(diff(from, to)),
    }
}

fn merge_diff(a: &Value, b: &Value, path: &mut Pointer) -> Result<Value> {
    let (Value::Object(x), Value::Object(y)) = (a, b) else {
        // A non-object patch replaces the target; an object patch on a non-object target is
        // merged into `{}`, where its null members would be lost.
        check_no_null_member(b, path)?;
        return Ok(b.clone());
    };
    let mut out = Map::new();
    for k in x.keys() {
        if !y.contains_key(k) {
            out.insert(k.clone(), Value::Null);
        }
    }
    for (k, vb) in y {
        path.push(k.clone());
        match x.get(k) {
            Some(va) if va == vb => {}
            _ if vb.is_null() => {
                return Err(Error::NullNotExpressible {
                    pointer: path.to_string(),
                });
            }
            Some(va) if va.is_object() && vb.is_object() => {
                let sub = merge_diff(va, vb, path)?;
                out.insert(k.clone(), sub);
            }
            _ => {
                check_no_null_member(vb, path)?;
                out.insert(k.clone(), vb.clone());
            }
        }
        path.pop();
    }
    Ok(Value::Object(out))
}

/// An object (at any depth through objects, not arrays) with a null member cannot be written by
/// a merge patch.
fn check_no_null_member(v: &Value, path: &mut Pointer) -> Result<()> {
    if let Value::Object(m) = v {
        for (k, e) in m {
            path.push(k.clone());
            if e.is_null() {
                return Err(Error::NullNotExpressible {
                    pointer: path.to_string(),
                });
            }
            check_no_null_member(e, path)?;
            path.pop();
        }
    }
    Ok(())
}
