//! The strict reader: a cursor over borrowed bytes that refuses anything not deterministic.

use crate::config::Config;
#[cfg(feature = "float")]
use crate::config::Floats;
use crate::error::{Error, ErrorKind, Fault, Result};

/// The reader's internal result: the compact [`Fault`] instead of the public [`Error`].
type Fallible<T> = core::result::Result<T, Fault>;
#[cfg(feature = "float")]
use crate::float::{f16_to_f64, shortest_width};
use crate::item::{Item, Major};

mod keys;
mod skip;

pub use keys::Keys;
pub use skip::validate;

/// A strict reader over a borrowed buffer. It never allocates and never panics; every error names
/// the byte offset of the item at fault.
///
/// Read item by item ([`item`](Self::item), [`uint`](Self::uint), [`text`](Self::text),
/// [`map`](Self::map) with [`key`](Self::key), ...) to decode a schema, or check a whole item at
/// once with [`skip`](Self::skip). Counts and lengths are checked against the configured limits
/// and the bytes left before they are returned, so a caller may size a buffer by them.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
    config: Config,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`.
    #[inline]
    pub const fn new(buf: &'a [u8], config: Config) -> Self {
        Self {
            buf,
            pos: 0,
            base: 0,
            config,
        }
    }

    /// The same reader reporting offsets as if `buf` started at `base` in an outer input (for an
    /// item nested in a byte string, like a COSE protected header).
    #[must_use]
    #[inline]
    pub const fn with_base(mut self, base: usize) -> Self {
        self.base = base;
        self
    }

    /// The rules and limits in force.
    #[inline]
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Absolute offset of the next byte (`base` + position).
    #[inline]
    pub fn offset(&self) -> usize {
        self.base.saturating_add(self.pos)
    }

    /// Position of the next byte in `buf`.
    #[inline]
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The bytes not read yet.
    #[inline]
    pub fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }

    /// True when every byte was read.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// An error at the absolute offset of position `pos` of `buf`.
    #[inline]
    pub fn error_at(&self, pos: usize, kind: ErrorKind) -> Error {
        Error::new(self.base.saturating_add(pos), kind)
    }

    /// Succeeds only when every byte was read.
    ///
    /// # Errors
    /// [`ErrorKind::TrailingBytes`].
    pub fn finish(&self) -> Result<()> {
        let count = self.rest().len();
        if count == 0 {
            Ok(())
        } else {
            Err(self.error_at(self.pos, ErrorKind::TrailingBytes { count }))
        }
    }

    /// The major type of the next item, without reading it.
    ///
    /// # Errors
    /// [`ErrorKind::Truncated`] at the end of the input.
    #[inline]
    pub fn peek(&self) -> Result<Major> {
        match self.buf.get(self.pos) {
            Some(b) => Ok(Major::of(*b)),
            None => Err(self.error_at(self.pos, ErrorKind::Truncated)),
        }
    }

    /// True if the next item is `null`.
    #[inline]
    pub fn peek_null(&self) -> bool {
        self.buf.get(self.pos) == Some(&0xf6)
    }

    /// A fault at the absolute offset of position `pos` of `buf` (the compact internal error).
    #[inline]
    fn fault(&self, pos: usize, kind: ErrorKind) -> Fault {
        Fault {
            offset: self.base.saturating_add(pos),
            kind,
        }
    }

    /// The major type of the next byte, if any.
    #[inline]
    fn next_major(&self) -> Option<Major> {
        self.buf.get(self.pos).map(|b| Major::of(*b))
    }

    #[inline]
    fn take(&mut self, n: u64, start: usize) -> Fallible<&'a [u8]> {
        let left = self.buf.len() - self.pos.min(self.buf.len());
        let n = match usize::try_from(n) {
            Ok(n) if n <= left => n,
            _ => return Err(self.fault(start, ErrorKind::Truncated)),
        };
        let s = self
            .buf
            .get(self.pos..self.pos + n)
            .ok_or_else(|| self.fault(start, ErrorKind::Truncated))?;
        self.pos += n;
        Ok(s)
    }

    #[inline]
    fn left(&self) -> u64 {
        self.rest().len() as u64
    }

    /// Reads a head: (major, additional information, argument). The argument is checked for the
    /// shortest form except for floats (major 7, 25-27), whose argument is the raw bits.
    #[inline]
    fn head(&mut self) -> Fallible<(Major, u8, u64)> {
        let start = self.pos;
        let Some(&ib) = self.buf.get(start) else {
            return Err(self.fault(start, ErrorKind::Truncated));
        };
        let major = Major::of(ib);
        let ai = ib & 0x1f;
        if ai < 24 {
            self.pos += 1;
            return Ok((major, ai, u64::from(ai)));
        }
        self.long_head(start, major, ai)
    }

    /// The rest of [`head`](Self::head) for a head with an argument of 1 to 8 bytes, or an error.
    fn long_head(&mut self, start: usize, major: Major, ai: u8) -> Fallible<(Major, u8, u64)> {
        let at = start + 1;
        let (arg, min, width) = match ai {
            24 => (self.buf.get(at).map(|b| u64::from(*b)), 24, 1),
            25 => (
                self.be::<2>(at).map(|b| u64::from(u16::from_be_bytes(b))),
                0x100,
                2,
            ),
            26 => (
                self.be::<4>(at).map(|b| u64::from(u32::from_be_bytes(b))),
                0x1_0000,
                4,
            ),
            27 => (self.be::<8>(at).map(u64::from_be_bytes), 0x1_0000_0000, 8),
            28..=30 => return Err(self.fault(start, ErrorKind::Reserved { info: ai })),
            _ => {
                let kind = match major {
                    Major::Simple => ErrorKind::UnexpectedBreak,
                    Major::Bytes | Major::Text | Major::Array | Major::Map => {
                        ErrorKind::IndefiniteLength
                    }
                    _ => ErrorKind::Reserved { info: ai },
                };
                return Err(self.fault(start, kind));
            }
        };
        let Some(arg) = arg else {
            return Err(self.fault(start, ErrorKind::Truncated));
        };
        self.pos = at + width;
        let float = major == Major::Simple && ai >= 25;
        // One-byte simple values below 32 are not well-formed (RFC 8949 §3.3): non-shortest.
        let min = if major == Major::Simple && ai == 24 {
            32
        } else {
            min
        };
        if !float && arg < min {
            return Err(self.fault(start, ErrorKind::NonShortest));
        }
        Ok((major, ai, arg))
    }

    /// `N` bytes at `at`, if the input holds them.
    #[inline]
    fn be<const N: usize>(&self, at: usize) -> Option<[u8; N]> {
        self.buf
            .get(at..at.checked_add(N)?)
            .and_then(|s| <[u8; N]>::try_from(s).ok())
    }

    /// The bytes of a string whose head (at `start`, argument `len`) was just read.
    #[inline]
    fn string(&mut self, start: usize, len: u64) -> Fallible<&'a [u8]> {
        if len > self.config.max_len as u64 {
            let max = self.config.max_len;
            return Err(self.fault(start, ErrorKind::TooLong { len, max }));
        }
        self.take(len, start)
    }

    /// A text string whose head was just read, checked to be UTF-8.
    #[inline]
    fn text_body(&mut self, start: usize, len: u64) -> Fallible<&'a str> {
        let b = self.string(start, len)?;
        core::str::from_utf8(b).map_err(|_| self.fault(start, ErrorKind::InvalidUtf8))
    }

    /// The count of an array or map whose head was just read, checked against the limit and the
    /// bytes left (each item takes one byte at least, so the caller may allocate for it).
    #[inline]
    fn count(&self, start: usize, count: u64, per: u64) -> Fallible<usize> {
        if count > self.config.max_items as u64 {
            let max = self.config.max_items;
            return Err(self.fault(start, ErrorKind::TooManyItems { count, max }));
        }
        if count.saturating_mul(per) > self.left() {
            return Err(self.fault(start, ErrorKind::Truncated));
        }
        Ok(count as usize)
    }

    /// Reads one item head (and a string's bytes) under the configuration's rules.
    ///
    /// # Errors
    /// Any [`ErrorKind`] of a single head: truncation, non-shortest forms, indefinite lengths,
    /// reserved values, disallowed floats, tags and simple values, invalid UTF-8, length and count
    /// limits.
    #[inline]
    pub fn item(&mut self) -> Result<Item<'a>> {
        self.item_inner().map_err(Error::from)
    }

    #[cfg_attr(target_pointer_width = "64", inline)]
    fn item_inner(&mut self) -> Fallible<Item<'a>> {
        let start = self.pos;
        let (major, ai, arg) = self.head()?;
        Ok(match major {
            Major::Uint => Item::Uint(arg),
            Major::Negative => Item::Negative(arg),
            Major::Bytes => Item::Bytes(self.string(start, arg)?),
            Major::Text => Item::Text(self.text_body(start, arg)?),
            Major::Array => Item::Array(self.count(start, arg, 1)?),
            Major::Map => Item::Map(self.count(start, arg, 2)?),
            Major::Tag => {
                if !self.config.tags.allows(arg) {
                    return Err(self.fault(start, ErrorKind::TagNotAllowed { tag: arg }));
                }
                Item::Tag(arg)
            }
            Major::Simple => match ai {
                20 => Item::Bool(false),
                21 => Item::Bool(true),
                22 => Item::Null,
                23 if self.config.undefined => Item::Undefined,
                25..=27 => Item::Float(self.float_bits(start, ai, arg)?),
                _ => {
                    let value = arg as u8;
                    return Err(self.fault(start, ErrorKind::UnsupportedSimple { value }));
                }
            },
        })
    }

    /// Without the `float` feature every float is refused, whatever the configuration: the
    /// checks below need soft-float code on targets without a double-precision unit.
    #[cfg(not(feature = "float"))]
    #[inline]
    fn float_bits(&self, start: usize, _ai: u8, _bits: u64) -> Fallible<f64> {
        Err(self.fault(start, ErrorKind::FloatNotAllowed))
    }

    #[cfg(feature = "float")]
    fn float_bits(&self, start: usize, ai: u8, bits: u64) -> Fallible<f64> {
        if self.config.floats == Floats::Refuse {
            return Err(self.fault(start, ErrorKind::FloatNotAllowed));
        }
        let (f, width) = match ai {
            25 => (f16_to_f64(bits as u16), 2),
            26 => (f64::from(f32::from_bits(bits as u32)), 4),
            _ => (f64::from_bits(bits), 8),
        };
        let kind = match self.config.floats {
            Floats::Refuse => Some(ErrorKind::FloatNotAllowed),
            Floats::Finite if !f.is_finite() => Some(ErrorKind::NonFinite),
            // The one deterministic NaN is 0xf97e00: any other payload or width is refused.
            _ if f.is_nan() && !(width == 2 && bits == 0x7e00) => Some(ErrorKind::FloatNotShortest),
            _ if shortest_width(f) != width => Some(ErrorKind::FloatNotShortest),
            _ => None,
        };
        match kind {
            Some(kind) => Err(self.fault(start, kind)),
            None => Ok(f),
        }
    }

    /// The slow path of the typed reads, when the next item is not of the type asked for (or
    /// may not be): the item's own error if it is malformed, else [`ErrorKind::WrongType`]. A
    /// matching item is returned (the typed read then takes its value).
    #[cold]
    #[inline(never)]
    fn expect(&mut self, expected: &'static str, ok: fn(&Item<'a>) -> bool) -> Fallible<Item<'a>> {
        let start = self.pos;
        let item = self.item_inner()?;
        if ok(&item) {
            Ok(item)
        } else {
            let found = item.major();
            Err(self.fault(start, ErrorKind::WrongType { expected, found }))
        }
    }

    #[inline]
    fn uint_inner(&mut self) -> Fallible<u64> {
        if self.next_major() == Some(Major::Uint) {
            return self.head().map(|(_, _, v)| v);
        }
        match self.expect("unsigned integer", |i| matches!(i, Item::Uint(_)))? {
            Item::Uint(v) => Ok(v),
            _ => Err(self.fault(self.pos, ErrorKind::Truncated)),
        }
    }

    /// An unsigned integer.
    ///
    /// # Errors
    /// [`ErrorKind::WrongType`] for another type, or any error of [`item`](Self::item).
    #[inline]
    pub fn uint(&mut self) -> Result<u64> {
        self.uint_inner().map_err(Error::from)
    }

    /// An integer, positive or negative, that fits an `i64`.
    ///
    /// # Errors
    /// [`ErrorKind::WrongType`], [`ErrorKind::OutOfRange`], or any error of [`item`](Self::item).
    #[inline]
    pub fn int(&mut self) -> Result<i64> {
        self.int_inner().map_err(Error::from)
    }

    #[inline]
    fn int_inner(&mut self) -> Fallible<i64> {
        let start = self.pos;
        let v = match self.next_major() {
            Some(Major::Uint) => i64::try_from(self.head()?.2).ok(),
            Some(Major::Negative) => i64::try_from(self.head()?.2).ok().map(|n| -1 - n),
            _ => match self.expect("integer", |i| {
                matches!(i, Item::Uint(_) | Item::Negative(_))
            })? {
                Item::Uint(v) => i64::try_from(v).ok(),
                Item::Negative(n) => i64::try_from(n).ok().map(|n| -1 - n),
                _ => None,
            },
        };
        v.ok_or_else(|| self.fault(start, ErrorKind::OutOfRange { what: "i64" }))
    }

    /// A byte string, borrowed.
    ///
    /// # Errors
    /// [`ErrorKind::WrongType`], [`ErrorKind::TooLong`], or any error of [`item`](Self::item).
    #[inline]
    pub fn bytes(&mut self) -> Result<&'a [u8]> {
        self.bytes_inner().map_err(Error::from)
    }

    #[inline]
    fn bytes_inner(&mut self) -> Fallible<&'a [u8]> {
        let start = self.pos;
        if self.next_major() == Some(Major::Bytes) {
            let (_, _, len) = self.head()?;
            return self.string(start, len);
        }
        match self.expect("byte string", |i| matches!(i, Item::Bytes(_)))? {
            Item::Bytes(b) => Ok(b),
            _ => Ok(&[]),
        }
    }

    /// A text string, borrowed and checked to be UTF-8.
    ///
    /// # Errors
    /// [`ErrorKind::WrongType`], [`ErrorKind::TooLong`], [`ErrorKind::InvalidUtf8`], or any error
    /// of [`item`](Self::item).
    #[inline]
    pub fn text(&mut self) -> Result<&'a str> {
        self.text_inner().map_err(Error::from)
    }

    #[inline]
    fn text_inner(&mut self) -> Fallible<&'a str> {
        let start = self.pos;
        if self.next_major() == Some(Major::Text) {
            let (_, _, len) = self.head()?;
            return self.text_body(start, len);
        }
        match self.expect("text string", |i| matches!(i, Item::Text(_)))? {
            Item::Text(s) => Ok(s),
            _ => Ok(""),
        }
    }

    /// An array head: the number of items that follow (within the limits and the input).
    ///
    /// # Errors
    /// [`ErrorKind::WrongType`], [`ErrorKind::TooManyItems`], [`ErrorKind::Truncated`].
    #[inline]
    pub fn array(&mut self) -> Result<usize> {
        self.container(Major::Array).map_err(Error::from)
    }

    /// A map head: the number of entries that follow. Read each key with [`key`](Self::key).
    ///
    /// # Errors
    /// [`ErrorKind::WrongType`], [`ErrorKind::TooManyItems`], [`ErrorKind::Truncated`].
    #[inline]
    pub fn map(&mut self) -> Result<usize> {
        self.container(Major::Map).map_err(Error::from)
    }

    // Always inlined: `array` and `map` each get the copy for their major type.
    #[inline(always)]
    fn container(&mut self, major: Major) -> Fallible<usize> {
        let start = self.pos;
        let per = if major == Major::Map { 2 } else { 1 };
        if self.next_major() == Some(major) {
            let (_, _, n) = self.head()?;
            return self.count(start, n, per);
        }
        let item = if major == Major::Map {
            self.expect("map", |i| matches!(i, Item::Map(_)))?
        } else {
            self.expect("array", |i| matches!(i, Item::Array(_)))?
        };
        match item {
            Item::Array(n) | Item::Map(n) => Ok(n),
            _ => Ok(0),
        }
    }

    /// A tag number (allowed by the configuration); its content follows.
    ///
    /// # Errors
    /// [`ErrorKind::WrongType`], [`ErrorKind::TagNotAllowed`].
    #[inline]
    pub fn tag(&mut self) -> Result<u64> {
        let start = self.pos;
        if self.next_major() == Some(Major::Tag) {
            let (_, _, tag) = self.head()?;
            if self.config.tags.allows(tag) {
                return Ok(tag);
            }
            return Err(self.error_at(start, ErrorKind::TagNotAllowed { tag }));
        }
        match self.expect("tag", |i| matches!(i, Item::Tag(_)))? {
            Item::Tag(t) => Ok(t),
            _ => Ok(0),
        }
    }

    /// The tag number if the next item is a tag, else nothing is read.
    ///
    /// # Errors
    /// [`ErrorKind::TagNotAllowed`], or a malformed tag head.
    pub fn opt_tag(&mut self) -> Result<Option<u64>> {
        if self.peek()? == Major::Tag {
            self.tag().map(Some)
        } else {
            Ok(None)
        }
    }

    /// `false` or `true`.
    ///
    /// # Errors
    /// [`ErrorKind::WrongType`], or any error of [`item`](Self::item).
    #[inline]
    pub fn bool(&mut self) -> Result<bool> {
        match self.buf.get(self.pos) {
            Some(0xf4) => {
                self.pos += 1;
                Ok(false)
            }
            Some(0xf5) => {
                self.pos += 1;
                Ok(true)
            }
            _ => match self.expect("boolean", |i| matches!(i, Item::Bool(_)))? {
                Item::Bool(b) => Ok(b),
                _ => Ok(false),
            },
        }
    }

    /// `null`.
    ///
    /// # Errors
    /// [`ErrorKind::WrongType`], or any error of [`item`](Self::item).
    #[inline]
    pub fn null(&mut self) -> Result<()> {
        if self.peek_null() {
            self.pos += 1;
            return Ok(());
        }
        self.expect("null", |i| matches!(i, Item::Null))
            .map(|_| ())
            .map_err(Error::from)
    }

    /// A float (as the configuration allows), widened to `f64`.
    ///
    /// # Errors
    /// [`ErrorKind::WrongType`], the float errors of [`item`](Self::item).
    #[inline]
    pub fn float(&mut self) -> Result<f64> {
        match self.expect("float", |i| matches!(i, Item::Float(_)))? {
            Item::Float(f) => Ok(f),
            _ => Ok(0.0),
        }
    }
}
