//! The crate's CBOR glue: `ota-cbor`'s strict reader and shortest-form writer, with the
//! manifest's limits and its errors ([`DecodeError`], [`Limit`]).
//!
//! `ota-cbor` enforces RFC 8949 §4.2.1 (shortest heads, definite lengths, keys in bytewise order
//! without duplicates, no floats); this file only turns its refusals into this crate's errors, in
//! the order the crate has always reported them (a count or text length over its limit before a
//! truncation, for example).

pub(crate) use ota_cbor::Keys;
use ota_cbor::{Config, ErrorKind, Major, Sink, Tags};

use crate::error::{DecodeError, Error, Limit, Result};
use crate::limits::Limits;

/// A map key of the schema maps: non-negative (a field) or negative (an extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Key {
    /// A field number.
    Field(u64),
    /// An extension key (a negative integer that fits i64).
    Extension(i64),
}

/// The names the crate's errors have always used for the major types.
fn major_name(major: Major) -> &'static str {
    match major {
        Major::Simple => "simple value",
        other => other.name(),
    }
}

/// `ota_cbor::Reader` under the manifest's limits, with the crate's errors.
pub(crate) struct Reader<'a> {
    r: ota_cbor::Reader<'a>,
    buf: &'a [u8],
    pub(crate) limits: &'a Limits,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8], limits: &'a Limits) -> Self {
        // Tags may appear in extension values (kept verbatim); the schema itself uses none.
        let config = Config::DETERMINISTIC
            .tags(Tags::Any)
            .max_depth(limits.max_depth);
        Self {
            r: ota_cbor::Reader::new(buf, config),
            buf,
            limits,
        }
    }

    pub(crate) fn pos(&self) -> usize {
        self.r.offset()
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

    /// This crate's error for a refusal of `ota-cbor`.
    #[cold]
    fn convert(&self, e: &ota_cbor::Error) -> Error {
        let offset = e.offset();
        let kind = match *e.kind() {
            ErrorKind::TooDeep { .. } => {
                return Error::TooDeep {
                    offset,
                    field: String::new(),
                    max: self.limits.max_depth,
                };
            }
            ErrorKind::TooLong { len, max } => {
                return Self::limit(offset, Limit::StringBytes, len, max);
            }
            ErrorKind::Truncated => DecodeError::Truncated,
            ErrorKind::TrailingBytes { count } => DecodeError::TrailingBytes(count),
            ErrorKind::NonShortest => DecodeError::NonShortest,
            ErrorKind::IndefiniteLength => DecodeError::IndefiniteLength,
            ErrorKind::UnexpectedBreak => DecodeError::UnexpectedBreak,
            ErrorKind::Reserved { info } => DecodeError::Reserved(info),
            ErrorKind::WrongType { expected, found } => DecodeError::WrongType {
                expected,
                found: major_name(found),
            },
            ErrorKind::UnsortedKey => DecodeError::UnsortedKey,
            ErrorKind::DuplicateKey => DecodeError::DuplicateKey,
            ErrorKind::FloatNotAllowed | ErrorKind::FloatNotShortest | ErrorKind::NonFinite => {
                DecodeError::Float
            }
            ErrorKind::UnsupportedSimple { value } => DecodeError::UnsupportedSimple(value),
            ErrorKind::InvalidUtf8 => DecodeError::InvalidUtf8,
            ErrorKind::OutOfRange { what } => DecodeError::OutOfRange(what),
            ref other => DecodeError::OutOfRange(other.reason()),
        };
        Self::err(offset, kind)
    }

    /// Reads the item at `start` again under `config` (stricter limits than the main reader's)
    /// to report what the crate reports first: a limit before a truncation or bad UTF-8.
    #[cold]
    fn recheck<T>(
        &self,
        start: usize,
        config: Config,
        read: impl FnOnce(&mut ota_cbor::Reader<'a>) -> ota_cbor::Result<T>,
    ) -> Option<ota_cbor::Error> {
        let rest = self.buf.get(start..).unwrap_or(&[]);
        let mut probe = ota_cbor::Reader::new(rest, config).with_base(start);
        read(&mut probe).err()
    }

    /// Rejects trailing bytes.
    pub(crate) fn finish(&self) -> Result<()> {
        self.r.finish().map_err(|e| self.convert(&e))
    }

    pub(crate) fn uint(&mut self) -> Result<u64> {
        let v = self.r.uint();
        v.map_err(|e| self.convert(&e))
    }

    pub(crate) fn u32(&mut self) -> Result<u32> {
        let start = self.pos();
        let v = self.uint()?;
        u32::try_from(v).map_err(|_| Self::err(start, DecodeError::OutOfRange("more than u32")))
    }

    /// Whether the next item is a text string (false at the end of the input: the read that
    /// follows reports the truncation).
    pub(crate) fn next_is_text(&self) -> bool {
        matches!(self.r.peek(), Ok(Major::Text))
    }

    /// A text string of at most `max_string_bytes`.
    pub(crate) fn text(&mut self) -> Result<&'a str> {
        let start = self.pos();
        let max = self.limits.max_string_bytes;
        match self.r.text() {
            Ok(s) if s.len() > max => {
                Err(Self::limit(start, Limit::StringBytes, s.len() as u64, max))
            }
            Ok(s) => Ok(s),
            Err(e) => {
                let config = self.r.config().max_len(max);
                let e = self.recheck(start, config, |p| p.text()).unwrap_or(e);
                Err(self.convert(&e))
            }
        }
    }

    /// A byte string, bounded only by the input, and its offset.
    pub(crate) fn bytes(&mut self) -> Result<(usize, &'a [u8])> {
        let start = self.pos();
        let v = self.r.bytes();
        v.map(|b| (start, b)).map_err(|e| self.convert(&e))
    }

    /// An array header; the count is checked against `max` and the bytes left before anyone
    /// allocates for it. Empty arrays are rejected: mandatory lists need an item, optional ones are
    /// omitted when empty (FORMAT.md rule 4).
    pub(crate) fn array(&mut self, limit: Limit, max: usize) -> Result<usize> {
        let start = self.pos();
        match self.r.array() {
            Ok(n) if n > max => Err(Self::limit(start, limit, n as u64, max)),
            Ok(0) => Err(Self::err(start, DecodeError::OutOfRange("empty list"))),
            Ok(n) => Ok(n),
            Err(e) => {
                let config = self.r.config().max_items(max);
                if let Some(p) = self.recheck(start, config, |p| p.array())
                    && let ErrorKind::TooManyItems { count, .. } = *p.kind()
                {
                    return Err(Self::limit(start, limit, count, max));
                }
                Err(self.convert(&e))
            }
        }
    }

    /// An array header of exactly `n` items (positional records).
    pub(crate) fn record(&mut self, n: u64, expected: &'static str) -> Result<()> {
        let start = self.pos();
        let wrong = |found| Self::err(start, DecodeError::WrongType { expected, found });
        match self.r.array() {
            Ok(got) if got as u64 == n => Ok(()),
            Ok(_) => Err(wrong("array of another length")),
            Err(e) => match *e.kind() {
                ErrorKind::WrongType { found, .. } => Err(wrong(major_name(found))),
                _ => Err(self.convert(&e)),
            },
        }
    }

    /// A map header; returns (offset, number of entries).
    pub(crate) fn map(&mut self) -> Result<(usize, u64)> {
        let start = self.pos();
        let v = self.r.map();
        v.map(|n| (start, n as u64)).map_err(|e| self.convert(&e))
    }

    /// A schema map key (an integer), in order after the previous key of the same map.
    pub(crate) fn key(&mut self, keys: &mut Keys) -> Result<(usize, Key)> {
        let start = self.pos();
        match self.r.key(keys) {
            Ok(ota_cbor::Key::Uint(k)) => Ok((start, Key::Field(k))),
            Ok(k @ ota_cbor::Key::Negative(_)) => match k.as_i64() {
                Some(k) => Ok((start, Key::Extension(k))),
                None => Err(Self::err(start, DecodeError::OutOfRange("extension key"))),
            },
            Ok(_) => Err(self.not_an_integer_key(start)),
            Err(e) => match self.buf.get(start).map(|b| Major::of(*b)) {
                Some(Major::Uint | Major::Negative) | None => Err(self.convert(&e)),
                Some(_) => Err(self.not_an_integer_key(start)),
            },
        }
    }

    /// The error for a key at `start` that is not an integer: a malformed head is reported as
    /// such (as the crate always has), any other key as the wrong type.
    #[cold]
    fn not_an_integer_key(&self, start: usize) -> Error {
        let rest = self.buf.get(start..).unwrap_or(&[]);
        let mut probe = ota_cbor::Reader::new(rest, *self.r.config()).with_base(start);
        if let Err(e) = probe.item()
            && !matches!(e.kind(), ErrorKind::Truncated | ErrorKind::InvalidUtf8)
        {
            return self.convert(&e);
        }
        let found = major_name(self.buf.get(start).map_or(Major::Simple, |b| Major::of(*b)));
        let expected = "integer key";
        Self::err(start, DecodeError::WrongType { expected, found })
    }

    /// Checks one whole item of any type (canonical, no floats, depth within the limit) and
    /// returns its bytes. `depth` is the depth of the item itself (1-based): a container at
    /// `max_depth` or deeper is refused.
    pub(crate) fn skip_item(&mut self, depth: usize) -> Result<&'a [u8]> {
        let v = self.r.skip(depth);
        v.map_err(|e| self.convert(&e))
    }
}

/// The shortest-form writer over any [`Sink`]: a `Vec` to encode, a `CountSink` to measure.
pub(crate) struct Writer<S>(pub(crate) S);

impl<S: Sink> Writer<S> {
    pub(crate) fn uint(&mut self, v: u64) {
        ota_cbor::write_uint(&mut self.0, v);
    }
    /// An integer key or value, positive or negative.
    pub(crate) fn int(&mut self, v: i64) {
        ota_cbor::write_int(&mut self.0, v);
    }
    pub(crate) fn text(&mut self, s: &str) {
        ota_cbor::write_text(&mut self.0, s);
    }
    pub(crate) fn bytes(&mut self, b: &[u8]) {
        ota_cbor::write_bytes(&mut self.0, b);
    }
    /// A byte string written in parts (the concatenated chunk digests, without copying them).
    pub(crate) fn bytes_of<'b>(&mut self, len: usize, parts: impl Iterator<Item = &'b [u8]>) {
        ota_cbor::write_head(&mut self.0, Major::Bytes, len as u64);
        for p in parts {
            self.0.put(p);
        }
    }
    pub(crate) fn array(&mut self, len: usize) {
        ota_cbor::write_array(&mut self.0, len);
    }
    pub(crate) fn map(&mut self, len: usize) {
        ota_cbor::write_map(&mut self.0, len);
    }
    pub(crate) fn raw(&mut self, b: &[u8]) {
        self.0.put(b);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn skip(b: &[u8]) -> Result<()> {
        let l = Limits::default();
        let mut r = Reader::new(b, &l);
        r.skip_item(1)?;
        r.finish()
    }

    #[test]
    fn refusals_keep_the_crate_s_kinds() {
        let kind = |b: &[u8]| match skip(b) {
            Err(Error::Decode { kind, .. }) => kind,
            other => panic!("{b:02x?}: {other:?}"),
        };
        assert_eq!(kind(&[0x18, 0x17]), DecodeError::NonShortest);
        assert_eq!(kind(&[0x5f, 0xff]), DecodeError::IndefiniteLength);
        assert_eq!(kind(&[0xff]), DecodeError::UnexpectedBreak);
        assert_eq!(kind(&[0x1c]), DecodeError::Reserved(28));
        assert_eq!(kind(&[0xf9, 0, 0]), DecodeError::Float);
        assert_eq!(kind(&[0xf7]), DecodeError::UnsupportedSimple(23));
        assert_eq!(
            kind(&[0xa2, 0x01, 0x00, 0x01, 0x00]),
            DecodeError::DuplicateKey
        );
        assert_eq!(
            kind(&[0xa2, 0x02, 0x00, 0x01, 0x00]),
            DecodeError::UnsortedKey
        );
        assert_eq!(kind(&[0x62, 0xff, 0xfe]), DecodeError::InvalidUtf8);
        assert_eq!(kind(&[0x01, 0x02]), DecodeError::TrailingBytes(1));
        // Tags are kept in extension values.
        assert!(skip(&[0xc1, 0x00]).is_ok());
    }

    #[test]
    fn limits_come_before_truncation() {
        let l = Limits {
            max_string_bytes: 4,
            ..Limits::default()
        };
        // "hello" declared, three bytes present: the length limit is what is reported.
        let mut r = Reader::new(&[0x65, b'h', b'e', b'l'], &l);
        assert!(matches!(
            r.text(),
            Err(Error::LimitExceeded {
                limit: Limit::StringBytes,
                count: 5,
                max: 4,
                ..
            })
        ));
        // An array of 200 declared in three bytes, limit 64.
        let mut r = Reader::new(&[0x98, 200, 0x00], &l);
        assert!(matches!(
            r.array(Limit::Components, 64),
            Err(Error::LimitExceeded {
                limit: Limit::Components,
                count: 200,
                ..
            })
        ));
        let mut r = Reader::new(&[0x61, b'a'], &l);
        assert!(matches!(
            r.key(&mut Keys::new()),
            Err(Error::Decode {
                kind: DecodeError::WrongType {
                    expected: "integer key",
                    found: "text string"
                },
                ..
            })
        ));
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
