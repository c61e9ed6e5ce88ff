//! Equality classes of JSON values, through a hash consistent with `Value` equality.
//!
//! The hash only buckets values (every bucket hit is confirmed with `==`), so it needs speed, not
//! resistance to collisions: a multiply-rotate hash over 8-byte words (the FxHash construction
//! used inside rustc) instead of SipHash, which cost a quarter of the diff time on small
//! documents. SipHash gave no protection here anyway: `DefaultHasher::new()` has fixed keys.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

use serde_json::Value;

/// Multiply-rotate hasher over 8-byte words.
#[derive(Default, Clone, Copy)]
pub(super) struct FastHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FastHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 56));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A `HashMap` keyed by already-hashed `u64`s (or small integers).
pub(super) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// Hash consistent with `Value` equality (object member order ignored).
pub(super) fn hash_value(v: &Value) -> u64 {
    let mut h = FastHasher::default();
    hash_into(v, &mut h);
    h.finish()
}

fn hash_into(v: &Value, h: &mut FastHasher) {
    match v {
        Value::Null => 0u8.hash(h),
        Value::Bool(b) => (1u8, b).hash(h),
        Value::Number(n) => (2u8, n).hash(h),
        Value::String(s) => (3u8, s).hash(h),
        Value::Array(a) => {
            (4u8, a.len()).hash(h);
            for e in a {
                hash_into(e, h);
            }
        }
        Value::Object(m) => {
            // Sum of member hashes: independent of iteration order.
            let mut acc = 0u64;
            for (k, e) in m {
                let mut mh = FastHasher::default();
                k.hash(&mut mh);
                hash_into(e, &mut mh);
                acc = acc.wrapping_add(mh.finish());
            }
            (5u8, m.len(), acc).hash(h);
        }
    }
}

/// Maps each element to the id of its equality class (exact `Value` equality).
pub(super) fn classes<'v>(x: &'v [Value], y: &'v [Value]) -> (Vec<u32>, Vec<u32>) {
    if x.len().saturating_mul(y.len()) <= SMALL {
        return classes_by_equality(x, y);
    }
    let mut table: FastMap<u64, Vec<(u32, &'v Value)>> = FastMap::default();
    let mut next = 0u32;
    let mut ids = |s: &'v [Value]| -> Vec<u32> {
        s.iter()
            .map(|v| {
                let bucket = table.entry(hash_value(v)).or_default();
                if let Some(&(c, _)) = bucket.iter().find(|(_, w)| *w == v) {
                    c
                } else {
                    next += 1;
                    bucket.push((next, v));
                    next
                }
            })
            .collect()
    };
    let xa = ids(x);
    let yb = ids(y);
    (xa, yb)
}

/// Up to this many element pairs, classes come from a shallow hash and a linear search instead
/// of the deep hash and a table.
const SMALL: usize = 64;

/// A hash consistent with `Value` equality that looks only at scalars of the first two levels
/// (strings by length and first bytes): cheap, and enough to tell apart the elements of a small
/// array, where every hash match is confirmed with `==` anyway.
fn shallow_hash(v: &Value, depth: u32) -> u64 {
    let mut h = FastHasher::default();
    match v {
        Value::Null => h.add(1),
        Value::Bool(b) => h.add(2 + u64::from(*b)),
        Value::Number(n) => {
            h.add(4);
            if let Some(u) = n.as_u64() {
                h.add(u);
            } else if let Some(i) = n.as_i64() {
                h.add(i as u64);
            } else if let Some(f) = n.as_f64() {
                h.add(f.to_bits());
            }
        }
        Value::String(s) => {
            h.add(5);
            h.add(s.len() as u64);
            h.write(s.as_bytes().get(..8).unwrap_or(s.as_bytes()));
        }
        Value::Array(a) => {
            h.add(6);
            h.add(a.len() as u64);
            if depth > 0 {
                for e in a {
                    h.add(shallow_hash(e, depth - 1));
                }
            }
        }
        Value::Object(m) => {
            h.add(7);
            h.add(m.len() as u64);
            if depth > 0 {
                // Sum of member hashes: independent of member order.
                let mut acc = 0u64;
                for (k, e) in m {
                    let mut mh = FastHasher::default();
                    mh.add(k.len() as u64);
                    mh.add(shallow_hash(e, depth - 1));
                    acc = acc.wrapping_add(mh.finish());
                }
                h.add(acc);
            }
        }
    }
    h.finish()
}

fn classes_by_equality<'v>(x: &'v [Value], y: &'v [Value]) -> (Vec<u32>, Vec<u32>) {
    let mut reps: Vec<(u64, &'v Value)> = Vec::with_capacity(x.len() + y.len());
    let mut ids = |s: &'v [Value]| -> Vec<u32> {
        s.iter()
            .map(|v| {
                let h = shallow_hash(v, 1);
                let at = reps
                    .iter()
                    .position(|&(rh, w)| rh == h && w == v)
                    .unwrap_or_else(|| {
                        reps.push((h, v));
                        reps.len() - 1
                    });
                // Class ids start at 1, as in the hashed path.
                u32::try_from(at + 1).unwrap_or(u32::MAX)
            })
            .collect()
    };
    let xa = ids(x);
    let yb = ids(y);
    (xa, yb)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn equal_values_hash_alike_and_classes_follow_equality() {
        let a = json!({"x": [1, "s", null, {"k": 2.5}], "y": true});
        let b = json!({"y": true, "x": [1, "s", null, {"k": 2.5}]});
        assert_eq!(hash_value(&a), hash_value(&b));
        assert_ne!(hash_value(&json!("ab")), hash_value(&json!("ba")));
        assert_ne!(hash_value(&json!([1, 2])), hash_value(&json!([2, 1])));
        assert_eq!(shallow_hash(&a, 1), shallow_hash(&b, 1));
        assert_ne!(
            shallow_hash(&json!({"id": 1}), 1),
            shallow_hash(&json!({"id": 2}), 1)
        );
        let x = [json!(1), json!("a"), json!(1)];
        let y = [json!("a"), json!(2), json!(1)];
        // Both paths: by equality (small) and by hash (large, the same pattern repeated).
        let big_x: Vec<Value> = x.iter().cycle().take(30).cloned().collect();
        let big_y: Vec<Value> = y.iter().cycle().take(30).cloned().collect();
        for (x, y) in [(&x[..], &y[..]), (&big_x[..], &big_y[..])] {
            let (xa, yb) = classes(x, y);
            assert_eq!(xa[0], xa[2]);
            assert_eq!(xa[1], yb[0]);
            assert_eq!(xa[0], yb[2]);
            assert_ne!(yb[1], xa[0]);
            assert_ne!(yb[1], xa[1]);
        }
    }
}
