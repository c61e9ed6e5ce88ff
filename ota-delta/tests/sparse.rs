//! Sparse patches (issue 15 item 4): a near-identical image must not pay per 256 KiB of target.
//! bsdiff-mode frames are cut by raw content (FORMAT.md §4), so a frame may cover far more target
//! bytes than the apply window and is then reconstructed in two passes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{apply_vec, bytes};
use ota_delta::{Apply, ApplyOptions, Error, Source, SourceCheck, diff};
use std::cell::Cell;
use std::io;

/// A 2 MiB image and its copy with a changed build id near the start and a changed checksum
/// at the end: the shape of a rebuilt shared library.
fn rebuilt() -> (Vec<u8>, Vec<u8>) {
    let old = bytes(11, 2 << 20);
    let mut new = old.clone();
    for (k, b) in new[640..660].iter_mut().enumerate() {
        *b ^= 0x5A ^ k as u8;
    }
    let n = new.len();
    new[n - 40..n - 36].copy_from_slice(&[1, 2, 3, 4]);
    (old, new)
}

/// Version 1 cut a frame every 256 KiB of target: 8 frames here, each with its own frame
/// header and LZMA2 stream, 678 bytes in all. Now one frame: the 152-byte header, a 44-byte
/// frame header and 45 bytes of payload (qbsdiff: 224 bytes; at this size the fixed integrity
/// data, three SHA-256 values and a frame check, is most of either patch; README "Not done").
#[test]
fn rebuilt_image_is_one_small_frame() {
    let (old, new) = rebuilt();
    let patch = diff(&old, &new).unwrap();
    let h = ota_delta::read_header(&patch[..], &ota_delta::Limits::default()).unwrap();
    assert_eq!(h.frame_count, 1);
    assert!(patch.len() <= 260, "{} bytes", patch.len());
    assert_eq!(apply_vec(&patch, &old).unwrap(), new);
}

/// The single frame is 8 windows long: apply still writes exactly the target, in pieces no
/// larger than the window, and only after the whole frame was checked.
#[test]
fn long_frame_is_released_after_its_check_in_window_sized_pieces() {
    let (old, new) = rebuilt();
    let patch = diff(&old, &new).unwrap();
    struct Pieces(Vec<usize>, Vec<u8>);
    impl io::Write for Pieces {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.push(b.len());
            self.1.extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut sink = Pieces(Vec::new(), Vec::new());
    let mut job = Apply::new(&patch[..], &old[..], &ApplyOptions::default()).unwrap();
    job.run(&mut sink).unwrap();
    assert_eq!(sink.1, new);
    assert!(sink.0.iter().all(|&n| n <= 256 << 10), "{:?}", sink.0);

    // A corrupted target byte late in the frame (here: a wrong source byte the caller vouched
    // for) is caught by the first pass: nothing at all is written.
    let mut wrong = old.clone();
    wrong[(2 << 20) - 1000] ^= 1;
    let trust = ApplyOptions {
        source_check: SourceCheck::TrustCaller,
        ..ApplyOptions::default()
    };
    let mut out = Vec::new();
    let e = Apply::new(&patch[..], &wrong[..], &trust)
        .and_then(|mut j| j.run(&mut out))
        .unwrap_err();
    assert!(matches!(e, Error::FrameCorrupt { index: 0, .. }), "{e}");
    assert!(out.is_empty(), "{} bytes written", out.len());
}

/// A source that returns one wrong byte from its `flip_after`-th read on (storage going bad
/// between the two passes over a long frame).
struct Decaying {
    data: Vec<u8>,
    reads: Cell<usize>,
    flip_after: usize,
}
impl Source for Decaying {
    fn size(&self) -> u64 {
        self.data.len() as u64
    }
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.data.read_exact_at(offset, buf)?;
        self.reads.set(self.reads.get() + 1);
        if self.reads.get() > self.flip_after
            && let Some(b) = buf.get_mut(100)
        {
            *b ^= 0x80;
        }
        Ok(())
    }
}

#[test]
fn source_changing_between_the_two_passes_is_an_error() {
    let (old, new) = rebuilt();
    let patch = diff(&old, &new).unwrap();
    let trust = ApplyOptions {
        source_check: SourceCheck::TrustCaller,
        ..ApplyOptions::default()
    };
    // Count the reads of the first pass.
    let src = Decaying {
        data: old.clone(),
        reads: Cell::new(0),
        flip_after: usize::MAX,
    };
    let mut job = Apply::new(&patch[..], &src, &trust).unwrap();
    job.next_frame(&mut Vec::new()).unwrap();
    let per_pass = src.reads.get() / 2;
    assert!(per_pass > 0);
    let src = Decaying {
        data: old,
        reads: Cell::new(0),
        flip_after: per_pass,
    };
    let mut out = Vec::new();
    let e = Apply::new(&patch[..], &src, &trust)
        .and_then(|mut j| j.run(&mut out))
        .unwrap_err();
    assert!(matches!(e, Error::FrameCorrupt { index: 0, .. }), "{e}");
    assert_ne!(out, new);
}

/// FORMAT.md §9: the frame layout changed, so a version 1 patch is refused before anything else.
#[test]
fn version_1_patches_are_rejected() {
    let (old, new) = rebuilt();
    let mut patch = diff(&old, &new).unwrap();
    assert_eq!(&patch[8..10], &[2, 0]);
    patch[8] = 1;
    let e = apply_vec(&patch, &old).unwrap_err();
    assert!(matches!(e, Error::UnsupportedVersion(1)), "{e}");
}
