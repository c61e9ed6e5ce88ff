//! `ota_cbor::Reader` under the manifest's limits, with the view's errors: the same refusals, in
//! the same order, at the same offsets as the std decoder's reader (`src/cbor.rs`), without
//! allocating. The differential tests (`tests/view.rs`) and the `manifest_view` fuzz target hold
//! the two to that.

use ota_cbor::{Config, ErrorKind, Keys, Major, Tags};

use super::error::{ViewError, ViewErrorKind as K};
use crate::limits::{Limit, Limits};

pub(crate) type Result<T> = core::result::Result<T, ViewError>;

/// A schema map key: a field number or an extension (a negative key).
pub(crate) enum Key {
    Field(u64),
    Extension,
}

#[derive(Debug, Clone)]
pub(crate) struct Reader<'a, 'l> {
    r: ota_cbor::Reader<'a>,
    buf: &'a [u8],
    pub(crate) limits: &'l Limits,
}

pub(crate) fn err(offset: usize, kind: K) -> ViewError {
    ViewError { offset, kind }
}

pub(crate) fn limit(offset: usize, limit: Limit, count: u64) -> ViewError {
    err(offset, K::Limit { limit, count })
}

/// The reader's configuration: tags may appear in extension values, the schema uses none.
pub(crate) fn config(limits: &Limits) -> Config {
    Config::DETERMINISTIC
        .tags(Tags::Any)
        .max_depth(limits.max_depth)
}

#[cold]
fn convert(e: &ota_cbor::Error) -> ViewError {
    let kind = match *e.kind() {
        ErrorKind::TooDeep { .. } => K::TooDeep,
        ErrorKind::TooLong { len, .. } => K::Limit {
            limit: Limit::StringBytes,
            count: len,
        },
        ErrorKind::Truncated => K::Truncated,
        ErrorKind::TrailingBytes { count } => K::TrailingBytes(count),
        ErrorKind::NonShortest => K::NonShortest,
        ErrorKind::IndefiniteLength => K::IndefiniteLength,
        ErrorKind::UnexpectedBreak => K::UnexpectedBreak,
        ErrorKind::Reserved { info } => K::Reserved(info),
        ErrorKind::WrongType { .. } => K::WrongType,
        ErrorKind::UnsortedKey => K::UnsortedKey,
        ErrorKind::DuplicateKey => K::DuplicateKey,
        ErrorKind::FloatNotAllowed | ErrorKind::FloatNotShortest | ErrorKind::NonFinite => K::Float,
        ErrorKind::UnsupportedSimple { value } => K::UnsupportedSimple(value),
        ErrorKind::InvalidUtf8 => K::InvalidUtf8,
        _ => K::OutOfRange,
    };
    err(e.offset(), kind)
}

impl<'a, 'l> Reader<'a, 'l> {
    pub(crate) fn new(buf: &'a [u8], limits: &'l Limits) -> Self {
        Self {
            r: ota_cbor::Reader::new(buf, config(limits)),
            buf,
            limits,
        }
    }

    pub(crate) fn pos(&self) -> usize {
        self.r.offset()
    }

    /// The input from `start` to the current position.
    pub(crate) fn since(&self, start: usize) -> &'a [u8] {
        self.buf.get(start..self.pos()).unwrap_or(&[])
    }

    /// Reads the item at `start` again under `config` to report a limit before a truncation.
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

    pub(crate) fn finish(&self) -> Result<()> {
        self.r.finish().map_err(|e| convert(&e))
    }

    pub(crate) fn uint(&mut self) -> Result<u64> {
        self.r.uint().map_err(|e| convert(&e))
    }

    pub(crate) fn u32(&mut self) -> Result<u32> {
        let start = self.pos();
        let v = self.uint()?;
        u32::try_from(v).map_err(|_| err(start, K::OutOfRange))
    }

    /// A text string of at most `max_string_bytes`.
    pub(crate) fn text(&mut self) -> Result<&'a str> {
        let start = self.pos();
        let max = self.limits.max_string_bytes;
        match self.r.text() {
            Ok(s) if s.len() > max => Err(limit(start, Limit::StringBytes, s.len() as u64)),
            Ok(s) => Ok(s),
            Err(e) => {
                let config = self.r.config().max_len(max);
                let e = self.recheck(start, config, |p| p.text()).unwrap_or(e);
                Err(convert(&e))
            }
        }
    }

    /// A byte string and its offset.
    pub(crate) fn bytes(&mut self) -> Result<(usize, &'a [u8])> {
        let start = self.pos();
        let v = self.r.bytes();
        v.map(|b| (start, b)).map_err(|e| convert(&e))
    }

    /// A non-empty array header of at most `max` items.
    pub(crate) fn array(&mut self, which: Limit, max: usize) -> Result<usize> {
        let start = self.pos();
        match self.r.array() {
            Ok(n) if n > max => Err(limit(start, which, n as u64)),
            Ok(0) => Err(err(start, K::OutOfRange)),
            Ok(n) => Ok(n),
            Err(e) => {
                let config = self.r.config().max_items(max);
                if let Some(p) = self.recheck(start, config, |p| p.array())
                    && let ErrorKind::TooManyItems { count, .. } = *p.kind()
                {
                    return Err(limit(start, which, count));
                }
                Err(convert(&e))
            }
        }
    }

    /// An array header of exactly `n` items (a positional record).
    pub(crate) fn record(&mut self, n: usize) -> Result<()> {
        let start = self.pos();
        match self.r.array() {
            Ok(got) if got == n => Ok(()),
            Ok(_) => Err(err(start, K::WrongType)),
            Err(e) => match *e.kind() {
                ErrorKind::WrongType { .. } => Err(err(start, K::WrongType)),
                _ => Err(convert(&e)),
            },
        }
    }

    /// A map header: its offset and number of entries.
    pub(crate) fn map(&mut self) -> Result<(usize, usize)> {
        let start = self.pos();
        let v = self.r.map();
        v.map(|n| (start, n)).map_err(|e| convert(&e))
    }

    /// A schema map key (an integer) after the previous key of the same map.
    pub(crate) fn key(&mut self, keys: &mut Keys) -> Result<(usize, Key)> {
        let start = self.pos();
        match self.r.key(keys) {
            Ok(ota_cbor::Key::Uint(k)) => Ok((start, Key::Field(k))),
            Ok(k @ ota_cbor::Key::Negative(_)) => match k.as_i64() {
                Some(_) => Ok((start, Key::Extension)),
                None => Err(err(start, K::OutOfRange)),
            },
            Ok(_) => Err(self.not_an_integer_key(start)),
            Err(e) => match self.buf.get(start).map(|b| Major::of(*b)) {
                Some(Major::Uint | Major::Negative) | None => Err(convert(&e)),
                Some(_) => Err(self.not_an_integer_key(start)),
            },
        }
    }

    /// A key that is not an integer: a malformed head is reported as such, else the wrong type.
    #[cold]
    fn not_an_integer_key(&self, start: usize) -> ViewError {
        let rest = self.buf.get(start..).unwrap_or(&[]);
        let mut probe = ota_cbor::Reader::new(rest, *self.r.config()).with_base(start);
        if let Err(e) = probe.item()
            && !matches!(e.kind(), ErrorKind::Truncated | ErrorKind::InvalidUtf8)
        {
            return convert(&e);
        }
        err(start, K::WrongType)
    }

    /// One whole canonical item of any type at nesting `depth` (1-based).
    pub(crate) fn skip_item(&mut self, depth: usize) -> Result<&'a [u8]> {
        self.r.skip(depth).map_err(|e| convert(&e))
    }
}
