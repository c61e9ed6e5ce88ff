//! Streaming delta apply through C callbacks, resumable from a 64-byte cursor.

use core::cell::Cell;
use core::ffi::{c_int, c_void};
use std::io::{self, Read, Write};
use std::rc::Rc;

use ota_delta::{
    Apply, ApplyOptions, CURSOR_LEN, Codec, Cursor, Error, HEADER_LEN, Header, Mode, SourceCheck,
};

use crate::buffer::{bytes_in, out_ptr};
use crate::guard::guard;
use crate::handle;
use crate::status::Status;

/// Size of a resume cursor in bytes.
pub const OTA_DELTA_CURSOR_LEN: usize = 64;
/// Size of a native patch header in bytes (`ota_delta_read_header` needs this many).
pub const OTA_DELTA_HEADER_LEN: usize = 152;

/// Patch mode: the frames hold the target itself (the source is not read).
pub const OTA_DELTA_MODE_FULL: u32 = 0;
/// Patch mode: bsdiff-style copy-with-add from the source.
pub const OTA_DELTA_MODE_BSDIFF: u32 = 1;
/// Patch mode: XOR against the source, split into byte planes.
pub const OTA_DELTA_MODE_XOR_PLANES: u32 = 2;
/// Frame payload codec: stored.
pub const OTA_DELTA_CODEC_STORED: u32 = 0;
/// Frame payload codec: raw LZMA2.
pub const OTA_DELTA_CODEC_LZMA2: u32 = 1;

/// Reads exactly `len` bytes of the source at `offset` into `buf`; returns 0 on success, any
/// other value on failure (the apply then fails with `OTA_STATUS_CALLBACK_FAILED`).
pub type ota_source_read_at_fn =
    Option<unsafe extern "C" fn(ctx: *mut c_void, offset: u64, buf: *mut u8, len: usize) -> c_int>;

/// Reads up to `cap` patch bytes into `buf` and writes how many to `*got` (0 = end of patch);
/// returns 0 on success, any other value on failure.
pub type ota_patch_read_fn = Option<
    unsafe extern "C" fn(ctx: *mut c_void, buf: *mut u8, cap: usize, got: *mut usize) -> c_int,
>;

/// Writes all `len` target bytes of `buf` (appending to the target); returns 0 on success, any
/// other value on failure.
pub type ota_target_write_fn =
    Option<unsafe extern "C" fn(ctx: *mut c_void, buf: *const u8, len: usize) -> c_int>;

/// The source image, read by position through a callback.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ota_delta_source {
    /// The read callback (required unless the patch is in full mode; always required here).
    pub read_at: ota_source_read_at_fn,
    /// Passed to `read_at` unchanged.
    pub ctx: *mut c_void,
    /// Size of the source in bytes.
    pub size: u64,
}

/// A byte stream read sequentially through a callback: the patch (from its first byte for
/// `ota_delta_apply_new`, from the cursor's patch offset for `ota_delta_resume`), or the target
/// bytes already stored (read back by `ota_delta_resume`).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ota_delta_patch {
    /// The read callback.
    pub read: ota_patch_read_fn,
    /// Passed to `read` unchanged.
    pub ctx: *mut c_void,
}

/// A patch header, by value.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ota_delta_info {
    /// `OTA_DELTA_MODE_*`.
    pub mode: u32,
    /// For XOR planes: bytes per element (1, 2, 4 or 8); else 0.
    pub xor_width: u8,
    /// `OTA_DELTA_CODEC_*`.
    pub codec: u32,
    /// Target bytes per frame.
    pub frame_size: u32,
    /// Number of frames.
    pub frame_count: u32,
    /// Source size (0 in full mode).
    pub source_size: u64,
    /// Target size.
    pub target_size: u64,
    /// SHA-256 of the source.
    pub source_sha256: [u8; 32],
    /// SHA-256 of the target.
    pub target_sha256: [u8; 32],
}

/// A decoded resume cursor, by value.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ota_delta_cursor_info {
    /// Index of the next frame to apply.
    pub frame_index: u32,
    /// Offset in the patch of the next frame header.
    pub patch_offset: u64,
    /// Target bytes already written and verified: truncate the target to this before resuming.
    pub target_offset: u64,
}

/// The source as the library sees it, owned by the [`Apply`] in the handle.
struct CallbackSource {
    read_at: unsafe extern "C" fn(*mut c_void, u64, *mut u8, usize) -> c_int,
    ctx: *mut c_void,
    size: u64,
    failed: Rc<Cell<bool>>,
}

impl ota_delta::Source for CallbackSource {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        if buf.is_empty() {
            return Ok(());
        }
        // SAFETY: `buf` is a valid writable slice; the callback's contract is to write at most
        // `len` bytes into it and to accept the caller's `ctx`.
        let rc = unsafe { (self.read_at)(self.ctx, offset, buf.as_mut_ptr(), buf.len()) };
        if rc != 0 {
            self.failed.set(true);
            return Err(io::Error::other("source read callback failed"));
        }
        Ok(())
    }
}

struct PatchReader {
    read: unsafe extern "C" fn(*mut c_void, *mut u8, usize, *mut usize) -> c_int,
    ctx: *mut c_void,
    failed: Rc<Cell<bool>>,
}

impl Read for PatchReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let mut got = 0usize;
        // SAFETY: `buf` is a valid writable slice of `buf.len()` bytes and `got` a valid local;
        // the callback's contract is to write at most `cap` bytes.
        let rc = unsafe { (self.read)(self.ctx, buf.as_mut_ptr(), buf.len(), &mut got) };
        if rc != 0 || got > buf.len() {
            self.failed.set(true);
            return Err(io::Error::other("patch read callback failed"));
        }
        Ok(got)
    }
}

struct TargetWriter<'f> {
    write: unsafe extern "C" fn(*mut c_void, *const u8, usize) -> c_int,
    ctx: *mut c_void,
    failed: &'f Cell<bool>,
}

impl Write for TargetWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        // SAFETY: `buf` is a valid readable slice; the callback's contract is to read at most
        // `len` bytes from it.
        let rc = unsafe { (self.write)(self.ctx, buf.as_ptr(), buf.len()) };
        if rc != 0 {
            self.failed.set(true);
            return Err(io::Error::other("target write callback failed"));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// An apply in progress. Made by `ota_delta_apply_new` or `ota_delta_resume`, advanced by
/// `ota_delta_apply_next_frame`, freed by `ota_delta_apply_free`. One thread at a time (the
/// callbacks' contexts are the caller's).
pub struct ota_delta_apply {
    apply: Apply<PatchReader, CallbackSource>,
    failed: Rc<Cell<bool>>,
    /// After any error the stream position is unknown: the handle refuses further frames.
    broken: bool,
}

pub(crate) fn delta_status(e: &Error) -> Status {
    match e {
        Error::BadMagic { .. } => Status::DeltaBadMagic,
        Error::UnsupportedVersion(_) => Status::DeltaUnsupportedVersion,
        Error::InvalidField { .. }
        | Error::HeaderCorrupt
        | Error::FrameCorrupt { .. }
        | Error::FrameMalformed { .. }
        | Error::TrailingData { .. }
        | Error::Codec(_) => Status::DeltaCorrupt,
        Error::Truncated { .. } => Status::DeltaTruncated,
        Error::LimitExceeded { .. } => Status::DeltaLimitExceeded,
        Error::SourceSizeMismatch { .. } | Error::SourceDigestMismatch => {
            Status::DeltaSourceMismatch
        }
        Error::TargetDigestMismatch | Error::StoredTargetMismatch { .. } => {
            Status::DeltaTargetMismatch
        }
        Error::BadCursor(_) => Status::DeltaBadCursor,
        Error::Io(_) => Status::Io,
        _ => Status::DeltaOther,
    }
}

fn info_of(h: &Header) -> ota_delta_info {
    let (mode, xor_width) = match h.mode {
        Mode::Full => (OTA_DELTA_MODE_FULL, 0),
        Mode::Bsdiff => (OTA_DELTA_MODE_BSDIFF, 0),
        Mode::XorPlanes { width, .. } => (OTA_DELTA_MODE_XOR_PLANES, width),
        _ => (u32::MAX, 0),
    };
    let codec = match h.codec {
        Codec::Stored => OTA_DELTA_CODEC_STORED,
        Codec::Lzma2 { .. } => OTA_DELTA_CODEC_LZMA2,
        _ => u32::MAX,
    };
    ota_delta_info {
        mode,
        xor_width,
        codec,
        frame_size: h.frame_size,
        frame_count: h.frame_count,
        source_size: h.source_size,
        target_size: h.target_size,
        source_sha256: h.source_sha256,
        target_sha256: h.target_sha256,
    }
}

/// # Safety
/// `ptr` NULL or readable for `len` bytes.
unsafe fn cursor_in(ptr: *const u8, len: usize) -> Result<Cursor, Status> {
    if len != CURSOR_LEN {
        return Err(Status::InvalidArgument);
    }
    // SAFETY: forwarded contract.
    let b = unsafe { bytes_in(ptr, len) }?;
    let mut a = [0u8; CURSOR_LEN];
    a.copy_from_slice(b);
    Cursor::from_bytes(&a).map_err(|e| delta_status(&e))
}

/// The callbacks of a source struct, checked.
fn source_of(src: ota_delta_source, failed: &Rc<Cell<bool>>) -> Result<CallbackSource, Status> {
    Ok(CallbackSource {
        read_at: src.read_at.ok_or(Status::NullArgument)?,
        ctx: src.ctx,
        size: src.size,
        failed: Rc::clone(failed),
    })
}

fn reader_of(pat: ota_delta_patch, failed: &Rc<Cell<bool>>) -> Result<PatchReader, Status> {
    Ok(PatchReader {
        read: pat.read.ok_or(Status::NullArgument)?,
        ctx: pat.ctx,
        failed: Rc::clone(failed),
    })
}

fn options(verify_source: bool) -> ApplyOptions {
    ApplyOptions {
        source_check: if verify_source {
            SourceCheck::Verify
        } else {
            SourceCheck::TrustCaller
        },
        ..ApplyOptions::default()
    }
}

/// Hands out a handle for an opened apply, or the status of why it did not open.
///
/// # Safety
/// `out` non-NULL and writable.
unsafe fn give_job(
    opened: ota_delta::Result<Apply<PatchReader, CallbackSource>>,
    failed: Rc<Cell<bool>>,
    out: *mut *mut ota_delta_apply,
) -> Result<(), Status> {
    let apply = opened.map_err(|e| {
        if failed.get() {
            Status::CallbackFailed
        } else {
            delta_status(&e)
        }
    })?;
    let h = ota_delta_apply {
        apply,
        failed,
        broken: false,
    };
    // SAFETY: forwarded contract.
    unsafe { handle::give(out, h) };
    Ok(())
}

/// Opens a native patch: reads and checks its header through `patch` (positioned at the
/// patch's first byte) and checks the source's size and, with `verify_source`, its SHA-256
/// (read once through `source`). Nothing is written to the target here. To continue an
/// interrupted apply, use `ota_delta_resume`.
///
/// The callbacks and their contexts must stay valid until `ota_delta_apply_free`, and a callback
/// must not call `ota_delta_apply_*` on the handle it serves (no re-entry).
///
/// # Safety
/// `source` and `patch` NULL or valid structs whose callbacks honour their documented
/// contracts; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_delta_apply_new(
    source: *const ota_delta_source,
    patch: *const ota_delta_patch,
    verify_source: bool,
    out: *mut *mut ota_delta_apply,
) -> Status {
    guard(|| {
        // SAFETY: forwarded contract (read-only struct borrowed for the call).
        let src = *unsafe { handle::get(source) }?;
        // SAFETY: as above.
        let pat = *unsafe { handle::get(patch) }?;
        let out = out_ptr(out)?;
        let failed = Rc::new(Cell::new(false));
        let source = source_of(src, &failed)?;
        let reader = reader_of(pat, &failed)?;
        let opened = Apply::new(reader, source, &options(verify_source));
        // SAFETY: checked non-NULL; writable by contract.
        unsafe { give_job(opened, failed, out) }
    })
}

/// Continues an interrupted apply from a 64-byte cursor persisted after
/// `ota_delta_apply_next_frame`, without the patch bytes the cursor already covers:
///
/// - `(header, header_len)`: the patch's first `OTA_DELTA_HEADER_LEN` bytes (more are ignored),
///   kept by the device or fetched again;
/// - `rest`: the patch from the cursor's `patch_offset` on (`ota_delta_cursor_parse`), e.g. an
///   HTTP range request; the bytes between the header and that offset are never needed;
/// - `stored`: reads back the target bytes already written, from the target's first byte. The
///   first `target_offset` of them are hashed again and must match the cursor, so bytes that
///   changed in storage since they were written are refused with
///   `OTA_STATUS_DELTA_TARGET_MISMATCH` (also when fewer are stored). It is called only during
///   this call.
///
/// The target must then continue right after those `target_offset` bytes (truncate it there).
/// For a cursor taken after the last frame, the whole stored target is checked and the first
/// `ota_delta_apply_next_frame` reports `done`. `source` and `verify_source` as for
/// `ota_delta_apply_new`; `rest`'s callback must stay valid until `ota_delta_apply_free`.
///
/// # Safety
/// `source`, `rest` and `stored` NULL or valid structs whose callbacks honour their documented
/// contracts; `header` NULL or readable for `header_len` bytes; `cursor` NULL or readable for
/// `cursor_len` bytes; `out` writable.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)] // the C signature: each is one input of the resume
pub unsafe extern "C" fn ota_delta_resume(
    source: *const ota_delta_source,
    header: *const u8,
    header_len: usize,
    rest: *const ota_delta_patch,
    cursor: *const u8,
    cursor_len: usize,
    stored: *const ota_delta_patch,
    verify_source: bool,
    out: *mut *mut ota_delta_apply,
) -> Status {
    guard(|| {
        // SAFETY: forwarded contract (read-only structs borrowed for the call).
        let src = *unsafe { handle::get(source) }?;
        // SAFETY: as above.
        let pat = *unsafe { handle::get(rest) }?;
        // SAFETY: as above.
        let back = *unsafe { handle::get(stored) }?;
        let out = out_ptr(out)?;
        if cursor.is_null() || header.is_null() {
            return Err(Status::NullArgument);
        }
        // SAFETY: forwarded contract.
        let cursor = unsafe { cursor_in(cursor, cursor_len) }?;
        // SAFETY: forwarded contract.
        let hb = unsafe { bytes_in(header, header_len) }?;
        let hb: &[u8; HEADER_LEN] = hb
            .get(..HEADER_LEN)
            .and_then(|h| h.try_into().ok())
            .ok_or(Status::DeltaTruncated)?;
        let failed = Rc::new(Cell::new(false));
        let source = source_of(src, &failed)?;
        let reader = reader_of(pat, &failed)?;
        let back = reader_of(back, &failed)?;
        let opened = Apply::resume(hb, reader, source, &cursor, back, &options(verify_source));
        // SAFETY: checked non-NULL; writable by contract.
        unsafe { give_job(opened, failed, out) }
    })
}

/// Applies the next frame: reads and checks it, then writes its target bytes through `write`
/// and the new cursor into `(cursor_out, cursor_cap)` (at least `OTA_DELTA_CURSOR_LEN` bytes):
/// persist the cursor once the written bytes are durable. `*done` becomes true when the whole
/// target has been written and its SHA-256 checked (a call after that writes nothing and leaves
/// the cursor buffer alone). A callback returning non-zero gives `OTA_STATUS_CALLBACK_FAILED`;
/// after any error nothing more is written and the handle only accepts `ota_delta_apply_free`
/// (resume from the last persisted cursor with a new handle).
///
/// # Safety
/// `apply` a live handle or NULL; `write` honours its contract with `write_ctx`; `cursor_out`
/// writable for `cursor_cap` bytes; `done` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_delta_apply_next_frame(
    apply: *mut ota_delta_apply,
    write: ota_target_write_fn,
    write_ctx: *mut c_void,
    cursor_out: *mut u8,
    cursor_cap: usize,
    done: *mut bool,
) -> Status {
    guard(|| {
        // SAFETY: forwarded contract.
        let h = unsafe { handle::get_mut(apply) }?;
        let write = write.ok_or(Status::NullArgument)?;
        let cursor_out = out_ptr(cursor_out)?;
        let done = out_ptr(done)?;
        if cursor_cap < CURSOR_LEN {
            return Err(Status::BufferTooSmall);
        }
        if h.broken {
            return Err(Status::InvalidState);
        }
        let job = &mut h.apply;
        h.failed.set(false);
        let mut sink = TargetWriter {
            write,
            ctx: write_ctx,
            failed: &h.failed,
        };
        match job.next_frame(&mut sink) {
            Ok(Some(c)) => {
                let bytes = c.to_bytes();
                // SAFETY: cursor_out is non-NULL and writable for cursor_cap >= 64 bytes.
                unsafe {
                    core::ptr::copy_nonoverlapping(bytes.as_ptr(), cursor_out, CURSOR_LEN);
                    done.write(job.is_finished());
                }
                Ok(())
            }
            Ok(None) => {
                // SAFETY: checked non-NULL; writable by contract.
                unsafe { done.write(true) };
                Ok(())
            }
            Err(e) => {
                h.broken = true;
                Err(if h.failed.get() {
                    Status::CallbackFailed
                } else {
                    delta_status(&e)
                })
            }
        }
    })
}

/// Writes the header of the patch being applied.
///
/// # Safety
/// `apply` a live handle or NULL; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_delta_apply_info(
    apply: *const ota_delta_apply,
    out: *mut ota_delta_info,
) -> Status {
    guard(|| {
        // SAFETY: forwarded contract.
        let h = unsafe { handle::get(apply) }?;
        let out = out_ptr(out)?;
        // SAFETY: checked non-NULL; writable by contract.
        unsafe { out.write(info_of(h.apply.header())) };
        Ok(())
    })
}

/// Frees an apply handle (the source and patch callbacks are not called). NULL does nothing.
///
/// # Safety
/// `apply` NULL or a handle not freed yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_delta_apply_free(apply: *mut ota_delta_apply) {
    let _ = guard(|| {
        // SAFETY: forwarded contract.
        unsafe { handle::free(apply) };
        Ok(())
    });
}

/// Reads and checks a patch header from the first `OTA_DELTA_HEADER_LEN` bytes of `(patch,
/// len)` (more bytes are ignored) with the default limits.
///
/// # Safety
/// `patch` readable for `len` bytes; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_delta_read_header(
    patch: *const u8,
    len: usize,
    out: *mut ota_delta_info,
) -> Status {
    guard(|| {
        let out = out_ptr(out)?;
        // SAFETY: forwarded contract.
        let bytes = unsafe { bytes_in(patch, len) }?;
        let h = ota_delta::read_header(bytes, &ota_delta::Limits::default())
            .map_err(|e| delta_status(&e))?;
        // SAFETY: checked non-NULL; writable by contract.
        unsafe { out.write(info_of(&h)) };
        Ok(())
    })
}

/// Decodes a 64-byte resume cursor (checking its own check value, not yet that it fits a patch).
///
/// # Safety
/// `cursor` readable for `len` bytes; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_delta_cursor_parse(
    cursor: *const u8,
    len: usize,
    out: *mut ota_delta_cursor_info,
) -> Status {
    guard(|| {
        let out = out_ptr(out)?;
        if cursor.is_null() {
            return Err(Status::NullArgument);
        }
        // SAFETY: forwarded contract.
        let c = unsafe { cursor_in(cursor, len) }?;
        let info = ota_delta_cursor_info {
            frame_index: c.frame_index(),
            patch_offset: c.patch_offset(),
            target_offset: c.target_offset(),
        };
        // SAFETY: checked non-NULL; writable by contract.
        unsafe { out.write(info) };
        Ok(())
    })
}
