#![cfg_attr(feature = "std", doc = include_str!("../README.md"))]
#![cfg_attr(
    not(feature = "std"),
    doc = "Binary delta patches for OTA updates (`no_std` build: the MCU apply only; see README.md)."
)]
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]

#[cfg(feature = "std")]
mod apply;
#[cfg(feature = "std")]
mod classic;
#[cfg(feature = "std")]
mod codec;
#[cfg(feature = "std")]
mod diff;
mod error;
mod format;
#[cfg(feature = "std")]
mod frame;
mod inflate;
mod limits;
mod mcu;
mod recon;
#[cfg(feature = "std")]
mod scan;
mod sha;
#[cfg(feature = "std")]
mod source;
#[cfg(feature = "std")]
mod split;

#[cfg(feature = "std")]
pub use apply::{Apply, ApplyOptions, apply_patch, read_header};
#[cfg(feature = "std")]
pub use classic::{apply_bsdiff, apply_bsdiff_to, export_bsdiff, import_bsdiff};
#[cfg(feature = "std")]
pub use diff::{DiffOptions, ModeChoice, Profile, diff, diff_with};
pub use error::{Error, Result};
pub use format::{
    CURSOR_LEN, Codec, Cursor, FRAME_HEADER_LEN, HEADER_LEN, Header, MAGIC, Mode, VERSION,
};
pub use limits::Limits;
pub use mcu::{
    Fed, MCU_DEFAULT_RAW, MCU_INPLACE_MARGIN, MCU_MAX_RAW, McuApply, McuOptions, McuStorage,
    SourceCheck, mcu_frame_buf_len,
};
#[cfg(feature = "std")]
pub use source::{FileSource, Source};

/// Internals exposed only for the codec measurement in `examples/dump_frames.rs`; not part of
/// the API, may change at any time.
#[cfg(feature = "std")]
#[doc(hidden)]
pub mod probe {
    /// The raw (uncompressed) content of every bsdiff-mode frame for `old` -> `new`.
    ///
    /// # Errors
    /// As [`crate::diff`].
    pub fn bsdiff_raw_frames(
        old: &[u8],
        new: &[u8],
        frame_size: usize,
    ) -> crate::Result<Vec<Vec<u8>>> {
        let ops = crate::scan::bsdiff_ops(old, new)?;
        let frames = crate::split::bsdiff_frames(old, new, &ops, frame_size.max(4096)).ok_or(
            crate::Error::InvalidField {
                field: "ops",
                offset: 0,
                reason: "do not fit the images",
            },
        )?;
        Ok(frames.into_iter().map(|f| f.0).collect())
    }

    /// What a naive in-place (single-slot) apply of the MCU profile would cost, for
    /// `examples/inplace_probe.rs`: the target is written in order from the slot's start over
    /// the source, which sits `shift` bytes into the slot, erasing `sector`-byte sectors; for the
    /// apply to be resumable without a scratch area, a bsdiff add byte written at target offset
    /// `t` may only read source bytes whose slot position is at or past the end of `t`'s sector. Returns (add bytes, add bytes that read
    /// source already overwritten, MCU patch bytes as made, MCU patch bytes with every such add
    /// byte turned into a literal byte). The last is an upper bound for an encoder that searched
    /// only the source still intact (as detools' in-place patches do); it does not count what a
    /// resume of a partly written frame would also need (its own sectors intact).
    ///
    /// # Errors
    /// As [`crate::diff`].
    pub fn inplace_estimate(
        old: &[u8],
        new: &[u8],
        sector: u64,
        shift: u64,
    ) -> crate::Result<(u64, u64, usize, usize)> {
        use crate::frame::Op;
        let sector = sector.max(1);
        let ops = crate::scan::bsdiff_ops(old, new)?;
        let (mut n, mut o) = (0u64, 0i64);
        let (mut adds, mut hazard) = (0u64, 0u64);
        let mut safe: Vec<Op> = Vec::with_capacity(ops.len());
        // Appends a literal run, merged into the previous op when that has no copy/seek yet.
        fn push(v: &mut Vec<Op>, op: Op) {
            match v.last_mut() {
                Some(l) if l.copy == 0 && l.seek == 0 => {
                    l.copy = op.copy;
                    l.seek = op.seek;
                }
                _ => v.push(op),
            }
        }
        for op in &ops {
            adds += op.add;
            // Split the add range into runs that are safe (source past the erased sector) or not.
            let mut i = 0u64;
            while i < op.add {
                let t = n + i;
                let s = o + i as i64;
                // Source below this (in source offsets) is gone.
                let limit = ((t / sector + 1) * sector) as i64 - shift as i64;
                let is_safe = s >= limit;
                // Both offsets advance together, so the run lasts to the sector end or to where
                // the source position crosses the limit.
                let to_sector_end = (t / sector + 1) * sector - t;
                let run = if is_safe {
                    to_sector_end.min(op.add - i)
                } else {
                    let to_safe = (limit - s).max(1) as u64;
                    to_safe.min(to_sector_end).min(op.add - i)
                };
                if is_safe {
                    match safe.last_mut() {
                        Some(l) if l.copy == 0 && l.seek == 0 => l.add += run,
                        _ => safe.push(Op {
                            add: run,
                            copy: 0,
                            seek: 0,
                        }),
                    }
                } else {
                    hazard += run;
                    push(
                        &mut safe,
                        Op {
                            add: 0,
                            copy: run,
                            seek: run as i64,
                        },
                    );
                }
                i += run;
            }
            n += op.add;
            o += op.add as i64;
            if op.copy > 0 || op.seek != 0 {
                match safe.last_mut() {
                    Some(l) if l.copy == 0 && l.seek == 0 => {
                        l.copy = op.copy;
                        l.seek = op.seek;
                    }
                    _ => safe.push(Op {
                        add: 0,
                        copy: op.copy,
                        seek: op.seek,
                    }),
                }
            }
            n += op.copy;
            o += op.seek;
        }
        let budget = crate::mcu::MCU_MAX_RAW as usize;
        let size = |ops: &[Op]| -> crate::Result<usize> {
            let frames = crate::split::bsdiff_frames(old, new, ops, budget).ok_or(
                crate::Error::InvalidField {
                    field: "ops",
                    offset: 0,
                    reason: "do not fit the images",
                },
            )?;
            Ok(crate::HEADER_LEN
                + frames
                    .iter()
                    .map(|f| crate::FRAME_HEADER_LEN + crate::codec::deflate_frame(&f.0).len())
                    .sum::<usize>())
        };
        Ok((adds, hazard, size(&ops)?, size(&safe)?))
    }
}
