//! What one head of the input is: major types, items and map keys.

use core::fmt;

/// The eight CBOR major types (RFC 8949 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Major {
    /// 0: unsigned integer.
    Uint = 0,
    /// 1: negative integer.
    Negative = 1,
    /// 2: byte string.
    Bytes = 2,
    /// 3: text string.
    Text = 3,
    /// 4: array.
    Array = 4,
    /// 5: map.
    Map = 5,
    /// 6: tag.
    Tag = 6,
    /// 7: simple value or float.
    Simple = 7,
}

impl Major {
    /// The major type of an initial byte.
    pub const fn of(initial_byte: u8) -> Major {
        match initial_byte >> 5 {
            0 => Major::Uint,
            1 => Major::Negative,
            2 => Major::Bytes,
            3 => Major::Text,
            4 => Major::Array,
            5 => Major::Map,
            6 => Major::Tag,
            _ => Major::Simple,
        }
    }

    /// A name for messages.
    pub const fn name(self) -> &'static str {
        match self {
            Major::Uint => "unsigned integer",
            Major::Negative => "negative integer",
            Major::Bytes => "byte string",
            Major::Text => "text string",
            Major::Array => "array",
            Major::Map => "map",
            Major::Tag => "tag",
            Major::Simple => "simple value or float",
        }
    }
}

impl fmt::Display for Major {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One item head as read by [`Reader::item`](crate::Reader::item), strings included.
///
/// Containers come back as their count: the caller reads that many items (twice as many for a
/// map) next.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Item<'a> {
    /// An unsigned integer.
    Uint(u64),
    /// A negative integer `-1 - n` (the raw argument `n`, so the whole range fits).
    Negative(u64),
    /// A byte string, borrowed from the input.
    Bytes(&'a [u8]),
    /// A text string, borrowed from the input and checked to be UTF-8.
    Text(&'a str),
    /// An array of this many items.
    Array(usize),
    /// A map of this many entries.
    Map(usize),
    /// A tag (allowed by the configuration); its content follows.
    Tag(u64),
    /// `false` or `true`.
    Bool(bool),
    /// `null`.
    Null,
    /// `undefined` (only when the configuration allows it).
    Undefined,
    /// A float in its shortest form (only when the configuration allows floats).
    Float(f64),
}

impl Item<'_> {
    /// The major type the item was encoded with.
    pub fn major(&self) -> Major {
        match self {
            Item::Uint(_) => Major::Uint,
            Item::Negative(_) => Major::Negative,
            Item::Bytes(_) => Major::Bytes,
            Item::Text(_) => Major::Text,
            Item::Array(_) => Major::Array,
            Item::Map(_) => Major::Map,
            Item::Tag(_) => Major::Tag,
            _ => Major::Simple,
        }
    }
}

/// A map key read by [`Reader::key`](crate::Reader::key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key<'a> {
    /// An unsigned integer key.
    Uint(u64),
    /// A negative integer key `-1 - n`.
    Negative(u64),
    /// A text key.
    Text(&'a str),
    /// A byte-string key.
    Bytes(&'a [u8]),
    /// Any other key (array, map, tag, simple value, float), checked whole: its encoding.
    Other(&'a [u8]),
}

impl Key<'_> {
    /// The key as an `i64`, if it is an integer that fits.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Key::Uint(u) => i64::try_from(u).ok(),
            Key::Negative(n) => i64::try_from(n).ok().map(|n| -1 - n),
            _ => None,
        }
    }
}
