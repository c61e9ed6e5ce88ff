//! The crate's CBOR glue: `ota-cbor`'s strict reader under the rules COSE needs, with its errors
//! turned into this crate's [`Error::Malformed`] (byte offset and a fixed reason).
//!
//! COSE envelopes come from other encoders too, which write RFC 8949 §4.1 preferred
//! serialization but do not sort map keys: keys are read in any order (duplicate header labels
//! are found by `cose.rs`), any tag may appear in a header value we skip, floats are refused.
//! Trust roots are checked byte for byte against their one canonical encoding (`wire.rs`).

use ota_cbor::{Config, ErrorKind, Item, KeyOrder, Tags};
pub(crate) use ota_cbor::{Major, Sink};

use crate::error::{Error, Result};

/// How many containers may enclose one another in the values we skip.
pub(crate) const MAX_DEPTH: usize = 16;

const CONFIG: Config = Config::DETERMINISTIC
    .key_order(KeyOrder::Unchecked)
    .tags(Tags::Any)
    .undefined(true)
    .max_depth(MAX_DEPTH);

/// `ota_cbor::Reader` with this crate's errors. `buf` and `base` are kept to word the errors as
/// before (a truncated head against a declared length past the end).
#[derive(Clone)]
pub(crate) struct Reader<'a> {
    r: ota_cbor::Reader<'a>,
    buf: &'a [u8],
    base: usize,
    /// Position in `buf` of the item [`item`](Self::item) read last (for a type mismatch).
    last: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self::with_base(buf, 0)
    }

    /// A reader over `buf` that reports offsets as if `buf` started at `base`.
    pub(crate) fn with_base(buf: &'a [u8], base: usize) -> Self {
        Self {
            r: ota_cbor::Reader::new(buf, CONFIG).with_base(base),
            buf,
            base,
            last: 0,
        }
    }

    /// Absolute offset of the next byte.
    pub(crate) fn offset(&self) -> usize {
        self.r.offset()
    }

    pub(crate) fn err(&self, reason: &'static str) -> Error {
        Error::Malformed {
            offset: self.offset(),
            reason,
        }
    }

    /// Fails unless every byte was consumed.
    pub(crate) fn finish(&self) -> Result<()> {
        self.r.finish().map_err(|e| self.convert(&e))
    }

    /// The major type of the next item, without consuming it.
    pub(crate) fn peek_major(&self) -> Result<Major> {
        self.r.peek().map_err(|e| self.convert(&e))
    }

    /// True if the next item is `null`.
    pub(crate) fn peek_null(&self) -> bool {
        self.r.peek_null()
    }

    /// The next item head (a string with its bytes) under every rule of [`CONFIG`]. The typed
    /// reads below take their type from it, as the crate's former `expect_head` did: one call
    /// into `ota-cbor` for all of them keeps the no_std image small (`ota-cbor`'s own typed
    /// reads each inline a fast path), and a type mismatch gets this crate's wording here.
    #[cfg_attr(target_pointer_width = "64", inline)]
    fn item(&mut self) -> Result<Item<'a>> {
        self.last = self.r.position();
        match self.r.item() {
            Ok(item) => Ok(item),
            Err(e) => Err(self.convert(&e)),
        }
    }

    /// The error for an item of another type than `expected` (the one `item` read last).
    /// Out of line on 32-bit targets (smaller), inline on 64-bit ones (faster: the reads keep
    /// their registers).
    #[cold]
    #[cfg_attr(not(target_pointer_width = "64"), inline(never))]
    fn wrong(&self, expected: &'static str) -> Error {
        malformed(self.base.saturating_add(self.last), expected)
    }

    pub(crate) fn uint(&mut self) -> Result<u64> {
        match self.item()? {
            Item::Uint(v) => Ok(v),
            _ => Err(self.wrong("expected an unsigned integer")),
        }
    }

    /// A CBOR integer that fits an `i64`.
    pub(crate) fn int(&mut self) -> Result<i64> {
        let v = match self.item()? {
            Item::Uint(v) => i64::try_from(v).ok(),
            Item::Negative(n) => i64::try_from(n).ok().map(|n| -1 - n),
            _ => return Err(self.wrong("expected an integer")),
        };
        v.ok_or_else(|| self.wrong("integer out of range"))
    }

    /// A byte string, borrowed from the input, and its absolute offset.
    pub(crate) fn bstr_at(&mut self) -> Result<(&'a [u8], usize)> {
        let b = self.bstr()?;
        Ok((b, self.offset() - b.len()))
    }

    pub(crate) fn bstr(&mut self) -> Result<&'a [u8]> {
        match self.item()? {
            Item::Bytes(b) => Ok(b),
            _ => Err(self.wrong("expected a byte string")),
        }
    }

    pub(crate) fn tstr(&mut self) -> Result<&'a str> {
        match self.item()? {
            Item::Text(s) => Ok(s),
            _ => Err(self.wrong("expected a text string")),
        }
    }

    /// An array head; the count is bounded by the bytes left (each element takes a byte).
    pub(crate) fn array(&mut self) -> Result<usize> {
        match self.item()? {
            Item::Array(n) => Ok(n),
            _ => Err(self.wrong("expected an array")),
        }
    }

    /// A map head; the entry count is bounded by the bytes left.
    pub(crate) fn map(&mut self) -> Result<usize> {
        match self.item()? {
            Item::Map(n) => Ok(n),
            _ => Err(self.wrong("expected a map")),
        }
    }

    pub(crate) fn null(&mut self) -> Result<()> {
        match self.item()? {
            Item::Null => Ok(()),
            _ => Err(self.wrong("expected null")),
        }
    }

    /// If the next item is a tag, consumes it and returns its number.
    pub(crate) fn opt_tag(&mut self) -> Result<Option<u64>> {
        if self.peek_major()? != Major::Tag {
            return Ok(None);
        }
        match self.item()? {
            Item::Tag(t) => Ok(Some(t)),
            _ => Err(self.wrong("expected a tag")),
        }
    }

    /// Skips one well-formed item of any type; `depth` containers enclose it.
    pub(crate) fn skip(&mut self, depth: usize) -> Result<()> {
        let v = self.r.skip(depth);
        v.map(|_| ()).map_err(|e| self.convert(&e))
    }

    /// This crate's error for a refusal of the reader, worded as the crate always has.
    #[cold]
    fn convert(&self, e: &ota_cbor::Error) -> Error {
        let offset = e.offset();
        let pos = offset.saturating_sub(self.base);
        let first = self.buf.get(pos).copied();
        let reason = match *e.kind() {
            ErrorKind::TooDeep { .. } => {
                return Error::LimitExceeded {
                    what: "CBOR nesting depth",
                    limit: MAX_DEPTH,
                };
            }
            ErrorKind::Truncated => {
                let Some(ib) = first else {
                    return malformed(offset, "truncated input");
                };
                let arg_len = match ib & 0x1f {
                    ai @ 24..=27 => 1usize << (ai - 24),
                    _ => 0,
                };
                if pos + 1 + arg_len > self.buf.len() {
                    // The head itself is cut short: the offset is that of its argument.
                    return malformed(offset + 1, "truncated input");
                }
                "declared length exceeds the input"
            }
            ErrorKind::NonShortest | ErrorKind::UnsupportedSimple { .. } if first == Some(0xf8) => {
                "two-byte simple values are not accepted"
            }
            ErrorKind::NonShortest => "non-shortest integer or length",
            ErrorKind::UnsupportedSimple { .. } => "unassigned simple value",
            ErrorKind::TrailingBytes { .. } => "trailing bytes after the value",
            ErrorKind::IndefiniteLength | ErrorKind::UnexpectedBreak => {
                "indefinite-length items are not accepted"
            }
            ErrorKind::FloatNotAllowed => "floating-point values are not accepted",
            ErrorKind::InvalidUtf8 => "text string is not UTF-8",
            ErrorKind::Reserved { .. } => "reserved additional information",
            // Not produced under this crate's configuration (keys unchecked, any tag, no float
            // feature, no length limits), by `item` and `skip` (`WrongType`, `OutOfRange`) nor by
            // `ota-cbor` itself (`Invalid`); a fixed wording
            // instead of `ErrorKind::reason`, whose strings would all be linked in.
            _ => "malformed CBOR",
        };
        malformed(offset, reason)
    }
}

#[cold]
fn malformed(offset: usize, reason: &'static str) -> Error {
    Error::Malformed { offset, reason }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn refusals_keep_their_offsets_and_words() {
        let m = |offset, reason| Error::Malformed { offset, reason };
        assert_eq!(
            Reader::new(&[0x18, 0x05]).uint().unwrap_err(),
            m(0, "non-shortest integer or length")
        );
        assert_eq!(Reader::new(&[0x19, 0x01, 0x00]).uint(), Ok(256));
        // A head cut inside its argument, and a length past the end.
        assert_eq!(
            Reader::new(&[0x19, 0x01]).uint().unwrap_err(),
            m(1, "truncated input")
        );
        assert_eq!(
            Reader::new(&[]).uint().unwrap_err(),
            m(0, "truncated input")
        );
        let huge = [0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        assert_eq!(
            Reader::new(&huge).bstr().unwrap_err(),
            m(0, "declared length exceeds the input")
        );
        assert_eq!(
            Reader::new(&[0x5f, 0x41, 0x00, 0xff]).bstr().unwrap_err(),
            m(0, "indefinite-length items are not accepted")
        );
        assert_eq!(
            Reader::new(&[0xf9, 0x3c, 0x00]).skip(0).unwrap_err(),
            m(0, "floating-point values are not accepted")
        );
        assert_eq!(
            Reader::new(&[0xf8, 0x20]).skip(0).unwrap_err(),
            m(0, "two-byte simple values are not accepted")
        );
        assert_eq!(
            Reader::new(&[0x01]).tstr().unwrap_err(),
            m(0, "expected a text string")
        );
        // Offsets are absolute when the reader starts inside an outer input.
        assert_eq!(
            Reader::with_base(&[0x00, 0x01], 7).finish().unwrap_err(),
            m(7, "trailing bytes after the value")
        );
        assert!(Reader::with_base(&[0x40], 3).bstr_at() == Ok((&[][..], 4)));
        // Type mismatches and ranges are worded here: at the item's absolute offset.
        let mut r = Reader::with_base(&[0x00, 0x61, 0x61], 5);
        assert_eq!(r.uint(), Ok(0));
        assert_eq!(r.bstr().unwrap_err(), m(6, "expected a byte string"));
        let big = [0x1b, 0x80, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            Reader::new(&big).int().unwrap_err(),
            m(0, "integer out of range")
        );
        assert_eq!(
            Reader::new(&[0x3b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).int(),
            Ok(i64::MIN)
        );
        assert_eq!(
            Reader::new(&[0xf6]).uint().unwrap_err(),
            m(0, "expected an unsigned integer")
        );
        assert_eq!(
            Reader::new(&[0x80]).map().unwrap_err(),
            m(0, "expected a map")
        );
        assert_eq!(
            Reader::new(&[0xa0]).array().unwrap_err(),
            m(0, "expected an array")
        );
        assert_eq!(
            Reader::new(&[0x00]).null().unwrap_err(),
            m(0, "expected null")
        );
        assert_eq!(Reader::new(&[0xc1, 0x00]).opt_tag(), Ok(Some(1)));
        assert_eq!(Reader::new(&[0x00]).opt_tag(), Ok(None));
    }

    #[test]
    fn deep_nesting_hits_the_depth_limit_not_the_stack() {
        let deep = [0x81u8; 10_000];
        assert!(matches!(
            Reader::new(&deep).skip(0),
            Err(Error::LimitExceeded { .. })
        ));
    }
}
