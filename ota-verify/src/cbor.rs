//! A small, strict CBOR reader and writer (RFC 8949) over caller buffers, with no allocation.
//!
//! Only what COSE envelopes and trust roots need. The reader accepts definite lengths and
//! shortest-form heads only (the "preferred serialization" of RFC 8949 §4.1, which every COSE
//! implementation we tested emits), rejects floats, and reports the byte offset of every error.
//! The writer always emits shortest-form heads, so a value written by it reads back unchanged.

use crate::error::{Error, Result};

/// Major types.
pub(crate) const UINT: u8 = 0;
pub(crate) const NINT: u8 = 1;
pub(crate) const BSTR: u8 = 2;
pub(crate) const TSTR: u8 = 3;
pub(crate) const ARRAY: u8 = 4;
pub(crate) const MAP: u8 = 5;
pub(crate) const TAG: u8 = 6;
pub(crate) const SIMPLE: u8 = 7;

/// The simple value `null`.
const NULL: u8 = 0xf6;

/// How deep [`Reader::skip`] descends into values we do not interpret.
pub(crate) const MAX_DEPTH: usize = 16;

/// A cursor over a borrowed buffer. `base` is the offset of `buf` in the outermost input, so
/// errors from a nested decode (a protected header inside a bstr) point into the real input.
#[derive(Clone)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self {
            buf,
            pos: 0,
            base: 0,
        }
    }

    /// A reader over `buf` that reports offsets as if `buf` started at `base`.
    pub(crate) fn with_base(buf: &'a [u8], base: usize) -> Self {
        Self { buf, pos: 0, base }
    }

    /// Absolute offset of the next byte.
    pub(crate) fn offset(&self) -> usize {
        self.base.saturating_add(self.pos)
    }

    pub(crate) fn err(&self, reason: &'static str) -> Error {
        Error::Malformed {
            offset: self.offset(),
            reason,
        }
    }

    fn err_at(&self, pos: usize, reason: &'static str) -> Error {
        Error::Malformed {
            offset: self.base.saturating_add(pos),
            reason,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// Fails unless every byte was consumed.
    pub(crate) fn finish(&self) -> Result<()> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self.err("trailing bytes after the value"))
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let rest = self.buf.get(self.pos..).unwrap_or(&[]);
        match rest.get(..n) {
            Some(s) => {
                self.pos += n;
                Ok(s)
            }
            None => Err(self.err("truncated input")),
        }
    }

    fn byte(&mut self) -> Result<u8> {
        let b = *self
            .buf
            .get(self.pos)
            .ok_or_else(|| self.err("truncated input"))?;
        self.pos += 1;
        Ok(b)
    }

    /// The major type of the next item, without consuming it.
    pub(crate) fn peek_major(&self) -> Result<u8> {
        self.buf
            .get(self.pos)
            .map(|b| b >> 5)
            .ok_or_else(|| self.err("truncated input"))
    }

    /// True if the next item is `null`.
    pub(crate) fn peek_null(&self) -> bool {
        self.buf.get(self.pos) == Some(&NULL)
    }

    /// Reads an item head: (major type, argument). For major type 7 the argument is the simple
    /// value; floats and reserved encodings are refused.
    pub(crate) fn head(&mut self) -> Result<(u8, u64)> {
        let start = self.pos;
        let ib = self.byte()?;
        let major = ib >> 5;
        let ai = ib & 0x1f;
        let arg = match ai {
            0..=23 => u64::from(ai),
            24 => {
                let v = u64::from(self.byte()?);
                if major == SIMPLE {
                    return Err(self.err_at(start, "two-byte simple values are not accepted"));
                }
                if v < 24 {
                    return Err(self.err_at(start, "non-shortest integer or length"));
                }
                v
            }
            25..=27 => {
                if major == SIMPLE {
                    return Err(self.err_at(start, "floating-point values are not accepted"));
                }
                let n = 1usize << (ai - 24);
                let bytes = self.take(n)?;
                let mut v: u64 = 0;
                for b in bytes {
                    v = (v << 8) | u64::from(*b);
                }
                let min = match n {
                    2 => 0x100,
                    4 => 0x1_0000,
                    _ => 0x1_0000_0000,
                };
                if v < min {
                    return Err(self.err_at(start, "non-shortest integer or length"));
                }
                v
            }
            31 => return Err(self.err_at(start, "indefinite-length items are not accepted")),
            _ => return Err(self.err_at(start, "reserved additional information")),
        };
        Ok((major, arg))
    }

    fn expect_head(&mut self, want: u8, what: &'static str) -> Result<u64> {
        let start = self.pos;
        let (major, arg) = self.head()?;
        if major != want {
            return Err(self.err_at(start, what));
        }
        Ok(arg)
    }

    pub(crate) fn uint(&mut self) -> Result<u64> {
        self.expect_head(UINT, "expected an unsigned integer")
    }

    /// A CBOR integer that fits an `i64`.
    pub(crate) fn int(&mut self) -> Result<i64> {
        let start = self.pos;
        let (major, arg) = self.head()?;
        match major {
            UINT => i64::try_from(arg).map_err(|_| self.err_at(start, "integer out of range")),
            NINT => i64::try_from(arg)
                .map(|a| -1 - a)
                .map_err(|_| self.err_at(start, "integer out of range")),
            _ => Err(self.err_at(start, "expected an integer")),
        }
    }

    fn len_of(&self, start: usize, arg: u64) -> Result<usize> {
        // A declared length longer than what is left is refused before anything is sliced, so a
        // hostile length never drives an allocation or a long loop.
        let left = self.buf.len().saturating_sub(self.pos) as u64;
        if arg > left {
            return Err(self.err_at(start, "declared length exceeds the input"));
        }
        usize::try_from(arg).map_err(|_| self.err_at(start, "declared length exceeds the input"))
    }

    /// A byte string, borrowed from the input. Returns the bytes and their absolute offset.
    pub(crate) fn bstr_at(&mut self) -> Result<(&'a [u8], usize)> {
        let start = self.pos;
        let arg = self.expect_head(BSTR, "expected a byte string")?;
        let len = self.len_of(start, arg)?;
        let at = self.offset();
        Ok((self.take(len)?, at))
    }

    pub(crate) fn bstr(&mut self) -> Result<&'a [u8]> {
        self.bstr_at().map(|(b, _)| b)
    }

    pub(crate) fn tstr(&mut self) -> Result<&'a str> {
        let start = self.pos;
        let arg = self.expect_head(TSTR, "expected a text string")?;
        let len = self.len_of(start, arg)?;
        let bytes = self.take(len)?;
        core::str::from_utf8(bytes).map_err(|_| self.err_at(start, "text string is not UTF-8"))
    }

    /// An array head; the element count is bounded by the bytes left (each element takes at
    /// least one byte), so callers can loop over it safely.
    pub(crate) fn array(&mut self) -> Result<usize> {
        let start = self.pos;
        let arg = self.expect_head(ARRAY, "expected an array")?;
        self.len_of(start, arg)
    }

    /// A map head; the entry count is bounded by the bytes left.
    pub(crate) fn map(&mut self) -> Result<usize> {
        let start = self.pos;
        let arg = self.expect_head(MAP, "expected a map")?;
        let n = self.len_of(start, arg)?;
        // Two items per entry, each at least one byte.
        if n > self.buf.len().saturating_sub(self.pos) / 2 {
            return Err(self.err_at(start, "declared length exceeds the input"));
        }
        Ok(n)
    }

    pub(crate) fn null(&mut self) -> Result<()> {
        let start = self.pos;
        if self.byte()? == NULL {
            Ok(())
        } else {
            Err(self.err_at(start, "expected null"))
        }
    }

    /// If the next item is a tag, consumes it and returns its number.
    pub(crate) fn opt_tag(&mut self) -> Result<Option<u64>> {
        if self.peek_major()? == TAG {
            let (_, tag) = self.head()?;
            Ok(Some(tag))
        } else {
            Ok(None)
        }
    }

    /// Skips one well-formed item of any type, descending at most [`MAX_DEPTH`] levels.
    pub(crate) fn skip(&mut self, depth: usize) -> Result<()> {
        if depth >= MAX_DEPTH {
            return Err(Error::LimitExceeded {
                what: "CBOR nesting depth",
                limit: MAX_DEPTH,
            });
        }
        let start = self.pos;
        let (major, arg) = self.head()?;
        match major {
            UINT | NINT => Ok(()),
            BSTR | TSTR => {
                let len = self.len_of(start, arg)?;
                self.take(len).map(|_| ())
            }
            ARRAY | MAP => {
                let items = self.len_of(start, arg)?;
                let items = if major == MAP {
                    items.saturating_mul(2)
                } else {
                    items
                };
                for _ in 0..items {
                    self.skip(depth + 1)?;
                }
                Ok(())
            }
            TAG => self.skip(depth + 1),
            _ => match arg {
                20..=23 => Ok(()),
                _ => Err(self.err_at(start, "unassigned simple value")),
            },
        }
    }
}

/// Where encoded bytes go: a `Vec`, a caller buffer, a signature verifier, a comparison.
pub(crate) trait Sink {
    fn put(&mut self, bytes: &[u8]) -> Result<()>;
}

#[cfg(feature = "alloc")]
impl Sink for alloc::vec::Vec<u8> {
    fn put(&mut self, bytes: &[u8]) -> Result<()> {
        self.extend_from_slice(bytes);
        Ok(())
    }
}

/// Writes into a caller buffer; fails (and reports the size needed so far) when it is full.
pub(crate) struct SliceSink<'b> {
    pub(crate) buf: &'b mut [u8],
    pub(crate) len: usize,
    pub(crate) overflow: bool,
}

impl Sink for SliceSink<'_> {
    fn put(&mut self, bytes: &[u8]) -> Result<()> {
        let end = self.len.saturating_add(bytes.len());
        match self.buf.get_mut(self.len..end) {
            Some(dst) if !self.overflow => dst.copy_from_slice(bytes),
            _ => self.overflow = true,
        }
        self.len = end;
        Ok(())
    }
}

/// Compares what would be written with an existing encoding, byte by byte, without a buffer.
pub(crate) struct CompareSink<'b> {
    pub(crate) expected: &'b [u8],
    pub(crate) pos: usize,
    pub(crate) equal: bool,
}

impl Sink for CompareSink<'_> {
    fn put(&mut self, bytes: &[u8]) -> Result<()> {
        let end = self.pos.saturating_add(bytes.len());
        if self.expected.get(self.pos..end) != Some(bytes) {
            self.equal = false;
        }
        self.pos = end;
        Ok(())
    }
}

/// Counts bytes only.
pub(crate) struct CountSink(pub(crate) usize);

impl Sink for CountSink {
    fn put(&mut self, bytes: &[u8]) -> Result<()> {
        self.0 = self.0.saturating_add(bytes.len());
        Ok(())
    }
}

/// Writes a shortest-form head.
pub(crate) fn put_head<S: Sink + ?Sized>(s: &mut S, major: u8, arg: u64) -> Result<()> {
    let m = major << 5;
    if arg < 24 {
        s.put(&[m | arg as u8])
    } else if arg <= 0xff {
        s.put(&[m | 24, arg as u8])
    } else if arg <= 0xffff {
        let b = (arg as u16).to_be_bytes();
        s.put(&[m | 25, b[0], b[1]])
    } else if arg <= 0xffff_ffff {
        let b = (arg as u32).to_be_bytes();
        s.put(&[m | 26, b[0], b[1], b[2], b[3]])
    } else {
        s.put(&[m | 27])?;
        s.put(&arg.to_be_bytes())
    }
}

pub(crate) fn put_int<S: Sink + ?Sized>(s: &mut S, v: i64) -> Result<()> {
    if v >= 0 {
        put_head(s, UINT, v.unsigned_abs())
    } else {
        // -1 - v without overflow: for v = i64::MIN this is i64::MAX.
        put_head(s, NINT, (-1 - v) as u64)
    }
}

pub(crate) fn put_bstr<S: Sink + ?Sized>(s: &mut S, b: &[u8]) -> Result<()> {
    put_head(s, BSTR, b.len() as u64)?;
    s.put(b)
}

pub(crate) fn put_tstr<S: Sink + ?Sized>(s: &mut S, t: &str) -> Result<()> {
    put_head(s, TSTR, t.len() as u64)?;
    s.put(t.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_shortest_heads_are_refused() {
        // 0x18 0x05: the value 5 written in two bytes.
        assert!(matches!(
            Reader::new(&[0x18, 0x05]).uint(),
            Err(Error::Malformed { offset: 0, .. })
        ));
        assert!(matches!(
            Reader::new(&[0x19, 0x00, 0xff]).uint(),
            Err(Error::Malformed { .. })
        ));
        assert_eq!(Reader::new(&[0x19, 0x01, 0x00]).uint(), Ok(256));
    }

    #[test]
    fn indefinite_and_floats_are_refused() {
        assert!(Reader::new(&[0x5f, 0x41, 0x00, 0xff]).bstr().is_err());
        assert!(Reader::new(&[0xf9, 0x3c, 0x00]).skip(0).is_err());
    }

    #[test]
    fn huge_declared_length_is_refused_without_allocation() {
        let input = [0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        assert!(matches!(
            Reader::new(&input).bstr(),
            Err(Error::Malformed { offset: 0, .. })
        ));
        let input = [0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        assert!(Reader::new(&input).skip(0).is_err());
    }

    #[test]
    fn deep_nesting_hits_the_depth_limit_not_the_stack() {
        let deep = [0x81u8; 10_000];
        assert!(matches!(
            Reader::new(&deep).skip(0),
            Err(Error::LimitExceeded { .. })
        ));
    }

    #[test]
    fn ints_round_trip_through_writer_and_reader() {
        for v in [
            0i64,
            23,
            24,
            255,
            256,
            65_535,
            65_536,
            u32::MAX as i64,
            i64::MAX,
            -1,
            -24,
            -25,
            -65_537,
            i64::MIN,
        ] {
            let mut buf = [0u8; 16];
            let mut s = SliceSink {
                buf: &mut buf,
                len: 0,
                overflow: false,
            };
            put_int(&mut s, v).unwrap();
            let n = s.len;
            let mut r = Reader::new(&buf[..n]);
            assert_eq!(r.int().unwrap(), v);
            r.finish().unwrap();
        }
    }
}
