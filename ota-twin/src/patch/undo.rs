//! The undo log of an atomic JSON Patch apply: what each applied step displaced, to put it back.

use serde_json::Value;

use super::walk_mut;

/// What an applied step displaced, to put it back.
pub(super) enum Undo {
    Root(Value),
    RemoveKey(Vec<String>, String),
    PutKey(Vec<String>, String, Value),
    ArrayRemove(Vec<String>, usize),
    ArrayInsert(Vec<String>, usize, Value),
    ArrayPut(Vec<String>, usize, Value),
    /// A move: undoing the add at the target gives the value back, to put at its source.
    Move(Box<Undo>, Slot),
}

pub(super) fn rollback(doc: &mut Value, undo: Vec<Undo>) {
    for u in undo.into_iter().rev() {
        undo_step(doc, u);
    }
}

/// Undoes one step; returns the value the step had put in place (the one taken out now), if any.
fn undo_step(doc: &mut Value, u: Undo) -> Option<Value> {
    // Each step undoes one that succeeded on the same structure, so the lookups succeed.
    match u {
        Undo::Root(v) => Some(core::mem::replace(doc, v)),
        Undo::RemoveKey(p, k) => match walk_mut(doc, &p) {
            Ok(Value::Object(m)) => m.remove(&k),
            _ => None,
        },
        Undo::PutKey(p, k, v) => match walk_mut(doc, &p) {
            Ok(Value::Object(m)) => m.insert(k, v),
            _ => None,
        },
        Undo::ArrayRemove(p, i) => match walk_mut(doc, &p) {
            Ok(Value::Array(a)) if i < a.len() => Some(a.remove(i)),
            _ => None,
        },
        Undo::ArrayInsert(p, i, v) => {
            if let Ok(Value::Array(a)) = walk_mut(doc, &p)
                && i <= a.len()
            {
                a.insert(i, v);
            }
            None
        }
        Undo::ArrayPut(p, i, v) => match walk_mut(doc, &p) {
            Ok(Value::Array(a)) => a.get_mut(i).map(|slot| core::mem::replace(slot, v)),
            _ => None,
        },
        Undo::Move(added, slot) => {
            if let Some(v) = undo_step(doc, *added) {
                undo_step(doc, slot.undo(v));
            }
            None
        }
    }
}

/// Where a removed value was, to build its undo step once the caller knows what to keep.
pub(super) enum Slot {
    Key(Vec<String>, String),
    Index(Vec<String>, usize),
}

impl Slot {
    pub(super) fn undo(self, v: Value) -> Undo {
        match self {
            Slot::Key(p, k) => Undo::PutKey(p, k, v),
            Slot::Index(p, i) => Undo::ArrayInsert(p, i, v),
        }
    }
}
