#![doc = include_str!("../README.md")]
// C names (`ota_manifest`, `ota_plan_step`...) are the API: they follow C, not Rust, style.
#![allow(non_camel_case_types)]

mod buffer;
mod guard;
mod handle;
mod status;

pub mod agent;
pub mod delta;
pub mod manifest;
pub mod plan;
pub mod rollout;
pub mod suit;
pub mod twin;
pub mod verify;

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

#[cfg(test)]
mod tests {
    /// The README says these handles may be read from several threads at once.
    #[test]
    fn shared_handles_are_send_and_sync() {
        fn shareable<T: Send + Sync>() {}
        shareable::<crate::manifest::ota_manifest>();
        shareable::<crate::plan::ota_plan>();
        shareable::<crate::verify::ota_trust_root>();
        shareable::<crate::rollout::ota_rollout_plan>();
        shareable::<crate::rollout::ota_install_policy>();
        // Single-thread handles may still move between threads between calls.
        fn movable<T: Send>() {}
        movable::<crate::verify::ota_digest_verifier>();
        movable::<crate::verify::ota_chunk_verifier>();
    }
}
