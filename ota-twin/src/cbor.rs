//! Compact deterministic CBOR (RFC 8949) for twin documents, patches and JSON values.
//!
//! Written by hand on purpose: cbor4ii's serde output is not canonical and its reader is lenient
//! (see the workspace's DEPENDENCIES.md). The writer follows the core deterministic encoding
//! rules of RFC 8949 section 4.2.1: shortest heads, definite lengths, map keys sorted by their
//! encoded bytes, floats in the shortest of half/single/double that keeps the value. JSON
//! integers become CBOR integers and JSON floats CBOR floats (`1.0` stays a float), so a
//! document decodes to exactly the JSON it came from.
//!
//! The reader is strict and total: it refuses anything the writer would not produce (non-shortest
//! heads or floats, indefinite lengths, unsorted or duplicate keys, tags, byte strings, undefined,
//! NaN/infinity, integers outside i64/u64, trailing bytes), checks every declared length against
//! the bytes left before allocating, and has a recursion limit with its own error.

use std::collections::BTreeMap;

use serde_json::{Map, Number, Value};

use crate::error::{Error, Limit, Result};
use crate::limits::Limits;
use crate::patch::{Operation, Patch};
use crate::pointer::Pointer;
use crate::twin::{Metadata, Twin, map_matches};

/// Recursion limit of [`decode_value`] (serde_json's default for JSON text, too).
pub const MAX_DEPTH: usize = 128;

// Twin document map keys.
const K_VERSION: u64 = 1;
const K_TIMESTAMP: u64 = 2;
const K_DESIRED: u64 = 3;
const K_REPORTED: u64 = 4;
const K_META_DESIRED: u64 = 5;
const K_META_REPORTED: u64 = 6;
const K_CLIENT_TOKEN: u64 = 7;

// Patch operation codes.
const OPS: [&str; 6] = ["add", "remove", "replace", "move", "copy", "test"];

/// Encodes a JSON value as deterministic CBOR.
pub fn encode_value(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write_value(&mut out, v);
    out
}

/// Decodes CBOR written by [`encode_value`] (strictly: see the module docs).
///
/// # Errors
/// [`Error::Cbor`] with the byte offset, [`Error::CborTooDeep`].
pub fn decode_value(bytes: &[u8]) -> Result<Value> {
    let mut r = Reader { b: bytes, pos: 0 };
    let v = r.value(MAX_DEPTH)?;
    r.finish()?;
    Ok(v)
}

impl Patch {
    /// Compact CBOR: an array of `[code, path, value-or-from]` arrays, `code` 0..=5 for
    /// add, remove, replace, move, copy, test (`remove` has no third element).
    pub fn to_cbor(&self) -> Vec<u8> {
        let mut out = Vec::new();
        head(&mut out, 4, self.len() as u64);
        for op in self.operations() {
            let code = OPS.iter().position(|n| *n == op.name()).unwrap_or(0) as u64;
            let n = if matches!(op, Operation::Remove { .. }) {
                2
            } else {
                3
            };
            head(&mut out, 4, n);
            head(&mut out, 0, code);
            text(&mut out, &op.path().to_string());
            match op {
                Operation::Add { value, .. }
                | Operation::Replace { value, .. }
                | Operation::Test { value, .. } => write_value(&mut out, value),
                Operation::Move { from, .. } | Operation::Copy { from, .. } => {
                    text(&mut out, &from.to_string());
                }
                Operation::Remove { .. } => {}
            }
        }
        out
    }

    /// Decodes [`Patch::to_cbor`] output under `limits` (input size, operation count).
    ///
    /// # Errors
    /// [`Error::Cbor`], [`Error::CborTooDeep`], [`Error::LimitExceeded`].
    pub fn from_cbor(bytes: &[u8], limits: &Limits) -> Result<Patch> {
        limits.check_input(bytes.len())?;
        let mut r = Reader { b: bytes, pos: 0 };
        let n = r.array_len()?;
        if n > limits.patch_operations {
            return Err(Error::LimitExceeded {
                limit: Limit::PatchOperations,
                pointer: String::new(),
                actual: n,
                max: limits.patch_operations,
            });
        }
        let mut ops = Vec::with_capacity(n);
        for _ in 0..n {
            let at = r.pos;
            let len = r.array_len()?;
            let code = r.uint()?;
            let path = r.pointer()?;
            let want = if code == 1 { 2 } else { 3 };
            if len != want {
                return Err(cbor(at, "wrong number of elements in a patch operation"));
            }
            ops.push(match code {
                0 => Operation::Add {
                    path,
                    value: r.value(MAX_DEPTH)?,
                },
                1 => Operation::Remove { path },
                2 => Operation::Replace {
                    path,
                    value: r.value(MAX_DEPTH)?,
                },
                3 => Operation::Move {
                    from: r.pointer()?,
                    path,
                },
                4 => Operation::Copy {
                    from: r.pointer()?,
                    path,
                },
                5 => Operation::Test {
                    path,
                    value: r.value(MAX_DEPTH)?,
                },
                _ => return Err(cbor(at, "unknown patch operation code")),
            });
        }
        r.finish()?;
        Ok(Patch::new(ops))
    }
}

impl Twin {
    /// Compact deterministic CBOR: a map with small integer keys (1 version, 2 timestamp,
    /// 3 desired, 4 reported, 5/6 their metadata with plain integers as leaf timestamps,
    /// 7 client token). Holds the same information as [`Twin::to_json`].
    pub fn to_cbor(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let n = 2
            + 2 * u64::from(self.desired.is_some())
            + 2 * u64::from(self.reported.is_some())
            + u64::from(self.client_token.is_some());
        head(&mut out, 5, n);
        head(&mut out, 0, K_VERSION);
        head(&mut out, 0, self.version);
        head(&mut out, 0, K_TIMESTAMP);
        head(&mut out, 0, self.timestamp);
        if let Some(d) = &self.desired {
            head(&mut out, 0, K_DESIRED);
            write_map(&mut out, d);
        }
        if let Some(r) = &self.reported {
            head(&mut out, 0, K_REPORTED);
            write_map(&mut out, r);
        }
        if self.desired.is_some() {
            head(&mut out, 0, K_META_DESIRED);
            write_meta_map(&mut out, &self.meta_desired);
        }
        if self.reported.is_some() {
            head(&mut out, 0, K_META_REPORTED);
            write_meta_map(&mut out, &self.meta_reported);
        }
        if let Some(t) = &self.client_token {
            head(&mut out, 0, K_CLIENT_TOKEN);
            text(&mut out, t);
        }
        out
    }

    /// Decodes [`Twin::to_cbor`] output, with the same checks as [`Twin::from_json`].
    ///
    /// # Errors
    /// [`Error::Cbor`], [`Error::CborTooDeep`], [`Error::InvalidDocument`],
    /// [`Error::LimitExceeded`], [`Error::InvalidKey`].
    pub fn from_cbor(bytes: &[u8], limits: Limits) -> Result<Twin> {
        limits.check_input(bytes.len())?;
        let depth = limits.max_depth;
        let mut r = Reader { b: bytes, pos: 0 };
        let n = r.map_len()?;
        let mut twin = Twin::new(limits);
        let mut last_key = 0u64;
        let mut seen_version = false;
        let mut seen_timestamp = false;
        let mut meta_d = None;
        let mut meta_r = None;
        for _ in 0..n {
            let at = r.pos;
            let key = r.uint()?;
            if key <= last_key {
                return Err(cbor(at, "twin map keys must be increasing"));
            }
            last_key = key;
            match key {
                K_VERSION => {
                    twin.version = r.uint()?;
                    seen_version = true;
                }
                K_TIMESTAMP => {
                    twin.timestamp = r.uint()?;
                    seen_timestamp = true;
                }
                K_DESIRED => twin.desired = Some(r.section(depth)?),
                K_REPORTED => twin.reported = Some(r.section(depth)?),
                K_META_DESIRED => meta_d = Some(r.meta_map(depth)?),
                K_META_REPORTED => meta_r = Some(r.meta_map(depth)?),
                K_CLIENT_TOKEN => {
                    let t = r.text()?;
                    twin.limits.check_client_token(&t)?;
                    twin.client_token = Some(t);
                }
                _ => return Err(cbor(at, "unknown twin map key")),
            }
        }
        r.finish()?;
        // Both are always written, so a document without them is not canonical.
        for (seen, pointer) in [(seen_version, "/version"), (seen_timestamp, "/timestamp")] {
            if !seen {
                return Err(Error::InvalidDocument {
                    pointer: pointer.into(),
                    reason: "missing",
                });
            }
        }
        for (name, state, meta, slot) in [
            ("desired", &twin.desired, meta_d, &mut twin.meta_desired),
            ("reported", &twin.reported, meta_r, &mut twin.meta_reported),
        ] {
            match (state, meta) {
                (None, None) => {}
                (Some(s), Some(m)) if map_matches(&m, s) => *slot = m,
                _ => {
                    return Err(Error::InvalidDocument {
                        pointer: format!("/metadata/{name}"),
                        reason: "metadata does not match the state",
                    });
                }
            }
        }
        for (name, s) in [("desired", &twin.desired), ("reported", &twin.reported)] {
            if let Some(s) = s {
                let mut p = Pointer::from_tokens(["state", name]);
                crate::document::no_nulls(s, &mut p, 1, twin.limits.max_depth)?;
            }
        }
        twin.limits
            .check_state(twin.desired.as_ref(), twin.reported.as_ref())?;
        Ok(twin)
    }
}

fn head(out: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    if n < 24 {
        out.push(m | n as u8);
    } else if n <= 0xff {
        out.push(m | 24);
        out.push(n as u8);
    } else if n <= 0xffff {
        out.push(m | 25);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else if n <= 0xffff_ffff {
        out.push(m | 26);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(m | 27);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn text(out: &mut Vec<u8>, s: &str) {
    head(out, 3, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn write_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.push(0xf6),
        Value::Bool(false) => out.push(0xf4),
        Value::Bool(true) => out.push(0xf5),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => text(out, s),
        Value::Array(a) => {
            head(out, 4, a.len() as u64);
            for e in a {
                write_value(out, e);
            }
        }
        Value::Object(m) => write_map(out, m),
    }
}

fn write_number(out: &mut Vec<u8>, n: &Number) {
    if let Some(u) = n.as_u64() {
        head(out, 0, u);
    } else if let Some(i) = n.as_i64() {
        // i < 0 here: CBOR stores -1 - i.
        head(out, 1, !(i as u64));
    } else if let Some(f) = n.as_f64() {
        write_float(out, f);
    }
}

fn write_float(out: &mut Vec<u8>, f: f64) {
    if let Some(h) = f64_to_f16_exact(f) {
        out.push(0xf9);
        out.extend_from_slice(&h.to_be_bytes());
    } else if f64::from(f as f32) == f {
        out.push(0xfa);
        out.extend_from_slice(&(f as f32).to_be_bytes());
    } else {
        out.push(0xfb);
        out.extend_from_slice(&f.to_be_bytes());
    }
}

/// Keys sorted by their encoded bytes (RFC 8949 4.2.1): shorter strings first, then bytewise.
fn sorted_keys<'m, V>(keys: impl Iterator<Item = (&'m String, V)>) -> Vec<(&'m String, V)> {
    let mut k: Vec<_> = keys.collect();
    k.sort_by(|a, b| (a.0.len(), a.0.as_bytes()).cmp(&(b.0.len(), b.0.as_bytes())));
    k
}

fn write_map(out: &mut Vec<u8>, m: &Map<String, Value>) {
    head(out, 5, m.len() as u64);
    for (k, v) in sorted_keys(m.iter()) {
        text(out, k);
        write_value(out, v);
    }
}

fn write_meta_map(out: &mut Vec<u8>, m: &BTreeMap<String, Metadata>) {
    head(out, 5, m.len() as u64);
    for (k, v) in sorted_keys(m.iter()) {
        text(out, k);
        match v {
            Metadata::Leaf(t) => head(out, 0, *t),
            Metadata::Node(n) => write_meta_map(out, n),
        }
    }
}

/// Half precision, when it holds `f` exactly.
fn f64_to_f16_exact(f: f64) -> Option<u16> {
    let s = f as f32;
    if f64::from(s) != f || !f.is_finite() {
        return None;
    }
    let bits = s.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let exp = ((bits >> 23) & 0xff) as i32;
    let mant = bits & 0x7f_ffff;
    if exp == 0 {
        // Zero (f32 subnormals are far below half precision).
        return (mant == 0).then_some(sign);
    }
    let e = exp - 127;
    if (-14..=15).contains(&e) {
        if mant & 0x1fff != 0 {
            return None;
        }
        return Some(sign | (((e + 15) as u16) << 10) | (mant >> 13) as u16);
    }
    if (-24..=-15).contains(&e) {
        let full = mant | 0x80_0000;
        let shift = (-e - 1) as u32;
        if full & ((1u32 << shift) - 1) != 0 {
            return None;
        }
        return Some(sign | (full >> shift) as u16);
    }
    None
}

fn f16_to_f64(h: u16) -> Option<f64> {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((h >> 10) & 0x1f);
    let mant = f64::from(h & 0x3ff);
    match exp {
        0 => Some(sign * mant * 2f64.powi(-24)),
        31 => None,
        _ => Some(sign * (1024.0 + mant) * 2f64.powi(exp - 25)),
    }
}

fn cbor(offset: usize, reason: &'static str) -> Error {
    Error::Cbor { offset, reason }
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8> {
        let v = *self
            .b
            .get(self.pos)
            .ok_or(cbor(self.pos, "unexpected end of input"))?;
        self.pos += 1;
        Ok(v)
    }

    fn take(&mut self, n: usize) -> Result<&[u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.b.len())
            .ok_or(cbor(self.pos, "length runs past the end of input"))?;
        let s = &self.b[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn left(&self) -> usize {
        self.b.len() - self.pos
    }

    fn finish(&self) -> Result<()> {
        if self.pos != self.b.len() {
            return Err(cbor(self.pos, "trailing bytes"));
        }
        Ok(())
    }

    /// Reads a head; returns (major, additional info, argument, offset of the head).
    fn head(&mut self) -> Result<(u8, u8, u64, usize)> {
        let at = self.pos;
        let ib = self.byte()?;
        let major = ib >> 5;
        let ai = ib & 0x1f;
        if major == 7 {
            // Simple values and floats: the argument is the raw bits.
            let arg = match ai {
                25 => u64::from(u16::from_be_bytes([self.byte()?, self.byte()?])),
                26 => {
                    let s = self.take(4)?;
                    u64::from(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
                }
                27 => {
                    let s = self.take(8)?;
                    let mut a = [0u8; 8];
                    a.copy_from_slice(s);
                    u64::from_be_bytes(a)
                }
                _ => 0,
            };
            return Ok((7, ai, arg, at));
        }
        let arg = match ai {
            0..=23 => u64::from(ai),
            24 => {
                let v = u64::from(self.byte()?);
                if v < 24 {
                    return Err(cbor(at, "integer head not in shortest form"));
                }
                v
            }
            25 => {
                let v = u64::from(u16::from_be_bytes([self.byte()?, self.byte()?]));
                if v <= 0xff {
                    return Err(cbor(at, "integer head not in shortest form"));
                }
                v
            }
            26 => {
                let s = self.take(4)?;
                let v = u64::from(u32::from_be_bytes([s[0], s[1], s[2], s[3]]));
                if v <= 0xffff {
                    return Err(cbor(at, "integer head not in shortest form"));
                }
                v
            }
            27 => {
                let s = self.take(8)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(s);
                let v = u64::from_be_bytes(a);
                if v <= 0xffff_ffff {
                    return Err(cbor(at, "integer head not in shortest form"));
                }
                v
            }
            31 => return Err(cbor(at, "indefinite lengths are not allowed")),
            _ => return Err(cbor(at, "reserved additional information")),
        };
        Ok((major, ai, arg, at))
    }

    fn uint(&mut self) -> Result<u64> {
        let (major, _, arg, at) = self.head()?;
        if major != 0 {
            return Err(cbor(at, "expected an unsigned integer"));
        }
        Ok(arg)
    }

    /// A length checked against the bytes left (`per_item` bytes at least per item).
    fn len_of(&mut self, want: u8, what: &'static str, per_item: usize) -> Result<usize> {
        let (major, _, arg, at) = self.head()?;
        if major != want {
            return Err(cbor(at, what));
        }
        let n = usize::try_from(arg).map_err(|_| cbor(at, "length too large"))?;
        if n.saturating_mul(per_item) > self.left() {
            return Err(cbor(at, "length runs past the end of input"));
        }
        Ok(n)
    }

    fn array_len(&mut self) -> Result<usize> {
        self.len_of(4, "expected an array", 1)
    }

    fn map_len(&mut self) -> Result<usize> {
        self.len_of(5, "expected a map", 2)
    }

    fn text(&mut self) -> Result<String> {
        let at = self.pos;
        let n = self.len_of(3, "expected a text string", 1)?;
        let s = self.take(n)?;
        core::str::from_utf8(s)
            .map(str::to_owned)
            .map_err(|_| cbor(at, "invalid UTF-8 in text string"))
    }

    fn pointer(&mut self) -> Result<Pointer> {
        let at = self.pos;
        let s = self.text()?;
        Pointer::parse(&s).map_err(|_| cbor(at, "invalid JSON pointer"))
    }

    fn value(&mut self, depth: usize) -> Result<Value> {
        let (major, ai, arg, at) = self.head()?;
        match major {
            0 => Ok(Value::from(arg)),
            1 => {
                let n = i64::try_from(arg).map_err(|_| cbor(at, "negative integer below i64"))?;
                Ok(Value::from(-1 - n))
            }
            2 => Err(cbor(at, "byte strings have no JSON equivalent")),
            3 => {
                self.pos = at;
                Ok(Value::String(self.text()?))
            }
            4 => {
                if depth == 0 {
                    return Err(Error::CborTooDeep {
                        offset: at,
                        max: MAX_DEPTH,
                    });
                }
                self.pos = at;
                let n = self.array_len()?;
                let mut a = Vec::with_capacity(n);
                for _ in 0..n {
                    a.push(self.value(depth - 1)?);
                }
                Ok(Value::Array(a))
            }
            5 => {
                if depth == 0 {
                    return Err(Error::CborTooDeep {
                        offset: at,
                        max: MAX_DEPTH,
                    });
                }
                self.pos = at;
                Ok(Value::Object(self.map_body(depth)?))
            }
            6 => Err(cbor(at, "tags are not allowed")),
            _ => match ai {
                20 => Ok(Value::Bool(false)),
                21 => Ok(Value::Bool(true)),
                22 => Ok(Value::Null),
                25..=27 => {
                    let f = match ai {
                        25 => f16_to_f64(arg as u16),
                        26 => Some(f64::from(f32::from_bits(arg as u32))),
                        _ => Some(f64::from_bits(arg)),
                    }
                    .filter(|f| f.is_finite())
                    .ok_or(cbor(at, "NaN and infinity have no JSON equivalent"))?;
                    let mut shortest = Vec::new();
                    write_float(&mut shortest, f);
                    if shortest.len() != self.pos - at {
                        return Err(cbor(at, "float not in shortest form"));
                    }
                    Number::from_f64(f)
                        .map(Value::Number)
                        .ok_or(cbor(at, "NaN and infinity have no JSON equivalent"))
                }
                _ => Err(cbor(at, "simple value with no JSON equivalent")),
            },
        }
    }

    /// A map with text keys in strictly increasing encoded order (so no duplicates).
    fn map_body(&mut self, depth: usize) -> Result<Map<String, Value>> {
        let n = self.map_len()?;
        let mut m = Map::new();
        let mut prev: Option<(usize, usize)> = None;
        for _ in 0..n {
            let ks = self.pos;
            let k = self.text()?;
            self.check_order(&mut prev, ks)?;
            m.insert(k, self.value(depth - 1)?);
        }
        Ok(m)
    }

    fn check_order(&self, prev: &mut Option<(usize, usize)>, ks: usize) -> Result<()> {
        let cur = &self.b[ks..self.pos];
        if let Some((ps, pe)) = *prev
            && self.b[ps..pe] >= *cur
        {
            return Err(cbor(ks, "map keys not in canonical order, or duplicated"));
        }
        *prev = Some((ks, self.pos));
        Ok(())
    }

    /// A twin section: a map whose nesting (container levels) is at most `depth`.
    fn section(&mut self, depth: usize) -> Result<Map<String, Value>> {
        let at = self.pos;
        let (major, ..) = self.head()?;
        self.pos = at;
        if major != 5 {
            return Err(cbor(at, "a section must be a map"));
        }
        if depth == 0 {
            return Err(Error::CborTooDeep { offset: at, max: 0 });
        }
        self.map_body(depth)
    }

    fn meta_map(&mut self, depth: usize) -> Result<BTreeMap<String, Metadata>> {
        let n = self.map_len()?;
        let mut m = BTreeMap::new();
        let mut prev = None;
        for _ in 0..n {
            let ks = self.pos;
            let k = self.text()?;
            self.check_order(&mut prev, ks)?;
            let at = self.pos;
            let (major, ..) = self.head()?;
            let v = match major {
                0 => {
                    self.pos = at;
                    Metadata::Leaf(self.uint()?)
                }
                5 => {
                    if depth <= 1 {
                        return Err(Error::CborTooDeep {
                            offset: at,
                            max: depth,
                        });
                    }
                    self.pos = at;
                    Metadata::Node(self.meta_map(depth - 1)?)
                }
                _ => return Err(cbor(at, "metadata must be a timestamp or a map")),
            };
            m.insert(k, v);
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// RFC 8949 Appendix A examples that JSON can hold.
    #[test]
    fn rfc8949_appendix_a() {
        let cases: &[(Value, &str)] = &[
            (json!(0), "00"),
            (json!(23), "17"),
            (json!(24), "1818"),
            (json!(100), "1864"),
            (json!(1000), "1903e8"),
            (json!(1000000), "1a000f4240"),
            (json!(1000000000000u64), "1b000000e8d4a51000"),
            (json!(18446744073709551615u64), "1bffffffffffffffff"),
            (json!(-1), "20"),
            (json!(-10), "29"),
            (json!(-100), "3863"),
            (json!(-1000), "3903e7"),
            (json!(0.0), "f90000"),
            (json!(-0.0), "f98000"),
            (json!(1.0), "f93c00"),
            (json!(1.1), "fb3ff199999999999a"),
            (json!(1.5), "f93e00"),
            (json!(65504.0), "f97bff"),
            (json!(100000.0), "fa47c35000"),
            (json!(3.4028234663852886e38), "fa7f7fffff"),
            (json!(1.0e300), "fb7e37e43c8800759c"),
            (json!(5.960464477539063e-8), "f90001"),
            (json!(0.00006103515625), "f90400"),
            (json!(-4.0), "f9c400"),
            (json!(-4.1), "fbc010666666666666"),
            (json!(false), "f4"),
            (json!(true), "f5"),
            (Value::Null, "f6"),
            (json!(""), "60"),
            (json!("a"), "6161"),
            (json!("IETF"), "6449455446"),
            (json!("\"\\"), "62225c"),
            (json!("\u{00fc}"), "62c3bc"),
            (json!("\u{6c34}"), "63e6b0b4"),
            (json!([]), "80"),
            (json!([1, 2, 3]), "83010203"),
            (json!([1, [2, 3], [4, 5]]), "8301820203820405"),
            (json!({}), "a0"),
            (json!({"a": 1, "b": [2, 3]}), "a26161016162820203"),
            (json!(["a", {"b": "c"}]), "826161a161626163"),
            (
                json!({"a": "A", "b": "B", "c": "C", "d": "D", "e": "E"}),
                "a56161614161626142616361436164614461656145",
            ),
        ];
        for (v, hex) in cases {
            let enc = encode_value(v);
            let got: String = enc.iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(&got, hex, "{v}");
            assert_eq!(&decode_value(&enc).unwrap(), v, "{hex}");
        }
    }

    #[test]
    fn canonical_key_order_is_length_first() {
        let enc = encode_value(&json!({"aa": 1, "b": 2, "A": 3}));
        // A, b, aa
        assert_eq!(
            enc,
            [0xa3, 0x61, b'A', 3, 0x61, b'b', 2, 0x62, b'a', b'a', 1]
        );
    }

    fn err(bytes: &[u8]) -> Error {
        decode_value(bytes).unwrap_err()
    }

    /// Negative cases: each is one rule of the strict reader.
    #[test]
    fn strict_reader_refuses() {
        let cbor_at = |e: Error| match e {
            Error::Cbor { offset, .. } => offset,
            other => panic!("{other:?}"),
        };
        assert_eq!(cbor_at(err(&[0x18, 0x17])), 0); // non-shortest int
        assert_eq!(cbor_at(err(&[0x19, 0x00, 0xff])), 0);
        assert_eq!(cbor_at(err(&[0x9f, 0xff])), 0); // indefinite array
        assert_eq!(cbor_at(err(&[0x01, 0x02])), 1); // trailing
        assert_eq!(cbor_at(err(&[0xa2, 0x61, b'b', 1, 0x61, b'a', 2])), 4); // unsorted
        assert_eq!(cbor_at(err(&[0xa2, 0x61, b'a', 1, 0x61, b'a', 2])), 4); // duplicate
        assert_eq!(cbor_at(err(&[0xc0, 0x60])), 0); // tag
        assert_eq!(cbor_at(err(&[0x41, 0x00])), 0); // byte string
        assert_eq!(cbor_at(err(&[0xf7])), 0); // undefined
        assert_eq!(cbor_at(err(&[0xf9, 0x7c, 0x00])), 0); // infinity
        assert_eq!(cbor_at(err(&[0xf9, 0x7e, 0x00])), 0); // NaN
        assert_eq!(cbor_at(err(&[0xfa, 0x3f, 0x80, 0, 0])), 0); // 1.0 not shortest
        assert_eq!(cbor_at(err(&[0x3b, 0x80, 0, 0, 0, 0, 0, 0, 0])), 0); // below i64
        assert_eq!(cbor_at(err(&[0x62, 0xff, 0xfe])), 0); // bad UTF-8
        assert_eq!(cbor_at(err(&[0x9b, 0, 0, 0, 1, 0, 0, 0, 0])), 0); // huge length
        assert_eq!(cbor_at(err(&[0x7a, 0xff, 0xff, 0xff, 0xff])), 0); // huge text
        assert_eq!(cbor_at(err(&[0xa1, 0x01, 0x02])), 1); // int key
        assert_eq!(cbor_at(err(&[])), 0);
        assert_eq!(cbor_at(err(&[0x1c])), 0); // reserved
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let mut deep = vec![0x81u8; 100_000];
        deep.push(0x00);
        assert!(matches!(
            err(&deep),
            Error::CborTooDeep { max: MAX_DEPTH, .. }
        ));
        let mut ok = vec![0x81u8; MAX_DEPTH];
        ok.push(0x00);
        assert!(decode_value(&ok).is_ok());
    }

    #[test]
    fn half_precision_exhaustive() {
        // Every finite half-precision value encodes back to its own two bytes.
        for h in 0u16..=0xffff {
            let Some(f) = f16_to_f64(h) else { continue };
            if f == 0.0 && h & 0x7fff != 0 {
                continue;
            }
            assert_eq!(f64_to_f16_exact(f), Some(h), "{h:#x}");
        }
    }
}
