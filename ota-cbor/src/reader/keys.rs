//! Map keys: reading them and checking their order (RFC 8949 §4.2.1: bytewise lexicographic order
//! of their encodings, no duplicates).

use core::cmp::Ordering;

use super::{Fallible, Reader};
use crate::config::KeyOrder;
use crate::error::{Error, ErrorKind, Path, Result};
use crate::item::{Item, Key, Major};

/// The previous key of a map being read, for [`Reader::key`]'s order check. One per map.
#[derive(Debug, Clone, Copy, Default)]
pub struct Keys {
    pub(super) prev: Option<(usize, usize)>,
}

impl Keys {
    /// Before the first key of a map.
    #[inline]
    pub const fn new() -> Self {
        Self { prev: None }
    }
}

impl<'a> Reader<'a> {
    /// A map key, checked to sort after the previous key of the same map (`keys`) unless the
    /// configuration says [`KeyOrder::Unchecked`]. A key that is a container is checked whole.
    ///
    /// # Errors
    /// [`ErrorKind::UnsortedKey`], [`ErrorKind::DuplicateKey`] at the key's offset, or any error
    /// of reading the key.
    #[inline]
    pub fn key(&mut self, keys: &mut Keys) -> Result<Key<'a>> {
        let start = self.pos;
        match self.scalar_key()? {
            Some(key) => {
                self.check_key_order(keys, start)?;
                Ok(key)
            }
            None => self.key_slow(keys),
        }
    }

    /// [`key`](Self::key) for a key that is not text or an integer (a container key gathers
    /// the path of an error inside it).
    #[inline(never)]
    fn key_slow(&mut self, keys: &mut Keys) -> Result<Key<'a>> {
        let mut path = Path::EMPTY;
        match self.key_at(keys, 0, &mut path) {
            Ok(k) => Ok(k),
            Err(f) => Err(f.into_error(&path)),
        }
    }

    /// A text or integer key (the common ones), or nothing read for a key of another type.
    #[inline]
    fn scalar_key(&mut self) -> Fallible<Option<Key<'a>>> {
        let start = self.pos;
        Ok(Some(match self.next_major() {
            Some(Major::Text) => {
                let (_, _, len) = self.head()?;
                Key::Text(self.text_body(start, len)?)
            }
            Some(Major::Uint) => Key::Uint(self.head()?.2),
            Some(Major::Negative) => Key::Negative(self.head()?.2),
            _ => return Ok(None),
        }))
    }

    /// [`key`](Self::key) for a map at `depth`: a container key is checked one level deeper.
    /// `path` gathers the segments of an error inside a container key.
    #[inline]
    pub(super) fn key_at(
        &mut self,
        keys: &mut Keys,
        depth: usize,
        path: &mut Path,
    ) -> Fallible<Key<'a>> {
        let start = self.pos;
        let key = match self.scalar_key()? {
            Some(key) => key,
            None => self.other_key(start, depth, path)?,
        };
        self.check_key_order(keys, start)?;
        Ok(key)
    }

    /// A key that is not text or an integer.
    fn other_key(&mut self, start: usize, depth: usize, path: &mut Path) -> Fallible<Key<'a>> {
        Ok(match self.item_inner()? {
            Item::Uint(v) => Key::Uint(v),
            Item::Negative(n) => Key::Negative(n),
            Item::Text(s) => Key::Text(s),
            Item::Bytes(b) => Key::Bytes(b),
            Item::Array(_) | Item::Map(_) | Item::Tag(_) => {
                self.pos = start;
                self.skip_in(depth, path)?;
                Key::Other(self.buf.get(start..self.pos).unwrap_or(&[]))
            }
            _ => Key::Other(self.buf.get(start..self.pos).unwrap_or(&[])),
        })
    }

    /// A text key, in order (see [`key`](Self::key)).
    ///
    /// # Errors
    /// As [`key`](Self::key), and [`ErrorKind::WrongType`] for a key of another type.
    #[inline]
    pub fn text_key(&mut self, keys: &mut Keys) -> Result<&'a str> {
        let start = self.pos;
        match self.key(keys)? {
            Key::Text(s) => Ok(s),
            _ => Err(self.wrong_key(start, "text key")),
        }
    }

    /// An integer key that fits an `i64`, in order (see [`key`](Self::key)).
    ///
    /// # Errors
    /// As [`key`](Self::key), [`ErrorKind::WrongType`], [`ErrorKind::OutOfRange`].
    #[inline]
    pub fn int_key(&mut self, keys: &mut Keys) -> Result<i64> {
        let start = self.pos;
        let key = self.key(keys)?;
        match key {
            Key::Uint(_) | Key::Negative(_) => key
                .as_i64()
                .ok_or_else(|| self.error_at(start, ErrorKind::OutOfRange { what: "i64" })),
            _ => Err(self.wrong_key(start, "integer key")),
        }
    }

    #[cold]
    fn wrong_key(&self, start: usize, expected: &'static str) -> Error {
        let found = self.buf.get(start).map_or(Major::Simple, |b| Major::of(*b));
        self.error_at(start, ErrorKind::WrongType { expected, found })
    }

    #[inline]
    pub(super) fn check_key_order(&self, keys: &mut Keys, start: usize) -> Fallible<()> {
        if self.config.key_order == KeyOrder::Deterministic
            && let Some((ps, pe)) = keys.prev
        {
            let cur = self.buf.get(start..self.pos).unwrap_or(&[]);
            let prev = self.buf.get(ps..pe).unwrap_or(&[]);
            match prev.cmp(cur) {
                Ordering::Less => {}
                Ordering::Equal => return Err(self.fault(start, ErrorKind::DuplicateKey)),
                Ordering::Greater => return Err(self.fault(start, ErrorKind::UnsortedKey)),
            }
        }
        keys.prev = Some((start, self.pos));
        Ok(())
    }
}
