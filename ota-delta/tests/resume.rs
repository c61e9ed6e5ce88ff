//! Interrupted applies: at every frame boundary and at arbitrary byte offsets of the patch
//! stream and of the sink, resumed from the last persisted cursor, give the identical target.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{bytes, fast, mutate};
use ota_delta::{Apply, ApplyOptions, Cursor, Error, ModeChoice, diff_with};
use std::io::{self, Read, Write};

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
            let mut job = Apply::resume(patch, old, &c, &opts).unwrap();
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
            let mut job =
                Apply::resume(&patch[..], &old[..], &c, &ApplyOptions::default()).unwrap();
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
        Apply::resume(&patch[..], &old[..], &c, &ApplyOptions::default()),
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
    let mut job = Apply::resume(&patch[..], &old[..], &c, &ApplyOptions::default()).unwrap();
    assert!(job.is_finished());
    assert_eq!(job.run(&mut out).unwrap(), 0);
    assert_eq!(out, new);
}
