//! Whole items: checking one under every rule without decoding it into values.

use super::{Fallible, Keys, Reader};
use crate::config::Config;
#[cfg(feature = "path")]
use crate::error::Segment;
use crate::error::{ErrorKind, Path, Result};
use crate::item::Item;

impl<'a> Reader<'a> {
    /// Checks one whole item under every rule and returns its bytes. `depth` is how many
    /// containers enclose it (0 for a top-level item): a container at depth `max_depth` or more
    /// is refused. Errors inside carry the path of keys and indices from this item down.
    ///
    /// The recursion is bounded by `max_depth` (each level takes a small stack frame), so hostile
    /// nesting is an error, never a stack overflow.
    ///
    /// # Errors
    /// Any [`ErrorKind`] the reader produces.
    pub fn skip(&mut self, depth: usize) -> Result<&'a [u8]> {
        let start = self.pos;
        let mut path = Path::EMPTY;
        match self.skip_in(depth, &mut path) {
            Ok(()) => Ok(self.buf.get(start..self.pos).unwrap_or(&[])),
            Err(f) => Err(f.into_error(&path)),
        }
    }

    /// [`skip`](Self::skip) with the compact error; the segments of the error's path are
    /// pushed onto `path` (outermost last) while unwinding.
    #[cfg_attr(not(feature = "path"), allow(clippy::only_used_in_recursion))]
    pub(super) fn skip_in(&mut self, depth: usize, path: &mut Path) -> Fallible<()> {
        let start = self.pos;
        let item = self.item_inner()?;
        let (children, is_map) = match item {
            Item::Array(n) => (n, false),
            Item::Map(n) => (n, true),
            Item::Tag(_) => (1, false),
            _ => return Ok(()),
        };
        if depth >= self.config.max_depth {
            let max = self.config.max_depth;
            return Err(self.fault(start, ErrorKind::TooDeep { max }));
        }
        let mut keys = Keys::new();
        for _i in 0..children {
            // A map key is checked whole like any item (one level deeper, as a container key
            // must be), then against the previous key: no separate key path in this loop.
            if is_map {
                let key_start = self.pos;
                self.skip_in(depth + 1, path)?;
                self.check_key_order(&mut keys, key_start)?;
            }
            #[cfg(feature = "path")]
            if let Err(f) = self.skip_in(depth + 1, path) {
                if !matches!(item, Item::Tag(_)) {
                    // `keys` holds the span of this entry's key (none in an array).
                    self.push_segment(path, keys.prev, _i);
                }
                return Err(f);
            }
            // Without the feature `path` the error keeps an empty path.
            #[cfg(not(feature = "path"))]
            self.skip_in(depth + 1, path)?;
        }
        Ok(())
    }

    /// Adds the segment of an error in an array element (`key` none, index `i`) or a map value
    /// (under the key at `key`, already checked) to `path`: on the error path only, out of line
    /// (a text key is copied into it).
    #[cfg(feature = "path")]
    #[cold]
    #[inline(never)]
    fn push_segment(&self, path: &mut Path, key: Option<(usize, usize)>, i: usize) {
        let segment = match key {
            None => Segment::Index(i as u64),
            Some((start, _)) => {
                // The key again, read by a copy of this reader (same rules, so it succeeds).
                let mut r = self.clone();
                r.pos = start;
                match r.item_inner() {
                    Ok(Item::Uint(k)) => Segment::Uint(k),
                    Ok(Item::Negative(k)) => Segment::Negative(k),
                    Ok(Item::Text(t)) => Segment::text(t),
                    _ => Segment::Other,
                }
            }
        };
        path.push_outer(segment);
    }
}

/// Checks that `bytes` hold exactly one item under `config`.
///
/// # Errors
/// Any [`ErrorKind`] the reader produces, [`ErrorKind::TrailingBytes`].
pub fn validate(bytes: &[u8], config: Config) -> Result<()> {
    let mut r = Reader::new(bytes, config);
    r.skip(0)?;
    r.finish()
}
