//! Valid BSDIFF40 patches built from structured input, with the target a stock bspatch would
//! produce computed independently, so that the fuzzer explores the apply and import paths and
//! not the bzip2 framing (a mutated bzip2 stream almost always fails its checksum).
//!
//! Input layout (every field reads as zero past the end):
//! `old_len u16` (mod 4096), `old_seed u8`, `flags u8`, `records u8` (mod 17), that many
//! [`Record`]s, then a pool of bytes that the diff and extra sections take from in order
//! (zeros once it runs out: an add of zeros copies the source).
//!
//! Flags: bit 3 bzip2 level 9 instead of 1. Only when bit 7 is set (so that most inputs stay
//! valid): bit 0 raw positions (add ranges are not clamped into the source and `to` is a signed
//! seek, so some ranges reach outside it); bit 1 the declared new size is off by one; bit 2 a
//! byte follows the extra stream.

use crate::input::{Input, Output, Record, pattern};
use std::io::Write;

/// Copy lengths are reduced modulo this.
const MAX_COPY: u16 = 2048;
/// Source sizes are reduced modulo this.
const MAX_OLD: u16 = 4096;

/// What our classic apply must do with a built patch.
#[derive(Debug, PartialEq, Eq)]
pub enum Expect {
    /// Apply, giving this target.
    Target(Vec<u8>),
    /// Refuse (an add range outside the source, or a wrong declared size).
    Refuse,
    /// Either (trailing bytes after a stream: whether they are noticed is not specified).
    Either,
}

/// The structured description of a classic patch.
#[derive(Clone, Debug, Default)]
pub struct Spec {
    /// Source size (mod 4096).
    pub old_len: u16,
    /// Source pattern seed.
    pub old_seed: u8,
    /// See the module documentation.
    pub flags: u8,
    /// Control triples, before clamping.
    pub records: Vec<Record>,
    /// Diff and extra bytes, in the order the records take them.
    pub pool: Vec<u8>,
}

/// A built patch with its source and expected outcome.
pub struct Built {
    /// The source.
    pub old: Vec<u8>,
    /// The BSDIFF40 patch.
    pub patch: Vec<u8>,
    /// What our apply must do with it.
    pub expect: Expect,
}

impl Spec {
    /// Reads a spec.
    pub fn read(i: &mut Input<'_>) -> Self {
        let old_len = i.u16();
        let old_seed = i.u8();
        let flags = i.u8();
        let n = i.u8() % 17;
        let records = (0..n).map(|_| Record::read(i)).collect();
        Self {
            old_len,
            old_seed,
            flags,
            records,
            pool: i.rest().to_vec(),
        }
    }

    /// Writes the spec as fuzzer input (after any selector byte).
    pub fn write(&self) -> Vec<u8> {
        let mut o = Output::default();
        o.u16(self.old_len).u8(self.old_seed).u8(self.flags);
        o.u8(self.records.len() as u8);
        for r in &self.records {
            r.write(&mut o);
        }
        o.bytes(&self.pool);
        o.0
    }

    /// Builds the patch and, independently of ota-delta, the target bspatch would produce.
    pub fn build(&self) -> Built {
        let old = pattern(usize::from(self.old_len % MAX_OLD), self.old_seed);
        let odd = if self.flags & 0x80 != 0 {
            self.flags
        } else {
            0
        };
        let raw = odd & 1 != 0;
        let mut pool = Input::new(&self.pool);
        let (mut ctrl, mut diff, mut extra, mut new) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut pos = 0i64;
        let mut inside = true;
        let n = old.len() as i64;
        for r in &self.records {
            let (add, seek) = if raw {
                (i64::from(r.add % MAX_OLD), i64::from(r.to as i16))
            } else {
                let add = i64::from(r.add).min(n - pos);
                let next = i64::from(r.to) % (n + 1);
                (add, next - pos - add)
            };
            let copy = usize::from(r.copy % MAX_COPY);
            for v in [add, copy as i64, seek] {
                ctrl.extend_from_slice(&sign_magnitude(v));
            }
            let d = pool.bytes(add as usize);
            // bspatch adds the diff bytes to the source bytes, reading zeros outside it.
            for (k, b) in d.iter().enumerate() {
                let p = pos + k as i64;
                let o = if (0..n).contains(&p) {
                    old[p as usize]
                } else {
                    0
                };
                new.push(o.wrapping_add(*b));
            }
            if add > 0 && (pos < 0 || pos + add > n) {
                inside = false;
            }
            diff.extend_from_slice(&d);
            let e = pool.bytes(copy);
            new.extend_from_slice(&e);
            extra.extend_from_slice(&e);
            pos += add + seek;
        }
        let size_off = odd & 2 != 0;
        let declared = if size_off {
            new.len() as i64 + 1
        } else {
            new.len() as i64
        };
        let level = if self.flags & 8 != 0 { 9 } else { 1 };
        let (c, d, mut e) = (bz(&ctrl, level), bz(&diff, level), bz(&extra, level));
        let trailing = odd & 4 != 0;
        if trailing {
            e.push(0x42);
        }
        let mut patch = b"BSDIFF40".to_vec();
        for v in [c.len() as i64, d.len() as i64, declared] {
            patch.extend_from_slice(&sign_magnitude(v));
        }
        patch.extend_from_slice(&c);
        patch.extend_from_slice(&d);
        patch.extend_from_slice(&e);
        let expect = if !inside || size_off {
            Expect::Refuse
        } else if trailing {
            Expect::Either
        } else {
            Expect::Target(new)
        };
        Built { old, patch, expect }
    }
}

/// bsdiff's `offtout`: sign and magnitude, little-endian.
pub fn sign_magnitude(v: i64) -> [u8; 8] {
    let mut a = v.unsigned_abs().to_le_bytes();
    if v < 0 {
        a[7] |= 0x80;
    }
    a
}

/// One bzip2 stream of `data`.
pub fn bz(data: &[u8], level: u32) -> Vec<u8> {
    let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::new(level));
    // Writing to a Vec cannot fail.
    let _ = e.write_all(data);
    e.finish().unwrap_or_default()
}

/// Whether the source position of a (well-formed) classic patch ever goes negative after a
/// seek. bspatch and our apply allow that as long as no add range reads there; qbsdiff's
/// patcher seeks a `std::io::Cursor`, which refuses a negative position at once.
pub fn seeks_below_zero(patch: &[u8]) -> bool {
    use std::io::Read;
    let Some(len) = patch.get(8..16).map(sign_magnitude_in) else {
        return false;
    };
    let Some(ctrl) = usize::try_from(len)
        .ok()
        .and_then(|l| patch.get(32..32usize.saturating_add(l)))
    else {
        return false;
    };
    let mut triples = Vec::new();
    if bzip2::read::BzDecoder::new(ctrl)
        .read_to_end(&mut triples)
        .is_err()
    {
        return false;
    }
    let mut pos = 0i64;
    for t in triples.chunks_exact(24) {
        let (add, seek) = (sign_magnitude_in(&t[0..8]), sign_magnitude_in(&t[16..24]));
        pos = pos.saturating_add(add).saturating_add(seek);
        if pos < 0 {
            return true;
        }
    }
    false
}

/// bsdiff's `offtin`.
fn sign_magnitude_in(b: &[u8]) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    let neg = a[7] & 0x80 != 0;
    a[7] &= 0x7f;
    let m = i64::from_le_bytes(a);
    if neg { -m } else { m }
}
