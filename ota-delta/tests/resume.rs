//! Interrupted applies: at every frame boundary and at arbitrary byte offsets of the patch
//! stream and of the sink, resumed from the last persisted cursor, give the identical target.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{bytes, fast, mutate};
use ota_delta::{Apply, ApplyOptions, Cursor, Error, HEADER_LEN, ModeChoice, diff_with};
use std::io::{self, Read, Write};

/// Resumes as a device does: the header, the patch from the cursor's offset on (a range
/// request), and the target bytes read back from storage.
fn resume<'a>(
    patch: &'a [u8],
    old: &'a [u8],
    c: &Cursor,
    stored: &[u8],
) -> ota_delta::Result<Apply<&'a [u8], &'a [u8]>> {
    let header: &[u8; HEADER_LEN] = patch[..HEADER_LEN].try_into().unwrap();
    let rest = patch.get(c.patch_offset() as usize..).unwrap_or_default();
    Apply::resume(header, rest, old, c, stored, &ApplyOptions::default())
}

/// A reader that fails after `left` bytes (a download or storage cut).
struct CutReader<'a> {
    data: &'a [u8],
    left: usize,
}
impl Read for CutReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Err(io::Error::other("power cut"));
        }
        let n = buf.len().min(self.left).min(self.data.len()).min(777);
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        self.left -= n;
        Ok(n)
    }
}

/// A sink that accepts `left` bytes and then fails, keeping what it got (a torn write).
struct CutSink {
    data: Vec<u8>,
    left: usize,
}
impl Write for CutSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Err(io::Error::other("power cut"));
        }
        let n = buf.len().min(self.left);
        self.data.extend_from_slice(&buf[..n]);
        self.left -= n;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn pair(mode: ModeChoice) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let old = bytes(42, 50_000);
    let mut new = mutate(&old, 42);
    // New bytes give bsdiff mode many short frames there; the unchanged stretches around them
    // give frames longer than the 4 KiB window (reconstructed in two passes).
    new.splice(12_000..12_000, bytes(77, 40_000));
    new.extend_from_slice(&bytes(9, 1234)); // last frame not a multiple of 64
    let patch = diff_with(&old, &new, &fast(mode)).unwrap();
    (old, new, patch)
}

/// Runs with a reader cut after `patch_cut` bytes and a sink cut after `sink_cut` bytes, then
/// resumes (repeatedly if needed) from the last persisted cursor.
fn interrupted(old: &[u8], patch: &[u8], patch_cut: usize, sink_cut: usize) -> Vec<u8> {
    let opts = ApplyOptions::default();
    let mut sink = CutSink {
        data: Vec::new(),
        left: sink_cut,
    };
    let mut saved: Option<[u8; 64]> = None;
    if let Ok(mut job) = Apply::new(
        CutReader {
            data: patch,
            left: patch_cut,
        },
        old,
        &opts,
    ) {
        loop {
            match job.next_frame(&mut sink) {
                Ok(Some(c)) => saved = Some(c.to_bytes()),
                Ok(None) => break,
                Err(_) => break,
            }
        }
    }
    // Power comes back: the persisted cursor (if any) and whatever reached the sink.
    let mut out = sink.data;
    match saved {
        None => {
            out.clear();
            let mut job = Apply::new(patch, old, &opts).unwrap();
            job.run(&mut out).unwrap();
        }
        Some(b) => {
            let c = Cursor::from_bytes(&b).unwrap();
            assert!(out.len() as u64 >= c.target_offset());
            out.truncate(c.target_offset() as usize);
            let mut job = resume(patch, old, &c, &out).unwrap();
            job.run(&mut out).unwrap();
            assert!(job.is_finished());
        }
    }
    out
}

#[test]
fn resume_at_every_frame_boundary_every_mode() {
    for mode in [
        ModeChoice::Bsdiff,
        ModeChoice::Full,
        ModeChoice::XorPlanes { width: 4 },
    ] {
        let (old, new, patch) = pair(mode);
        // Collect the cursor after every frame of an uninterrupted run.
        let mut job = Apply::new(&patch[..], &old[..], &ApplyOptions::default()).unwrap();
        let mut out = Vec::new();
        let mut cursors = Vec::new();
        while let Some(c) = job.next_frame(&mut out).unwrap() {
            assert_eq!(c.target_offset(), out.len() as u64);
            cursors.push(c);
        }
        assert_eq!(out, new);
        assert!(
            cursors.len() > 10,
            "want many frames, got {}",
            cursors.len()
        );
        for c in &cursors {
            let c = Cursor::from_bytes(&c.to_bytes()).unwrap();
            let mut resumed = new[..c.target_offset() as usize].to_vec();
            let mut job = resume(&patch, &old, &c, &resumed).unwrap();
            job.run(&mut resumed).unwrap();
            assert_eq!(resumed, new, "mode {mode:?} frame {}", c.frame_index());
        }
    }
}

#[test]
fn resume_after_cuts_at_many_byte_offsets() {
    let (old, new, patch) = pair(ModeChoice::Bsdiff);
    let mut x = 12345u64;
    let mut rnd = |m: usize| {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (x >> 33) as usize % m
    };
    // Every patch byte offset in steps, plus random ones; random sink cuts.
    let mut cuts: Vec<(usize, usize)> = (0..patch.len())
        .step_by(97)
        .map(|p| (p, usize::MAX))
        .collect();
    for _ in 0..150 {
        cuts.push((rnd(patch.len() + 1), usize::MAX));
        cuts.push((usize::MAX, rnd(new.len() + 1)));
    }
    for (pc, sc) in cuts {
        assert_eq!(
            interrupted(&old, &patch, pc, sc),
            new,
            "patch cut {pc}, sink cut {sc}"
        );
    }
}

#[test]
fn cursor_from_another_patch_or_corrupt_is_rejected() {
    let (old, _new, patch) = pair(ModeChoice::Bsdiff);
    let (_, _, other) = pair(ModeChoice::Full);
    let mut job = Apply::new(&other[..], &old[..], &ApplyOptions::default()).unwrap();
    let c = job.next_frame(&mut Vec::new()).unwrap().unwrap();
    assert!(matches!(
        resume(&patch, &old, &c, &[]),
        Err(Error::BadCursor(_))
    ));
    let b = c.to_bytes();
    for bit in 0..(64 * 8) {
        let mut f = b;
        f[bit / 8] ^= 1 << (bit % 8);
        assert!(Cursor::from_bytes(&f).is_err(), "bit {bit}");
    }
}

#[test]
fn final_cursor_resumes_to_nothing() {
    let (old, new, patch) = pair(ModeChoice::Bsdiff);
    let mut job = Apply::new(&patch[..], &old[..], &ApplyOptions::default()).unwrap();
    let mut out = Vec::new();
    let mut last = None;
    while let Some(c) = job.next_frame(&mut out).unwrap() {
        last = Some(c);
    }
    let c = last.unwrap();
    assert_eq!(c.target_offset(), new.len() as u64);
    let mut job = resume(&patch, &old, &c, &out).unwrap();
    assert!(job.is_finished());
    assert_eq!(job.run(&mut out).unwrap(), 0);
    assert_eq!(out, new);
}

/// Issue 15 §1: bytes written before the interruption and changed in storage since (a flipped
/// flash bit, a tampered staging file) must be refused on resume, not called verified.
#[test]
fn resume_refuses_a_stored_prefix_changed_since_it_was_written() {
    let (old, new, patch) = pair(ModeChoice::Bsdiff);
    let mut job = Apply::new(&patch[..], &old[..], &ApplyOptions::default()).unwrap();
    let mut out = Vec::new();
    let mut cursors = Vec::new();
    while let Some(c) = job.next_frame(&mut out).unwrap() {
        cursors.push(c);
    }
    let mid = &cursors[cursors.len() / 2];
    let prefix = &new[..mid.target_offset() as usize];
    for at in [0, 1000, prefix.len() - 1] {
        let mut bad = prefix.to_vec();
        bad[at] ^= 0x01;
        assert!(
            matches!(
                resume(&patch, &old, mid, &bad),
                Err(Error::StoredTargetMismatch { offset }) if offset == mid.target_offset()
            ),
            "flip at {at}"
        );
    }
    // Fewer stored bytes than the cursor vouches for.
    assert!(matches!(
        resume(&patch, &old, mid, &prefix[..prefix.len() - 1]),
        Err(Error::StoredTargetMismatch { .. })
    ));
    // The untouched prefix resumes, from the header and the patch's tail only.
    let mut resumed = prefix.to_vec();
    resume(&patch, &old, mid, prefix)
        .unwrap()
        .run(&mut resumed)
        .unwrap();
    assert_eq!(resumed, new);
    // A final cursor re-reads the whole stored target.
    let last = cursors.last().unwrap();
    let mut bad = new.clone();
    bad[new.len() - 1] ^= 0x80;
    assert!(matches!(
        resume(&patch, &old, last, &bad),
        Err(Error::StoredTargetMismatch { .. })
    ));
    assert!(resume(&patch, &old, last, &new).unwrap().is_finished());
}

#[test]
fn resume_rest_must_start_at_the_cursor() {
    let (old, _new, patch) = pair(ModeChoice::Bsdiff);
    let mut job = Apply::new(&patch[..], &old[..], &ApplyOptions::default()).unwrap();
    let mut out = Vec::new();
    let c = job.next_frame(&mut out).unwrap().unwrap();
    let header: &[u8; HEADER_LEN] = patch[..HEADER_LEN].try_into().unwrap();
    // The whole patch again instead of its tail: the next frame does not check.
    let mut job = Apply::resume(
        header,
        &patch[..],
        &old[..],
        &c,
        &out[..],
        &ApplyOptions::default(),
    )
    .unwrap();
    assert!(job.run(&mut Vec::new()).is_err());
}
