//! Reconstructing target bytes from a frame's raw content (FORMAT.md §5), shared by the std
//! apply and the `no_std` MCU apply: no allocation, the source read through a callback, the
//! target handed out in pieces of at most the caller's buffer.

use crate::error::Error;
use crate::format::{Mode, get_varint, unzigzag};

/// Carry out of one byte of a carry-chained difference (FORMAT.md §5.2): the floor of
/// `(old + signed(diff) + carry_in) / 256`, always -1, 0 or 1.
#[inline]
pub(crate) fn carry_out(old: u8, diff: u8, carry: i32) -> i32 {
    (i32::from(old) + i32::from(diff as i8) + carry) >> 8
}

/// Inverse of [`carry_diff`]: turns the old bytes in `buf` into the new ones, in place, taking
/// one difference byte from `diff` per byte (0 once `diff` runs dry; callers validate lengths),
/// starting with `carry` and leaving there the carry out of the last byte (an add range may be
/// reconstructed in several pieces). Where no carry is pending, a run of zero differences
/// leaves the bytes as they are: the run is skipped whole.
pub(crate) fn carry_add(buf: &mut [u8], diff: &mut ZeroRuns<'_>, carry: &mut i32) {
    let mut i = 0;
    while i < buf.len() {
        if *carry == 0 {
            i += diff.skip_zeros(buf.len() - i);
            if i == buf.len() {
                break;
            }
        }
        let d = diff.next().unwrap_or(0);
        let o = buf[i];
        buf[i] = o.wrapping_add(d).wrapping_add(*carry as u8);
        *carry = carry_out(o, d, *carry);
        i += 1;
    }
}

/// Where a zero-run coded section starting at `start` that decodes to exactly `len` bytes ends;
/// an error when it is truncated, malformed or would decode to more than `len` bytes.
pub(crate) fn zero_runs_end(raw: &[u8], start: usize, len: u64) -> Result<usize, ReconstructError> {
    use ReconstructError::Malformed as M;
    let (mut pos, mut made) = (start, 0u64);
    while made < len {
        let b = *raw.get(pos).ok_or(M("diff section truncated"))?;
        pos += 1;
        let run = if b == 0 {
            let extra = get_varint(raw, &mut pos).ok_or(M("bad zero-run varint"))?;
            extra.checked_add(1).ok_or(M("zero run too long"))?
        } else {
            1
        };
        made = made
            .checked_add(run)
            .filter(|m| *m <= len)
            .ok_or(M("zero run past the end of the diff section"))?;
    }
    Ok(pos)
}

/// Decoder of a zero-run coded section that [`zero_runs_end`] has validated.
pub(crate) struct ZeroRuns<'a> {
    raw: &'a [u8],
    pos: usize,
    zeros: u64,
}

impl<'a> ZeroRuns<'a> {
    pub(crate) fn new(raw: &'a [u8], start: usize) -> Self {
        Self {
            raw,
            pos: start,
            zeros: 0,
        }
    }
}

impl ZeroRuns<'_> {
    /// Consumes up to `max` zero bytes that come next, returning how many.
    fn skip_zeros(&mut self, max: usize) -> usize {
        if self.zeros == 0 {
            if self.raw.get(self.pos) != Some(&0) {
                return 0;
            }
            let mut p = self.pos + 1;
            let Some(n) = get_varint(self.raw, &mut p) else {
                return 0;
            };
            self.pos = p;
            self.zeros = n.saturating_add(1);
        }
        let take = self.zeros.min(max as u64);
        self.zeros -= take;
        take as usize
    }
}

impl Iterator for ZeroRuns<'_> {
    type Item = u8;

    #[inline]
    fn next(&mut self) -> Option<u8> {
        if self.zeros > 0 {
            self.zeros -= 1;
            return Some(0);
        }
        let b = *self.raw.get(self.pos)?;
        self.pos += 1;
        if b == 0 {
            self.zeros = get_varint(self.raw, &mut self.pos)?;
        }
        Some(b)
    }
}

/// Lane of byte `j` of a frame (frames start at multiples of 64, so the absolute offset's lane
/// equals the in-frame offset's lane).
pub(crate) fn lane(j: usize, width: usize, phase: usize) -> usize {
    (j + width - phase) % width
}

/// Why a frame's raw content could not be turned into target bytes.
pub(crate) enum ReconstructError {
    /// The raw content breaks a rule of FORMAT.md §5.
    Malformed(&'static str),
    /// Reading the source or handing out the target failed.
    Failed(Error),
}

impl From<Error> for ReconstructError {
    fn from(e: Error) -> Self {
        Self::Failed(e)
    }
}

/// The source as reconstruction sees it: a size and positional reads.
pub(crate) trait SourceRead {
    /// Source size in bytes.
    fn size(&self) -> u64;
    /// Fills `buf` from `offset`; the range is inside the source.
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), Error>;
}

/// Reads `buf.len()` source bytes at `offset`, with zeros past the end of the source.
fn read_source_padded(
    src: &mut dyn SourceRead,
    offset: u64,
    buf: &mut [u8],
) -> Result<(), ReconstructError> {
    let avail = src.size().saturating_sub(offset).min(buf.len() as u64) as usize;
    let (head, tail) = buf.split_at_mut(avail);
    if !head.is_empty() {
        src.read_at(offset, head)?;
    }
    tail.fill(0);
    Ok(())
}

/// Where in-frame offset `j` sits in the lane-ordered raw content of an XOR-planes frame of `n`
/// bytes (FORMAT.md §5.1): lane `k = lane(j)` starts after the bytes of lanes `0..k`.
fn plane_index(j: usize, n: usize, width: usize, phase: usize) -> usize {
    let k = lane(j, width, phase);
    // Lane `q` holds the offsets `first(q), first(q) + width, ...` below `n`.
    let count = |q: usize| {
        let first = (q + phase) % width;
        if first < n {
            (n - first).div_ceil(width)
        } else {
            0
        }
    };
    let before: usize = (0..k).map(count).sum();
    before + (j - (k + phase) % width) / width
}

/// Reconstructs the target bytes of one frame from its raw content, handing them to `emit` in
/// pieces of at most `buf.len()` bytes, in order (FORMAT.md §5). `start` is the frame's target
/// offset and `target_len` its length; a frame of any length goes through `buf` one piece at a
/// time. `on_record` sees each bsdiff record (add, copy, seek, source position).
#[allow(clippy::too_many_arguments)]
pub(crate) fn reconstruct(
    mode: Mode,
    raw: &[u8],
    src: &mut dyn SourceRead,
    start: u64,
    target_len: u64,
    buf: &mut [u8],
    on_record: &mut dyn FnMut(u64, u64, i64, i64),
    emit: &mut dyn FnMut(&[u8]) -> Result<(), ReconstructError>,
) -> Result<(), ReconstructError> {
    use ReconstructError::Malformed as M;
    if buf.is_empty() {
        return Err(M("empty window"));
    }
    match mode {
        Mode::Full | Mode::XorPlanes { .. } => {
            if raw.len() as u64 != target_len {
                return Err(M("raw_len differs from the frame's target length"));
            }
            let n = raw.len();
            let mut j = 0usize;
            while j < n {
                let len = (n - j).min(buf.len());
                let out = buf.get_mut(..len).ok_or(M("internal bounds"))?;
                if let Mode::XorPlanes { width, phase } = mode {
                    let (w, ph) = (usize::from(width), usize::from(phase));
                    if w == 0 || ph >= w {
                        return Err(M("bad plane layout"));
                    }
                    read_source_padded(src, start + j as u64, out)?;
                    for (i, slot) in out.iter_mut().enumerate() {
                        let x = raw
                            .get(plane_index(j + i, n, w, ph))
                            .ok_or(M("internal bounds"))?;
                        *slot ^= *x;
                    }
                } else {
                    out.copy_from_slice(raw.get(j..j + len).ok_or(M("internal bounds"))?);
                }
                emit(out)?;
                j += len;
            }
            Ok(())
        }
        Mode::Bsdiff => bsdiff_apply(raw, src, target_len, buf, on_record, emit),
    }
}

/// bsdiff mode: validates the raw content of a frame of `frame_len` target bytes, then
/// reconstructs it through the window `buf` (FORMAT.md §5.2).
fn bsdiff_apply(
    raw: &[u8],
    src: &mut dyn SourceRead,
    frame_len: u64,
    buf: &mut [u8],
    on_record: &mut dyn FnMut(u64, u64, i64, i64),
    emit: &mut dyn FnMut(&[u8]) -> Result<(), ReconstructError>,
) -> Result<(), ReconstructError> {
    use ReconstructError::Malformed as M;
    if buf.is_empty() {
        return Err(M("empty window"));
    }
    let mut pos = 0usize;
    let count = get_varint(raw, &mut pos).ok_or(M("bad record_count varint"))?;
    if count > frame_len {
        return Err(M("more records than target bytes"));
    }
    let start = unzigzag(get_varint(raw, &mut pos).ok_or(M("bad start_pos varint"))?);
    // First pass: validate the controls and the section sizes.
    let ctrl_start = pos;
    let (mut sum_add, mut sum_copy) = (0u64, 0u64);
    for _ in 0..count {
        let a = get_varint(raw, &mut pos).ok_or(M("bad add varint"))?;
        let c = get_varint(raw, &mut pos).ok_or(M("bad copy varint"))?;
        get_varint(raw, &mut pos).ok_or(M("bad seek varint"))?;
        if a == 0 && c == 0 {
            return Err(M("empty record"));
        }
        sum_add = sum_add.checked_add(a).ok_or(M("record lengths overflow"))?;
        sum_copy = sum_copy
            .checked_add(c)
            .ok_or(M("record lengths overflow"))?;
        if sum_add.saturating_add(sum_copy) > frame_len {
            return Err(M("records cover more than the frame"));
        }
    }
    if sum_add + sum_copy != frame_len {
        return Err(M("records do not cover the frame"));
    }
    let diff_start = pos;
    let extra_start = zero_runs_end(raw, diff_start, sum_add)?;
    if raw.len() as u64 != extra_start as u64 + sum_copy {
        return Err(M("raw_len differs from controls + diff + extra"));
    }
    // Second pass: reconstruct, one window at a time.
    let mut pos = ctrl_start;
    let mut spos: i64 = start;
    let mut diff = ZeroRuns::new(raw, diff_start);
    let mut epos = extra_start;
    let mut fill = 0usize;
    let size = src.size();
    for _ in 0..count {
        let a = get_varint(raw, &mut pos).ok_or(M("bad add varint"))?;
        let c = get_varint(raw, &mut pos).ok_or(M("bad copy varint"))?;
        let seek = unzigzag(get_varint(raw, &mut pos).ok_or(M("bad seek varint"))?);
        on_record(a, c, seek, spos);
        if a > 0 {
            let s = u64::try_from(spos).map_err(|_| M("source position negative"))?;
            if s.checked_add(a).is_none_or(|e| e > size) {
                return Err(M("source range outside the source"));
            }
            let (mut done, mut carry) = (0u64, 0i32);
            while done < a {
                let n = (a - done).min((buf.len() - fill) as u64) as usize;
                let dst = &mut buf[fill..fill + n];
                src.read_at(s + done, dst)?;
                carry_add(dst, &mut diff, &mut carry);
                done += n as u64;
                fill += n;
                if fill == buf.len() {
                    emit(buf)?;
                    fill = 0;
                }
            }
            spos = spos
                .checked_add(i64::try_from(a).map_err(|_| M("source position overflow"))?)
                .ok_or(M("source position overflow"))?;
        }
        let mut done = 0u64;
        while done < c {
            let n = (c - done).min((buf.len() - fill) as u64) as usize;
            let lit = raw.get(epos..epos + n).ok_or(M("internal bounds"))?;
            buf[fill..fill + n].copy_from_slice(lit);
            epos += n;
            done += n as u64;
            fill += n;
            if fill == buf.len() {
                emit(buf)?;
                fill = 0;
            }
        }
        spos = spos
            .checked_add(seek)
            .ok_or(M("source position overflow"))?;
    }
    if fill > 0 {
        emit(&buf[..fill])?;
    }
    Ok(())
}
