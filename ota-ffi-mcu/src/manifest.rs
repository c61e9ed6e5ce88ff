//! The release manifest read in place (ota-manifest's `ManifestView`, no_std, no allocation) and
//! the install decision on it.
//!
//! The functions are stateless: each takes the manifest bytes (the verified payload, where it
//! lies in the caller's buffer) and checks them again, strictly, before it answers (a few tens of
//! thousands of instructions for a small manifest; no state to keep valid between calls).

use core::ffi::{CStr, c_char};

use ota_manifest::{
    DeviceView, InstalledView, ManifestView, VersionView, ViewAction, ViewErrorKind, ViewRule,
};

use crate::buffer::{bytes_in, out_ptr, status};
use crate::status::Status;

/// The most installed components an [`ota_mcu_device_state`] may report (the view of each lives
/// on the stack for the call).
pub const OTA_MCU_MAX_INSTALLED: usize = 8;

/// `ota_mcu_step.action`: the device already has this image.
pub const OTA_MCU_ACTION_SKIP: u32 = 0;
/// `ota_mcu_step.action`: fetch the full image.
pub const OTA_MCU_ACTION_FULL: u32 = 1;
/// `ota_mcu_step.action`: fetch the delta whose source is the installed image.
pub const OTA_MCU_ACTION_DELTA: u32 = 2;

/// A component installed on the device, as the device reports it (as `ota_installed`).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ota_mcu_installed {
    /// Component id, NUL-terminated UTF-8.
    pub id: *const c_char,
    /// Installed version (semantic version), NUL-terminated.
    pub version: *const c_char,
    /// SHA-256 of the installed image.
    pub sha256: [u8; 32],
}

/// What the device reports about itself for the install decision (as `ota_device_state`, without
/// the slot). Borrowed for the call only.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ota_mcu_device_state {
    /// Vendor id bytes.
    pub vendor: *const u8,
    /// Length of `vendor`.
    pub vendor_len: usize,
    /// Device class id bytes.
    pub device_class: *const u8,
    /// Length of `device_class`.
    pub device_class_len: usize,
    /// Hardware revision, NUL-terminated (`"2.1.0"` or a free string matched exactly).
    pub hardware: *const c_char,
    /// Installed components (may be NULL when `installed_count` is 0); at most
    /// `OTA_MCU_MAX_INSTALLED`.
    pub installed: *const ota_mcu_installed,
    /// Number of entries in `installed`.
    pub installed_count: usize,
    /// The device's security counter floor.
    pub security_counter: u64,
    /// Whether `last_sequence` holds a value (false: the device never accepted a release).
    pub has_last_sequence: bool,
    /// Sequence number of the last accepted release.
    pub last_sequence: u64,
    /// The device's time, seconds since the Unix epoch.
    pub now: u64,
}

/// The release-level fields of a manifest, by value.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ota_mcu_manifest_info {
    /// Anti-rollback sequence number.
    pub sequence: u64,
    /// Security counter.
    pub security_counter: u64,
    /// Issue time (Unix seconds).
    pub issued_at: u64,
    /// Whether the release expires.
    pub has_expires_at: bool,
    /// Expiry time (Unix seconds) when `has_expires_at`.
    pub expires_at: u64,
    /// Number of components.
    pub component_count: usize,
}

/// One component, by value; the pointers point into the caller's manifest buffer.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ota_mcu_component {
    /// Component id (UTF-8, not NUL-terminated).
    pub id: *const u8,
    /// Length of `id`.
    pub id_len: usize,
    /// Target version, canonical spelling (not NUL-terminated).
    pub version: *const u8,
    /// Length of `version`.
    pub version_len: usize,
    /// Layer code (0 firmware, as in FORMAT.md).
    pub layer: u32,
    /// Whether installing it needs a reboot (firmware).
    pub needs_reboot: bool,
    /// Image size.
    pub size: u64,
    /// Image SHA-256 (32 bytes).
    pub sha256: *const u8,
    /// Chunk size, 0 when the component has no chunk digests.
    pub chunk_size: u32,
    /// Number of chunk digests.
    pub chunk_count: usize,
    /// Install order key (lower first).
    pub order: u32,
}

/// What to install for one component, in install order, by value (as `ota_plan_step`).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ota_mcu_step {
    /// Index of the component in the manifest.
    pub component_index: usize,
    /// `OTA_MCU_ACTION_SKIP`, `OTA_MCU_ACTION_FULL` or `OTA_MCU_ACTION_DELTA`.
    pub action: u32,
    /// Bytes to fetch: the image size (full), the patch size (delta), 0 (skip).
    pub download_size: u64,
    /// SHA-256 of what to fetch (image or patch); zero for skip.
    pub download_sha256: [u8; 32],
    /// The delta algorithm code (delta only).
    pub delta_algorithm: u32,
    /// SHA-256 of the delta's source image (delta only).
    pub delta_from_sha256: [u8; 32],
    /// Size of the image once installed.
    pub target_size: u64,
    /// SHA-256 of the image once installed.
    pub target_sha256: [u8; 32],
    /// Whether installing it needs a reboot (firmware).
    pub reboot: bool,
}

fn parse(bytes: &[u8]) -> Result<ManifestView<'_>, Status> {
    ManifestView::parse(bytes).map_err(|e| match e.kind {
        ViewErrorKind::TooLarge | ViewErrorKind::TooDeep | ViewErrorKind::Limit { .. } => {
            Status::ManifestLimitExceeded
        }
        _ => Status::ManifestMalformed,
    })
}

fn refusal_status(rule: &ViewRule) -> Status {
    match rule {
        ViewRule::Invalid(_) => Status::RefusedInvalid,
        ViewRule::DuplicateInstalled { .. } => Status::RefusedDuplicateInstalled,
        ViewRule::WrongVendor => Status::RefusedWrongVendor,
        ViewRule::WrongClass => Status::RefusedWrongClass,
        ViewRule::WrongHardware => Status::RefusedWrongHardware,
        ViewRule::Expired { .. } => Status::RefusedExpired,
        ViewRule::SequenceNotNewer { .. } => Status::RefusedSequence,
        ViewRule::SecurityCounterBelowFloor { .. } => Status::RefusedSecurityCounter,
        ViewRule::OutsideUpgradePath => Status::RefusedUpgradePath,
        _ => Status::RefusedOther,
    }
}

/// A NUL-terminated UTF-8 string from C.
///
/// # Safety
/// `ptr` NULL or NUL-terminated, valid for `'a`.
unsafe fn str_in<'a>(ptr: *const c_char) -> Result<&'a str, Status> {
    if ptr.is_null() {
        return Err(Status::NullArgument);
    }
    // SAFETY: non-NULL and NUL-terminated by contract.
    let c = unsafe { CStr::from_ptr(ptr) };
    c.to_str().map_err(|_| Status::InvalidUtf8)
}

/// Runs `f` on the device state as a `DeviceView` (the installed list converted on the stack).
///
/// # Safety
/// `device` NULL or a valid `ota_mcu_device_state` whose pointers follow its field docs.
unsafe fn with_device<R>(
    device: *const ota_mcu_device_state,
    f: impl FnOnce(&DeviceView<'_>) -> Result<R, Status>,
) -> Result<R, Status> {
    if device.is_null() {
        return Err(Status::NullArgument);
    }
    // SAFETY: non-NULL and valid by contract.
    let d = unsafe { &*device };
    if d.installed_count > OTA_MCU_MAX_INSTALLED {
        return Err(Status::InvalidArgument);
    }
    // SAFETY: forwarded contract.
    let (vendor, class) = unsafe {
        (
            bytes_in(d.vendor, d.vendor_len)?,
            bytes_in(d.device_class, d.device_class_len)?,
        )
    };
    // SAFETY: forwarded contract.
    let hardware = unsafe { str_in(d.hardware) }?;
    let zero = VersionView::parse("0.0.0").ok_or(Status::InvalidArgument)?;
    let blank = InstalledView {
        id: "",
        version: zero,
        sha256: [0; 32],
    };
    let mut installed = [blank; OTA_MCU_MAX_INSTALLED];
    if d.installed_count > 0 {
        if d.installed.is_null() {
            return Err(Status::NullArgument);
        }
        // SAFETY: non-NULL; `installed_count` readable entries by contract.
        let list = unsafe { core::slice::from_raw_parts(d.installed, d.installed_count) };
        for (slot, i) in installed.iter_mut().zip(list) {
            // SAFETY: forwarded contract (NUL-terminated strings).
            let (id, version) = unsafe { (str_in(i.id)?, str_in(i.version)?) };
            let version = VersionView::parse(version).ok_or(Status::InvalidArgument)?;
            *slot = InstalledView {
                id,
                version,
                sha256: i.sha256,
            };
        }
    }
    let view = DeviceView {
        vendor,
        class,
        hardware,
        installed: installed.get(..d.installed_count).unwrap_or(&[]),
        security_counter: d.security_counter,
        last_sequence: d.has_last_sequence.then_some(d.last_sequence),
        now: d.now,
    };
    f(&view)
}

/// Checks the manifest (canonical CBOR, the std decoder's strictness and limits, then its
/// internal consistency) and writes its release-level fields. `OTA_MCU_STATUS_MANIFEST_MALFORMED`,
/// `_LIMIT_EXCEEDED`, or `OTA_MCU_STATUS_REFUSED_INVALID` for an inconsistent one.
///
/// # Safety
/// `manifest` readable for `len` bytes; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_mcu_manifest_check(
    manifest: *const u8,
    len: usize,
    out: *mut ota_mcu_manifest_info,
) -> Status {
    status((|| {
        let out = out_ptr(out)?;
        // SAFETY: forwarded contract.
        let m = parse(unsafe { bytes_in(manifest, len) }?)?;
        m.check().map_err(|r| refusal_status(&r.rule))?;
        let info = ota_mcu_manifest_info {
            sequence: m.sequence(),
            security_counter: m.security_counter(),
            issued_at: m.issued_at(),
            has_expires_at: m.expires_at().is_some(),
            expires_at: m.expires_at().unwrap_or(0),
            component_count: m.components().count(),
        };
        // SAFETY: checked non-NULL; writable by contract.
        unsafe { out.write(info) };
        Ok(())
    })())
}

/// Writes component `index` (manifest order). `OTA_MCU_STATUS_INDEX_OUT_OF_RANGE` past the end.
///
/// # Safety
/// `manifest` readable for `len` bytes (the pointers written point into it); `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_mcu_manifest_component(
    manifest: *const u8,
    len: usize,
    index: usize,
    out: *mut ota_mcu_component,
) -> Status {
    status((|| {
        let out = out_ptr(out)?;
        // SAFETY: forwarded contract.
        let m = parse(unsafe { bytes_in(manifest, len) }?)?;
        let c = m.components().nth(index).ok_or(Status::IndexOutOfRange)?;
        let value = ota_mcu_component {
            id: c.id().as_ptr(),
            id_len: c.id().len(),
            version: c.version().as_str().as_ptr(),
            version_len: c.version().as_str().len(),
            layer: c.layer(),
            needs_reboot: c.needs_reboot(),
            size: c.size(),
            sha256: c.sha256().as_ptr(),
            chunk_size: c.chunk_size().unwrap_or(0),
            chunk_count: c.chunk_count(),
            order: c.order(),
        };
        // SAFETY: checked non-NULL; writable by contract.
        unsafe { out.write(value) };
        Ok(())
    })())
}

/// Copies the SHA-256 of chunk `chunk` of component `index` into `out` (32 bytes).
/// `OTA_MCU_STATUS_INDEX_OUT_OF_RANGE` for a component or chunk past the end.
///
/// # Safety
/// `manifest` readable for `len` bytes; `out` writable for 32 bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_mcu_manifest_chunk_sha256(
    manifest: *const u8,
    len: usize,
    index: usize,
    chunk: usize,
    out: *mut u8,
) -> Status {
    status((|| {
        let out = out_ptr(out)?;
        // SAFETY: forwarded contract.
        let m = parse(unsafe { bytes_in(manifest, len) }?)?;
        let c = m.components().nth(index).ok_or(Status::IndexOutOfRange)?;
        let d = c.chunk_sha256(chunk).ok_or(Status::IndexOutOfRange)?;
        // SAFETY: `out` non-NULL and writable for 32 bytes; `d` is in the manifest, which the
        // caller may not pass as `out` (it is const).
        unsafe { core::ptr::copy_nonoverlapping(d.as_ptr(), out, 32) };
        Ok(())
    })())
}

/// Decides whether the device may install this release: the manifest's consistency, a component
/// reported twice, vendor, class, hardware revision, expiry, sequence and security counter
/// anti-rollback, and each component's upgrade path (the std plan's rules in its order; not the
/// dependencies, which the view does not read). `OTA_MCU_STATUS_OK` or an
/// `OTA_MCU_STATUS_REFUSED_*` naming the rule.
///
/// # Safety
/// `manifest` readable for `len` bytes; `device` a valid device state.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_mcu_manifest_decide(
    manifest: *const u8,
    len: usize,
    device: *const ota_mcu_device_state,
) -> Status {
    status((|| {
        // SAFETY: forwarded contract.
        let m = parse(unsafe { bytes_in(manifest, len) }?)?;
        // SAFETY: forwarded contract.
        unsafe { with_device(device, |d| m.decide(d).map_err(|r| refusal_status(&r.rule))) }
    })())
}

/// Writes step `position` of the install plan (components in install order: lower `order`
/// first, then manifest order) with its action on this device; the release is decided first
/// (as `ota_mcu_manifest_decide`, whose refusal is returned). `OTA_MCU_STATUS_INDEX_OUT_OF_RANGE`
/// past the last step.
///
/// # Safety
/// `manifest` readable for `len` bytes; `device` a valid device state; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_mcu_manifest_step(
    manifest: *const u8,
    len: usize,
    device: *const ota_mcu_device_state,
    position: usize,
    out: *mut ota_mcu_step,
) -> Status {
    status((|| {
        let out = out_ptr(out)?;
        // SAFETY: forwarded contract.
        let m = parse(unsafe { bytes_in(manifest, len) }?)?;
        // SAFETY: forwarded contract.
        let step = unsafe {
            with_device(device, |d| {
                m.decide(d).map_err(|r| refusal_status(&r.rule))?;
                let c = m
                    .install_order()
                    .nth(position)
                    .ok_or(Status::IndexOutOfRange)?;
                let action = m.action(&c, d).map_err(|r| refusal_status(&r.rule))?;
                let mut s = ota_mcu_step {
                    component_index: c.index(),
                    action: OTA_MCU_ACTION_SKIP,
                    download_size: 0,
                    download_sha256: [0; 32],
                    delta_algorithm: 0,
                    delta_from_sha256: [0; 32],
                    target_size: c.size(),
                    target_sha256: *c.sha256(),
                    reboot: c.needs_reboot(),
                };
                match action {
                    ViewAction::Skip => {}
                    ViewAction::Full { size, sha256 } => {
                        s.action = OTA_MCU_ACTION_FULL;
                        s.download_size = size;
                        s.download_sha256 = *sha256;
                    }
                    ViewAction::Delta(delta) => {
                        s.action = OTA_MCU_ACTION_DELTA;
                        s.download_size = delta.patch_size();
                        s.download_sha256 = *delta.patch_sha256();
                        s.delta_algorithm = delta.algorithm();
                        s.delta_from_sha256 = *delta.from_sha256();
                    }
                }
                Ok(s)
            })
        }?;
        // SAFETY: checked non-NULL; writable by contract.
        unsafe { out.write(step) };
        Ok(())
    })())
}
