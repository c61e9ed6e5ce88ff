//! Opaque handles: boxed Rust values lent to C as raw pointers.

use crate::status::Status;

/// Borrows a handle.
///
/// # Safety
/// When not NULL, `ptr` must come from this library's `*_new` for type `T` and not be freed, and
/// no other thread may use it during the call.
pub(crate) unsafe fn get<'a, T>(ptr: *const T) -> Result<&'a T, Status> {
    // SAFETY: NULL is handled by `as_ref`; otherwise the caller's contract makes it a live `T`.
    unsafe { ptr.as_ref() }.ok_or(Status::NullArgument)
}

/// Borrows a handle mutably.
///
/// # Safety
/// As [`get`], and the handle must not be borrowed elsewhere during the call.
pub(crate) unsafe fn get_mut<'a, T>(ptr: *mut T) -> Result<&'a mut T, Status> {
    // SAFETY: NULL is handled by `as_mut`; otherwise the caller's contract makes it a live,
    // unaliased `T`.
    unsafe { ptr.as_mut() }.ok_or(Status::NullArgument)
}

/// Moves `value` to the heap and writes the pointer to `out` (checked non-NULL beforehand).
///
/// # Safety
/// `out` must be valid for a write of a pointer.
pub(crate) unsafe fn give<T>(out: *mut *mut T, value: T) {
    // SAFETY: the caller checked `out` and guarantees it is writable.
    unsafe { out.write(Box::into_raw(Box::new(value))) };
}

/// Frees a handle made by [`give`]; NULL does nothing.
///
/// # Safety
/// When not NULL, `ptr` must come from [`give`] for type `T` and not have been freed already.
pub(crate) unsafe fn free<T>(ptr: *mut T) {
    if !ptr.is_null() {
        // SAFETY: the pointer came from Box::into_raw in `give` and is freed once.
        drop(unsafe { Box::from_raw(ptr) });
    }
}
