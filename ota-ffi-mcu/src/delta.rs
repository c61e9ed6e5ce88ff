//! The MCU delta apply (ota-delta's `McuApply`, FORMAT.md §10): a native patch in the MCU
//! profile, applied with caller buffers and storage callbacks, resumable from a 64-byte cursor,
//! the source and the target both checked against the patch header's SHA-256.
//!
//! One blocking call runs the whole apply: it pulls the patch through `read_patch`, writes the
//! target through `write_target`, and hands the cursor to `persist_cursor` after every frame.
//! After a power cut the same call with the persisted cursor continues: it re-reads the target
//! written so far (`read_target`) and refuses it if it changed, then fetches the patch from the
//! cursor's offset.

use core::ffi::c_void;

use ota_delta::{
    CURSOR_LEN, Cursor, Error, Fed, HEADER_LEN, McuApply, McuOptions, McuStorage, SourceCheck,
};

use crate::buffer::status;
use crate::status::Status;

/// Length of a resume cursor.
pub const OTA_MCU_CURSOR_LEN: usize = 64;
/// Length of the patch header (the first bytes of a patch).
pub const OTA_MCU_PATCH_HEADER_LEN: usize = 152;
/// Frame buffer length that takes MCU-profile patches made with the default frame size
/// (`ota delta make --profile mcu`): 10 KiB of raw frame content and 256 bytes of in-place margin
/// (`ota_delta::mcu_frame_buf_len(ota_delta::MCU_DEFAULT_RAW)`); the whole apply then fits 16 KiB
/// of RAM on a Cortex-M4. A patch with larger frames is refused with
/// `OTA_MCU_STATUS_BUFFER_TOO_SMALL` before anything is written.
pub const OTA_MCU_FRAME_BUF_LEN: usize = 10 * 1024 + 256;
/// Frame buffer length that takes every MCU-profile patch, also those made with the largest
/// frames (`--frame-size 12288`): `ota_delta::mcu_frame_buf_len(ota_delta::MCU_MAX_RAW)`.
pub const OTA_MCU_FRAME_BUF_MAX_LEN: usize = 12 * 1024 + 256;

// The header needs literal numbers; they must be ota-delta's.
const _: () = assert!(OTA_MCU_CURSOR_LEN == CURSOR_LEN);
const _: () = assert!(OTA_MCU_PATCH_HEADER_LEN == HEADER_LEN);
const _: () =
    assert!(OTA_MCU_FRAME_BUF_LEN == ota_delta::mcu_frame_buf_len(ota_delta::MCU_DEFAULT_RAW));
const _: () =
    assert!(OTA_MCU_FRAME_BUF_MAX_LEN == ota_delta::mcu_frame_buf_len(ota_delta::MCU_MAX_RAW));

/// The device's storage and download, as callbacks sharing `ctx`. Each returns 0 on success and
/// any other value on failure (the apply stops with `OTA_MCU_STATUS_CALLBACK_FAILED`; resume from
/// the last persisted cursor).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ota_mcu_delta_io {
    /// Passed to every callback.
    pub ctx: *mut c_void,
    /// Fills `buf` with `len` bytes of the source image (the installed firmware) at `offset`.
    pub read_source: Option<
        unsafe extern "C" fn(ctx: *mut c_void, offset: u64, buf: *mut u8, len: usize) -> i32,
    >,
    /// Writes `len` bytes of the target image at `offset` (the inactive slot).
    pub write_target: Option<
        unsafe extern "C" fn(ctx: *mut c_void, offset: u64, data: *const u8, len: usize) -> i32,
    >,
    /// Reads back `len` target bytes at `offset` (on resume only, to re-hash them).
    pub read_target: Option<
        unsafe extern "C" fn(ctx: *mut c_void, offset: u64, buf: *mut u8, len: usize) -> i32,
    >,
    /// Reads up to `cap` bytes of the patch from `offset` into `buf` and writes the count to
    /// `*got` (0 only at the end of the patch).
    pub read_patch: Option<
        unsafe extern "C" fn(
            ctx: *mut c_void,
            offset: u64,
            buf: *mut u8,
            cap: usize,
            got: *mut usize,
        ) -> i32,
    >,
    /// Persists the 64-byte cursor, called after each frame once its target bytes are written
    /// (make them durable first). Optional (NULL: the apply cannot be resumed).
    pub persist_cursor: Option<unsafe extern "C" fn(ctx: *mut c_void, cursor: *const u8) -> i32>,
}

/// The caller's memory for one apply: nothing else is used but the stack.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ota_mcu_delta_buffers {
    /// The frame buffer: `OTA_MCU_FRAME_BUF_LEN` bytes take patches made with the default
    /// frames, `OTA_MCU_FRAME_BUF_MAX_LEN` every MCU patch (the patch header's `max_raw` + 256 is
    /// what a patch needs; less: `OTA_MCU_STATUS_BUFFER_TOO_SMALL`, nothing written).
    pub frame: *mut u8,
    /// Length of `frame`.
    pub frame_len: usize,
    /// Source reads and target writes go through this buffer: 64 bytes or more (512 is good).
    pub work: *mut u8,
    /// Length of `work`.
    pub work_len: usize,
    /// The patch is read into this buffer: 1 byte or more (the larger, the fewer `read_patch`).
    pub input: *mut u8,
    /// Length of `input`.
    pub input_len: usize,
}

struct Io<'a>(&'a ota_mcu_delta_io);

impl McuStorage for Io<'_> {
    fn read_source(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), i32> {
        let f = self.0.read_source.ok_or(-1)?;
        // SAFETY: the callback's contract: `buf` is writable for its length.
        match unsafe { f(self.0.ctx, offset, buf.as_mut_ptr(), buf.len()) } {
            0 => Ok(()),
            code => Err(code),
        }
    }

    fn write_target(&mut self, offset: u64, data: &[u8]) -> Result<(), i32> {
        let f = self.0.write_target.ok_or(-1)?;
        // SAFETY: `data` is readable for its length during the call.
        match unsafe { f(self.0.ctx, offset, data.as_ptr(), data.len()) } {
            0 => Ok(()),
            code => Err(code),
        }
    }

    fn read_target(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), i32> {
        let f = self.0.read_target.ok_or(-1)?;
        // SAFETY: `buf` is writable for its length during the call.
        match unsafe { f(self.0.ctx, offset, buf.as_mut_ptr(), buf.len()) } {
            0 => Ok(()),
            code => Err(code),
        }
    }
}

fn delta_status(e: &Error) -> Status {
    match e {
        Error::BadMagic { .. } => Status::DeltaBadMagic,
        Error::UnsupportedVersion(_) => Status::DeltaUnsupportedVersion,
        Error::InvalidField { .. }
        | Error::HeaderCorrupt
        | Error::FrameCorrupt { .. }
        | Error::FrameMalformed { .. }
        | Error::TrailingData { .. } => Status::DeltaCorrupt,
        Error::Truncated { .. } => Status::DeltaTruncated,
        Error::LimitExceeded { .. } => Status::DeltaLimitExceeded,
        Error::SourceSizeMismatch { .. } | Error::SourceDigestMismatch => {
            Status::DeltaSourceMismatch
        }
        Error::TargetDigestMismatch | Error::StoredTargetMismatch { .. } => {
            Status::DeltaTargetMismatch
        }
        Error::BadCursor(_) => Status::DeltaBadCursor,
        Error::Storage { .. } => Status::CallbackFailed,
        Error::BufferTooSmall { .. } => Status::BufferTooSmall,
        _ => Status::DeltaOther,
    }
}

/// Borrows a caller buffer mutably.
///
/// # Safety
/// `ptr` NULL or writable for `len` bytes, not aliased during the call.
unsafe fn buf_mut<'a>(ptr: *mut u8, len: usize) -> Result<&'a mut [u8], Status> {
    if ptr.is_null() || len == 0 {
        return Err(if ptr.is_null() {
            Status::NullArgument
        } else {
            Status::BufferTooSmall
        });
    }
    // SAFETY: non-NULL, writable for `len` and unaliased by contract.
    Ok(unsafe { core::slice::from_raw_parts_mut(ptr, len) })
}

/// Reads up to `buf.len()` patch bytes at `offset`; 0 means the patch ended.
fn read_patch(io: &ota_mcu_delta_io, offset: u64, buf: &mut [u8]) -> Result<usize, Status> {
    let f = io.read_patch.ok_or(Status::NullArgument)?;
    let mut got = 0usize;
    // SAFETY: the callback's contract: `buf` writable for its length, `got` writable.
    let rc = unsafe { f(io.ctx, offset, buf.as_mut_ptr(), buf.len(), &mut got) };
    if rc != 0 {
        return Err(Status::CallbackFailed);
    }
    if got > buf.len() {
        return Err(Status::CallbackFailed);
    }
    Ok(got)
}

fn persist(io: &ota_mcu_delta_io, cursor: &Cursor) -> Result<(), Status> {
    if let Some(f) = io.persist_cursor {
        let bytes = cursor.to_bytes();
        // SAFETY: `bytes` is readable for 64 bytes during the call.
        if unsafe { f(io.ctx, bytes.as_ptr()) } != 0 {
            return Err(Status::CallbackFailed);
        }
    }
    Ok(())
}

/// Applies an MCU-profile patch: from the start when `cursor` is NULL, else from that persisted
/// cursor (`OTA_MCU_CURSOR_LEN` bytes). The source is hashed and compared with the patch header
/// before anything is written (unless `trust_source`: the caller verified it already); every
/// frame's check value is compared after it is written, and the whole target's SHA-256 at the
/// end. `OTA_MCU_STATUS_OK` means the target is complete and its digest matched.
///
/// Errors: `OTA_MCU_STATUS_DELTA_*` (bad magic, corrupt, truncated, limit, source mismatch,
/// target mismatch, bad cursor), `OTA_MCU_STATUS_CALLBACK_FAILED` (a callback returned non-zero
/// or reported more bytes than asked), `OTA_MCU_STATUS_BUFFER_TOO_SMALL` (a buffer below what the
/// patch needs), `OTA_MCU_STATUS_NULL_ARGUMENT` (a required callback or buffer missing). After an
/// error, call again with the last persisted cursor.
///
/// # Safety
/// `bufs` points to valid buffers (not overlapping each other) for the call; `io`'s callbacks
/// follow their contracts; `cursor` NULL or readable for 64 bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_mcu_delta_apply(
    bufs: *const ota_mcu_delta_buffers,
    io: *const ota_mcu_delta_io,
    trust_source: bool,
    cursor: *const u8,
) -> Status {
    status((|| {
        if bufs.is_null() || io.is_null() {
            return Err(Status::NullArgument);
        }
        // SAFETY: non-NULL and valid by contract.
        let (b, io) = unsafe { (&*bufs, &*io) };
        if io.read_source.is_none() || io.write_target.is_none() || io.read_patch.is_none() {
            return Err(Status::NullArgument);
        }
        // SAFETY: forwarded contract: three distinct writable buffers.
        let (frame, work, input) = unsafe {
            (
                buf_mut(b.frame, b.frame_len)?,
                buf_mut(b.work, b.work_len)?,
                buf_mut(b.input, b.input_len)?,
            )
        };
        let opts = McuOptions {
            source_check: if trust_source {
                SourceCheck::TrustCaller
            } else {
                SourceCheck::Verify
            },
            ..McuOptions::default()
        };
        let mut storage = Io(io);
        let mut job = if cursor.is_null() {
            McuApply::new(frame, work, opts).map_err(|e| delta_status(&e))?
        } else {
            if io.read_target.is_none() {
                return Err(Status::NullArgument);
            }
            let mut raw = [0u8; CURSOR_LEN];
            // SAFETY: `cursor` readable for 64 bytes by contract.
            unsafe { core::ptr::copy_nonoverlapping(cursor, raw.as_mut_ptr(), CURSOR_LEN) };
            let c = Cursor::from_bytes(&raw).map_err(|e| delta_status(&e))?;
            let mut header = [0u8; HEADER_LEN];
            let mut have = 0;
            while have < HEADER_LEN {
                let n = read_patch(io, have as u64, &mut header[have..])?;
                if n == 0 {
                    return Err(Status::DeltaTruncated);
                }
                have += n;
            }
            McuApply::resume(frame, work, opts, &header, &c, &mut storage)
                .map_err(|e| delta_status(&e))?
        };
        while !job.is_finished() {
            let offset = job.patch_offset();
            let got = read_patch(io, offset, input)?;
            if got == 0 {
                return Err(Status::DeltaTruncated);
            }
            let mut data = input.get(..got).ok_or(Status::CallbackFailed)?;
            while !data.is_empty() {
                match job.feed(data, &mut storage).map_err(|e| delta_status(&e))? {
                    Fed::NeedMore => data = &[],
                    Fed::Frame { used, cursor } => {
                        persist(io, &cursor)?;
                        data = data.get(used..).unwrap_or(&[]);
                    }
                    Fed::Finished { cursor, .. } => {
                        persist(io, &cursor)?;
                        return Ok(());
                    }
                }
            }
        }
        Ok(())
    })())
}
