//! JSON Patch generation: small patches, with LCS array diffs and `move` operations.
//!
//! Why not `json_patch::diff`: json-patch 5 compares arrays position by position, so inserting one
//! element at the front of a long array rewrites the whole tail, and it never emits `move`. Here:
//! - arrays are diffed with Myers' O(ND) shortest edit script on element equality classes (common
//!   prefix and suffix stripped first), so one insertion is one `add`;
//! - an element deleted in one place and inserted unchanged in another becomes one `move`, and so
//!   does an object member that was renamed or moved between objects (when no array lies on
//!   either path, where indices would shift);
//! - at every container the result is compared with the position-by-position script and with a
//!   single `replace`, and the smallest is kept. The generated patch is therefore never larger than
//!   the positional ("tail rewrite") patch that json-patch 5 produces.

mod bound;
mod classes;
mod myers;

use serde_json::Value;

use crate::patch::{Operation, Patch};
use crate::pointer::Pointer;
use crate::size::{json_len, op_len, pointer_json_len};
use classes::{FastMap as HashMap, classes, hash_value};
use myers::{Edit, myers};

/// Most element pairs Myers' algorithm may examine for one array (`(n + m) * d`); past it the
/// array falls back to the positional script. Bounds CPU time on adversarial arrays.
const MYERS_WORK_LIMIT: usize = 20_000_000;
/// Most edit-distance rounds kept for backtracking (memory is quadratic in it).
const MYERS_MAX_D: usize = 2_000;
/// Most `move` operations derived inside one array (index bookkeeping is linear per move).
const MAX_ARRAY_MOVES: usize = 256;
/// "No entry" in the index tables of `array_lcs`.
const NONE: usize = usize::MAX;

/// Generates a JSON Patch that turns `from` into `to`: `apply_patch(from, diff(from, to)) == to`.
///
/// ```
/// use serde_json::json;
/// let list: Vec<u32> = (1..=30).collect();
/// let a = json!({"fw": "1.0", "list": list});
/// let longer: Vec<u32> = (0..=30).collect();
/// let b = json!({"firmware": "1.0", "list": longer});
/// // json-patch 5 would rewrite every element of the list and remove/add the renamed key.
/// let patch = ota_twin::diff(&a, &b);
/// assert_eq!(patch.to_value(), json!([
///     {"op": "add", "path": "/list/0", "value": 0},
///     {"op": "move", "from": "/fw", "path": "/firmware"},
/// ]));
/// let mut doc = a.clone();
/// patch.apply(&mut doc).unwrap();
/// assert_eq!(doc, b);
/// ```
pub fn diff(from: &Value, to: &Value) -> Patch {
    let mut d = Differ::default();
    let mut path = Pointer::root();
    d.value(from, to, &mut path, true);
    d.object_moves();
    Patch::new(d.out.into_iter().filter_map(|e| e.op).collect())
}

struct Emit<'a> {
    /// `None` once the operation was folded into a `move`.
    op: Option<Operation>,
    size: usize,
    /// Every container on the path is an object (no index can shift under it).
    object_path: bool,
    /// For `remove`: the value it removes.
    removed: Option<&'a Value>,
}

#[derive(Default)]
struct Differ<'a> {
    out: Vec<Emit<'a>>,
}

impl<'a> Differ<'a> {
    fn push(&mut self, op: Operation, object_path: bool, removed: Option<&'a Value>) -> usize {
        let size = op_len(&op);
        self.out.push(Emit {
            op: Some(op),
            size,
            object_path,
            removed,
        });
        size
    }

    /// Diffs one value; returns the summed size of the operations it emitted.
    fn value(
        &mut self,
        a: &'a Value,
        b: &'a Value,
        path: &mut Pointer,
        object_path: bool,
    ) -> usize {
        let start = self.out.len();
        let nested = match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                let mut total = 0;
                let mut gone: Vec<(&'a String, &'a Value)> = Vec::new();
                for (k, va) in x {
                    match y.get(k) {
                        // Equal members need no path (a clone of the key) nor a recursion.
                        Some(vb) if va == vb => {}
                        Some(vb) => {
                            path.push(k.clone());
                            total += self.value(va, vb, path, object_path);
                            path.pop();
                        }
                        None => gone.push((k, va)),
                    }
                }
                let new: Vec<(&'a String, &'a Value)> =
                    y.iter().filter(|(k, _)| !x.contains_key(*k)).collect();
                // A renamed member (same value under a new key) is one `move`; bounded pairwise
                // search, larger cases are left to the whole-patch pass.
                let mut renamed: Vec<Option<&'a String>> = vec![None; new.len()];
                if !gone.is_empty() && gone.len().saturating_mul(new.len()) <= 4096 {
                    let mut used = vec![false; gone.len()];
                    for (n, (_, vb)) in new.iter().enumerate() {
                        if let Some(g) = (0..gone.len()).find(|&g| !used[g] && gone[g].1 == *vb) {
                            used[g] = true;
                            renamed[n] = Some(gone[g].0);
                        }
                    }
                    gone = gone
                        .into_iter()
                        .zip(used)
                        .filter_map(|(e, u)| (!u).then_some(e))
                        .collect();
                }
                for (k, va) in gone {
                    path.push(k.clone());
                    total += self.push(
                        Operation::Remove { path: path.clone() },
                        object_path,
                        Some(va),
                    );
                    path.pop();
                }
                for ((k, vb), old) in new.into_iter().zip(renamed) {
                    path.push(k.clone());
                    let op = match old {
                        Some(old) => {
                            let mut from = path.clone();
                            from.pop();
                            from.push(old.clone());
                            Operation::Move {
                                from,
                                path: path.clone(),
                            }
                        }
                        None => Operation::Add {
                            path: path.clone(),
                            value: vb.clone(),
                        },
                    };
                    total += self.push(op, object_path, None);
                    path.pop();
                }
                total
            }
            (Value::Array(x), Value::Array(y)) => self.array(x, y, path),
            _ if a == b => 0,
            _ => {
                return self.push(
                    Operation::Replace {
                        path: path.clone(),
                        value: b.clone(),
                    },
                    object_path,
                    None,
                );
            }
        };
        if nested == 0 {
            return 0;
        }
        // One `replace` of the whole container, when that is smaller than the nested edits.
        let overhead = "replace".len() + 26 + pointer_json_len(path);
        // A quick lower bound first: most containers are far larger than their edits.
        if overhead + bound::value_len_lb(b, nested) >= nested {
            return nested;
        }
        if let Some(vlen) = json_len(b, nested.saturating_sub(overhead + 1))
            && overhead + vlen < nested
        {
            self.out.truncate(start);
            return self.push(
                Operation::Replace {
                    path: path.clone(),
                    value: b.clone(),
                },
                object_path,
                None,
            );
        }
        nested
    }

    fn array(&mut self, x: &'a [Value], y: &'a [Value], path: &mut Pointer) -> usize {
        let start = self.out.len();
        let lcs = self.array_lcs(x, y, path);
        let Some((lcs_size, aligned)) = lcs else {
            return self.array_positional(x, y, path, usize::MAX).unwrap_or(0);
        };
        if lcs_size == 0 || aligned {
            return lcs_size;
        }
        // Try the positional script; keep it only when strictly smaller, and build it only when
        // a lower bound of its size leaves it a chance.
        if bound::positional(x, y, pointer_json_len(path), lcs_size) >= lcs_size {
            return lcs_size;
        }
        let lcs_ops: Vec<Emit<'a>> = self.out.drain(start..).collect();
        match self.array_positional(x, y, path, lcs_size) {
            Some(pos) if pos < lcs_size => pos,
            _ => {
                self.out.truncate(start);
                self.out.extend(lcs_ops);
                lcs_size
            }
        }
    }

    /// Position-by-position script (what json-patch 5 emits). Gives up (returning `None` and
    /// leaving nothing behind) once it reaches `cap`.
    fn array_positional(
        &mut self,
        x: &'a [Value],
        y: &'a [Value],
        path: &mut Pointer,
        cap: usize,
    ) -> Option<usize> {
        let start = self.out.len();
        let mut total = 0usize;
        for i in 0..x.len().max(y.len()) {
            total += match (x.get(i), y.get(i)) {
                (Some(a), Some(b)) => {
                    path.push(i.to_string());
                    let n = self.value(a, b, path, false);
                    path.pop();
                    n
                }
                (Some(_), None) => {
                    path.push(y.len().to_string());
                    let n = self.push(Operation::Remove { path: path.clone() }, false, None);
                    path.pop();
                    n
                }
                (None, Some(b)) => {
                    path.push(i.to_string());
                    let n = self.push(
                        Operation::Add {
                            path: path.clone(),
                            value: b.clone(),
                        },
                        false,
                        None,
                    );
                    path.pop();
                    n
                }
                (None, None) => 0,
            };
            if total >= cap {
                self.out.truncate(start);
                return None;
            }
        }
        Some(total)
    }

    /// LCS script with moves and in-place modifications, its size, and whether it is the
    /// positional script (only in-place modifications, each at its own index). `None` when the
    /// arrays are too different for the work limit (nothing emitted then).
    fn array_lcs(
        &mut self,
        x: &'a [Value],
        y: &'a [Value],
        path: &mut Pointer,
    ) -> Option<(usize, bool)> {
        let pre = x.iter().zip(y).take_while(|(a, b)| a == b).count();
        let suf = x[pre..]
            .iter()
            .rev()
            .zip(y[pre..].iter().rev())
            .take_while(|(a, b)| a == b)
            .count();
        let xm = &x[pre..x.len() - suf];
        let ym = &y[pre..y.len() - suf];
        if xm.is_empty() && ym.is_empty() {
            return Some((0, true));
        }
        let (xa, yb) = classes(xm, ym);
        let edits = myers(&xa, &yb)?;

        // Match deletions to insertions of an equal element: each pair becomes one `move`.
        // Deletions of each class form a list (head per class, next per deletion) in edit order;
        // index-keyed tables are plain vectors (`NONE` for no entry).
        let classes_len = xa
            .iter()
            .chain(&yb)
            .copied()
            .max()
            .map_or(0, |c| c as usize + 1);
        // All index tables in one allocation (this runs for every changed array).
        let mut tables = vec![NONE; classes_len + 4 * xm.len() + 2 * ym.len()];
        let (head, rest) = tables.split_at_mut(classes_len);
        let (next_del, rest) = rest.split_at_mut(xm.len());
        let (move_dst_of_del, rest) = rest.split_at_mut(xm.len());
        let (pair_of_del, rest) = rest.split_at_mut(xm.len());
        // `taken`: moved out forward before being reached (NONE: no).
        let (taken, rest) = rest.split_at_mut(xm.len());
        let (move_src_of_ins, paired_ins) = rest.split_at_mut(ym.len());
        for e in edits.iter().rev() {
            if let Edit::Del(i) = *e {
                let c = xa[i] as usize;
                next_del[i] = head[c];
                head[c] = i;
            }
        }
        let mut moves = 0usize;
        for e in &edits {
            if moves >= MAX_ARRAY_MOVES {
                break;
            }
            if let Edit::Ins(j) = *e {
                let c = yb[j] as usize;
                let i = head[c];
                if i != NONE {
                    head[c] = next_del[i];
                    move_src_of_ins[j] = i;
                    move_dst_of_del[i] = j;
                    moves += 1;
                }
            }
        }

        // Pair the remaining deletions and insertions of each hunk, in order, as in-place
        // modifications (diffed recursively), up to the first move target of the hunk.
        let mut h = 0;
        while h < edits.len() {
            if matches!(edits[h], Edit::Keep(_)) {
                h += 1;
                continue;
            }
            let mut end = h;
            while end < edits.len() && !matches!(edits[end], Edit::Keep(_)) {
                end += 1;
            }
            let dels = edits[h..end].iter().filter_map(|e| match *e {
                Edit::Del(i) if move_dst_of_del[i] == NONE => Some(i),
                _ => None,
            });
            let ins = edits[h..end]
                .iter()
                .filter_map(|e| match *e {
                    Edit::Ins(j) => Some(j),
                    _ => None,
                })
                .take_while(|&j| move_src_of_ins[j] == NONE);
            for (i, j) in dels.zip(ins) {
                pair_of_del[i] = j;
                paired_ins[j] = 1;
            }
            h = end;
        }

        // Emit, tracking where each element sits in the array as it is being edited.
        let mut total = 0usize;
        let mut cur = pre; // index of the next position to settle
        let mut next_a = 0usize; // next middle element of `x` not yet reached
        let mut pending: Vec<(usize, usize)> = Vec::new(); // (a index, position), to move later
        // Every edit is an in-place modification at its own index: the positional script.
        let mut aligned = true;
        let idx_path = |p: &Pointer, i: usize| {
            let mut q = p.clone();
            q.push(i.to_string());
            q
        };
        for e in &edits {
            match *e {
                Edit::Keep(i) => {
                    next_a = i + 1;
                    cur += 1;
                }
                Edit::Del(i) => {
                    next_a = i + 1;
                    if taken[i] != NONE {
                        continue;
                    }
                    if move_dst_of_del[i] != NONE {
                        aligned = false;
                        pending.push((i, cur));
                        cur += 1;
                    } else if let Some(j) = Some(pair_of_del[i]).filter(|&j| j != NONE) {
                        aligned &= i == j;
                        path.push(cur.to_string());
                        total += self.value(&xm[i], &ym[j], path, false);
                        path.pop();
                        cur += 1;
                    } else {
                        aligned = false;
                        total += self.push(
                            Operation::Remove {
                                path: idx_path(path, cur),
                            },
                            false,
                            None,
                        );
                    }
                }
                Edit::Ins(j) => {
                    if paired_ins[j] != NONE {
                        continue;
                    }
                    aligned = false;
                    if let Some(i) = Some(move_src_of_ins[j]).filter(|&i| i != NONE) {
                        if let Some(k) = pending.iter().position(|&(pi, _)| pi == i) {
                            let (_, from) = pending.remove(k);
                            for p in &mut pending {
                                if p.1 > from {
                                    p.1 -= 1;
                                }
                            }
                            total += self.push(
                                Operation::Move {
                                    from: idx_path(path, from),
                                    path: idx_path(path, cur - 1),
                                },
                                false,
                                None,
                            );
                        } else {
                            let ahead = (next_a..i).filter(|&k| taken[k] == NONE).count();
                            taken[i] = 1;
                            total += self.push(
                                Operation::Move {
                                    from: idx_path(path, cur + ahead),
                                    path: idx_path(path, cur),
                                },
                                false,
                                None,
                            );
                            cur += 1;
                        }
                    } else {
                        total += self.push(
                            Operation::Add {
                                path: idx_path(path, cur),
                                value: ym[j].clone(),
                            },
                            false,
                            None,
                        );
                        cur += 1;
                    }
                }
            }
        }
        Some((total, aligned))
    }

    /// Turns a `remove` and an `add` of the same value, both on object-only paths, into one
    /// `move` placed where the `add` was. Sound because no other operation of the patch touches
    /// an object-only location that is removed whole, nor any of its ancestors.
    fn object_moves(&mut self) {
        let mut removes: HashMap<u64, Vec<usize>> = HashMap::default();
        for (n, e) in self.out.iter().enumerate() {
            if let (true, Some(v)) = (e.object_path, e.removed) {
                removes.entry(hash_value(v)).or_default().push(n);
            }
        }
        if removes.is_empty() {
            return;
        }
        for n in 0..self.out.len() {
            let (path, value) = match &self.out[n] {
                Emit {
                    op: Some(Operation::Add { path, value }),
                    object_path: true,
                    ..
                } => (path.clone(), value),
                _ => continue,
            };
            let Some(cands) = removes.get_mut(&hash_value(value)) else {
                continue;
            };
            let found = cands.iter().position(|&r| {
                self.out[r].removed == Some(value)
                    && self.out[r].op.as_ref().is_some_and(|op| {
                        !op.path().is_proper_prefix_of(&path)
                            && !path.is_proper_prefix_of(op.path())
                    })
            });
            let Some(k) = found else { continue };
            let r = cands.swap_remove(k);
            let Some(from) = self.out[r].op.take().map(|op| op.path().clone()) else {
                continue;
            };
            let mv = Operation::Move { from, path };
            self.out[n].size = op_len(&mv);
            self.out[n].op = Some(mv);
        }
    }
}
