#![doc = include_str!("../README.md")]
// On a bare-metal target the crate is `no_std` with its own panic handler; on a host (tests,
// `cargo build --workspace`) it links std, whose panic runtime then serves the staticlib.
#![no_std]

#[cfg(not(target_os = "none"))]
extern crate std;

mod buffer;
mod delta;
mod manifest;
mod status;
mod verify;

pub use delta::{
    OTA_MCU_CURSOR_LEN, OTA_MCU_FRAME_BUF_LEN, OTA_MCU_FRAME_BUF_MAX_LEN, OTA_MCU_PATCH_HEADER_LEN,
    ota_mcu_delta_apply, ota_mcu_delta_buffers, ota_mcu_delta_io,
};
pub use manifest::{
    OTA_MCU_ACTION_DELTA, OTA_MCU_ACTION_FULL, OTA_MCU_ACTION_SKIP, OTA_MCU_MAX_INSTALLED,
    ota_mcu_component, ota_mcu_device_state, ota_mcu_installed, ota_mcu_manifest_check,
    ota_mcu_manifest_chunk_sha256, ota_mcu_manifest_component, ota_mcu_manifest_decide,
    ota_mcu_manifest_info, ota_mcu_manifest_step, ota_mcu_step,
};
pub use status::{Status, ota_mcu_status_message};
pub use verify::{
    OTA_MCU_DIGEST_VERIFIER_WORDS, OTA_MCU_TRUST_ROOT_WORDS, ota_mcu_digest_verifier,
    ota_mcu_digest_verifier_finish, ota_mcu_digest_verifier_new, ota_mcu_digest_verifier_update,
    ota_mcu_sha256, ota_mcu_trust_root, ota_mcu_trust_root_load, ota_mcu_trust_root_update,
    ota_mcu_trust_root_verify, ota_mcu_trust_root_version, ota_mcu_verified,
};

/// A panic is a bug in this library (every input is checked, nothing indexes outside data): it
/// cannot unwind (there is no unwinder and `panic = "abort"`), so it executes a permanently
/// undefined instruction, which raises a HardFault (UsageFault if enabled) whose handler, the
/// device's, decides what to do (typically a reset).
#[cfg(all(target_os = "none", target_arch = "arm"))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {
        // SAFETY: `udf` only raises the undefined-instruction fault; it touches no memory.
        unsafe { core::arch::asm!("udf #0", options(nomem, nostack)) };
    }
}
