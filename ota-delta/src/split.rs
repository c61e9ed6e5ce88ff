//! Cutting a bsdiff-mode patch into frames (encoder side, FORMAT.md §4 and §8).
//!
//! A frame ends where its raw content (controls, zero-run coded diff, extra bytes) would pass the
//! budget, at a target offset that is a multiple of 64, however many target bytes that covers.
//! Version 1 cut every 256 KiB of target instead: on a near-identical image each of those frames
//! carried a frame header and a fresh LZMA2 stream for a few bytes of content, which made the
//! patch of a 92 MB library 61 times as large as bsdiff's (20,633 against 335 bytes).

use crate::format::{put_varint, zigzag};
use crate::frame::{Op, carry_diff, carry_out, zero_runs};

/// Largest target span of one frame: `target_len` is a u32 and non-final frames end on a
/// multiple of 64.
const MAX_SPAN: usize = (u32::MAX as usize) & !63;

/// Where the walk through the ops stands: op `k`, how much of its add and copy parts are done,
/// and the source position of the next add byte.
#[derive(Clone, Copy, Debug, Default)]
struct Walk {
    k: usize,
    add_done: u64,
    copy_done: u64,
    spos: i64,
}

/// Splits `ops` (which must exactly cover `new`, with every add range inside `old`) into frames:
/// the raw content of each (FORMAT.md §5.2) and the number of target bytes it covers. Each raw
/// content stays within `budget` bytes unless 64 target bytes alone need more. Returns `None`
/// when the ops do not fit `old`/`new`.
pub(crate) fn bsdiff_frames(
    old: &[u8],
    new: &[u8],
    ops: &[Op],
    budget: usize,
) -> Option<Vec<(Vec<u8>, usize)>> {
    let mut frames = Vec::new();
    let mut w = Walk::default();
    let mut tpos = 0usize;
    while tpos < new.len() {
        let end = frame_end(old, new, ops, w, tpos, budget)?;
        let raw = build_frame(old, new, ops, &mut w, tpos, end)?;
        frames.push((raw, end - tpos));
        tpos = end;
    }
    Some(frames)
}

/// Number of bytes of `v` as a varint.
fn vlen(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

/// The exact raw content size of a frame that would end at the current position, kept up to
/// date while walking forward from the frame's start.
#[derive(Default)]
struct Size {
    first_spos: Option<i64>,
    records: u64,
    /// Controls of the records started so far, except the open record's add and copy and the
    /// last record's seek (0, one byte, when the frame ends).
    ctrl: usize,
    /// The open (last) record's add and copy amounts.
    add: u64,
    copy: u64,
    /// Source position right after the last record's add range (for the next record's seek).
    prev_end: i64,
    coded: usize,
    zeros: u64,
    extras: usize,
}

impl Size {
    fn start_record(&mut self, spos: i64) {
        if self.first_spos.is_none() {
            self.first_spos = Some(spos);
        } else {
            self.ctrl += vlen(self.add) + vlen(self.copy);
            self.ctrl += vlen(zigzag(spos.wrapping_sub(self.prev_end)));
        }
        self.records += 1;
        self.add = 0;
        self.copy = 0;
        self.prev_end = spos;
    }

    fn diff_byte(&mut self, d: u8) {
        if d == 0 {
            self.zeros += 1;
        } else {
            self.close_run();
            self.coded += 1;
        }
    }

    fn close_run(&mut self) {
        if self.zeros > 0 {
            self.coded += 1 + vlen(self.zeros - 1);
            self.zeros = 0;
        }
    }

    fn total(&self) -> usize {
        let run = if self.zeros > 0 {
            1 + vlen(self.zeros - 1)
        } else {
            0
        };
        vlen(self.records)
            + vlen(zigzag(self.first_spos.unwrap_or(0)))
            + self.ctrl
            + vlen(self.add)
            + vlen(self.copy)
            + 1
            + self.coded
            + run
            + self.extras
    }
}

/// The end of the frame starting at `tstart` with the walk at `w`: the last multiple of 64 (or
/// the end of `new`) at which the frame's raw content is still within `budget`, or the first
/// such offset when even that is over.
fn frame_end(
    old: &[u8],
    new: &[u8],
    ops: &[Op],
    mut w: Walk,
    tstart: usize,
    budget: usize,
) -> Option<usize> {
    let max_end = tstart + (new.len() - tstart).min(MAX_SPAN);
    let mut s = Size::default();
    let mut t = tstart;
    let mut open = false;
    let mut fits = None;
    let mut carry = 0i32;
    while t < max_end {
        let op = ops.get(w.k)?;
        if w.add_done == op.add && w.copy_done == op.copy {
            w.spos = w.spos.checked_add(op.seek)?;
            w.k += 1;
            w.add_done = 0;
            w.copy_done = 0;
            open = false;
            continue;
        }
        if !open {
            s.start_record(w.spos);
            open = true;
            carry = 0;
        }
        // Up to the next multiple of 64, within the current part of the op.
        let boundary = ((t / 64) + 1) * 64;
        let step = boundary.min(max_end) - t;
        if w.add_done < op.add {
            let len = ((op.add - w.add_done) as usize).min(step);
            let sp = usize::try_from(w.spos).ok()?;
            let src = old.get(sp..sp.checked_add(len)?)?;
            let dst = new.get(t..t + len)?;
            if carry == 0 && src == dst {
                s.zeros += len as u64;
            } else {
                for (&o, &n) in src.iter().zip(dst) {
                    let d = n.wrapping_sub(o).wrapping_sub(carry as u8);
                    carry = carry_out(o, d, carry);
                    s.diff_byte(d);
                }
            }
            s.add += len as u64;
            w.add_done += len as u64;
            w.spos = w.spos.checked_add(len as i64)?;
            t += len;
            s.prev_end = w.spos;
        } else {
            let len = ((op.copy - w.copy_done) as usize).min(step);
            s.copy += len as u64;
            s.extras += len;
            w.copy_done += len as u64;
            t += len;
        }
        if t.is_multiple_of(64) || t == new.len() {
            if s.total() > budget {
                return Some(fits.unwrap_or(t));
            }
            fits = Some(t);
        }
    }
    Some(fits.unwrap_or(max_end))
}

/// The raw content of the frame covering `new[tstart..end]`, advancing the walk `w`.
fn build_frame(
    old: &[u8],
    new: &[u8],
    ops: &[Op],
    w: &mut Walk,
    tstart: usize,
    end: usize,
) -> Option<Vec<u8>> {
    // (add, copy, source position at the start of the record)
    let mut recs: Vec<(u64, u64, i64)> = Vec::new();
    let mut diffs = Vec::new();
    let mut extras = Vec::new();
    let mut tpos = tstart;
    while tpos < end {
        let op = ops.get(w.k)?;
        let room = end - tpos;
        let d = (op.add - w.add_done).min(room as u64) as usize;
        let e = if w.add_done + d as u64 == op.add {
            (op.copy - w.copy_done).min((room - d) as u64) as usize
        } else {
            0
        };
        if d + e > 0 {
            recs.push((d as u64, e as u64, w.spos));
            if d > 0 {
                let s = usize::try_from(w.spos).ok()?;
                let src = old.get(s..s.checked_add(d)?)?;
                let dst = new.get(tpos..tpos + d)?;
                carry_diff(src, dst, &mut diffs);
                w.spos = w.spos.checked_add(d as i64)?;
            }
            extras.extend_from_slice(new.get(tpos + d..tpos + d + e)?);
            tpos += d + e;
            w.add_done += d as u64;
            w.copy_done += e as u64;
        }
        if w.add_done == op.add && w.copy_done == op.copy {
            w.spos = w.spos.checked_add(op.seek)?;
            w.k += 1;
            w.add_done = 0;
            w.copy_done = 0;
        }
    }
    let mut raw = Vec::with_capacity(recs.len() * 6 + 16 + diffs.len() / 4 + extras.len());
    put_varint(&mut raw, recs.len() as u64);
    put_varint(&mut raw, zigzag(recs.first().map_or(0, |r| r.2)));
    for (i, r) in recs.iter().enumerate() {
        put_varint(&mut raw, r.0);
        put_varint(&mut raw, r.1);
        // Seek from the end of this record's add range to the next record's start.
        let seek = match recs.get(i + 1) {
            Some(next) => next.2.checked_sub(r.2.checked_add(r.0 as i64)?)?,
            None => 0,
        };
        put_varint(&mut raw, zigzag(seek));
    }
    zero_runs(&diffs, &mut raw);
    raw.extend_from_slice(&extras);
    Some(raw)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::{Op, bsdiff_frames, vlen};
    use crate::format::put_varint;
    use proptest::prelude::*;

    #[test]
    fn vlen_matches_put_varint() {
        for v in [
            0u64,
            1,
            127,
            128,
            16_383,
            16_384,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            let mut b = Vec::new();
            put_varint(&mut b, v);
            assert_eq!(vlen(v), b.len(), "{v}");
        }
    }

    /// An unchanged 8 MiB image is one frame of a few bytes (version 1 made 32 frames of it).
    #[test]
    fn identical_image_is_one_small_frame() {
        let old: Vec<u8> = (0..8u32 << 20)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect();
        let ops = [Op {
            add: old.len() as u64,
            copy: 0,
            seek: 0,
        }];
        let frames = bsdiff_frames(&old, &old, &ops, 4096).unwrap();
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].1, old.len());
        assert!(frames[0].0.len() < 16, "{} raw bytes", frames[0].0.len());
    }

    /// Ops over random data: the measured cut points keep every frame within the budget (when
    /// 64 target bytes fit at all), every non-final frame ends on a multiple of 64, and the
    /// frames cover the target exactly.
    fn check(old: &[u8], new: &[u8], ops: &[Op], budget: usize) {
        let frames = bsdiff_frames(old, new, ops, budget).unwrap();
        let total: usize = frames.iter().map(|f| f.1).sum();
        assert_eq!(total, new.len());
        for (i, (raw, span)) in frames.iter().enumerate() {
            if i + 1 < frames.len() {
                assert_eq!(span % 64, 0);
            }
            if *span > 64 {
                assert!(raw.len() <= budget, "frame {i}: {} > {budget}", raw.len());
            }
        }
    }

    proptest! {
        #[test]
        fn cuts_respect_the_budget(
            old in proptest::collection::vec(0u8..4, 1..3000),
            parts in proptest::collection::vec((0usize..700, 0usize..300, -500i64..500), 1..12),
            budget in 64usize..2000,
        ) {
            // Ops from random parts, clipped to `old`, with a matching `new`.
            let mut new = Vec::new();
            let mut ops = Vec::new();
            let mut spos: i64 = 0;
            for (a, c, seek) in parts {
                let s = spos.clamp(0, old.len() as i64) as usize;
                let a = a.min(old.len() - s);
                new.extend(old[s..s + a].iter().map(|b| b ^ u8::from(a % 3 == 0)));
                new.extend((0..c).map(|i| i as u8));
                let next = (s + a) as i64 + seek;
                let next = next.clamp(0, old.len() as i64);
                ops.push(Op { add: a as u64, copy: c as u64, seek: next - (s + a) as i64 });
                spos = next;
            }
            prop_assume!(!new.is_empty());
            check(&old, &new, &ops, budget);
        }
    }
}
