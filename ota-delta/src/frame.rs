//! Frame contents per mode: building them (encoder) and reconstructing target bytes (decoder).

use crate::format::{Mode, get_varint, put_varint, unzigzag};
use crate::source::Source;

/// One bsdiff instruction: `add` bytes of source+diff, then `copy` literal bytes, then move the
/// source position by `seek`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Op {
    pub add: u64,
    pub copy: u64,
    pub seek: i64,
}

/// Carry out of one byte of a carry-chained difference (FORMAT.md §5.2): the floor of
/// `(old + signed(diff) + carry_in) / 256`, always -1, 0 or 1.
#[inline]
pub(crate) fn carry_out(old: u8, diff: u8, carry: i32) -> i32 {
    (i32::from(old) + i32::from(diff as i8) + carry) >> 8
}

/// Appends the carry-chained difference `new - old` of one add range to `out` (FORMAT.md §5.2).
///
/// Each byte is `new - old - carry` (mod 256), where the carry is what adding the previous byte's
/// difference, read as a signed number, to its old byte carried out. A little-endian integer that
/// grew or shrank by less than 128 then differs in its lowest byte only, instead of also in every
/// byte a carry or borrow reached: moved code and data shift addresses by small amounts, and
/// those borrows were most of the noise bsdiff's byte-wise difference leaves for the compressor.
pub(crate) fn carry_diff(old: &[u8], new: &[u8], out: &mut Vec<u8>) {
    let mut carry = 0i32;
    out.extend(old.iter().zip(new).map(|(&o, &n)| {
        let d = n.wrapping_sub(o).wrapping_sub(carry as u8);
        carry = carry_out(o, d, carry);
        d
    }));
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

/// Appends the zero-run coding of `diff` to `out` (FORMAT.md §5.2): a non-zero byte stands for
/// itself; a run of `n >= 1` zero bytes is one `0x00` followed by `varint(n - 1)`.
///
/// Most of a bsdiff diff section is zero runs. Coded this way LZMA2 sees a fraction of the bytes
/// and finds the repeated non-zero patterns about as well as before: on the corpus, at preset 6
/// the patches come out between 1.6% larger and 8.5% smaller than with the plain section at
/// preset 9e, with about a tenth of the compression time.
pub(crate) fn zero_runs(diff: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while let Some(&b) = diff.get(i) {
        if b != 0 {
            out.push(b);
            i += 1;
            continue;
        }
        let run = diff[i..].iter().take_while(|&&d| d == 0).count();
        out.push(0);
        put_varint(out, run as u64 - 1);
        i += run;
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
fn lane(j: usize, width: usize, phase: usize) -> usize {
    (j + width - phase) % width
}

/// XOR-planes raw content of one frame of `new` starting at `start`.
pub(crate) fn xor_frame(
    old: &[u8],
    new: &[u8],
    start: usize,
    len: usize,
    width: usize,
    phase: usize,
) -> Vec<u8> {
    let mut raw = Vec::with_capacity(len);
    for k in 0..width {
        for j in (0..len).filter(|j| lane(*j, width, phase) == k) {
            let p = start + j;
            raw.push(new.get(p).copied().unwrap_or(0) ^ old.get(p).copied().unwrap_or(0));
        }
    }
    raw
}

/// Why a frame's raw content could not be turned into target bytes.
pub(crate) enum ReconstructError {
    Malformed(&'static str),
    Io(std::io::Error),
}

impl From<std::io::Error> for ReconstructError {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e)
    }
}

/// Reads `buf.len()` source bytes at `offset`, with zeros past the end of the source.
fn read_source_padded<S: Source + ?Sized>(
    src: &S,
    offset: u64,
    buf: &mut [u8],
) -> std::io::Result<()> {
    let size = src.size();
    let avail = size.saturating_sub(offset).min(buf.len() as u64) as usize;
    let (head, tail) = buf.split_at_mut(avail);
    if !head.is_empty() {
        src.read_exact_at(offset, head)?;
    }
    tail.fill(0);
    Ok(())
}

/// XOR-planes: `out` (already sized to the frame) = planes(raw) ^ source.
pub(crate) fn xor_apply<S: Source + ?Sized>(
    raw: &[u8],
    src: &S,
    start: u64,
    width: usize,
    phase: usize,
    out: &mut [u8],
) -> Result<(), ReconstructError> {
    if raw.len() != out.len() {
        return Err(ReconstructError::Malformed(
            "raw_len differs from the frame's target length",
        ));
    }
    read_source_padded(src, start, out)?;
    let mut it = raw.iter();
    for k in 0..width {
        let first = (k + phase) % width;
        let mut j = first;
        while j < out.len() {
            if let (Some(slot), Some(x)) = (out.get_mut(j), it.next()) {
                *slot ^= *x;
            }
            j += width;
        }
    }
    Ok(())
}

/// Reconstructs the target bytes of one frame from its raw content, handing them to `emit` in
/// pieces of at most `buf.len()` bytes, in order (FORMAT.md §5). `start` is the frame's target
/// offset and `target_len` its length. Full and XOR frames are never longer than `buf`; a bsdiff
/// frame may be, and is then reconstructed one window at a time. `on_record` sees each bsdiff
/// record (add, copy, seek, source position).
#[allow(clippy::too_many_arguments)]
pub(crate) fn reconstruct<S: Source + ?Sized>(
    mode: Mode,
    raw: &[u8],
    src: &S,
    start: u64,
    target_len: u64,
    buf: &mut [u8],
    on_record: &mut dyn FnMut(u64, u64, i64, i64),
    emit: &mut dyn FnMut(&[u8]) -> Result<(), ReconstructError>,
) -> Result<(), ReconstructError> {
    use ReconstructError::Malformed as M;
    // Full and XOR frames go through `buf` too: the caller releases a frame that fits the
    // window from there once it is checked.
    fn whole(buf: &mut [u8], target_len: u64) -> Result<&mut [u8], ReconstructError> {
        usize::try_from(target_len)
            .ok()
            .and_then(|n| buf.get_mut(..n))
            .ok_or(M("frame longer than the window"))
    }
    match mode {
        Mode::Full => {
            let out = whole(buf, target_len)?;
            if raw.len() != out.len() {
                return Err(M("raw_len differs from the frame's target length"));
            }
            out.copy_from_slice(raw);
            emit(out)
        }
        Mode::XorPlanes { width, phase } => {
            let out = whole(buf, target_len)?;
            xor_apply(raw, src, start, width.into(), phase.into(), out)?;
            emit(out)
        }
        Mode::Bsdiff => bsdiff_apply(raw, src, target_len, buf, on_record, emit),
    }
}

/// bsdiff mode: validates the raw content of a frame of `frame_len` target bytes, then
/// reconstructs it through the window `buf` (FORMAT.md §5.2).
fn bsdiff_apply<S: Source + ?Sized>(
    raw: &[u8],
    src: &S,
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
                src.read_exact_at(s + done, dst)?;
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

#[cfg(test)]
mod tests {
    use super::{ZeroRuns, carry_add, carry_diff, zero_runs, zero_runs_end};
    use proptest::prelude::*;

    fn diff_of(old: &[u8], new: &[u8]) -> Vec<u8> {
        let mut d = Vec::new();
        carry_diff(old, new, &mut d);
        d
    }

    /// The worked example of FORMAT.md §5.2, and its mirror image.
    #[test]
    fn moved_address_differs_in_its_lowest_byte_only() {
        // 0x00001310 -> 0x000012F0 (down by 32): bsdiff's byte-wise difference is E0 FF 00 00.
        assert_eq!(
            diff_of(&[0x10, 0x13, 0, 0], &[0xF0, 0x12, 0, 0]),
            [0xE0, 0, 0, 0]
        );
        // 0x000012F8 -> 0x00001318 (up by 32): byte-wise 20 01 00 00.
        assert_eq!(
            diff_of(&[0xF8, 0x12, 0, 0], &[0x18, 0x13, 0, 0]),
            [0x20, 0, 0, 0]
        );
        // A borrow that ripples through three bytes: 0x01000000 - 1 = 0x00FFFFFF.
        assert_eq!(
            diff_of(&[0, 0, 0, 1], &[0xFF, 0xFF, 0xFF, 0]),
            [0xFF, 0, 0, 0]
        );
        // Equal bytes stay zero whatever they are.
        assert_eq!(diff_of(&[0xFF; 6], &[0xFF; 6]), [0; 6]);
    }

    /// An array of little-endian pointers that all moved by the same small amount: the
    /// carry-chained difference is non-zero in one byte per pointer, the byte-wise one in more.
    #[test]
    fn relocated_pointer_table_has_one_nonzero_byte_per_pointer() {
        let old: Vec<u8> = (0..4096u32)
            .flat_map(|i| (0x0040_0000 + i * 0x38).to_le_bytes())
            .collect();
        let new: Vec<u8> = (0..4096u32)
            .flat_map(|i| (0x0040_0000 + i * 0x38 - 0x30).to_le_bytes())
            .collect();
        let chained = diff_of(&old, &new);
        let bytewise = new.iter().zip(&old).filter(|(n, o)| n != o).count();
        let nonzero = chained.iter().filter(|d| **d != 0).count();
        assert_eq!(nonzero, 4096);
        // Every pointer whose low byte was below 0x30 borrowed from the byte above it.
        assert!(bytewise > nonzero + 700, "{bytewise} vs {nonzero}");
    }

    fn zero_coded(d: &[u8]) -> Vec<u8> {
        let mut z = Vec::new();
        zero_runs(d, &mut z);
        z
    }

    #[test]
    fn zero_runs_examples() {
        assert_eq!(zero_coded(&[]), [] as [u8; 0]);
        assert_eq!(zero_coded(&[0]), [0, 0]);
        assert_eq!(zero_coded(&[7, 0, 0, 0, 9]), [7, 0, 2, 9]);
        // 300 zeros: 0x00 then varint(299) = AB 02.
        assert_eq!(zero_coded(&[0; 300]), [0, 0xAB, 0x02]);
    }

    #[test]
    fn malformed_zero_runs_are_rejected() {
        let end = |raw: &[u8], len| zero_runs_end(raw, 0, len).ok();
        assert_eq!(end(&[7, 0, 2, 9], 5), Some(4));
        // A run longer than what is left of the section.
        assert_eq!(end(&[0, 5], 5), None);
        // Truncated: the section ends before it has produced its bytes, or inside a varint.
        assert_eq!(end(&[7, 8], 3), None);
        assert_eq!(end(&[0, 0x80], 3), None);
        // A non-canonical varint, and one that overflows u64 when the run's first zero is added.
        assert_eq!(end(&[0, 0x80, 0x00], 1), None);
        let max = [
            0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01,
        ];
        assert_eq!(end(&max, u64::MAX), None);
    }

    proptest! {
        #[test]
        fn zero_runs_round_trip(d in proptest::collection::vec(prop_oneof![Just(0u8), any::<u8>()], 0..600)) {
            let z = zero_coded(&d);
            // Never more than half as long again (FORMAT.md §5.2 raw_bound).
            prop_assert!(z.len() <= d.len() + d.len().div_ceil(2));
            prop_assert_eq!(zero_runs_end(&z, 0, d.len() as u64).ok(), Some(z.len()));
            let back: Vec<u8> = ZeroRuns::new(&z, 0).take(d.len()).collect();
            prop_assert_eq!(back, d);
        }

        #[test]
        fn carry_add_inverts_carry_diff(pairs in proptest::collection::vec(any::<(u8, u8)>(), 0..512)) {
            let old: Vec<u8> = pairs.iter().map(|p| p.0).collect();
            let new: Vec<u8> = pairs.iter().map(|p| p.1).collect();
            let d = diff_of(&old, &new);
            prop_assert_eq!(d.len(), old.len());
            let mut buf = old.clone();
            let z = zero_coded(&d);
            carry_add(&mut buf, &mut ZeroRuns::new(&z, 0), &mut 0);
            prop_assert_eq!(buf, new);
        }

        /// Small moves of random little-endian integers: all bytes above the lowest are zero.
        #[test]
        fn small_moves_touch_only_the_lowest_byte(
            values in proptest::collection::vec((any::<u32>(), -128i64..128), 1..64)
        ) {
            let (mut old, mut new) = (Vec::new(), Vec::new());
            for (v, delta) in &values {
                let moved = i64::from(*v) + delta;
                prop_assume!((0..=i64::from(u32::MAX)).contains(&moved));
                old.extend_from_slice(&v.to_le_bytes());
                new.extend_from_slice(&(moved as u32).to_le_bytes());
            }
            let d = diff_of(&old, &new);
            for (k, chunk) in d.chunks(4).enumerate() {
                prop_assert_eq!(&chunk[1..], &[0u8, 0, 0][..], "integer {}", k);
            }
        }
    }
}
