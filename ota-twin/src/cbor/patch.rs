//! JSON Patch as CBOR: an array of `[code, path, value-or-from]` arrays.

use ota_cbor::{Reader, write_array, write_text, write_uint};

use super::value::{CBOR_MAX_DEPTH, CONFIG, cbor, invalid, read_value, within, write_value};
use crate::error::{Error, Limit, Result};
use crate::limits::Limits;
use crate::patch::{Operation, Patch};
use crate::pointer::Pointer;

/// Operation codes: the index of the name.
const OPS: [&str; 6] = ["add", "remove", "replace", "move", "copy", "test"];

impl Patch {
    /// Compact CBOR: an array of `[code, path, value-or-from]` arrays, `code` 0..=5 for
    /// add, remove, replace, move, copy, test (`remove` has no third element).
    pub fn to_cbor(&self) -> Vec<u8> {
        let mut out = Vec::new();
        write_array(&mut out, self.len());
        for op in self.operations() {
            let code = OPS.iter().position(|n| *n == op.name()).unwrap_or(0) as u64;
            let n = if matches!(op, Operation::Remove { .. }) {
                2
            } else {
                3
            };
            write_array(&mut out, n);
            write_uint(&mut out, code);
            write_text(&mut out, &op.path().to_string());
            match op {
                Operation::Add { value, .. }
                | Operation::Replace { value, .. }
                | Operation::Test { value, .. } => write_value(&mut out, value),
                Operation::Move { from, .. } | Operation::Copy { from, .. } => {
                    write_text(&mut out, &from.to_string());
                }
                Operation::Remove { .. } => {}
            }
        }
        out
    }

    /// Decodes [`Patch::to_cbor`] output under `limits` (input size, operation count).
    ///
    /// # Errors
    /// [`Error::Cbor`] (its pointer names the operation, `/3`, and the place in its value),
    /// [`Error::CborTooDeep`], [`Error::LimitExceeded`].
    pub fn from_cbor(bytes: &[u8], limits: &Limits) -> Result<Patch> {
        limits.check_input(bytes.len())?;
        let mut r = Reader::new(bytes, CONFIG);
        let n = r.array().map_err(cbor)?;
        if n > limits.patch_operations {
            return Err(Error::LimitExceeded {
                limit: Limit::PatchOperations,
                pointer: String::new(),
                actual: n,
                max: limits.patch_operations,
            });
        }
        let mut ops = Vec::with_capacity(n);
        for i in 0..n {
            ops.push(operation(&mut r).map_err(|e| within(e, &i.to_string()))?);
        }
        r.finish().map_err(cbor)?;
        Ok(Patch::new(ops))
    }
}

fn operation(r: &mut Reader<'_>) -> Result<Operation> {
    let at = r.offset();
    let len = r.array().map_err(cbor)?;
    let code = r.uint().map_err(cbor)?;
    let path = pointer(r)?;
    let want = if code == 1 { 2 } else { 3 };
    if len != want {
        return Err(invalid(at, "wrong number of elements in a patch operation"));
    }
    let value = |r: &mut Reader<'_>| {
        read_value(r, CBOR_MAX_DEPTH, CBOR_MAX_DEPTH).map_err(|e| within(e, "value"))
    };
    Ok(match code {
        0 => Operation::Add {
            path,
            value: value(r)?,
        },
        1 => Operation::Remove { path },
        2 => Operation::Replace {
            path,
            value: value(r)?,
        },
        3 => Operation::Move {
            from: pointer(r)?,
            path,
        },
        4 => Operation::Copy {
            from: pointer(r)?,
            path,
        },
        5 => Operation::Test {
            path,
            value: value(r)?,
        },
        _ => return Err(invalid(at, "unknown patch operation code")),
    })
}

fn pointer(r: &mut Reader<'_>) -> Result<Pointer> {
    let at = r.offset();
    let s = r.text().map_err(cbor)?;
    Pointer::parse(s).map_err(|_| invalid(at, "invalid JSON pointer"))
}
