//! Canonical CBOR primitives: a writer on cbor4ii's low-level encoder, and a strict reader over a
//! byte slice.
//!
//! cbor4ii's low-level encoder (`core::enc`) writes every head in its shortest form (`TypeNum`
//! narrows u64 -> u32 -> u16 -> u8 -> immediate) and only definite lengths unless asked, so the writer
//! uses it; key order and omission of defaults are our job (see `encode.rs`). Its decoder is lenient
//! (trailing bytes, duplicate keys, long forms accepted), so the reader is our own.

use std::cmp::Ordering;
use std::convert::Infallible;

use cbor4ii::core::enc::{self, Encode as _};
use cbor4ii::core::types;

use crate::error::{DecodeError, Error, Limit, Result};
use crate::limits::Limits;

/// A growing buffer for cbor4ii's encoder; writing to memory cannot fail.
pub(crate) struct Writer(pub(crate) Vec<u8>);

impl enc::Write for Writer {
    type Error = Infallible;
    fn push(&mut self, input: &[u8]) -> core::result::Result<(), Infallible> {
        self.0.extend_from_slice(input);
        Ok(())
    }
}

/// Drops cbor4ii's encode result: its only error comes from the writer, which is `Infallible`
/// (the error enum is `#[non_exhaustive]`, so the compiler cannot see that it is uninhabited).
fn done(r: core::result::Result<(), enc::Error<Infallible>>) {
    r.unwrap_or_default();
}

impl Writer {
    pub(crate) fn new() -> Self {
        Self(Vec::with_capacity(256))
    }
    pub(crate) fn uint(&mut self, v: u64) {
        done(v.encode(self));
    }
    /// An integer key or value, positive or negative.
    pub(crate) fn int(&mut self, v: i64) {
        done(v.encode(self));
    }
    pub(crate) fn text(&mut self, s: &str) {
        done(s.encode(self));
    }
    pub(crate) fn bytes(&mut self, b: &[u8]) {
        done(types::Bytes(b).encode(self));
    }
    pub(crate) fn array(&mut self, len: usize) {
        done(types::Array::<()>::bounded(len, self));
    }
    pub(crate) fn map(&mut self, len: usize) {
        done(types::Map::<()>::bounded(len, self));
    }
    pub(crate) fn raw(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b);
    }
}

/// A map key of the schema maps: non-negative (a field) or negative (an extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Key {
    /// A field number.
    Field(u64),
    /// An extension key (a negative integer that fits i64).
    Extension(i64),
}

const MAJOR_NAMES: [&str; 8] = [
    "unsigned integer",
    "negative integer",
    "byte string",
    "text string",
    "array",
    "map",
    "tag",
    "simple value",
];

fn major_name(major: u8) -> &'static str {
    MAJOR_NAMES.get(usize::from(major)).copied().unwrap_or("?")
}

/// A strict reader of canonical CBOR over a slice; every method checks before it allocates.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    pub(crate) limits: &'a Limits,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8], limits: &'a Limits) -> Self {
        Self {
            buf,
            pos: 0,
            limits,
        }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub(crate) fn err(offset: usize, kind: DecodeError) -> Error {
        Error::Decode {
            offset,
            field: String::new(),
            kind,
        }
    }

    pub(crate) fn limit(offset: usize, limit: Limit, count: u64, max: usize) -> Error {
        Error::LimitExceeded {
            offset: Some(offset),
            field: String::new(),
            limit,
            count,
            max: max as u64,
        }
    }

    /// Rejects trailing bytes.
    pub(crate) fn finish(&self) -> Result<()> {
        if self.pos != self.buf.len() {
            return Err(Self::err(
                self.pos,
                DecodeError::TrailingBytes(self.remaining()),
            ));
        }
        Ok(())
    }

    fn take(&mut self, n: u64, start: usize) -> Result<&'a [u8]> {
        let n = usize::try_from(n).map_err(|_| Self::err(start, DecodeError::Truncated))?;
        if n > self.remaining() {
            return Err(Self::err(start, DecodeError::Truncated));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// Reads one head: (major type, argument). Rejects non-shortest arguments, indefinite lengths,
    /// breaks, reserved values and floats. For major 7 the argument is the simple value.
    fn head(&mut self) -> Result<(u8, u64)> {
        let start = self.pos;
        let Some(&ib) = self.buf.get(self.pos) else {
            return Err(Self::err(start, DecodeError::Truncated));
        };
        self.pos += 1;
        let major = ib >> 5;
        let ai = ib & 0x1f;
        if major == 7 && (25..=27).contains(&ai) {
            return Err(Self::err(start, DecodeError::Float));
        }
        let arg = match ai {
            0..=23 => u64::from(ai),
            24 => {
                let v = u64::from(self.take(1, start)?[0]);
                // For simple values, 24..=31 in one byte is not well-formed (RFC 8949 §3.3).
                if v < 24 || (major == 7 && v < 32) {
                    return Err(Self::err(start, DecodeError::NonShortest));
                }
                v
            }
            25 => {
                let b = self.take(2, start)?;
                let v = u64::from(u16::from_be_bytes([b[0], b[1]]));
                if v <= 0xff {
                    return Err(Self::err(start, DecodeError::NonShortest));
                }
                v
            }
            26 => {
                let b = self.take(4, start)?;
                let v = u64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
                if v <= 0xffff {
                    return Err(Self::err(start, DecodeError::NonShortest));
                }
                v
            }
            27 => {
                let b = self.take(8, start)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                let v = u64::from_be_bytes(a);
                if v <= 0xffff_ffff {
                    return Err(Self::err(start, DecodeError::NonShortest));
                }
                v
            }
            28..=30 => return Err(Self::err(start, DecodeError::Reserved(ai))),
            _ => {
                return Err(Self::err(
                    start,
                    match major {
                        7 => DecodeError::UnexpectedBreak,
                        2..=5 => DecodeError::IndefiniteLength,
                        _ => DecodeError::Reserved(ai),
                    },
                ));
            }
        };
        Ok((major, arg))
    }

    fn expect(&mut self, want: u8, expected: &'static str) -> Result<(usize, u64)> {
        let start = self.pos;
        let (major, arg) = self.head()?;
        if major != want {
            return Err(Self::err(
                start,
                DecodeError::WrongType {
                    expected,
                    found: major_name(major),
                },
            ));
        }
        Ok((start, arg))
    }

    pub(crate) fn uint(&mut self) -> Result<u64> {
        Ok(self.expect(0, "unsigned integer")?.1)
    }

    pub(crate) fn u32(&mut self) -> Result<u32> {
        let start = self.pos;
        let v = self.uint()?;
        u32::try_from(v).map_err(|_| Self::err(start, DecodeError::OutOfRange("more than u32")))
    }

    /// A text string of at most `max_string_bytes`, checked before it is read.
    pub(crate) fn text(&mut self) -> Result<&'a str> {
        let (start, len) = self.expect(3, "text string")?;
        if len > self.limits.max_string_bytes as u64 {
            return Err(Self::limit(
                start,
                Limit::StringBytes,
                len,
                self.limits.max_string_bytes,
            ));
        }
        let b = self.take(len, start)?;
        std::str::from_utf8(b).map_err(|_| Self::err(start, DecodeError::InvalidUtf8))
    }

    /// A byte string, bounded only by the input.
    pub(crate) fn bytes(&mut self) -> Result<(usize, &'a [u8])> {
        let (start, len) = self.expect(2, "byte string")?;
        Ok((start, self.take(len, start)?))
    }

    /// An array header; the count is checked against `max` and the bytes left before anyone
    /// allocates for it. Empty arrays are rejected: mandatory lists need an item, optional ones are
    /// omitted when empty (FORMAT.md rule 4).
    pub(crate) fn array(&mut self, limit: Limit, max: usize) -> Result<usize> {
        let (start, n) = self.expect(4, "array")?;
        if n > max as u64 {
            return Err(Self::limit(start, limit, n, max));
        }
        if n == 0 {
            return Err(Self::err(start, DecodeError::OutOfRange("empty list")));
        }
        if n > self.remaining() as u64 {
            return Err(Self::err(start, DecodeError::Truncated));
        }
        Ok(n as usize)
    }

    /// An array header of exactly `n` items (positional records).
    pub(crate) fn record(&mut self, n: u64, expected: &'static str) -> Result<()> {
        let (start, got) = self.expect(4, expected)?;
        if got != n {
            return Err(Self::err(
                start,
                DecodeError::WrongType {
                    expected,
                    found: "array of another length",
                },
            ));
        }
        Ok(())
    }

    /// A map header; returns (offset, number of entries).
    pub(crate) fn map(&mut self) -> Result<(usize, u64)> {
        let (start, n) = self.expect(5, "map")?;
        if n > (self.remaining() / 2) as u64 {
            return Err(Self::err(start, DecodeError::Truncated));
        }
        Ok((start, n))
    }

    /// A schema map key; enforces strictly increasing encoded keys against `prev`.
    pub(crate) fn key(&mut self, prev: &mut Option<(usize, usize)>) -> Result<(usize, Key)> {
        let start = self.pos;
        let (major, arg) = self.head()?;
        let key = match major {
            0 => Key::Field(arg),
            1 => {
                let n = i64::try_from(arg)
                    .map_err(|_| Self::err(start, DecodeError::OutOfRange("extension key")))?;
                Key::Extension(-1 - n)
            }
            m => {
                return Err(Self::err(
                    start,
                    DecodeError::WrongType {
                        expected: "integer key",
                        found: major_name(m),
                    },
                ));
            }
        };
        self.check_order(prev, start)?;
        Ok((start, key))
    }

    fn check_order(&self, prev: &mut Option<(usize, usize)>, start: usize) -> Result<()> {
        let cur = &self.buf[start..self.pos];
        if let Some((ps, pe)) = *prev {
            match self.buf[ps..pe].cmp(cur) {
                Ordering::Less => {}
                Ordering::Equal => return Err(Self::err(start, DecodeError::DuplicateKey)),
                Ordering::Greater => return Err(Self::err(start, DecodeError::UnsortedKey)),
            }
        }
        *prev = Some((start, self.pos));
        Ok(())
    }

    /// Checks one whole item of any type (canonical, no floats, depth within the limit) without
    /// recursion, and returns its bytes. `depth` is the depth of the item itself (1-based).
    pub(crate) fn skip_item(&mut self, depth: usize) -> Result<&'a [u8]> {
        struct Frame {
            remaining: u64,
            is_map: bool,
            index: u64,
            child_start: usize,
            prev_key: Option<(usize, usize)>,
        }
        let begin = self.pos;
        let mut stack: Vec<Frame> = Vec::new();
        loop {
            let start = self.pos;
            if let Some(top) = stack.last_mut() {
                top.child_start = start;
            }
            let (major, arg) = self.head()?;
            let mut container = None;
            match major {
                0 | 1 => {}
                2 => {
                    self.take(arg, start)?;
                }
                3 => {
                    let b = self.take(arg, start)?;
                    if std::str::from_utf8(b).is_err() {
                        return Err(Self::err(start, DecodeError::InvalidUtf8));
                    }
                }
                4..=6 => {
                    let (items, is_map) = match major {
                        4 => (arg, false),
                        5 => (arg.saturating_mul(2), true),
                        _ => (1, false),
                    };
                    if items > self.remaining() as u64 {
                        return Err(Self::err(start, DecodeError::Truncated));
                    }
                    if items > 0 {
                        container = Some((items, is_map));
                    }
                }
                _ => {
                    if !(20..=22).contains(&arg) {
                        return Err(Self::err(start, DecodeError::UnsupportedSimple(arg as u8)));
                    }
                }
            }
            if let Some((items, is_map)) = container {
                // The item at `depth + stack.len()` is a container whose children go one deeper.
                if depth + stack.len() >= self.limits.max_depth {
                    return Err(Error::TooDeep {
                        offset: start,
                        field: String::new(),
                        max: self.limits.max_depth,
                    });
                }
                stack.push(Frame {
                    remaining: items,
                    is_map,
                    index: 0,
                    child_start: self.pos,
                    prev_key: None,
                });
                continue;
            }
            // An item is complete: account for it in its parents, popping finished containers.
            loop {
                let Some(top) = stack.last_mut() else {
                    return Ok(&self.buf[begin..self.pos]);
                };
                if top.is_map && top.index % 2 == 0 {
                    let mut prev = top.prev_key;
                    let child_start = top.child_start;
                    self.check_order(&mut prev, child_start)?;
                    if let Some(top) = stack.last_mut() {
                        top.prev_key = prev;
                    }
                }
                let Some(top) = stack.last_mut() else {
                    return Ok(&self.buf[begin..self.pos]);
                };
                top.index += 1;
                top.remaining -= 1;
                if top.remaining > 0 {
                    break;
                }
                stack.pop();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skip(b: &[u8]) -> Result<()> {
        let l = Limits::default();
        let mut r = Reader::new(b, &l);
        r.skip_item(1)?;
        r.finish()
    }

    #[test]
    fn rejects_each_non_canonical_form() {
        let kind = |b: &[u8]| match skip(b) {
            Err(Error::Decode { kind, .. }) => kind,
            other => panic!("{b:02x?}: {other:?}"),
        };
        assert_eq!(kind(&[0x18, 0x17]), DecodeError::NonShortest);
        assert_eq!(kind(&[0x19, 0x00, 0xff]), DecodeError::NonShortest);
        assert_eq!(kind(&[0x1a, 0, 0, 0xff, 0xff]), DecodeError::NonShortest);
        assert_eq!(
            kind(&[0x1b, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]),
            DecodeError::NonShortest
        );
        assert_eq!(kind(&[0x5f, 0xff]), DecodeError::IndefiniteLength);
        assert_eq!(kind(&[0x9f, 0xff]), DecodeError::IndefiniteLength);
        assert_eq!(kind(&[0xff]), DecodeError::UnexpectedBreak);
        assert_eq!(kind(&[0x1c]), DecodeError::Reserved(28));
        assert_eq!(kind(&[0xf9, 0, 0]), DecodeError::Float);
        assert_eq!(kind(&[0xf7]), DecodeError::UnsupportedSimple(23));
        assert_eq!(kind(&[0xf8, 0x10]), DecodeError::NonShortest);
        assert_eq!(
            kind(&[0xa2, 0x01, 0x00, 0x01, 0x00]),
            DecodeError::DuplicateKey
        );
        assert_eq!(
            kind(&[0xa2, 0x02, 0x00, 0x01, 0x00]),
            DecodeError::UnsortedKey
        );
        // RFC 8949 order is bytewise: 10 (0x0a) < -1 (0x20) < "a" (0x61 0x61) < [0] ...
        assert!(skip(&[0xa3, 0x0a, 0x00, 0x20, 0x00, 0x61, 0x61, 0x00]).is_ok());
        // ... and shorter encodings first: "b" (0x61 0x62) before "aa" (0x62 0x61 0x61).
        assert!(skip(&[0xa2, 0x61, 0x62, 0x00, 0x62, 0x61, 0x61, 0x00]).is_ok());
        assert_eq!(
            kind(&[0xa2, 0x62, 0x61, 0x61, 0x00, 0x61, 0x62, 0x00]),
            DecodeError::UnsortedKey
        );
        assert_eq!(kind(&[0x62, 0xff, 0xfe]), DecodeError::InvalidUtf8);
        assert_eq!(
            kind(&[0x9b, 0x10, 0, 0, 0, 0, 0, 0, 0]),
            DecodeError::Truncated
        );
        assert_eq!(kind(&[0x01, 0x02]), DecodeError::TrailingBytes(1));
    }

    fn hex(s: &str) -> Vec<u8> {
        crate::digest::from_hex(s).unwrap()
    }

    /// RFC 8949 Appendix A: the integer, negative integer, string, array and map encodings of the
    /// forms the encoder emits; each is also read back by the strict reader.
    #[test]
    fn writer_matches_rfc8949_appendix_a() {
        let uints: [(u64, &str); 11] = [
            (0, "00"),
            (1, "01"),
            (10, "0a"),
            (23, "17"),
            (24, "1818"),
            (25, "1819"),
            (100, "1864"),
            (1000, "1903e8"),
            (1_000_000, "1a000f4240"),
            (1_000_000_000_000, "1b000000e8d4a51000"),
            (18_446_744_073_709_551_615, "1bffffffffffffffff"),
        ];
        let l = Limits::default();
        for (v, h) in uints {
            let mut w = Writer::new();
            w.uint(v);
            assert_eq!(w.0, hex(h), "{v}");
            let mut r = Reader::new(&w.0, &l);
            assert_eq!(r.uint().unwrap(), v);
            r.finish().unwrap();
        }
        for (v, h) in [
            (-1i64, "20"),
            (-10, "29"),
            (-100, "3863"),
            (-1000, "3903e7"),
        ] {
            let mut w = Writer::new();
            w.int(v);
            assert_eq!(w.0, hex(h), "{v}");
            let mut r = Reader::new(&w.0, &l);
            let mut prev = None;
            assert_eq!(r.key(&mut prev).unwrap().1, Key::Extension(v));
        }
        for (v, h) in [
            ("", "60"),
            ("a", "6161"),
            ("IETF", "6449455446"),
            ("\u{fc}", "62c3bc"),
        ] {
            let mut w = Writer::new();
            w.text(v);
            assert_eq!(w.0, hex(h), "{v}");
            assert_eq!(Reader::new(&w.0, &l).text().unwrap(), v);
        }
        for (v, h) in [(&[][..], "40"), (&[1, 2, 3, 4][..], "4401020304")] {
            let mut w = Writer::new();
            w.bytes(v);
            assert_eq!(w.0, hex(h));
            assert_eq!(Reader::new(&w.0, &l).bytes().unwrap().1, v);
        }
        // [] , [1, 2, 3], [1, ..., 25] and {} .
        let mut w = Writer::new();
        w.array(0);
        assert_eq!(w.0, hex("80"));
        let mut w = Writer::new();
        w.array(3);
        (1..=3).for_each(|i| w.uint(i));
        assert_eq!(w.0, hex("83010203"));
        let mut w = Writer::new();
        w.array(25);
        (1..=25).for_each(|i| w.uint(i));
        assert_eq!(
            w.0,
            hex("98190102030405060708090a0b0c0d0e0f101112131415161718181819")
        );
        let mut r = Reader::new(&w.0, &l);
        r.skip_item(1).unwrap();
        r.finish().unwrap();
        let mut w = Writer::new();
        w.map(0);
        assert_eq!(w.0, hex("a0"));
        // {1: 2, 3: 4} and {"a": 1, "b": [2, 3]} read back as canonical items.
        for h in ["a201020304", "a26161016162820203"] {
            let b = hex(h);
            let mut r = Reader::new(&b, &l);
            assert_eq!(r.skip_item(1).unwrap(), &b[..]);
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let deep = vec![0x81u8; 1_000_000];
        assert!(matches!(skip(&deep), Err(Error::TooDeep { max: 16, .. })));
        let mut ok = vec![0x81u8; 15];
        ok.push(0x00);
        assert!(skip(&ok).is_ok());
        let mut over = vec![0x81u8; 16];
        over.push(0x00);
        assert!(matches!(skip(&over), Err(Error::TooDeep { .. })));
    }
}
