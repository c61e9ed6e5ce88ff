//! Byte buffers and output parameters at the C boundary.
//!
//! Conventions (the same for every function):
//! - a byte buffer is `(const uint8_t *ptr, size_t len)`; `ptr` may be NULL only when `len` is 0;
//! - an output parameter is written only on success;
//! - a caller-owned output buffer is `(uint8_t *buf, size_t cap, size_t *out_len)`: on success
//!   `*out_len` is the number of bytes written; when `cap` is too small nothing is written to `buf`,
//!   `*out_len` is the size needed and the call returns `OTA_STATUS_BUFFER_TOO_SMALL`.

use crate::status::Status;
use core::ffi::{CStr, c_char};

/// Borrows `(ptr, len)` from C as a slice.
///
/// # Safety
/// When `ptr` is not NULL it must point to `len` readable bytes that stay valid and unchanged for
/// `'a`.
pub(crate) unsafe fn bytes_in<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8], Status> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(Status::NullArgument);
    }
    if len > isize::MAX as usize {
        return Err(Status::InvalidArgument);
    }
    // SAFETY: non-NULL, and the caller guarantees `len` readable bytes valid for 'a.
    Ok(unsafe { core::slice::from_raw_parts(ptr, len) })
}

/// Borrows a NUL-terminated UTF-8 string from C.
///
/// # Safety
/// When `ptr` is not NULL it must point to a NUL-terminated string valid for `'a`.
pub(crate) unsafe fn str_in<'a>(ptr: *const c_char) -> Result<&'a str, Status> {
    if ptr.is_null() {
        return Err(Status::NullArgument);
    }
    // SAFETY: non-NULL and NUL-terminated by the caller's contract.
    let c = unsafe { CStr::from_ptr(ptr) };
    c.to_str().map_err(|_| Status::InvalidUtf8)
}

/// Checks that an output pointer is not NULL, before any work is done.
pub(crate) fn out_ptr<T>(ptr: *mut T) -> Result<*mut T, Status> {
    if ptr.is_null() {
        Err(Status::NullArgument)
    } else {
        Ok(ptr)
    }
}

/// Copies `bytes` into a caller-owned buffer `(buf, cap)` and reports the length in `*out_len`.
///
/// # Safety
/// `out_len` must be valid for a write of `usize`; when `buf` is not NULL it must be valid for
/// writes of `cap` bytes and must not overlap `bytes`.
pub(crate) unsafe fn bytes_out(
    bytes: &[u8],
    buf: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> Result<(), Status> {
    let out_len = out_ptr(out_len)?;
    if bytes.len() > cap || (buf.is_null() && !bytes.is_empty()) {
        // SAFETY: out_len checked non-NULL above; the caller guarantees it is writable.
        unsafe { out_len.write(bytes.len()) };
        return Err(Status::BufferTooSmall);
    }
    if !bytes.is_empty() {
        // SAFETY: buf is non-NULL, has room for cap >= bytes.len() bytes, and does not overlap.
        unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), buf, bytes.len()) };
    }
    // SAFETY: out_len checked non-NULL above; the caller guarantees it is writable.
    unsafe { out_len.write(bytes.len()) };
    Ok(())
}

/// Copies `text` plus a terminating NUL into a caller-owned buffer; `*out_len` counts the NUL.
///
/// # Safety
/// As for [`bytes_out`].
pub(crate) unsafe fn str_out(
    text: &str,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> Result<(), Status> {
    let mut with_nul = Vec::with_capacity(text.len() + 1);
    with_nul.extend_from_slice(text.as_bytes());
    with_nul.push(0);
    // SAFETY: forwarded contract.
    unsafe { bytes_out(&with_nul, buf.cast::<u8>(), cap, out_len) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_small_reports_needed_size_and_writes_nothing() {
        let mut buf = [0xAAu8; 3];
        let mut len = 0usize;
        // SAFETY: valid local buffers.
        let r = unsafe { bytes_out(b"hello", buf.as_mut_ptr(), buf.len(), &mut len) };
        assert_eq!(r, Err(Status::BufferTooSmall));
        assert_eq!(len, 5);
        assert_eq!(buf, [0xAA; 3]);
        let mut big = [0u8; 8];
        // SAFETY: valid local buffers.
        let r = unsafe { bytes_out(b"hello", big.as_mut_ptr(), big.len(), &mut len) };
        assert_eq!(r, Ok(()));
        assert_eq!(len, 5);
        assert_eq!(&big[..5], b"hello");
    }

    #[test]
    fn null_with_length_is_refused_and_empty_is_fine() {
        // SAFETY: NULL pointers are checked before use.
        unsafe {
            assert_eq!(bytes_in(core::ptr::null(), 4), Err(Status::NullArgument));
            assert_eq!(bytes_in(core::ptr::null(), 0), Ok(&[][..]));
            assert_eq!(str_in(core::ptr::null()), Err(Status::NullArgument));
        }
    }

    #[test]
    fn strings_carry_their_nul() {
        let mut buf = [0 as c_char; 4];
        let mut len = 0;
        // SAFETY: valid local buffers.
        let r = unsafe { str_out("abc", buf.as_mut_ptr(), buf.len(), &mut len) };
        assert_eq!(r, Ok(()));
        assert_eq!(len, 4);
        assert_eq!(buf[3], 0);
        // SAFETY: valid local buffers.
        let r = unsafe { str_out("abcd", buf.as_mut_ptr(), buf.len(), &mut len) };
        assert_eq!((r, len), (Err(Status::BufferTooSmall), 5));
    }
}
