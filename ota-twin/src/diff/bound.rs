//! A cheap lower bound on the size of the position-by-position array script.
//!
//! `Differ::array` keeps the positional script only when it is strictly smaller than the LCS
//! script. Building it means diffing every pair of elements at the same index (and serialising
//! every operation to measure it), which cost half of the diff time on small documents where the
//! LCS script almost always wins. The bound below needs no allocation and serialises nothing (value
//! sizes are bounded from below too); when it already reaches the LCS script's size, the
//! positional script cannot win and is not built. It is a true lower bound of what `Differ::value` returns for each
//! pair, so the patch is the same as when the positional script is always built.

use serde_json::Value;

/// Compact JSON sizes of the operations, without their path and value (`op_len`).
const ADD: usize = 3 + 26;
const REMOVE: usize = 6 + 17;
const REPLACE: usize = 7 + 26;
const MOVE: usize = 4 + 25;

/// Bytes of `/N` in a pointer's JSON string.
fn index_token_len(i: usize) -> usize {
    1 + i.checked_ilog10().map_or(1, |d| d as usize + 1)
}

/// Bytes of `/key` in a pointer's JSON string (`~` and `/` escaped, JSON string escapes).
fn key_token_len(k: &str) -> usize {
    1 + k
        .chars()
        .map(|c| match c {
            '~' | '/' | '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
            c if (c as u32) < 0x20 => 6,
            c => c.len_utf8(),
        })
        .sum::<usize>()
}

/// A lower bound on the compact JSON length of `v`, without serialising: strings count without
/// their escapes and non-integer numbers as one byte. Stops once it reaches `cap`.
pub(super) fn value_len_lb(v: &Value, cap: usize) -> usize {
    match v {
        Value::Null | Value::Bool(true) => 4,
        Value::Bool(false) => 5,
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                u.checked_ilog10().map_or(1, |d| d as usize + 1)
            } else if let Some(i) = n.as_i64() {
                2 + i.unsigned_abs().checked_ilog10().unwrap_or(0) as usize
            } else {
                1
            }
        }
        Value::String(s) => s.len() + 2,
        Value::Array(a) => {
            let mut total = 1 + a.len().max(1);
            for e in a {
                total += value_len_lb(e, cap.saturating_sub(total));
                if total >= cap {
                    break;
                }
            }
            total
        }
        Value::Object(m) => {
            let mut total = 1 + m.len().max(1);
            for (k, e) in m {
                total += k.len() + 3 + value_len_lb(e, cap.saturating_sub(total));
                if total >= cap {
                    break;
                }
            }
            total
        }
    }
}

/// Lower bound (stopping once it reaches `cap`) on the size of the positional script turning
/// array `x` into `y`, whose path is `plen` bytes as a JSON string.
pub(super) fn positional(x: &[Value], y: &[Value], plen: usize, cap: usize) -> usize {
    let mut total = 0usize;
    for i in 0..x.len().max(y.len()) {
        total = total.saturating_add(match (x.get(i), y.get(i)) {
            (Some(a), Some(b)) => pair(a, b, plen + index_token_len(i), cap - total),
            // The positional script removes at index y.len() or adds at i.
            (Some(_), None) => REMOVE + plen + index_token_len(y.len()),
            (None, Some(b)) => ADD + plen + index_token_len(i) + value_len_lb(b, cap - total),
            (None, None) => 0,
        });
        if total >= cap {
            return total;
        }
    }
    total
}

/// Lower bound (up to `cap`) on what `Differ::value` returns for `a` -> `b` at a path of `plen`
/// bytes that lies inside an array (so no member move across objects applies).
fn pair(a: &Value, b: &Value, plen: usize, cap: usize) -> usize {
    if a == b {
        return 0;
    }
    // Whatever the nested edits, `value` never returns more than one `replace` of `b`.
    let replace = |cap: usize| {
        let overhead = REPLACE + plen;
        if overhead >= cap {
            return overhead;
        }
        overhead + value_len_lb(b, cap - overhead)
    };
    // The replacement's bound first: it caps the nested walk below.
    let cap = replace(cap);
    let nested = match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut total = 0usize;
            let mut gone = 0usize;
            for (k, va) in x {
                match y.get(k) {
                    Some(vb) => {
                        total = total.saturating_add(pair(
                            va,
                            vb,
                            plen + key_token_len(k),
                            cap.saturating_sub(total),
                        ));
                    }
                    None => gone += 1,
                }
                if total >= cap {
                    return cap;
                }
            }
            // Each new member is an `add` (value at least 1 byte) or a `move` from a sibling
            // (source path at least `plen + 1` bytes); each gone member not consumed by such a
            // move is a `remove`.
            let mut new = 0usize;
            for k in y.keys().filter(|k| !x.contains_key(*k)) {
                let p = plen + key_token_len(k);
                total = total.saturating_add((ADD + p + 1).min(MOVE + p + plen + 1));
                new += 1;
            }
            total.saturating_add(gone.saturating_sub(new) * (REMOVE + plen + 1))
        }
        // At least one operation below the array's path (an index adds at least 2 bytes).
        (Value::Array(_), Value::Array(_)) => REMOVE + plen + 2,
        // A leaf change or a change of type: `value` replaces.
        _ => return cap,
    };
    nested.min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::diff;
    use crate::size::pointer_json_len;
    use serde_json::json;

    /// The bound never exceeds the positional script's real size (what json-patch 5 emits for
    /// arrays, measured here through `diff` on single pairs: the bound of one pair is below the
    /// size of ota-twin's own patch for it).
    #[test]
    fn bound_is_below_the_real_patch() {
        let cases = [
            (json!({"a": 1, "b": [1, 2]}), json!({"a": 2, "b": [1, 2]})),
            (json!({"a": 1, "b": 2}), json!({"c": 1, "b": 2})),
            (json!({"a": 1, "b": 2}), json!({"a": 1})),
            (json!({"a": {"x": "long string value"}}), json!({"a": 3})),
            (json!([1, 2, 3]), json!([1, 3])),
            (json!("x"), json!({"k~/": [true, null]})),
            (
                json!({"id": 1, "t": [1, 2, 3.5], "on": true}),
                json!({"id": 2, "t": [9, 2, 3.5], "on": false}),
            ),
        ];
        for (a, b) in cases {
            // Place the pair at /arr/0 so the bound sees the same path as the diff.
            let da = json!({"arr": [a.clone()]});
            let db = json!({"arr": [b.clone()]});
            let real = diff(&da, &db)
                .operations()
                .iter()
                .map(crate::size::op_len)
                .sum::<usize>();
            let plen = pointer_json_len(&crate::Pointer::from_tokens(["arr", "0"]));
            let lb = pair(&a, &b, plen, usize::MAX);
            assert!(lb <= real, "{a} -> {b}: bound {lb} > real {real}");
            assert!(lb > 0, "{a} -> {b}");
        }
        assert_eq!(pair(&json!([1]), &json!([1]), 10, 100), 0);
        // Stops at the cap.
        assert!(positional(&vec![json!(1); 50], &vec![json!(2); 50], 5, 100) >= 100);
        assert_eq!(index_token_len(0), 2);
        assert_eq!(index_token_len(10), 3);
        assert_eq!(key_token_len("a/b"), 5);
        for v in [
            json!(null),
            json!(false),
            json!(0),
            json!(-7),
            json!(123456),
            json!(2.5),
            json!("a\"b"),
            json!([]),
            json!({}),
            json!({"k": [1, {"z": "é"}], "": null}),
        ] {
            let exact = v.to_string().len();
            assert!(value_len_lb(&v, usize::MAX) <= exact, "{v}");
            assert!(value_len_lb(&v, usize::MAX) >= exact / 2, "{v}");
        }
    }
}
