//! Finding the bsdiff records: a suffix array of the old image and the bsdiff scan.
//!
//! The scan is Colin Percival's (bsdiff 4, "Naive differences of executable code", 2003): walk
//! the new image; at each position find the longest match anywhere in the old image; take it as
//! the start of a new record only when it beats, by more than 8 bytes, what simply continuing the
//! previous record's alignment would give. Between two accepted matches, the previous record is
//! extended forward and the next one backward over bytes that agree at least half the time
//! (approximate matches: code whose addresses moved), and whatever is left in between is literal.
//!
//! The suffix array comes from the `suffix_array` crate (libdivsufsort underneath), the same one
//! `qbsdiff` builds on. Running it directly instead of through `qbsdiff::Bsdiff` saves the bzip2
//! pass qbsdiff always makes over its output (and our pass to decode it again): on the corpus,
//! about half of qbsdiff's time.

use crate::error::{Error, Result};
use crate::frame::Op;

/// A match is worth a new record only when it is this many bytes longer than continuing the
/// previous alignment (bsdiff's constant).
const MISMATCH: usize = 8;

/// Matches longer than this are skipped through by binary search instead of byte by byte.
const LONG_MATCH: usize = 256;

/// Matches this short are stepped over whole instead of searched again from each of their bytes
/// (as qbsdiff's default does): on the corpus it halves the searches and changes the patch
/// sizes by -0.3% to +1%.
const SMALL_MATCH: usize = 12;

/// Records that turn `old` into `new`: they cover `new` exactly and every add range lies inside
/// `old`.
///
/// # Errors
/// [`Error::InvalidField`] when `old` is too large to index (4 GiB or more).
pub(crate) fn bsdiff_ops(old: &[u8], new: &[u8]) -> Result<Vec<Op>> {
    if old.len() >= u32::MAX as usize {
        return Err(Error::InvalidField {
            field: "source",
            offset: 0,
            reason: "too large to index (4 GiB or more)",
        });
    }
    if new.is_empty() {
        return Ok(Vec::new());
    }
    if old.is_empty() {
        return Ok(vec![Op {
            add: 0,
            copy: new.len() as u64,
            seek: 0,
        }]);
    }
    let index = Index::new(old);
    Ok(Scan { old, new }.run(|at| index.longest_match(&new[at..])))
}

/// The suffix array of the old image with the range of suffixes for each first two bytes.
struct Index<'a> {
    old: &'a [u8],
    sa: Vec<u32>,
    /// `start[k]..start[k + 1]`: the suffixes whose first two bytes are `k` (big-endian); a
    /// one-byte suffix `c` counts as `c, 0`.
    start: Vec<u32>,
}

impl<'a> Index<'a> {
    fn new(old: &'a [u8]) -> Self {
        let (_, mut sa) = suffix_array::SuffixArray::new(old).into_parts();
        // The crate's array includes the empty suffix (position `old.len()`); drop it.
        sa.retain(|&p| (p as usize) < old.len());
        let key = |p: u32| {
            let p = p as usize;
            usize::from(old[p]) << 8 | usize::from(old.get(p + 1).copied().unwrap_or(0))
        };
        let mut start = vec![0u32; (1 << 16) + 1];
        let mut k = 0usize;
        for (i, &p) in sa.iter().enumerate() {
            // Keys never decrease along the suffix array.
            let key = key(p);
            while k <= key {
                start[k] = i as u32;
                k += 1;
            }
        }
        for s in &mut start[k..] {
            *s = sa.len() as u32;
        }
        Self { old, sa, start }
    }

    /// Index range of the suffixes whose first byte is `c`.
    fn first_byte(&self, c: usize) -> (usize, usize) {
        (
            self.start[c << 8] as usize,
            self.start[(c + 1) << 8] as usize,
        )
    }

    /// The longest prefix of `pat` that occurs in the old image: `(position, length)`, or
    /// `(old.len(), 0)` when not even its first byte does.
    ///
    /// Binary search within the two-byte bucket, skipping the bytes already known to agree
    /// with both ends of the search range (Manber and Myers' LCP acceleration).
    fn longest_match(&self, pat: &[u8]) -> (usize, usize) {
        let none = (self.old.len(), 0);
        let Some(&p0) = pat.first() else {
            return none;
        };
        let p0 = usize::from(p0);
        let (b0, b1) = match pat.get(1) {
            Some(&p1) => {
                let k = p0 << 8 | usize::from(p1);
                (self.start[k] as usize, self.start[k + 1] as usize)
            }
            None => (0, 0),
        };
        if b0 == b1 {
            // At most one byte matches: any suffix that starts with it.
            let (a, b) = self.first_byte(p0);
            return if a < b {
                (self.sa[a] as usize, 1)
            } else {
                none
            };
        }
        let (mut lo, mut hi) = (b0, b1);
        // lcp of `pat` with the suffix just below `lo` and with the one at `hi`, once known.
        let (mut lcp_lo, mut lcp_hi) = (0usize, 0usize);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let suffix = &self.old[self.sa[mid] as usize..];
            let skip = lcp_lo.min(lcp_hi);
            let l = skip + common_prefix(&pat[skip..], &suffix[skip..]);
            if l == pat.len() {
                return (self.sa[mid] as usize, l);
            }
            if l == suffix.len() || suffix[l] < pat[l] {
                lo = mid + 1;
                lcp_lo = l;
            } else {
                hi = mid;
                lcp_hi = l;
            }
        }
        // The longest match is next to where `pat` would be inserted.
        let below = (lo > b0).then(|| (self.sa[lo - 1] as usize, lcp_lo));
        let above = (lo < b1).then(|| (self.sa[lo] as usize, lcp_hi));
        match (below, above) {
            (Some(a), Some(b)) => {
                if a.1 >= b.1 {
                    a
                } else {
                    b
                }
            }
            (Some(m), None) | (None, Some(m)) => m,
            (None, None) => none,
        }
    }
}

/// Length of the common prefix of `a` and `b`.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    // Eight bytes at a time, then the tail.
    let mut i = 0;
    while let (Some(x), Some(y)) = (a.get(i..i + 8), b.get(i..i + 8)) {
        let x = u64::from_le_bytes(x.try_into().unwrap_or_default());
        let y = u64::from_le_bytes(y.try_into().unwrap_or_default());
        if x != y {
            return i + ((x ^ y).trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    i + a[i..]
        .iter()
        .zip(&b[i..])
        .take_while(|(x, y)| x == y)
        .count()
}

struct Scan<'a> {
    old: &'a [u8],
    new: &'a [u8],
}

impl Scan<'_> {
    /// Does `old[opos] == new[npos]`, with `opos` possibly out of range (then no)?
    #[inline]
    fn same(&self, opos: i64, npos: usize) -> bool {
        usize::try_from(opos)
            .ok()
            .and_then(|o| self.old.get(o))
            .is_some_and(|b| Some(b) == self.new.get(npos))
    }

    /// How far past `scan` (at least 1) the match `(pos, len)` found at `scan` is still what
    /// the search finds, its suffix; binary search, so a different match that starts inside it
    /// may be missed (an idea from qbsdiff, whose bsdiff scan skips long matches the same way).
    fn same_match_run(
        search: &impl Fn(usize) -> (usize, usize),
        scan: usize,
        pos: usize,
        len: usize,
    ) -> usize {
        let (mut lo, mut hi) = (1usize, len);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let (p, l) = search(scan + mid);
            if p + l == pos + len && l == len - mid {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo.max(1)
    }

    fn run(&self, search: impl Fn(usize) -> (usize, usize)) -> Vec<Op> {
        let (old, new) = (self.old, self.new);
        let mut ops = Vec::new();
        let (mut scan, mut len, mut pos) = (0usize, 0usize, 0usize);
        let (mut last_scan, mut last_pos) = (0usize, 0usize);
        // old position minus new position of the previous record's alignment
        let mut last_offset: i64 = 0;
        while scan < new.len() {
            let mut old_score = 0usize;
            scan += len;
            let mut scsc = scan;
            while scan < new.len() {
                (pos, len) = search(scan);
                // Bytes of this match that the previous alignment also gets right.
                while scsc < scan + len {
                    if self.same(scsc as i64 + last_offset, scsc) {
                        old_score += 1;
                    }
                    scsc += 1;
                }
                if (len == old_score && len != 0) || len > old_score + MISMATCH {
                    break;
                }
                // Not worth a record here. Positions inside a long match usually find the rest
                // of that same match, which is not worth one either: skip those.
                let step = if len > LONG_MATCH {
                    Self::same_match_run(&search, scan, pos, len)
                } else if len <= SMALL_MATCH {
                    // A short match is rarely the start of a better record: step over it.
                    len.max(1)
                } else {
                    1
                };
                for k in scan..scan + step {
                    if self.same(k as i64 + last_offset, k) {
                        old_score = old_score.saturating_sub(1);
                    }
                }
                scan += step;
            }
            if len == old_score && scan != new.len() {
                // The previous alignment goes on: no new record yet.
                continue;
            }
            // Extend the previous record forward: the longest prefix where matches outnumber
            // mismatches the most.
            let (mut s, mut best, mut len_f) = (0i64, 0i64, 0usize);
            let mut i = 0usize;
            while last_scan + i < scan && last_pos + i < old.len() {
                if old[last_pos + i] == new[last_scan + i] {
                    s += 1;
                }
                i += 1;
                if s * 2 - i as i64 > best * 2 - len_f as i64 {
                    best = s;
                    len_f = i;
                }
            }
            // Extend the new match backward the same way.
            let mut len_b = 0usize;
            if scan < new.len() {
                let (mut s, mut best) = (0i64, 0i64);
                let mut i = 1usize;
                while scan >= last_scan + i && pos >= i {
                    if old[pos - i] == new[scan - i] {
                        s += 1;
                    }
                    if s * 2 - i as i64 > best * 2 - len_b as i64 {
                        best = s;
                        len_b = i;
                    }
                    i += 1;
                }
            }
            // Where the two extensions overlap, split them where the forward one does best.
            if last_scan + len_f > scan - len_b {
                let overlap = (last_scan + len_f) - (scan - len_b);
                let (mut s, mut best, mut len_s) = (0i64, 0i64, 0usize);
                for i in 0..overlap {
                    if new[last_scan + len_f - overlap + i] == old[last_pos + len_f - overlap + i] {
                        s += 1;
                    }
                    if new[scan - len_b + i] == old[pos - len_b + i] {
                        s -= 1;
                    }
                    if s > best {
                        best = s;
                        len_s = i + 1;
                    }
                }
                len_f = len_f + len_s - overlap;
                len_b -= len_s;
            }
            let copy = (scan - len_b) - (last_scan + len_f);
            let seek = (pos as i64 - len_b as i64) - (last_pos + len_f) as i64;
            // A record may be empty (add = copy = 0): it only moves the source position.
            ops.push(Op {
                add: len_f as u64,
                copy: copy as u64,
                seek,
            });
            last_scan = scan - len_b;
            last_pos = pos - len_b;
            last_offset = pos as i64 - scan as i64;
        }
        ops
    }
}

#[cfg(test)]
mod tests {
    use super::bsdiff_ops;
    use crate::frame::Op;
    use proptest::prelude::*;

    /// Checks that the records cover `new` exactly with every add range inside `old`, and
    /// returns how many added bytes equal their source byte.
    fn check(old: &[u8], new: &[u8], ops: &[Op]) -> usize {
        let (mut t, mut pos, mut same) = (0usize, 0i64, 0usize);
        for op in ops {
            if op.add > 0 {
                let p = usize::try_from(pos).expect("source position negative");
                let src = &old[p..p + op.add as usize];
                same += src.iter().zip(&new[t..]).filter(|(o, n)| o == n).count();
            }
            t += (op.add + op.copy) as usize;
            pos += op.add as i64 + op.seek;
        }
        assert_eq!(t, new.len(), "records do not cover the new image");
        same
    }

    #[test]
    fn shifted_block_is_one_long_match() {
        let old: Vec<u8> = (0..20_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect();
        let mut new = b"a new header".to_vec();
        new.extend_from_slice(&old[..15_000]);
        let ops = bsdiff_ops(&old, &new).unwrap();
        assert!(check(&old, &new, &ops) >= 15_000, "{ops:?}");
        assert!(ops.iter().map(|o| o.copy).sum::<u64>() <= 12 + 8, "{ops:?}");
    }

    #[test]
    fn empty_inputs() {
        assert!(bsdiff_ops(b"abc", b"").unwrap().is_empty());
        let ops = bsdiff_ops(b"", b"xyz").unwrap();
        assert_eq!(
            ops,
            [Op {
                add: 0,
                copy: 3,
                seek: 0
            }]
        );
    }

    proptest! {
        #[test]
        fn records_rebuild_the_new_image(
            old in proptest::collection::vec(0u8..4, 0..3000),
            edits in proptest::collection::vec((any::<u16>(), 0u8..4, 0usize..40), 0..8),
        ) {
            let mut new = old.clone();
            for (at, byte, len) in edits {
                let at = usize::from(at) % (new.len() + 1);
                if len % 2 == 0 {
                    let end = (at + len).min(new.len());
                    new.drain(at..end);
                } else {
                    new.splice(at..at, std::iter::repeat_n(byte, len));
                }
            }
            let ops = bsdiff_ops(&old, &new).unwrap();
            check(&old, &new, &ops);
        }
    }
}
