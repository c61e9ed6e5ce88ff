//! An owned value of any shape (feature `alloc`): for tests, tools and generic callers. Schemas
//! should read item by item instead and never build one.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

use crate::Major;
use crate::config::Config;
use crate::error::{Error, ErrorKind, Result, Segment};
use crate::item::{Item, Key};
use crate::reader::{Keys, Reader};
use crate::writer::{
    Sink, write_bool, write_bytes, write_float, write_head, write_null, write_text,
};

/// Any CBOR data item.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// An unsigned integer.
    Uint(u64),
    /// A negative integer `-1 - n`.
    Negative(u64),
    /// A byte string.
    Bytes(Vec<u8>),
    /// A text string.
    Text(String),
    /// An array.
    Array(Vec<Value>),
    /// A map; [`Value::to_vec`] writes it in deterministic key order whatever the order here.
    Map(Vec<(Value, Value)>),
    /// A tagged value.
    Tag(u64, Box<Value>),
    /// `false` or `true`.
    Bool(bool),
    /// `null`.
    Null,
    /// `undefined`.
    Undefined,
    /// A float.
    Float(f64),
}

impl Value {
    /// The deterministic encoding: shortest heads and floats, map entries sorted by the bytes of
    /// their encoded keys.
    ///
    /// # Errors
    /// [`ErrorKind::DuplicateKey`] when a map holds two keys with the same encoding (the offset
    /// is where the second would have been written, in the sorted output).
    pub fn to_vec(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.write(&mut out)?;
        Ok(out)
    }

    /// [`to_vec`](Self::to_vec) into `out`.
    ///
    /// # Errors
    /// As [`to_vec`](Self::to_vec).
    pub fn write(&self, out: &mut Vec<u8>) -> Result<()> {
        match self {
            Value::Uint(v) => write_head(out, Major::Uint, *v),
            Value::Negative(n) => write_head(out, Major::Negative, *n),
            Value::Bytes(b) => write_bytes(out, b),
            Value::Text(t) => write_text(out, t),
            Value::Array(a) => {
                write_head(out, Major::Array, a.len() as u64);
                for v in a {
                    v.write(out)?;
                }
            }
            Value::Map(m) => {
                write_head(out, Major::Map, m.len() as u64);
                let mut entries = Vec::with_capacity(m.len());
                for (k, v) in m {
                    entries.push((k.to_vec()?, v));
                }
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 && entries.get(i - 1).is_some_and(|p| p.0 == *k) {
                        return Err(Error::new(out.len(), ErrorKind::DuplicateKey));
                    }
                    out.put(k);
                    v.write(out)?;
                }
            }
            Value::Tag(t, v) => {
                write_head(out, Major::Tag, *t);
                v.write(out)?;
            }
            Value::Bool(b) => write_bool(out, *b),
            Value::Null => write_null(out),
            Value::Undefined => out.put(&[0xf7]),
            Value::Float(f) => write_float(out, *f),
        }
        Ok(())
    }
}

impl<'a> Reader<'a> {
    /// Reads one whole item into an owned [`Value`] (feature `alloc`), under the same rules and
    /// depth limit as [`skip`](Self::skip).
    ///
    /// # Errors
    /// Any [`ErrorKind`] the reader produces, with the path of keys and indices.
    pub fn value(&mut self, depth: usize) -> Result<Value> {
        let start = self.position();
        let item = self.item()?;
        if matches!(item, Item::Array(_) | Item::Map(_) | Item::Tag(_))
            && depth >= self.config().max_depth
        {
            let max = self.config().max_depth;
            return Err(self.error_at(start, ErrorKind::TooDeep { max }));
        }
        Ok(match item {
            Item::Uint(v) => Value::Uint(v),
            Item::Negative(n) => Value::Negative(n),
            Item::Bytes(b) => Value::Bytes(b.to_vec()),
            Item::Text(t) => Value::Text(t.into()),
            Item::Array(n) => {
                let mut a = Vec::with_capacity(n);
                for i in 0..n {
                    let v = self.value(depth + 1);
                    a.push(v.map_err(|e| e.within(Segment::Index(i as u64)))?);
                }
                Value::Array(a)
            }
            Item::Map(n) => {
                let mut m = Vec::with_capacity(n);
                let mut keys = Keys::new();
                for _ in 0..n {
                    let at = self.offset();
                    let (segment, key) = match self.key(&mut keys)? {
                        Key::Uint(k) => (Segment::Uint(k), Value::Uint(k)),
                        Key::Negative(k) => (Segment::Negative(k), Value::Negative(k)),
                        Key::Text(t) => (Segment::text(t), Value::Text(t.into())),
                        Key::Bytes(b) => (Segment::Other, Value::Bytes(b.to_vec())),
                        Key::Other(b) => {
                            let mut r = Reader::new(b, *self.config()).with_base(at);
                            (Segment::Other, r.value(depth + 1)?)
                        }
                    };
                    let v = self.value(depth + 1).map_err(|e| e.within(segment))?;
                    m.push((key, v));
                }
                Value::Map(m)
            }
            Item::Tag(t) => Value::Tag(t, Box::new(self.value(depth + 1)?)),
            Item::Bool(b) => Value::Bool(b),
            Item::Null => Value::Null,
            Item::Undefined => Value::Undefined,
            Item::Float(f) => Value::Float(f),
        })
    }
}

/// Decodes `bytes`, which must hold exactly one item, into an owned [`Value`].
///
/// # Errors
/// Any [`ErrorKind`] the reader produces, [`ErrorKind::TrailingBytes`].
pub fn decode(bytes: &[u8], config: Config) -> Result<Value> {
    let mut r = Reader::new(bytes, config);
    let v = r.value(0)?;
    r.finish()?;
    Ok(v)
}
