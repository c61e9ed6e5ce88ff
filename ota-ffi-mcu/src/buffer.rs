//! Byte buffers and output parameters at the C boundary (the conventions of `ota.h`).

use crate::status::Status;

/// Borrows `(ptr, len)` from C as a slice; `ptr` may be NULL only when `len` is 0.
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

/// Checks that an output pointer is not NULL, before any work is done.
pub(crate) fn out_ptr<T>(ptr: *mut T) -> Result<*mut T, Status> {
    if ptr.is_null() {
        Err(Status::NullArgument)
    } else {
        Ok(ptr)
    }
}

/// Turns the body's result into the status returned to C.
pub(crate) fn status(result: Result<(), Status>) -> Status {
    match result {
        Ok(()) => Status::Ok,
        Err(s) => s,
    }
}
