//! `ota-cbor`'s strict reader with this crate's limits and errors.
//!
//! `ota-cbor` enforces the deterministic encoding (shortest heads, definite lengths, keys in
//! bytewise order without duplicates, floats only where read as floats and then in shortest
//! form); this file turns its refusals into [`DecodeError`]s and checks every count and length
//! against its limit before the caller allocates anything for it.

pub(crate) use ota_cbor::Keys;
use ota_cbor::{Config, ErrorKind, Floats, Major};

use crate::error::{DecodeError, Error, Limit, Result};
use crate::ids::Sha256;

/// The reader's configuration: deterministic, finite floats (read only where the schema has
/// them, health metric values), no tags. The schema nests at most 5 containers.
const CONFIG: Config = Config::DETERMINISTIC.floats(Floats::Finite).max_depth(8);

/// The crate's decode error at `offset`.
pub(crate) fn err(offset: usize, kind: DecodeError) -> Error {
    Error::Decode {
        offset: Some(offset),
        path: String::new(),
        kind,
    }
}

fn limit_err(offset: usize, limit: Limit, count: u64, max: usize) -> Error {
    Error::LimitExceeded {
        offset: Some(offset),
        path: String::new(),
        limit,
        count,
        max: max as u64,
    }
}

/// This crate's error for a refusal of `ota-cbor`.
#[cold]
fn convert(e: &ota_cbor::Error) -> Error {
    let kind = match *e.kind() {
        ErrorKind::Truncated => DecodeError::Truncated,
        ErrorKind::TrailingBytes { count } => DecodeError::TrailingBytes(count),
        ErrorKind::NonShortest => DecodeError::NonCanonical("head not in shortest form"),
        ErrorKind::IndefiniteLength => DecodeError::NonCanonical("indefinite length"),
        ErrorKind::UnsortedKey => DecodeError::NonCanonical("map keys out of order"),
        ErrorKind::DuplicateKey => DecodeError::NonCanonical("duplicate map key"),
        ErrorKind::FloatNotShortest => DecodeError::NonCanonical("float not in shortest form"),
        ErrorKind::NonFinite => DecodeError::NonFinite,
        ErrorKind::WrongType { expected, found } => DecodeError::WrongType {
            expected,
            found: found.name(),
        },
        ErrorKind::TooDeep { .. } => DecodeError::TooDeep,
        ErrorKind::OutOfRange { what } => DecodeError::OutOfRange(what),
        ref other => DecodeError::Malformed(other.reason()),
    };
    err(e.offset(), kind)
}

/// A strict reader over one message.
pub(crate) struct Reader<'a> {
    r: ota_cbor::Reader<'a>,
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self {
            r: ota_cbor::Reader::new(buf, CONFIG),
            buf,
        }
    }

    pub(crate) fn pos(&self) -> usize {
        self.r.offset()
    }

    pub(crate) fn finish(&self) -> Result<()> {
        self.r.finish().map_err(|e| convert(&e))
    }

    pub(crate) fn uint(&mut self) -> Result<u64> {
        self.r.uint().map_err(|e| convert(&e))
    }

    /// An unsigned integer of at most `max`.
    pub(crate) fn uint_max(&mut self, max: u64, what: &'static str) -> Result<u64> {
        let at = self.pos();
        let v = self.uint()?;
        if v > max {
            return Err(err(at, DecodeError::OutOfRange(what)));
        }
        Ok(v)
    }

    pub(crate) fn bool(&mut self) -> Result<bool> {
        self.r.bool().map_err(|e| convert(&e))
    }

    pub(crate) fn float(&mut self) -> Result<f64> {
        self.r.float().map_err(|e| convert(&e))
    }

    /// True (and the null read) if the next item is `null`.
    pub(crate) fn null(&mut self) -> Result<bool> {
        if self.r.peek_null() {
            self.r.null().map_err(|e| convert(&e))?;
            return Ok(true);
        }
        Ok(false)
    }

    /// A text string of at most `max` bytes, checked before it is copied; empty only if
    /// `may_be_empty`.
    pub(crate) fn text(&mut self, limit: Limit, max: usize, may_be_empty: bool) -> Result<String> {
        let at = self.pos();
        let s = match self.r.text() {
            Ok(s) => s,
            Err(e) => {
                return Err(self.recheck(at, CONFIG.max_len(max), limit, max, &e, |p| {
                    p.text().map(|_| ())
                }));
            }
        };
        if s.len() > max {
            return Err(limit_err(at, limit, s.len() as u64, max));
        }
        if s.is_empty() && !may_be_empty {
            return Err(err(at, DecodeError::Empty));
        }
        Ok(s.to_owned())
    }

    /// A borrowed byte string.
    pub(crate) fn bytes(&mut self) -> Result<&'a [u8]> {
        self.r.bytes().map_err(|e| convert(&e))
    }

    /// A borrowed byte string of 1 to `max` bytes.
    pub(crate) fn bytes_max(&mut self, limit: Limit, max: usize) -> Result<&'a [u8]> {
        let at = self.pos();
        let b = match self.r.bytes() {
            Ok(b) => b,
            Err(e) => {
                return Err(self.recheck(at, CONFIG.max_len(max), limit, max, &e, |p| {
                    p.bytes().map(|_| ())
                }));
            }
        };
        if b.len() > max {
            return Err(limit_err(at, limit, b.len() as u64, max));
        }
        if b.is_empty() {
            return Err(err(at, DecodeError::Empty));
        }
        Ok(b)
    }

    pub(crate) fn sha256(&mut self) -> Result<Sha256> {
        let at = self.pos();
        let b = self.bytes()?;
        Sha256::try_from(b).map_err(|_| err(at, DecodeError::BadDigest))
    }

    /// The major type of the next item.
    pub(crate) fn peek(&self) -> Result<Major> {
        self.r.peek().map_err(|e| convert(&e))
    }

    /// An array of at most `max` items (`limit` names the limit), not empty: optional lists
    /// are omitted when empty. The count is checked before anything is allocated for it.
    pub(crate) fn list(&mut self, limit: Limit, max: usize) -> Result<usize> {
        let at = self.pos();
        let n = match self.r.array() {
            Ok(n) => n,
            Err(e) => {
                return Err(
                    self.recheck(at, CONFIG.max_items(max), limit, max, &e, |p| {
                        p.array().map(|_| ())
                    }),
                );
            }
        };
        self.count(at, n, limit, max)
    }

    /// A map of at most `max` entries, not empty (as [`Reader::list`]).
    pub(crate) fn bounded_map(&mut self, limit: Limit, max: usize) -> Result<usize> {
        let at = self.pos();
        let n = match self.r.map() {
            Ok(n) => n,
            Err(e) => {
                return Err(
                    self.recheck(at, CONFIG.max_items(max), limit, max, &e, |p| {
                        p.map().map(|_| ())
                    }),
                );
            }
        };
        self.count(at, n, limit, max)
    }

    fn count(&self, at: usize, n: usize, limit: Limit, max: usize) -> Result<usize> {
        if n > max {
            return Err(limit_err(at, limit, n as u64, max));
        }
        if n == 0 {
            return Err(err(at, DecodeError::EmptyList));
        }
        Ok(n)
    }

    /// The error for a head at `at` that `ota-cbor` refused (`e`): if the same head read under
    /// the field's own limit (`config`) is over that limit, the limit is what is reported (a
    /// count of 2^32 in a short input is over the limit before it is truncated).
    #[cold]
    fn recheck(
        &self,
        at: usize,
        config: Config,
        limit: Limit,
        max: usize,
        e: &ota_cbor::Error,
        read: impl FnOnce(&mut ota_cbor::Reader<'a>) -> ota_cbor::Result<()>,
    ) -> Error {
        let rest = self.buf.get(at..).unwrap_or(&[]);
        let mut probe = ota_cbor::Reader::new(rest, config).with_base(at);
        if let Err(p) = read(&mut probe)
            && let ErrorKind::TooManyItems { count, .. } | ErrorKind::TooLong { len: count, .. } =
                *p.kind()
        {
            return limit_err(at, limit, count, max);
        }
        convert(e)
    }

    /// An array head: its count (checked against the bytes left only).
    pub(crate) fn array_len(&mut self) -> Result<usize> {
        self.r.array().map_err(|e| convert(&e))
    }

    /// An array of exactly `n` items (a positional record).
    pub(crate) fn record(&mut self, n: usize, expected: &'static str) -> Result<()> {
        let at = self.pos();
        let got = self.r.array().map_err(|e| convert(&e))?;
        if got != n {
            let found = "array of another length";
            return Err(err(at, DecodeError::WrongType { expected, found }));
        }
        Ok(())
    }

    /// A map header: (offset, entries).
    pub(crate) fn map(&mut self) -> Result<(usize, usize)> {
        let at = self.pos();
        let n = self.r.map().map_err(|e| convert(&e))?;
        Ok((at, n))
    }

    /// An unsigned integer key, in order after the previous key of the same map: (offset, key).
    pub(crate) fn key(&mut self, keys: &mut Keys) -> Result<(usize, u64)> {
        let at = self.pos();
        match self.r.key(keys) {
            Ok(ota_cbor::Key::Uint(k)) => Ok((at, k)),
            Ok(k @ ota_cbor::Key::Negative(_)) => Err(err(
                at,
                DecodeError::UnknownKey(k.as_i64().unwrap_or(i64::MIN)),
            )),
            Ok(_) => Err(err(
                at,
                DecodeError::WrongType {
                    expected: "unsigned integer key",
                    found: "another type",
                },
            )),
            Err(e) => Err(convert(&e)),
        }
    }

    /// A text key of a map with text keys, in order: (offset, key).
    pub(crate) fn text_key(
        &mut self,
        keys: &mut Keys,
        limit: Limit,
        max: usize,
    ) -> Result<(usize, &'a str)> {
        let at = self.pos();
        let k = self.r.text_key(keys).map_err(|e| convert(&e))?;
        if k.len() > max {
            return Err(limit_err(at, limit, k.len() as u64, max));
        }
        if k.is_empty() {
            return Err(err(at, DecodeError::Empty));
        }
        Ok((at, k))
    }
}
