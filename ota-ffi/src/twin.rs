//! Device twins: desired/reported deltas, JSON Patch and Merge Patch, as JSON strings.
//!
//! Every function takes NUL-terminated UTF-8 JSON and writes NUL-terminated compact JSON into a
//! caller buffer (size-needed protocol: on `OTA_STATUS_BUFFER_TOO_SMALL`, `*out_len` is the size
//! to allocate, NUL included). None keeps state: all are safe to call from any thread.

use core::ffi::c_char;

use ota_twin::serde_json::{self, Map, Value};
use ota_twin::{Error, Patch};

use crate::buffer::{out_ptr, str_in, str_out};
use crate::guard::guard;
use crate::status::Status;

/// Largest JSON input accepted by each argument (the twin crate's `custom` profile).
const MAX_INPUT_BYTES: usize = 16 * 1024 * 1024;

fn twin_status(e: &Error) -> Status {
    match e {
        Error::Json { .. } => Status::TwinJson,
        Error::MalformedPatch { .. } | Error::InvalidPointer { .. } => Status::TwinPatchMalformed,
        Error::PatchFailed { .. } => Status::TwinPatchFailed,
        Error::LimitExceeded { .. }
        | Error::PatchLimitExceeded { .. }
        | Error::CborTooDeep { .. } => Status::TwinLimitExceeded,
        Error::InvalidDocument { .. } => Status::TwinNotObject,
        _ => Status::TwinOther,
    }
}

/// # Safety
/// `ptr` NULL or a NUL-terminated string.
unsafe fn json_in(ptr: *const c_char) -> Result<Value, Status> {
    // SAFETY: forwarded contract.
    let text = unsafe { str_in(ptr) }?;
    if text.len() > MAX_INPUT_BYTES {
        return Err(Status::TwinLimitExceeded);
    }
    // serde_json's recursion limit (128) keeps deep nesting off the stack.
    serde_json::from_str(text).map_err(|_| Status::TwinJson)
}

/// # Safety
/// `ptr` NULL or a NUL-terminated string.
unsafe fn object_in(ptr: *const c_char) -> Result<Map<String, Value>, Status> {
    // SAFETY: forwarded contract.
    match unsafe { json_in(ptr) }? {
        Value::Object(m) => Ok(m),
        _ => Err(Status::TwinNotObject),
    }
}

/// The delta a device must act on: the members of `desired` that `reported` does not have with
/// an equal value (recursively into objects), as a JSON object (`{}` when in sync). `reported`
/// may be NULL (nothing reported yet). Both must be JSON objects.
///
/// # Safety
/// `desired` and `reported` NULL or NUL-terminated; `buf` writable for `cap` bytes; `out_len`
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_twin_delta(
    desired: *const c_char,
    reported: *const c_char,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> Status {
    guard(|| {
        out_ptr(out_len)?;
        // SAFETY: forwarded contract.
        let desired = unsafe { object_in(desired) }?;
        let reported = if reported.is_null() {
            None
        } else {
            // SAFETY: forwarded contract.
            Some(unsafe { object_in(reported) }?)
        };
        let delta = ota_twin::delta(&desired, reported.as_ref());
        let text = Value::Object(delta).to_string();
        // SAFETY: forwarded contract.
        unsafe { str_out(&text, buf, cap, out_len) }
    })
}

/// A JSON Patch (RFC 6902) that turns `from` into `to`.
///
/// # Safety
/// As `ota_twin_delta`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_twin_diff(
    from: *const c_char,
    to: *const c_char,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> Status {
    guard(|| {
        out_ptr(out_len)?;
        // SAFETY: forwarded contract.
        let from = unsafe { json_in(from) }?;
        // SAFETY: forwarded contract.
        let to = unsafe { json_in(to) }?;
        let text = ota_twin::diff(&from, &to).to_json();
        // SAFETY: forwarded contract.
        unsafe { str_out(&text, buf, cap, out_len) }
    })
}

/// Applies a JSON Patch (RFC 6902) to `doc` and writes the result. Atomic: a failing operation
/// (`OTA_STATUS_TWIN_PATCH_FAILED`) leaves nothing written. The `copy` operations of one patch
/// may add at most 1 MiB of compact JSON to the document (each copy of the root into itself
/// doubles it): past that, `OTA_STATUS_TWIN_LIMIT_EXCEEDED`, checked before the copy allocates.
///
/// # Safety
/// As `ota_twin_delta`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_twin_apply_patch(
    doc: *const c_char,
    patch: *const c_char,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> Status {
    guard(|| {
        out_ptr(out_len)?;
        // SAFETY: forwarded contract.
        let mut doc = unsafe { json_in(doc) }?;
        // SAFETY: forwarded contract.
        let patch_text = unsafe { str_in(patch) }?;
        if patch_text.len() > MAX_INPUT_BYTES {
            return Err(Status::TwinLimitExceeded);
        }
        let patch = Patch::from_json(patch_text.as_bytes()).map_err(|e| twin_status(&e))?;
        ota_twin::apply_patch(&mut doc, &patch).map_err(|e| twin_status(&e))?;
        // SAFETY: forwarded contract.
        unsafe { str_out(&doc.to_string(), buf, cap, out_len) }
    })
}

/// Applies a JSON Merge Patch (RFC 7396) to `doc` and writes the result.
///
/// # Safety
/// As `ota_twin_delta`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_twin_apply_merge_patch(
    doc: *const c_char,
    patch: *const c_char,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> Status {
    guard(|| {
        out_ptr(out_len)?;
        // SAFETY: forwarded contract.
        let mut doc = unsafe { json_in(doc) }?;
        // SAFETY: forwarded contract.
        let patch = unsafe { json_in(patch) }?;
        ota_twin::apply_merge_patch(&mut doc, &patch);
        // SAFETY: forwarded contract.
        unsafe { str_out(&doc.to_string(), buf, cap, out_len) }
    })
}
