//! The one error type of the crate: what went wrong, at which byte, under which keys.

use core::fmt;

use crate::item::Major;

/// How many path segments an [`Error`] keeps (the outermost ones; deeper ones are elided).
pub const PATH_CAPACITY: usize = 5;

/// How many bytes of a text key a [`Segment`] keeps (cut at a character boundary).
pub const KEY_TEXT_CAPACITY: usize = 14;

/// What is wrong with the input. Every variant is one rule of the reader.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ErrorKind {
    /// The input ends inside an item, or a declared length runs past its end.
    #[error("unexpected end of input")]
    Truncated,
    /// Bytes follow the one item the input should hold.
    #[error("{count} trailing bytes")]
    TrailingBytes {
        /// How many bytes are left over.
        count: usize,
    },
    /// An integer, length or tag head longer than needed (RFC 8949 §4.2.1).
    #[error("head not in shortest form")]
    NonShortest,
    /// An indefinite-length string, array or map.
    #[error("indefinite length")]
    IndefiniteLength,
    /// A break byte (0xff) outside an indefinite-length item.
    #[error("unexpected break")]
    UnexpectedBreak,
    /// Additional information 28-30, or 31 where it has no meaning.
    #[error("reserved additional information {info}")]
    Reserved {
        /// The additional information value.
        info: u8,
    },
    /// Another type than the caller asked for.
    #[error("expected {expected}, found {found}")]
    WrongType {
        /// What the caller asked for.
        expected: &'static str,
        /// The major type found.
        found: Major,
    },
    /// A map key whose encoding sorts before the previous key's.
    #[error("map keys not in bytewise order of their encodings")]
    UnsortedKey,
    /// A map key equal to the previous one.
    #[error("duplicate map key")]
    DuplicateKey,
    /// A float where the configuration allows none.
    #[error("floating-point value not allowed")]
    FloatNotAllowed,
    /// A float written wider than the narrowest width that holds it exactly (or a NaN other
    /// than `0xf97e00`).
    #[error("float not in shortest form")]
    FloatNotShortest,
    /// NaN or an infinity where only finite floats are allowed.
    #[error("NaN or infinity not allowed")]
    NonFinite,
    /// A simple value other than `false`, `true`, `null` (and `undefined` when allowed).
    #[error("simple value {value} not allowed")]
    UnsupportedSimple {
        /// The simple value.
        value: u8,
    },
    /// A tag the configuration does not allow.
    #[error("tag {tag} not allowed")]
    TagNotAllowed {
        /// The tag number.
        tag: u64,
    },
    /// A text string that is not UTF-8.
    #[error("text string is not UTF-8")]
    InvalidUtf8,
    /// Containers nested deeper than the configured limit.
    #[error("nesting deeper than {max}")]
    TooDeep {
        /// The limit.
        max: usize,
    },
    /// A byte or text string longer than the configured limit.
    #[error("string of {len} bytes, limit {max}")]
    TooLong {
        /// The declared length.
        len: u64,
        /// The limit.
        max: usize,
    },
    /// An array or map with more items than the configured limit.
    #[error("{count} items, limit {max}")]
    TooManyItems {
        /// The declared count (entries for a map).
        count: u64,
        /// The limit.
        max: usize,
    },
    /// A well-formed value outside the range the caller asked for.
    #[error("{what} out of range")]
    OutOfRange {
        /// What did not fit (`"i64"`, `"usize"`, ...).
        what: &'static str,
    },
    /// A schema rule of the caller (this crate never produces it).
    #[error("{reason}")]
    Invalid {
        /// What is wrong.
        reason: &'static str,
    },
}

impl ErrorKind {
    /// A fixed description without the numbers, for callers whose own errors hold a
    /// `&'static str`.
    pub fn reason(&self) -> &'static str {
        match self {
            ErrorKind::Truncated => "unexpected end of input",
            ErrorKind::TrailingBytes { .. } => "trailing bytes",
            ErrorKind::NonShortest => "head not in shortest form",
            ErrorKind::IndefiniteLength => "indefinite lengths are not allowed",
            ErrorKind::UnexpectedBreak => "unexpected break",
            ErrorKind::Reserved { .. } => "reserved additional information",
            ErrorKind::WrongType { expected, .. } => expected,
            ErrorKind::UnsortedKey => "map keys not in canonical order",
            ErrorKind::DuplicateKey => "duplicate map key",
            ErrorKind::FloatNotAllowed => "floating-point values are not allowed",
            ErrorKind::FloatNotShortest => "float not in shortest form",
            ErrorKind::NonFinite => "NaN and infinity are not allowed",
            ErrorKind::UnsupportedSimple { .. } => "simple value not allowed",
            ErrorKind::TagNotAllowed { .. } => "tag not allowed",
            ErrorKind::InvalidUtf8 => "invalid UTF-8 in text string",
            ErrorKind::TooDeep { .. } => "nesting too deep",
            ErrorKind::TooLong { .. } => "string too long",
            ErrorKind::TooManyItems { .. } => "too many items",
            ErrorKind::OutOfRange { what } => what,
            ErrorKind::Invalid { reason } => reason,
        }
    }
}

/// A refused input: the kind, the byte offset of the offending item, and the map keys and array
/// indices that lead to it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at byte {offset}{}", PathSuffix(path))]
pub struct Error {
    offset: usize,
    kind: ErrorKind,
    path: Path,
}

/// The crate's result type.
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// What the reader passes around inside: the offset and the kind only (32 bytes on a 64-bit
/// target, against [`Error`]'s 128 with its inline path), so that the hot `Result`s stay small.
/// It becomes an [`Error`] at the public boundary, out of line.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fault {
    pub(crate) offset: usize,
    pub(crate) kind: ErrorKind,
}

impl Fault {
    /// The public error, with the path gathered while unwinding (empty for a single read).
    #[cold]
    #[inline(never)]
    pub(crate) fn into_error(self, path: &Path) -> Error {
        Error {
            offset: self.offset,
            kind: self.kind,
            path: *path,
        }
    }
}

impl From<Fault> for Error {
    #[cold]
    #[inline(never)]
    fn from(f: Fault) -> Self {
        Error::new(f.offset, f.kind)
    }
}

impl Error {
    /// An error at `offset` (absolute, in the outermost input) with an empty path.
    pub const fn new(offset: usize, kind: ErrorKind) -> Self {
        Self {
            offset,
            kind,
            path: Path::EMPTY,
        }
    }

    /// Byte offset of the offending item in the outermost input.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// What is wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The keys and indices from the outermost item down to the offending one.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The same error, one level further out: `segment` becomes the outermost path segment.
    /// Call it while unwinding from a nested decode (`.map_err(|e| e.within(seg))`).
    #[must_use]
    pub fn within(mut self, segment: Segment) -> Self {
        self.path.push_outer(segment);
        self
    }
}

/// One step of a [`Path`].
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment {
    /// An array element.
    Index(u64),
    /// A map value under an unsigned integer key.
    Uint(u64),
    /// A map value under a negative integer key; the key is `-1 - n`.
    Negative(u64),
    /// A map value under a text key (its first [`KEY_TEXT_CAPACITY`] bytes).
    Text(KeyText),
    /// A map value under a key of another type (byte string, array, map, tag, simple, float).
    Other,
}

impl Segment {
    /// The segment for a text key, shortened at a character boundary if needed.
    pub fn text(key: &str) -> Self {
        Segment::Text(KeyText::new(key))
    }
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Segment::Index(i) => write!(f, "[{i}]"),
            Segment::Uint(k) => write!(f, "{{{k}}}"),
            Segment::Negative(n) => write!(f, "{{{}}}", -1 - i128::from(*n)),
            Segment::Text(t) => {
                write!(f, ".{}", t.as_str())?;
                if t.is_truncated() {
                    f.write_str("…")?;
                }
                Ok(())
            }
            Segment::Other => f.write_str("{?}"),
        }
    }
}

/// The start of a text key, kept inline so that errors need no allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyText {
    bytes: [u8; KEY_TEXT_CAPACITY],
    len: u8,
    truncated: bool,
}

impl KeyText {
    const EMPTY: KeyText = KeyText {
        bytes: [0; KEY_TEXT_CAPACITY],
        len: 0,
        truncated: false,
    };

    /// Keeps at most [`KEY_TEXT_CAPACITY`] bytes of `key`, cut at a character boundary.
    pub fn new(key: &str) -> Self {
        let mut end = key.len().min(KEY_TEXT_CAPACITY);
        while !key.is_char_boundary(end) {
            end -= 1;
        }
        let mut bytes = [0u8; KEY_TEXT_CAPACITY];
        if let (Some(dst), Some(src)) = (bytes.get_mut(..end), key.as_bytes().get(..end)) {
            dst.copy_from_slice(src);
        }
        Self {
            bytes,
            len: end as u8,
            truncated: end < key.len(),
        }
    }

    /// The kept part of the key.
    pub fn as_str(&self) -> &str {
        let kept = self.bytes.get(..usize::from(self.len)).unwrap_or(&[]);
        core::str::from_utf8(kept).unwrap_or("")
    }

    /// True if the key was longer than what is kept.
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }
}

/// Map keys and array indices from the outermost item inwards, at most [`PATH_CAPACITY`] of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Path {
    segments: [Segment; PATH_CAPACITY],
    len: u8,
    elided: bool,
}

impl Default for Path {
    fn default() -> Self {
        Self::EMPTY
    }
}

impl Path {
    pub(crate) const EMPTY: Path = Path {
        // Unused slots hold an empty text key: all zero bytes (the other variants' tags live in
        // its `truncated` niche), so an empty path is cleared rather than copied from a template.
        segments: [Segment::Text(KeyText::EMPTY); PATH_CAPACITY],
        len: 0,
        elided: false,
    };

    /// The kept segments, outermost first.
    pub fn segments(&self) -> &[Segment] {
        self.segments.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// True when there are no segments (the error is in the outermost item, or the caller read
    /// it with the item-by-item API and added none).
    pub fn is_empty(&self) -> bool {
        self.len == 0 && !self.elided
    }

    /// True when inner segments were dropped because the path was deeper than [`PATH_CAPACITY`].
    pub fn is_elided(&self) -> bool {
        self.elided
    }

    pub(crate) fn push_outer(&mut self, segment: Segment) {
        let len = usize::from(self.len);
        if len == PATH_CAPACITY {
            // Keep the outermost segments: they say where in the document to look.
            self.elided = true;
        } else {
            self.len += 1;
        }
        // A plain loop rather than `copy_within`, which pulls in a general `memmove` (1.5 KB on a
        // Cortex-M) for a move of at most four segments.
        let mut i = len.min(PATH_CAPACITY - 1);
        while i > 0 {
            if let Some(&prev) = self.segments.get(i - 1)
                && let Some(slot) = self.segments.get_mut(i)
            {
                *slot = prev;
            }
            i -= 1;
        }
        if let Some(first) = self.segments.first_mut() {
            *first = segment;
        }
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in self.segments() {
            write!(f, "{s}")?;
        }
        if self.elided {
            f.write_str("…")?;
        }
        Ok(())
    }
}

struct PathSuffix<'p>(&'p Path);

impl fmt::Display for PathSuffix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            Ok(())
        } else {
            write!(f, " (in {})", self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_keeps_outermost_segments_and_marks_elision() {
        let mut e = Error::new(7, ErrorKind::NonShortest);
        for i in (0..7).rev() {
            e = e.within(Segment::Index(i));
        }
        let got: &[Segment] = e.path().segments();
        assert_eq!(got.len(), PATH_CAPACITY);
        assert_eq!(got[0], Segment::Index(0));
        assert_eq!(got[4], Segment::Index(4));
        assert!(e.path().is_elided());
        let shown = std::format!("{e}");
        assert_eq!(
            shown,
            "head not in shortest form at byte 7 (in [0][1][2][3][4]…)"
        );
    }

    #[test]
    fn key_text_cuts_at_char_boundary() {
        let k = KeyText::new("abcdefghijklm\u{fc}xyz");
        assert_eq!(k.as_str(), "abcdefghijklm");
        assert!(k.is_truncated());
        let k = KeyText::new("ssid");
        assert_eq!(k.as_str(), "ssid");
        assert!(!k.is_truncated());
        let e = Error::new(3, ErrorKind::InvalidUtf8)
            .within(Segment::text("net"))
            .within(Segment::Negative(0))
            .within(Segment::Uint(3));
        assert_eq!(
            std::format!("{e}"),
            "text string is not UTF-8 at byte 3 (in {3}{-1}.net)"
        );
    }

    #[test]
    fn error_stays_small() {
        // clippy's result_large_err threshold is 128 bytes; every Result of the reader carries one.
        assert!(core::mem::size_of::<Error>() <= 128);
    }
}
