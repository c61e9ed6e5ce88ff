//! JSON Patch (RFC 6902): the operations, their JSON form, and atomic application.

use serde_json::{Map, Value};

use crate::error::{Error, Limit, PatchFailure, Result};
use crate::limits::Limits;
use crate::pointer::{Pointer, parse_index};
use crate::size::json_len;

mod undo;
use undo::{Slot, Undo, rollback};

/// One JSON Patch operation (RFC 6902 section 4).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub enum Operation {
    /// Insert or set `value` at `path`.
    Add {
        /// Target location.
        path: Pointer,
        /// The value to add.
        value: Value,
    },
    /// Remove the value at `path`.
    Remove {
        /// Target location.
        path: Pointer,
    },
    /// Replace the existing value at `path`.
    Replace {
        /// Target location.
        path: Pointer,
        /// The new value.
        value: Value,
    },
    /// Remove the value at `from` and add it at `path`.
    Move {
        /// Source location.
        from: Pointer,
        /// Target location.
        path: Pointer,
    },
    /// Add a copy of the value at `from` at `path`.
    Copy {
        /// Source location.
        from: Pointer,
        /// Target location.
        path: Pointer,
    },
    /// Check that the value at `path` equals `value`.
    Test {
        /// Target location.
        path: Pointer,
        /// The expected value.
        value: Value,
    },
}

impl Operation {
    /// The `op` member: `add`, `remove`, `replace`, `move`, `copy` or `test`.
    pub fn name(&self) -> &'static str {
        match self {
            Operation::Add { .. } => "add",
            Operation::Remove { .. } => "remove",
            Operation::Replace { .. } => "replace",
            Operation::Move { .. } => "move",
            Operation::Copy { .. } => "copy",
            Operation::Test { .. } => "test",
        }
    }

    /// The target location (`path`).
    pub fn path(&self) -> &Pointer {
        match self {
            Operation::Add { path, .. }
            | Operation::Remove { path }
            | Operation::Replace { path, .. }
            | Operation::Move { path, .. }
            | Operation::Copy { path, .. }
            | Operation::Test { path, .. } => path,
        }
    }

    /// The JSON form of the operation.
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("op".into(), Value::String(self.name().into()));
        match self {
            Operation::Move { from, .. } | Operation::Copy { from, .. } => {
                m.insert("from".into(), Value::String(from.to_string()));
            }
            _ => {}
        }
        m.insert("path".into(), Value::String(self.path().to_string()));
        match self {
            Operation::Add { value, .. }
            | Operation::Replace { value, .. }
            | Operation::Test { value, .. } => {
                m.insert("value".into(), value.clone());
            }
            _ => {}
        }
        Value::Object(m)
    }

    fn from_value(index: usize, v: &Value) -> Result<Self> {
        let malformed = |reason| Error::MalformedPatch { index, reason };
        let m = v
            .as_object()
            .ok_or(malformed("an operation must be a JSON object"))?;
        let op = m
            .get("op")
            .ok_or(malformed("missing `op`"))?
            .as_str()
            .ok_or(malformed("`op` must be a string"))?;
        let pointer = |key: &'static str, missing, not_string, bad| -> Result<Pointer> {
            let s = m
                .get(key)
                .ok_or(malformed(missing))?
                .as_str()
                .ok_or(malformed(not_string))?;
            Pointer::parse(s).map_err(|_| malformed(bad))
        };
        let path = || {
            pointer(
                "path",
                "missing `path`",
                "`path` must be a string",
                "`path` is not a valid JSON pointer",
            )
        };
        let from = || {
            pointer(
                "from",
                "missing `from`",
                "`from` must be a string",
                "`from` is not a valid JSON pointer",
            )
        };
        // `value` may be null: only its absence is an error.
        let value = || m.get("value").cloned().ok_or(malformed("missing `value`"));
        Ok(match op {
            "add" => Operation::Add {
                path: path()?,
                value: value()?,
            },
            "remove" => Operation::Remove { path: path()? },
            "replace" => Operation::Replace {
                path: path()?,
                value: value()?,
            },
            "move" => Operation::Move {
                from: from()?,
                path: path()?,
            },
            "copy" => Operation::Copy {
                from: from()?,
                path: path()?,
            },
            "test" => Operation::Test {
                path: path()?,
                value: value()?,
            },
            _ => return Err(malformed("unknown `op`")),
        })
    }
}

/// A JSON Patch document: a sequence of operations applied in order, all or nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Patch {
    ops: Vec<Operation>,
}

impl Patch {
    /// A patch of the given operations.
    pub fn new(ops: Vec<Operation>) -> Self {
        Patch { ops }
    }

    /// The operations in application order.
    pub fn operations(&self) -> &[Operation] {
        &self.ops
    }

    /// Consumes the patch into its operations.
    pub fn into_operations(self) -> Vec<Operation> {
        self.ops
    }

    /// Number of operations.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// True when the patch has no operation.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Reads the JSON form (an array of operation objects). Unknown members are ignored, as
    /// RFC 6902 section 4 requires.
    ///
    /// # Errors
    /// [`Error::MalformedPatch`] naming the operation index.
    pub fn from_value(v: &Value) -> Result<Self> {
        let arr = v.as_array().ok_or(Error::MalformedPatch {
            index: 0,
            reason: "a JSON patch must be an array",
        })?;
        let ops = arr
            .iter()
            .enumerate()
            .map(|(i, op)| Operation::from_value(i, op))
            .collect::<Result<Vec<_>>>()?;
        Ok(Patch { ops })
    }

    /// Parses JSON text.
    ///
    /// # Errors
    /// [`Error::Json`] for bad syntax, [`Error::MalformedPatch`] for a bad operation.
    pub fn from_json(text: &[u8]) -> Result<Self> {
        let v: Value = serde_json::from_slice(text).map_err(|e| Error::json(&e))?;
        Self::from_value(&v)
    }

    /// The JSON form.
    pub fn to_value(&self) -> Value {
        Value::Array(self.ops.iter().map(Operation::to_value).collect())
    }

    /// Compact JSON text.
    pub fn to_json(&self) -> String {
        self.to_value().to_string()
    }

    /// Applies the patch to `doc`, atomically: on error `doc` is exactly as it was. The limits
    /// are those of [`Limits::custom`] (copies may add 1 MiB); see [`Patch::apply_limited`].
    ///
    /// # Errors
    /// [`Error::PatchFailed`] with the index of the failing operation and the pointer;
    /// [`Error::PatchLimitExceeded`] when the copies would add more than the limit.
    pub fn apply(&self, doc: &mut Value) -> Result<()> {
        apply_patch(doc, self)
    }

    /// Applies the patch to `doc` atomically, within `limits` (the copies of the patch may add
    /// at most [`Limits::patch_copy_bytes`]).
    ///
    /// # Errors
    /// As [`Patch::apply`].
    pub fn apply_limited(&self, doc: &mut Value, limits: &Limits) -> Result<()> {
        apply_patch_limited(doc, self, limits)
    }
}

impl From<Vec<Operation>> for Patch {
    fn from(ops: Vec<Operation>) -> Self {
        Patch { ops }
    }
}

/// Applies `patch` to `doc` atomically (RFC 6902 section 5: the whole patch or nothing), within
/// the limits of [`Limits::custom`]: the copies of the patch may add at most 1 MiB of compact
/// JSON to the document.
///
/// The undo log holds only what the operations displaced, so a failing patch on a large document
/// costs no copy of the document.
///
/// # Errors
/// [`Error::PatchFailed`] with the index of the failing operation, its name, the pointer that
/// failed and why; [`Error::PatchLimitExceeded`] naming the copy that would pass
/// [`Limits::patch_copy_bytes`]. The document is restored before the error is returned.
pub fn apply_patch(doc: &mut Value, patch: &Patch) -> Result<()> {
    apply_patch_limited(doc, patch, &Limits::custom())
}

/// [`apply_patch`] with the caller's limits (only [`Limits::patch_copy_bytes`] applies here).
///
/// The size of each copied value is measured by walking it, stopping at the limit, before it is
/// cloned: a refused copy costs no allocation.
///
/// # Errors
/// As [`apply_patch`].
pub fn apply_patch_limited(doc: &mut Value, patch: &Patch, limits: &Limits) -> Result<()> {
    let mut undo: Vec<Undo> = Vec::new();
    let mut budget = CopyBudget {
        used: 0,
        max: limits.patch_copy_bytes,
    };
    for (index, op) in patch.ops.iter().enumerate() {
        if let Err(failure) = apply_one(doc, op, &mut undo, &mut budget) {
            rollback(doc, undo);
            return Err(match failure {
                Failure::Op(pointer, reason) => Error::PatchFailed {
                    index,
                    op: op.name(),
                    pointer: pointer.to_string(),
                    reason,
                },
                Failure::Limit(pointer, actual) => Error::PatchLimitExceeded {
                    index,
                    op: op.name(),
                    pointer: pointer.to_string(),
                    limit: Limit::PatchCopyBytes,
                    actual,
                    max: budget.max,
                },
            });
        }
    }
    Ok(())
}

/// What the copies of a patch have added so far, in compact JSON bytes.
struct CopyBudget {
    used: usize,
    max: usize,
}

impl CopyBudget {
    /// Counts `v` against the budget, walking at most as far as the limit; on refusal, the
    /// total with `v` (a lower bound when `v` alone is past the limit).
    fn take(&mut self, v: &Value) -> core::result::Result<(), usize> {
        let left = self.max - self.used;
        match json_len(v, self.max) {
            Some(n) if n <= left => {
                self.used += n;
                Ok(())
            }
            Some(n) => Err(self.used + n),
            None => Err(self.used.saturating_add(self.max).saturating_add(1)),
        }
    }
}

/// Why one operation failed: a pointer that does not resolve, or a limit.
enum Failure<'p> {
    Op(&'p Pointer, PatchFailure),
    Limit(&'p Pointer, usize),
}

impl<'p> From<(&'p Pointer, PatchFailure)> for Failure<'p> {
    fn from((p, r): (&'p Pointer, PatchFailure)) -> Self {
        Failure::Op(p, r)
    }
}

type OpResult<'p> = core::result::Result<(), Failure<'p>>;

fn apply_one<'p>(
    doc: &mut Value,
    op: &'p Operation,
    undo: &mut Vec<Undo>,
    budget: &mut CopyBudget,
) -> OpResult<'p> {
    match op {
        Operation::Add { path, value } => {
            undo.push(add(doc, path, value.clone()).map_err(|(r, _)| (path, r))?);
        }
        Operation::Remove { path } => {
            let (v, slot) = remove(doc, path).map_err(|r| (path, r))?;
            undo.push(slot.undo(v));
        }
        Operation::Replace { path, value } => {
            undo.push(replace(doc, path, value.clone()).map_err(|r| (path, r))?);
        }
        Operation::Move { from, path } => {
            get(doc, from).map_err(|r| (from, r))?;
            if from == path {
                return Ok(());
            }
            if from.is_proper_prefix_of(path) {
                return Err((path, PatchFailure::MoveIntoChild).into());
            }
            let (v, slot) = remove(doc, from).map_err(|r| (from, r))?;
            // No copy of the moved value: undoing the add gives it back (a patch of moves back
            // and forth of a large member would otherwise hold one copy per move).
            match add(doc, path, v) {
                Ok(added) => undo.push(Undo::Move(Box::new(added), slot)),
                Err((r, v)) => {
                    undo.push(slot.undo(v));
                    return Err((path, r).into());
                }
            }
        }
        Operation::Copy { from, path } => {
            let src = get(doc, from).map_err(|r| (from, r))?;
            // Measured before the clone: a copy bomb is refused before it allocates.
            budget
                .take(src)
                .map_err(|actual| Failure::Limit(from, actual))?;
            let v = src.clone();
            undo.push(add(doc, path, v).map_err(|(r, _)| (path, r))?);
        }
        Operation::Test { path, value } => {
            let found = get(doc, path).map_err(|r| (path, r))?;
            if !json_equal(found, value) {
                return Err((path, PatchFailure::TestFailed).into());
            }
        }
    }
    Ok(())
}

/// JSON equality as RFC 6902 section 4.6 defines it: numbers compare by numeric value
/// (`1` equals `1.0`), objects ignore member order, arrays compare element by element.
pub fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if x.is_f64() || y.is_f64() {
                x.as_f64() == y.as_f64()
            } else {
                x == y
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

type Step<T> = core::result::Result<T, PatchFailure>;

fn walk_mut<'a>(doc: &'a mut Value, tokens: &[String]) -> Step<&'a mut Value> {
    let mut cur = doc;
    for t in tokens {
        cur = match cur {
            Value::Object(m) => m.get_mut(t).ok_or(PatchFailure::ParentNotFound)?,
            Value::Array(a) => {
                let i = parse_index(t).ok_or(PatchFailure::BadArrayIndex)?;
                a.get_mut(i).ok_or(PatchFailure::ParentNotFound)?
            }
            _ => return Err(PatchFailure::NotAContainer),
        };
    }
    Ok(cur)
}

fn get<'a>(doc: &'a Value, path: &Pointer) -> Step<&'a Value> {
    let mut cur = doc;
    for t in path.tokens() {
        cur = match cur {
            Value::Object(m) => m.get(t).ok_or(PatchFailure::NotFound)?,
            Value::Array(a) => {
                let i = parse_index(t).ok_or(PatchFailure::BadArrayIndex)?;
                a.get(i).ok_or(PatchFailure::IndexOutOfBounds)?
            }
            _ => return Err(PatchFailure::NotAContainer),
        };
    }
    Ok(cur)
}

/// Adds `value` at `path`; on failure, gives `value` back with the reason.
fn add(
    doc: &mut Value,
    path: &Pointer,
    value: Value,
) -> core::result::Result<Undo, (PatchFailure, Value)> {
    let Some((parent, last)) = path.split_last() else {
        return Ok(Undo::Root(core::mem::replace(doc, value)));
    };
    let target = match walk_mut(doc, parent) {
        Ok(t) => t,
        Err(r) => return Err((r, value)),
    };
    match target {
        Value::Object(m) => Ok(match m.insert(last.to_owned(), value) {
            Some(old) => Undo::PutKey(parent.to_vec(), last.to_owned(), old),
            None => Undo::RemoveKey(parent.to_vec(), last.to_owned()),
        }),
        Value::Array(a) => {
            let i = if last == "-" {
                a.len()
            } else {
                match parse_index(last) {
                    Some(i) => i,
                    None => return Err((PatchFailure::BadArrayIndex, value)),
                }
            };
            if i > a.len() {
                return Err((PatchFailure::IndexOutOfBounds, value));
            }
            a.insert(i, value);
            Ok(Undo::ArrayRemove(parent.to_vec(), i))
        }
        _ => Err((PatchFailure::NotAContainer, value)),
    }
}

fn remove(doc: &mut Value, path: &Pointer) -> Step<(Value, Slot)> {
    let Some((parent, last)) = path.split_last() else {
        return Err(PatchFailure::RemoveRoot);
    };
    match walk_mut(doc, parent)? {
        Value::Object(m) => {
            let old = m.remove(last).ok_or(PatchFailure::NotFound)?;
            Ok((old, Slot::Key(parent.to_vec(), last.to_owned())))
        }
        Value::Array(a) => {
            let i = parse_index(last).ok_or(PatchFailure::BadArrayIndex)?;
            if i >= a.len() {
                return Err(PatchFailure::IndexOutOfBounds);
            }
            Ok((a.remove(i), Slot::Index(parent.to_vec(), i)))
        }
        _ => Err(PatchFailure::NotAContainer),
    }
}

fn replace(doc: &mut Value, path: &Pointer, value: Value) -> Step<Undo> {
    let Some((parent, last)) = path.split_last() else {
        return Ok(Undo::Root(core::mem::replace(doc, value)));
    };
    match walk_mut(doc, parent)? {
        Value::Object(m) => {
            let slot = m.get_mut(last).ok_or(PatchFailure::NotFound)?;
            let old = core::mem::replace(slot, value);
            Ok(Undo::PutKey(parent.to_vec(), last.to_owned(), old))
        }
        Value::Array(a) => {
            let i = parse_index(last).ok_or(PatchFailure::BadArrayIndex)?;
            let slot = a.get_mut(i).ok_or(PatchFailure::IndexOutOfBounds)?;
            let old = core::mem::replace(slot, value);
            Ok(Undo::ArrayPut(parent.to_vec(), i, old))
        }
        _ => Err(PatchFailure::NotAContainer),
    }
}
