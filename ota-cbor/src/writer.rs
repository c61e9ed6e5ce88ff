//! Shortest-form writer helpers over any byte sink (a `Vec`, a caller buffer, a hasher, a
//! comparison), without allocation and without error plumbing: writing cannot fail, a full
//! caller buffer is reported after the fact.

use core::cmp::Ordering;

use crate::float::f64_to_f16_exact;
use crate::item::Major;

/// Where encoded bytes go.
pub trait Sink {
    /// Appends `bytes`.
    fn put(&mut self, bytes: &[u8]);
}

impl<S: Sink + ?Sized> Sink for &mut S {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        (**self).put(bytes);
    }
}

#[cfg(feature = "alloc")]
impl Sink for alloc::vec::Vec<u8> {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// Writes into a caller buffer. When it is too small the bytes past its end are dropped and
/// [`needed`](Self::needed) says how large it must be.
#[derive(Debug)]
pub struct SliceSink<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl<'b> SliceSink<'b> {
    /// An empty sink over `buf`.
    pub fn new(buf: &'b mut [u8]) -> Self {
        Self { buf, len: 0 }
    }

    /// How many bytes were written, or would have been with a large enough buffer.
    pub fn needed(&self) -> usize {
        self.len
    }

    /// The bytes written, if they all fit.
    pub fn written(&self) -> Option<&[u8]> {
        self.buf.get(..self.len)
    }
}

impl Sink for SliceSink<'_> {
    fn put(&mut self, bytes: &[u8]) {
        let end = self.len.saturating_add(bytes.len());
        if let Some(dst) = self.buf.get_mut(self.len..end) {
            dst.copy_from_slice(bytes);
        }
        self.len = end;
    }
}

/// Counts bytes only (the size of an encoding before writing it).
#[derive(Debug, Default, Clone, Copy)]
pub struct CountSink(pub usize);

impl Sink for CountSink {
    fn put(&mut self, bytes: &[u8]) {
        self.0 = self.0.saturating_add(bytes.len());
    }
}

/// Writes a head in its shortest form: `major` with argument `arg` (a value, a length, a count,
/// a tag number).
#[inline]
pub fn write_head<S: Sink + ?Sized>(s: &mut S, major: Major, arg: u64) {
    let m = (major as u8) << 5;
    if arg < 24 {
        s.put(&[m | arg as u8]);
    } else if arg <= 0xff {
        s.put(&[m | 24, arg as u8]);
    } else if arg <= 0xffff {
        let b = (arg as u16).to_be_bytes();
        s.put(&[m | 25, b[0], b[1]]);
    } else if arg <= 0xffff_ffff {
        let b = (arg as u32).to_be_bytes();
        s.put(&[m | 26, b[0], b[1], b[2], b[3]]);
    } else {
        let b = arg.to_be_bytes();
        s.put(&[m | 27, b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
    }
}

/// An unsigned integer.
#[inline]
pub fn write_uint<S: Sink + ?Sized>(s: &mut S, v: u64) {
    write_head(s, Major::Uint, v);
}

/// An integer, positive or negative.
#[inline]
pub fn write_int<S: Sink + ?Sized>(s: &mut S, v: i64) {
    if v >= 0 {
        write_head(s, Major::Uint, v.unsigned_abs());
    } else {
        // -1 - v cannot overflow: for i64::MIN it is i64::MAX.
        write_head(s, Major::Negative, (-1 - v) as u64);
    }
}

/// A byte string.
#[inline]
pub fn write_bytes<S: Sink + ?Sized>(s: &mut S, b: &[u8]) {
    write_head(s, Major::Bytes, b.len() as u64);
    s.put(b);
}

/// A text string.
#[inline]
pub fn write_text<S: Sink + ?Sized>(s: &mut S, t: &str) {
    write_head(s, Major::Text, t.len() as u64);
    s.put(t.as_bytes());
}

/// An array head; `len` items follow.
#[inline]
pub fn write_array<S: Sink + ?Sized>(s: &mut S, len: usize) {
    write_head(s, Major::Array, len as u64);
}

/// A map head; `len` entries follow, keys in [`cmp_text_keys`] / [`cmp_int_keys`] order (or,
/// in general, bytewise order of their encodings).
#[inline]
pub fn write_map<S: Sink + ?Sized>(s: &mut S, len: usize) {
    write_head(s, Major::Map, len as u64);
}

/// A tag head; its content follows.
#[inline]
pub fn write_tag<S: Sink + ?Sized>(s: &mut S, tag: u64) {
    write_head(s, Major::Tag, tag);
}

/// `false` or `true`.
#[inline]
pub fn write_bool<S: Sink + ?Sized>(s: &mut S, b: bool) {
    s.put(&[if b { 0xf5 } else { 0xf4 }]);
}

/// `null`.
#[inline]
pub fn write_null<S: Sink + ?Sized>(s: &mut S) {
    s.put(&[0xf6]);
}

/// A float in the narrowest of half, single and double precision that holds it exactly; NaN as
/// `0xf97e00`.
#[inline]
pub fn write_float<S: Sink + ?Sized>(s: &mut S, f: f64) {
    if let Some(h) = f64_to_f16_exact(f) {
        let b = h.to_be_bytes();
        s.put(&[0xf9, b[0], b[1]]);
    } else if f64::from(f as f32) == f {
        let b = (f as f32).to_be_bytes();
        s.put(&[0xfa, b[0], b[1], b[2], b[3]]);
    } else {
        let b = f.to_be_bytes();
        s.put(&[0xfb, b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
    }
}

/// The deterministic order of two text keys (bytewise on their encodings): shorter first, then
/// bytewise. Sort map entries with it before writing them.
#[inline]
pub fn cmp_text_keys(a: &str, b: &str) -> Ordering {
    (a.len(), a.as_bytes()).cmp(&(b.len(), b.as_bytes()))
}

/// The deterministic order of two integer keys (bytewise on their encodings): `0, 1, 2, ...`
/// then `-1, -2, ...`.
#[inline]
pub fn cmp_int_keys(a: i64, b: i64) -> Ordering {
    match (a >= 0, b >= 0) {
        (true, true) => a.cmp(&b),
        (false, false) => b.cmp(&a),
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(f: impl Fn(&mut SliceSink<'_>)) -> std::vec::Vec<u8> {
        let mut buf = [0u8; 32];
        let mut s = SliceSink::new(&mut buf);
        f(&mut s);
        s.written().unwrap_or_default().to_vec()
    }

    #[test]
    fn key_orders_match_encoded_bytes() {
        let keys = [
            "",
            "a",
            "b",
            "aa",
            "A",
            "zzzzzzzzzzzzzzzzzzzzzzzzz",
            "\u{fc}",
        ];
        for a in keys {
            for b in keys {
                let (ea, eb) = (enc(|s| write_text(s, a)), enc(|s| write_text(s, b)));
                assert_eq!(cmp_text_keys(a, b), ea.cmp(&eb), "{a:?} {b:?}");
            }
        }
        let ints = [
            0i64,
            1,
            23,
            24,
            255,
            256,
            -1,
            -24,
            -25,
            -256,
            -257,
            i64::MIN,
            i64::MAX,
        ];
        for a in ints {
            for b in ints {
                let (ea, eb) = (enc(|s| write_int(s, a)), enc(|s| write_int(s, b)));
                assert_eq!(cmp_int_keys(a, b), ea.cmp(&eb), "{a} {b}");
            }
        }
    }

    #[test]
    fn slice_sink_reports_the_size_needed() {
        let mut buf = [0u8; 2];
        let mut s = SliceSink::new(&mut buf);
        write_text(&mut s, "abc");
        assert_eq!(s.needed(), 4);
        assert_eq!(s.written(), None);
        let mut c = CountSink::default();
        write_uint(&mut c, 1_000_000);
        assert_eq!(c.0, 5);
    }
}
