//! `ota_mcu_delta_apply` from Rust through its C callbacks: a whole apply, a cut after every
//! frame and a resume from the persisted cursor, and each failure its own status.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::ffi::c_void;
use std::ptr::null;

use ota_delta::{DiffOptions, Profile};
use ota_mcu::*;

/// The device: source, slot, patch, the persisted cursor and a cut after `cut_after` cursors.
struct Device {
    source: Vec<u8>,
    slot: Vec<u8>,
    patch: Vec<u8>,
    cursor: Option<[u8; 64]>,
    persisted: usize,
    cut_after: usize,
}

/// # Safety
/// `ctx` is a `Device`.
unsafe fn dev<'a>(ctx: *mut c_void) -> &'a mut Device {
    // SAFETY: every io below passes a `Device`.
    unsafe { &mut *ctx.cast::<Device>() }
}

unsafe extern "C" fn read_source(ctx: *mut c_void, off: u64, buf: *mut u8, len: usize) -> i32 {
    // SAFETY: ctx is a Device; buf writable for len.
    let (d, out) = unsafe { (dev(ctx), std::slice::from_raw_parts_mut(buf, len)) };
    match d.source.get(off as usize..off as usize + len) {
        Some(s) => {
            out.copy_from_slice(s);
            0
        }
        None => -5,
    }
}

unsafe extern "C" fn write_target(ctx: *mut c_void, off: u64, data: *const u8, len: usize) -> i32 {
    // SAFETY: ctx is a Device; data readable for len.
    let (d, data) = unsafe { (dev(ctx), std::slice::from_raw_parts(data, len)) };
    let end = off as usize + len;
    if d.slot.len() < end {
        d.slot.resize(end, 0);
    }
    d.slot[off as usize..end].copy_from_slice(data);
    0
}

unsafe extern "C" fn read_target(ctx: *mut c_void, off: u64, buf: *mut u8, len: usize) -> i32 {
    // SAFETY: ctx is a Device; buf writable for len.
    let (d, out) = unsafe { (dev(ctx), std::slice::from_raw_parts_mut(buf, len)) };
    match d.slot.get(off as usize..off as usize + len) {
        Some(s) => {
            out.copy_from_slice(s);
            0
        }
        None => -6,
    }
}

unsafe extern "C" fn read_patch(
    ctx: *mut c_void,
    off: u64,
    buf: *mut u8,
    cap: usize,
    got: *mut usize,
) -> i32 {
    // SAFETY: ctx is a Device; buf writable for cap; got writable.
    let (d, out) = unsafe { (dev(ctx), std::slice::from_raw_parts_mut(buf, cap)) };
    let rest = d.patch.get(off as usize..).unwrap_or(&[]);
    // An odd read size, so frames end in the middle of reads.
    let n = rest.len().min(cap).min(333);
    out[..n].copy_from_slice(&rest[..n]);
    // SAFETY: writable by contract.
    unsafe { *got = n };
    0
}

unsafe extern "C" fn persist_cursor(ctx: *mut c_void, cursor: *const u8) -> i32 {
    // SAFETY: ctx is a Device; cursor readable for 64 bytes.
    let (d, c) = unsafe { (dev(ctx), std::slice::from_raw_parts(cursor, 64)) };
    if d.persisted == d.cut_after {
        return 1; // the power cut: this cursor is not persisted
    }
    d.cursor = Some(c.try_into().unwrap());
    d.persisted += 1;
    0
}

fn io(d: &mut Device) -> ota_mcu_delta_io {
    ota_mcu_delta_io {
        ctx: std::ptr::from_mut(d).cast(),
        read_source: Some(read_source),
        write_target: Some(write_target),
        read_target: Some(read_target),
        read_patch: Some(read_patch),
        persist_cursor: Some(persist_cursor),
    }
}

struct Bufs {
    frame: Vec<u8>,
    work: Vec<u8>,
    input: Vec<u8>,
}

impl Bufs {
    fn new() -> Self {
        Self {
            frame: vec![0; OTA_MCU_FRAME_BUF_LEN],
            work: vec![0; 512],
            input: vec![0; 256],
        }
    }
    fn c(&mut self) -> ota_mcu_delta_buffers {
        ota_mcu_delta_buffers {
            frame: self.frame.as_mut_ptr(),
            frame_len: self.frame.len(),
            work: self.work.as_mut_ptr(),
            work_len: self.work.len(),
            input: self.input.as_mut_ptr(),
            input_len: self.input.len(),
        }
    }
}

fn images() -> (Vec<u8>, Vec<u8>) {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let old: Vec<u8> = (0..80_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 56) as u8 & 0x3F
        })
        .collect();
    let mut new = old.clone();
    for (i, b) in new.iter_mut().enumerate() {
        if i % 7 == 0 {
            *b ^= 0x55;
        }
    }
    new.splice(30_000..30_000, (0..2000u32).map(|i| i as u8));
    (old, new)
}

fn device(cut_after: usize) -> Device {
    let (old, new) = images();
    let patch = ota_delta::diff_with(
        &old,
        &new,
        &DiffOptions {
            profile: Profile::Mcu,
            ..DiffOptions::default()
        },
    )
    .unwrap();
    Device {
        source: old,
        slot: Vec::new(),
        patch,
        cursor: None,
        persisted: 0,
        cut_after,
    }
}

fn apply(d: &mut Device, bufs: &mut Bufs, cursor: Option<[u8; 64]>) -> Status {
    let io = io(d);
    let c = bufs.c();
    let cur = cursor.as_ref().map_or(null(), |c| c.as_ptr());
    // SAFETY: valid buffers, callbacks and cursor.
    unsafe { ota_mcu_delta_apply(&c, &io, false, cur) }
}

#[test]
fn whole_apply_gives_the_new_image() {
    let mut d = device(usize::MAX);
    let mut bufs = Bufs::new();
    assert_eq!(apply(&mut d, &mut bufs, None), Status::Ok);
    assert_eq!(d.slot, images().1);
    assert!(d.persisted >= 4, "{} frames", d.persisted);
}

#[test]
fn a_cut_after_every_frame_resumes_to_the_new_image() {
    let frames = {
        let mut d = device(usize::MAX);
        assert_eq!(apply(&mut d, &mut Bufs::new(), None), Status::Ok);
        d.persisted
    };
    for cut in 0..frames {
        let mut d = device(cut);
        let mut bufs = Bufs::new();
        assert_eq!(
            apply(&mut d, &mut bufs, None),
            Status::CallbackFailed,
            "cut {cut}"
        );
        // After the cut: fresh buffers (RAM lost), only the persisted cursor.
        d.cut_after = usize::MAX;
        let cursor = d.cursor;
        let mut bufs = Bufs::new();
        assert_eq!(apply(&mut d, &mut bufs, cursor), Status::Ok, "cut {cut}");
        assert_eq!(d.slot, images().1, "cut {cut}");
    }
}

/// The library's default frame buffer takes the default (10 KiB) frames; a patch made with
/// 12 KiB frames is refused with `BUFFER_TOO_SMALL` before anything is written, and applied with
/// `OTA_MCU_FRAME_BUF_MAX_LEN`.
#[test]
fn twelve_k_frames_need_the_max_buffer() {
    assert_eq!(OTA_MCU_FRAME_BUF_LEN, 10 * 1024 + 256);
    assert_eq!(OTA_MCU_FRAME_BUF_MAX_LEN, 12 * 1024 + 256);
    let d = device(usize::MAX);
    let h = ota_delta::read_header(&d.patch[..], &ota_delta::Limits::default()).unwrap();
    assert_eq!(h.max_raw + 256, OTA_MCU_FRAME_BUF_LEN as u32);
    let (old, new) = images();
    let big = |d: &mut Device| {
        d.patch = ota_delta::diff_with(
            &old,
            &new,
            &DiffOptions {
                profile: Profile::Mcu,
                frame_size: 12 * 1024,
                ..DiffOptions::default()
            },
        )
        .unwrap();
    };
    let mut d = device(usize::MAX);
    big(&mut d);
    let mut bufs = Bufs::new();
    assert_eq!(apply(&mut d, &mut bufs, None), Status::BufferTooSmall);
    assert!(d.slot.is_empty(), "nothing written");
    assert_eq!(d.persisted, 0);
    bufs.frame = vec![0; OTA_MCU_FRAME_BUF_MAX_LEN];
    assert_eq!(apply(&mut d, &mut bufs, None), Status::Ok);
    assert_eq!(d.slot, new);
}

#[test]
fn failures_have_their_own_status() {
    let mut bufs = Bufs::new();
    // A flipped byte inside a frame payload.
    let mut d = device(usize::MAX);
    let at = d.patch.len() / 2;
    d.patch[at] ^= 0x20;
    let st = apply(&mut d, &mut bufs, None);
    assert!(
        matches!(st, Status::DeltaCorrupt | Status::DeltaTargetMismatch),
        "{st:?}"
    );
    // Another source.
    let mut d = device(usize::MAX);
    d.source[5] ^= 1;
    assert_eq!(apply(&mut d, &mut bufs, None), Status::DeltaSourceMismatch);
    assert!(d.slot.is_empty(), "nothing written before the source check");
    // Not a patch; a truncated one.
    let mut d = device(usize::MAX);
    d.patch[0] ^= 0xFF;
    assert_eq!(apply(&mut d, &mut bufs, None), Status::DeltaBadMagic);
    let mut d = device(usize::MAX);
    d.patch.truncate(d.patch.len() - 10);
    assert_eq!(apply(&mut d, &mut bufs, None), Status::DeltaTruncated);
    // A corrupt cursor, and a slot that changed under a valid one.
    let mut d = device(2);
    assert_eq!(apply(&mut d, &mut bufs, None), Status::CallbackFailed);
    d.cut_after = usize::MAX;
    let mut bad = d.cursor.unwrap();
    bad[9] ^= 1;
    assert_eq!(apply(&mut d, &mut bufs, Some(bad)), Status::DeltaBadCursor);
    d.slot[10] ^= 1;
    let good = d.cursor;
    assert_eq!(apply(&mut d, &mut bufs, good), Status::DeltaTargetMismatch);
    // A frame buffer too small for the patch's frames.
    let mut d = device(usize::MAX);
    let mut small = Bufs::new();
    small.frame.truncate(1024);
    let st = apply(&mut d, &mut small, None);
    assert!(
        matches!(st, Status::BufferTooSmall | Status::DeltaLimitExceeded),
        "{st:?}"
    );
    // NULL: buffers, io, a required callback.
    let mut d = device(usize::MAX);
    let mut c = bufs.c();
    let mut cb = io(&mut d);
    // SAFETY: NULL is checked before use.
    unsafe {
        assert_eq!(
            ota_mcu_delta_apply(null(), &cb, false, null()),
            Status::NullArgument
        );
        assert_eq!(
            ota_mcu_delta_apply(&c, null(), false, null()),
            Status::NullArgument
        );
        cb.read_patch = None;
        assert_eq!(
            ota_mcu_delta_apply(&c, &cb, false, null()),
            Status::NullArgument
        );
        cb = io(&mut d);
        c.work = std::ptr::null_mut();
        assert_eq!(
            ota_mcu_delta_apply(&c, &cb, false, null()),
            Status::NullArgument
        );
    }
}
