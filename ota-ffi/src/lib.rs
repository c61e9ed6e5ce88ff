#![doc = include_str!("../README.md")]

// The area modules (manifest, verify, delta, rollout, twin) use these as they are added.
#[allow(dead_code)]
mod buffer;
#[allow(dead_code)]
mod guard;
mod status;

pub use status::{Status, ota_status_message};

use core::ffi::c_char;

/// The library version as a static NUL-terminated string; never free it.
#[unsafe(no_mangle)]
pub extern "C" fn ota_version() -> *const c_char {
    const VERSION: &core::ffi::CStr = match core::ffi::CStr::from_bytes_with_nul(
        concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes(),
    ) {
        Ok(v) => v,
        Err(_) => c"",
    };
    VERSION.as_ptr()
}
