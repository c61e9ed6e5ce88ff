//! Exact compact-JSON sizes, computed without building strings.

use std::io;

use serde_json::Value;

use crate::patch::Operation;
use crate::pointer::Pointer;

struct Counter {
    n: usize,
    cap: usize,
}

impl io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.n = self.n.saturating_add(buf.len());
        if self.n > self.cap {
            return Err(io::Error::other("cap"));
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Compact JSON length of `v`.
pub(crate) fn value_len<T: serde::Serialize + ?Sized>(v: &T) -> usize {
    let mut c = Counter {
        n: 0,
        cap: usize::MAX,
    };
    // Writing into a counter cannot fail below the cap.
    let _ = serde_json::to_writer(&mut c, v);
    c.n
}

/// Compact JSON length of `v`, or `None` as soon as it is known to exceed `cap`.
pub(crate) fn value_len_capped<T: serde::Serialize + ?Sized>(v: &T, cap: usize) -> Option<usize> {
    let mut c = Counter { n: 0, cap };
    serde_json::to_writer(&mut c, v).ok().map(|()| c.n)
}

/// Compact JSON length of `v` (exactly what serde_json writes), or `None` as soon as it exceeds
/// `cap`. Walks the value directly; only non-integer numbers go through serde_json's formatter.
/// Several times faster than serialising into a counter, and the diff measures every operation.
pub(crate) fn json_len(v: &Value, cap: usize) -> Option<usize> {
    let n = match v {
        Value::Null | Value::Bool(true) => 4,
        Value::Bool(false) => 5,
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                digits(u)
            } else if let Some(i) = n.as_i64() {
                1 + digits(i.unsigned_abs())
            } else {
                value_len(n)
            }
        }
        Value::String(s) => str_json_len(s),
        Value::Array(a) => {
            let mut total = 1 + a.len().max(1);
            for e in a {
                total += json_len(e, cap.checked_sub(total)?)?;
            }
            total
        }
        Value::Object(m) => {
            let mut total = 1 + m.len().max(1);
            for (k, e) in m {
                total += str_json_len(k) + 1;
                total += json_len(e, cap.checked_sub(total)?)?;
            }
            total
        }
    };
    (n <= cap).then_some(n)
}

fn digits(u: u64) -> usize {
    u.checked_ilog10().map_or(1, |d| d as usize + 1)
}

/// Length of `s` as a JSON string literal, quotes included (serde_json's escapes).
fn str_json_len(s: &str) -> usize {
    2 + s
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0..0x20 => 6,
            _ => 1,
        })
        .sum::<usize>()
}

fn json_char_len(c: char) -> usize {
    match c {
        '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
        c if (c as u32) < 0x20 => 6,
        c => c.len_utf8(),
    }
}

/// Length of the JSON string literal (with quotes) holding the pointer's text.
pub(crate) fn pointer_json_len(p: &Pointer) -> usize {
    2 + p
        .tokens()
        .iter()
        .map(|t| {
            1 + t
                .chars()
                .map(|c| match c {
                    '~' | '/' => 2,
                    c => json_char_len(c),
                })
                .sum::<usize>()
        })
        .sum::<usize>()
}

/// Compact JSON length of the operation, as [`Operation::to_value`] serialises it.
pub(crate) fn op_len(op: &Operation) -> usize {
    let name = op.name().len();
    match op {
        Operation::Add { path, value }
        | Operation::Replace { path, value }
        | Operation::Test { path, value } => {
            name + 26 + pointer_json_len(path) + json_len(value, usize::MAX).unwrap_or(usize::MAX)
        }
        Operation::Remove { path } => name + 17 + pointer_json_len(path),
        Operation::Move { from, path } | Operation::Copy { from, path } => {
            name + 25 + pointer_json_len(from) + pointer_json_len(path)
        }
    }
}

/// Compact JSON length of a whole patch (`[op,op,...]`).
#[cfg(test)]
pub(crate) fn ops_total(sizes: impl Iterator<Item = usize>) -> usize {
    let mut n = 0usize;
    let mut total = 2usize;
    for s in sizes {
        total += s;
        n += 1;
    }
    total + n.saturating_sub(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::patch::Patch;
    use serde_json::json;

    #[test]
    fn sizes_match_serialisation() {
        let p = Patch::from_value(&json!([
            {"op": "add", "path": "/a~1b/\"q\"/\u{1}/é", "value": {"x": [1, 2.5, "s\n"]}},
            {"op": "remove", "path": "/m~0n/0"},
            {"op": "replace", "path": "", "value": null},
            {"op": "move", "from": "/a", "path": "/b"},
            {"op": "copy", "from": "/a", "path": "/b/-"},
            {"op": "test", "path": "/\\", "value": "v"},
        ]))
        .unwrap();
        for op in p.operations() {
            assert_eq!(op_len(op), op.to_value().to_string().len(), "{op:?}");
        }
        assert_eq!(
            ops_total(p.operations().iter().map(op_len)),
            p.to_json().len()
        );
        assert_eq!(ops_total(core::iter::empty()), 2);
        assert_eq!(value_len_capped(&json!([1, 2, 3]), 6), None);
        assert_eq!(value_len_capped(&json!([1, 2, 3]), 7), Some(7));
    }

    #[test]
    fn json_len_is_serde_json_length() {
        let values = [
            json!(null),
            json!(true),
            json!(false),
            json!(0),
            json!(9),
            json!(10),
            json!(u64::MAX),
            json!(-1),
            json!(i64::MIN),
            json!(0.5),
            json!(-1.25e-300),
            json!(1e21),
            json!(""),
            json!("a\"b\\c\n\r\t\u{8}\u{c}\u{1}\u{1f}\u{7f}é€😀/"),
            json!([]),
            json!({}),
            json!([1, [2, []], {"": null}]),
            json!({"k\"ey": {"x": [1.5, "s"], "y": {}}, "z": false}),
        ];
        for v in values {
            let exact = v.to_string().len();
            assert_eq!(json_len(&v, usize::MAX), Some(exact), "{v}");
            assert_eq!(json_len(&v, exact), Some(exact), "{v}");
            assert_eq!(json_len(&v, exact - 1), None, "{v}");
        }
    }
}
