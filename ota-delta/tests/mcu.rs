//! The MCU profile (FORMAT.md §10): patches made with `Profile::Mcu` applied by the `no_std`
//! `McuApply` (fixed buffers, storage callbacks) give the same target as the std apply, on the
//! real corpus pairs and on generated ones; resume after a reset at every frame boundary and at
//! arbitrary cut points gives the identical result; bad patches, sources and stored targets are
//! refused with the right error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{bytes, mutate};
use ota_delta::{
    Codec, Cursor, DiffOptions, Error, Fed, HEADER_LEN, MCU_DEFAULT_RAW, MCU_MAX_RAW, McuApply,
    McuOptions, McuStorage, ModeChoice, Profile, SourceCheck, diff_with, mcu_frame_buf_len,
};
use std::path::PathBuf;

/// Source and target "flash" in memory; the target grows as it is written.
struct Flash {
    source: Vec<u8>,
    target: Vec<u8>,
}

impl McuStorage for Flash {
    fn read_source(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), i32> {
        let o = offset as usize;
        let src = self.source.get(o..o + buf.len()).ok_or(-1)?;
        buf.copy_from_slice(src);
        Ok(())
    }
    fn write_target(&mut self, offset: u64, data: &[u8]) -> Result<(), i32> {
        let o = offset as usize;
        if self.target.len() < o + data.len() {
            self.target.resize(o + data.len(), 0xFF);
        }
        self.target[o..o + data.len()].copy_from_slice(data);
        Ok(())
    }
    fn read_target(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), i32> {
        let o = offset as usize;
        let t = self.target.get(o..o + buf.len()).ok_or(-2)?;
        buf.copy_from_slice(t);
        Ok(())
    }
}

fn mcu_opts(mode: ModeChoice) -> DiffOptions {
    DiffOptions {
        mode,
        profile: Profile::Mcu,
        ..DiffOptions::default()
    }
}

/// Feeds `patch[from..]` in pieces of `step` bytes, collecting every cursor.
fn feed_all(
    job: &mut McuApply<'_>,
    patch: &[u8],
    from: usize,
    step: usize,
    flash: &mut Flash,
) -> ota_delta::Result<Vec<Cursor>> {
    let mut cursors = Vec::new();
    let mut pos = from;
    while pos < patch.len() {
        let end = (pos + step).min(patch.len());
        let mut piece = &patch[pos..end];
        loop {
            match job.feed(piece, flash)? {
                Fed::NeedMore => break,
                Fed::Frame { used, cursor } | Fed::Finished { used, cursor } => {
                    cursors.push(cursor);
                    piece = &piece[used..];
                }
            }
        }
        pos = end;
    }
    Ok(cursors)
}

/// Applies a whole MCU patch with the no_std applier and 512-byte work buffer.
fn mcu_apply(patch: &[u8], old: &[u8], step: usize) -> ota_delta::Result<(Vec<u8>, Vec<Cursor>)> {
    let mut frame = vec![0u8; mcu_frame_buf_len(MCU_MAX_RAW)];
    let mut work = [0u8; 512];
    let mut flash = Flash {
        source: old.to_vec(),
        target: Vec::new(),
    };
    let mut job = McuApply::new(&mut frame, &mut work, McuOptions::default())?;
    let cursors = feed_all(&mut job, patch, 0, step, &mut flash)?;
    assert!(job.is_finished(), "patch ended before the last frame");
    Ok((flash.target, cursors))
}

fn corpus_pairs() -> Vec<(String, Vec<u8>, Vec<u8>)> {
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/data");
    let mut v = Vec::new();
    for p in ["ujson_so", "ssh", "silero_onnx", "libcrypto", "numpy_core"] {
        if let (Ok(o), Ok(n)) = (
            std::fs::read(corpus.join(p).join("old")),
            std::fs::read(corpus.join(p).join("new")),
        ) {
            v.push((p.to_string(), o, n));
        }
    }
    if v.is_empty() {
        assert!(
            std::env::var_os("CI").is_none(),
            "the shared corpus is required in CI"
        );
    }
    v
}

/// Every corpus pair: the MCU patch applied by `McuApply` equals the std apply of the same
/// patch and the new file; the patch stays in the profile's limits.
#[test]
fn corpus_mcu_patches_apply_like_std() {
    for (name, old, new) in corpus_pairs() {
        let patch = diff_with(&old, &new, &mcu_opts(ModeChoice::Auto)).unwrap();
        let h = ota_delta::read_header(&patch[..], &ota_delta::Limits::default()).unwrap();
        assert!(matches!(h.codec, Codec::Deflate), "{name}");
        assert!(
            h.max_raw <= MCU_DEFAULT_RAW,
            "{name}: the default frame size"
        );
        let std_out = common::apply_vec(&patch, &old).unwrap();
        assert_eq!(std_out, new, "{name}: std apply");
        let (mcu_out, cursors) = mcu_apply(&patch, &old, 1500).unwrap();
        assert_eq!(mcu_out, std_out, "{name}: MCU apply differs from std");
        assert_eq!(cursors.len(), h.frame_count as usize, "{name}");
        eprintln!(
            "{name}: MCU patch {} bytes, {} frames",
            patch.len(),
            h.frame_count
        );
    }
}

fn generated() -> Vec<(&'static str, Vec<u8>, Vec<u8>, ModeChoice)> {
    let old = bytes(5, 60_000);
    let new = mutate(&old, 5);
    let mut same = old.clone();
    for i in (0..same.len()).step_by(97) {
        same[i] ^= 3;
    }
    vec![
        ("bsdiff", old.clone(), new.clone(), ModeChoice::Bsdiff),
        ("full", old.clone(), new.clone(), ModeChoice::Full),
        ("xor", old.clone(), same, ModeChoice::XorPlanes { width: 4 }),
        ("auto", old.clone(), new, ModeChoice::Auto),
        ("empty target", old, Vec::new(), ModeChoice::Bsdiff),
    ]
}

#[test]
fn every_mode_applies_like_std_whatever_the_feed_size() {
    for (name, old, new, mode) in generated() {
        let patch = diff_with(&old, &new, &mcu_opts(mode)).unwrap();
        assert_eq!(common::apply_vec(&patch, &old).unwrap(), new, "{name}");
        for step in [1, 7, 44, 4096, patch.len().max(1)] {
            let (out, _) = mcu_apply(&patch, &old, step).unwrap();
            assert_eq!(out, new, "{name}, feed step {step}");
        }
    }
}

/// Resumes from `cursor` with the stored target as `flash` holds it, then feeds the rest.
fn resume_and_finish(patch: &[u8], cursor: &Cursor, flash: &mut Flash) -> ota_delta::Result<()> {
    let mut frame = vec![0u8; mcu_frame_buf_len(MCU_MAX_RAW)];
    let mut work = [0u8; 256];
    let header: &[u8; HEADER_LEN] = patch[..HEADER_LEN].try_into().unwrap();
    let mut job = McuApply::resume(
        &mut frame,
        &mut work,
        McuOptions::default(),
        header,
        cursor,
        flash,
    )?;
    feed_all(&mut job, patch, cursor.patch_offset() as usize, 999, flash)?;
    assert!(job.is_finished());
    Ok(())
}

#[test]
fn resume_at_every_frame_boundary_gives_the_same_target() {
    let old = bytes(9, 150_000);
    let mut new = mutate(&old, 9);
    new.splice(70_000..70_000, bytes(10, 30_000));
    for mode in [ModeChoice::Bsdiff, ModeChoice::Full] {
        let opts = DiffOptions {
            frame_size: 4096,
            ..mcu_opts(mode)
        };
        let patch = diff_with(&old, &new, &opts).unwrap();
        let (_, cursors) = mcu_apply(&patch, &old, 333).unwrap();
        assert!(cursors.len() > 3, "{mode:?}: {} frames", cursors.len());
        for c in &cursors {
            let c = Cursor::from_bytes(&c.to_bytes()).unwrap();
            // The stored target: what was written up to the cursor, then garbage of a frame
            // that was in progress when the power went.
            let mut target = new[..c.target_offset() as usize].to_vec();
            target.extend_from_slice(&[0xA5; 1000]);
            let mut flash = Flash {
                source: old.clone(),
                target,
            };
            resume_and_finish(&patch, &c, &mut flash).unwrap();
            flash.target.truncate(new.len());
            assert_eq!(
                flash.target,
                new,
                "{mode:?} resumed at frame {}",
                c.frame_index()
            );
        }
    }
}

/// A reset after any number of patch bytes: resume from the last cursor persisted by then.
#[test]
fn resume_after_a_cut_at_arbitrary_points_gives_the_same_target() {
    let old = bytes(11, 100_000);
    let new = mutate(&old, 11);
    let patch = diff_with(&old, &new, &mcu_opts(ModeChoice::Bsdiff)).unwrap();
    let mut cuts: Vec<usize> = (0..patch.len()).step_by(patch.len() / 40 + 1).collect();
    cuts.extend([
        1,
        HEADER_LEN - 1,
        HEADER_LEN,
        HEADER_LEN + 1,
        patch.len() - 1,
    ]);
    for cut in cuts {
        let mut frame = vec![0u8; mcu_frame_buf_len(MCU_MAX_RAW)];
        let mut work = [0u8; 128];
        let mut flash = Flash {
            source: old.clone(),
            target: Vec::new(),
        };
        let mut job = McuApply::new(&mut frame, &mut work, McuOptions::default()).unwrap();
        let cursors = feed_all(&mut job, &patch[..cut], 0, 200, &mut flash).unwrap();
        let last = cursors.last().copied().or(job.cursor());
        drop(job);
        match last {
            Some(c) => resume_and_finish(&patch, &c, &mut flash).unwrap(),
            // Nothing persisted yet (cut inside the header): start again.
            None => {
                flash.target.clear();
                let (out, _) = mcu_apply(&patch, &old, 200).unwrap();
                flash.target = out;
            }
        }
        flash.target.truncate(new.len());
        assert_eq!(flash.target, new, "cut at {cut}");
    }
}

#[test]
fn stored_target_changed_across_the_reset_is_refused() {
    let old = bytes(13, 80_000);
    let new = mutate(&old, 13);
    let patch = diff_with(&old, &new, &mcu_opts(ModeChoice::Full)).unwrap();
    let (_, cursors) = mcu_apply(&patch, &old, 4096).unwrap();
    let c = cursors[2];
    let mut target = new[..c.target_offset() as usize].to_vec();
    target[100] ^= 1;
    let mut flash = Flash {
        source: old.clone(),
        target,
    };
    let e = resume_and_finish(&patch, &c, &mut flash).unwrap_err();
    assert!(matches!(e, Error::StoredTargetMismatch { .. }), "{e}");
    // A cursor of another patch.
    let other = diff_with(&old, &old, &mcu_opts(ModeChoice::Full)).unwrap();
    let e = resume_and_finish(&other, &c, &mut flash).unwrap_err();
    assert!(matches!(e, Error::BadCursor(_)), "{e}");
}

#[test]
fn wrong_source_bad_patches_and_small_buffers_are_errors() {
    let old = bytes(17, 30_000);
    let new = mutate(&old, 17);
    let patch = diff_with(&old, &new, &mcu_opts(ModeChoice::Bsdiff)).unwrap();
    // Wrong source: refused before anything is written.
    let mut wrong = old.clone();
    for b in &mut wrong[10_000..10_100] {
        *b ^= 1;
    }
    let e = mcu_apply(&patch, &wrong, 100).unwrap_err();
    assert!(matches!(e, Error::SourceDigestMismatch), "{e}");
    // Trusting the caller about a wrong source: the frame check catches it.
    let mut frame = vec![0u8; mcu_frame_buf_len(MCU_MAX_RAW)];
    let mut work = [0u8; 64];
    let opts = McuOptions {
        source_check: SourceCheck::TrustCaller,
        ..McuOptions::default()
    };
    let mut flash = Flash {
        source: wrong,
        target: Vec::new(),
    };
    let mut job = McuApply::new(&mut frame, &mut work, opts).unwrap();
    let e = feed_all(&mut job, &patch, 0, 4096, &mut flash).unwrap_err();
    assert!(matches!(e, Error::FrameCorrupt { .. }), "{e}");
    assert!(matches!(job.feed(&[0], &mut flash), Err(Error::Aborted)));
    // A std-profile (LZMA2) patch is outside the profile.
    let lzma = diff_with(&old, &new, &common::fast(ModeChoice::Bsdiff)).unwrap();
    let e = mcu_apply(&lzma, &old, 4096).unwrap_err();
    assert!(
        matches!(e, Error::InvalidField { field: "codec", .. }),
        "{e}"
    );
    // A frame buffer smaller than the patch needs.
    let mut small = vec![0u8; 200];
    let mut work = [0u8; 64];
    let mut flash = Flash {
        source: old.clone(),
        target: Vec::new(),
    };
    let mut job = McuApply::new(&mut small, &mut work, McuOptions::default()).unwrap();
    let e = feed_all(&mut job, &patch, 0, 4096, &mut flash).unwrap_err();
    assert!(
        matches!(e, Error::BufferTooSmall { what: "frame", .. }),
        "{e}"
    );
    // Trailing bytes after the last frame.
    let mut longer = patch.clone();
    longer.push(0);
    let e = mcu_apply(&longer, &old, 4096).unwrap_err();
    assert!(matches!(e, Error::TrailingData { .. }), "{e}");
}

/// The default MCU frame size is `MCU_DEFAULT_RAW` (10 KiB); 12 KiB frames are still made on
/// request and applied with a frame buffer large enough, and refused at the header, before any
/// source read or target write, with a buffer for the default frames only.
#[test]
fn default_frames_are_10k_and_12k_frames_need_a_larger_buffer() {
    let old = bytes(23, 120_000);
    let new = mutate(&old, 23);
    let full = |frame_size| DiffOptions {
        frame_size,
        preset: 0,
        ..mcu_opts(ModeChoice::Full)
    };
    let dflt = diff_with(&old, &new, &mcu_opts(ModeChoice::Full)).unwrap();
    let h = ota_delta::read_header(&dflt[..], &ota_delta::Limits::default()).unwrap();
    assert_eq!(MCU_DEFAULT_RAW, 10 * 1024);
    assert_eq!(h.frame_size, MCU_DEFAULT_RAW);
    assert_eq!(h.max_raw, MCU_DEFAULT_RAW);
    // Any frame size over the profile's maximum (the std default included) gives the default.
    let over = diff_with(&old, &new, &full(MCU_MAX_RAW + 64)).unwrap();
    assert_eq!(over, dflt);
    let big = diff_with(&old, &new, &full(MCU_MAX_RAW)).unwrap();
    let hb = ota_delta::read_header(&big[..], &ota_delta::Limits::default()).unwrap();
    assert_eq!(hb.max_raw, MCU_MAX_RAW);
    // A buffer for the default frames applies the default patch...
    let apply_with = |patch: &[u8], len: usize| {
        let mut frame = vec![0u8; len];
        let mut work = [0u8; 128];
        let mut flash = Flash {
            source: old.clone(),
            target: Vec::new(),
        };
        let mut job = McuApply::new(&mut frame, &mut work, McuOptions::default()).unwrap();
        let r = feed_all(&mut job, patch, 0, 777, &mut flash).map(|_| ());
        (r, flash.target)
    };
    let (r, target) = apply_with(&dflt, mcu_frame_buf_len(MCU_DEFAULT_RAW));
    r.unwrap();
    assert_eq!(target, new);
    // ...and refuses the 12 KiB one with what it needs, having written nothing.
    let (r, target) = apply_with(&big, mcu_frame_buf_len(MCU_DEFAULT_RAW));
    match r {
        Err(Error::BufferTooSmall {
            what: "frame",
            have,
            need,
        }) => {
            assert_eq!(have, 10 * 1024 + 256);
            assert_eq!(need, 12 * 1024 + 256);
        }
        other => panic!("expected BufferTooSmall, got {other:?}"),
    }
    assert!(target.is_empty());
    // One byte short of the 12 KiB frames is refused too; the full buffer applies them.
    let (r, _) = apply_with(&big, mcu_frame_buf_len(MCU_MAX_RAW) - 1);
    assert!(matches!(
        r,
        Err(Error::BufferTooSmall { what: "frame", .. })
    ));
    let (r, target) = apply_with(&big, mcu_frame_buf_len(MCU_MAX_RAW));
    r.unwrap();
    assert_eq!(target, new);
}

/// Every single-bit flip of a small patch is an error (never a panic, never a wrong target).
#[test]
fn every_bit_flip_is_detected() {
    let old = bytes(19, 6_000);
    let new = mutate(&old, 19);
    let patch = diff_with(&old, &new, &mcu_opts(ModeChoice::Bsdiff)).unwrap();
    assert!(patch.len() < 4000, "{}", patch.len());
    for i in 0..patch.len() {
        for bit in 0..8 {
            let mut bad = patch.clone();
            bad[i] ^= 1 << bit;
            if let Ok(out) = mcu_apply_quiet(&bad, &old) {
                panic!("flip {i}.{bit} accepted ({} bytes out)", out.len());
            }
        }
    }
}

/// As `mcu_apply`, but a patch that ends before the last frame is an error rather than a
/// failed assertion.
fn mcu_apply_quiet(patch: &[u8], old: &[u8]) -> ota_delta::Result<Vec<u8>> {
    let mut frame = vec![0u8; mcu_frame_buf_len(MCU_MAX_RAW)];
    let mut work = [0u8; 512];
    let mut flash = Flash {
        source: old.to_vec(),
        target: Vec::new(),
    };
    let mut job = McuApply::new(&mut frame, &mut work, McuOptions::default())?;
    feed_all(&mut job, patch, 0, 1 << 20, &mut flash)?;
    if !job.is_finished() {
        return Err(Error::Truncated {
            offset: patch.len() as u64,
        });
    }
    Ok(flash.target)
}

mod props {
    use super::*;
    use proptest::prelude::*;

    fn mode_of(k: u8) -> ModeChoice {
        match k % 4 {
            0 => ModeChoice::Auto,
            1 => ModeChoice::Bsdiff,
            2 => ModeChoice::Full,
            _ => ModeChoice::XorPlanes { width: 2 },
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// diff (MCU profile) then the MCU apply gives the new image, like the std apply.
        #[test]
        fn diff_then_mcu_apply_round_trips(
            old in proptest::collection::vec(0u8..6, 0..9000),
            edits in proptest::collection::vec((any::<u16>(), any::<u8>()), 0..40),
            k in any::<u8>(),
            step in 1usize..3000,
        ) {
            let mut new = old.clone();
            for (at, b) in edits {
                if new.is_empty() { new.push(b); continue; }
                let i = usize::from(at) % new.len();
                if b % 3 == 0 { new.insert(i, b) } else { new[i] = b }
            }
            let opts = DiffOptions { frame_size: 4096, preset: 0, ..mcu_opts(mode_of(k)) };
            let patch = diff_with(&old, &new, &opts).unwrap();
            prop_assert_eq!(&common::apply_vec(&patch, &old).unwrap(), &new);
            let (out, _) = mcu_apply(&patch, &old, step).unwrap();
            prop_assert_eq!(out, new);
        }

        /// A reset after any number of patch bytes, then a resume from the last cursor
        /// persisted by then, gives the new image.
        #[test]
        fn any_cut_point_resumes(
            seed in any::<u64>(),
            len in 5000usize..40_000,
            cut_frac in 0.0f64..1.0,
            k in any::<u8>(),
        ) {
            let old = bytes(seed, len);
            let new = mutate(&old, seed);
            let opts = DiffOptions { frame_size: 4096, preset: 0, ..mcu_opts(mode_of(k)) };
            let patch = diff_with(&old, &new, &opts).unwrap();
            let cut = ((patch.len() as f64) * cut_frac) as usize;
            let mut frame = vec![0u8; mcu_frame_buf_len(MCU_MAX_RAW)];
            let mut work = [0u8; 96];
            let mut flash = Flash { source: old.clone(), target: Vec::new() };
            let mut job = McuApply::new(&mut frame, &mut work, McuOptions::default()).unwrap();
            let cursors = feed_all(&mut job, &patch[..cut], 0, 777, &mut flash).unwrap();
            let last = cursors.last().copied().or(job.cursor());
            drop(job);
            if let Some(c) = last {
                resume_and_finish(&patch, &c, &mut flash).unwrap();
                flash.target.truncate(new.len());
                prop_assert_eq!(flash.target, new);
            }
        }
    }
}

/// The in-place measurement (`probe::inplace_estimate`): identical images read only overwritten
/// source when the source sits at the slot's start, none when it is moved up two sectors; the
/// rewritten records still cover the images (else it errors) and cost more when bytes moved to
/// literals.
#[test]
fn inplace_estimate_counts_reads_of_overwritten_source() {
    let old = bytes(9, 50_000);
    let (adds, hazard, mcu, literal) =
        ota_delta::probe::inplace_estimate(&old, &old, 4096, 0).unwrap();
    assert_eq!(adds, old.len() as u64);
    assert_eq!(hazard, adds);
    assert!(literal > mcu, "{literal} vs {mcu}");
    let (_, hazard, mcu, literal) =
        ota_delta::probe::inplace_estimate(&old, &old, 4096, 8192).unwrap();
    assert_eq!(hazard, 0);
    assert_eq!(literal, mcu);
    // A block moved to the end reads source overwritten by then, though the rest is safe.
    let mut new = old[..20_000].to_vec();
    new.extend_from_slice(&old[30_000..]);
    new.extend_from_slice(&old[20_000..30_000]);
    let (adds, hazard, _, _) = ota_delta::probe::inplace_estimate(&old, &new, 4096, 8192).unwrap();
    assert!(
        adds > 40_000 && hazard >= 9_000 && hazard < adds,
        "{adds} {hazard}"
    );
}
