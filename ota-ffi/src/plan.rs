//! The install decision: `ota_device_state` in, `ota_plan` out (or a refusal status).

use core::ffi::c_char;

use ::ota_manifest::{
    Action, DeviceId, DeviceState, Installed, Plan, Refusal, Rule, Sha256, Slot, semver::Version,
};

use crate::buffer::{bytes_in, out_ptr, str_in, str_out};
use crate::guard::guard;
use crate::handle;
use crate::manifest::ota_manifest;
use crate::status::Status;

/// An install plan for one device. Made by `ota_manifest_plan`, freed by `ota_plan_free`.
/// Immutable: may be shared between threads for reading.
pub struct ota_plan {
    inner: Plan,
}

/// A/B slot A.
pub const OTA_SLOT_A: u32 = 0;
/// A/B slot B.
pub const OTA_SLOT_B: u32 = 1;

/// Plan step action: the device already has this image.
pub const OTA_ACTION_SKIP: u32 = 0;
/// Plan step action: download the full image.
pub const OTA_ACTION_FULL: u32 = 1;
/// Plan step action: download a delta patch whose source is the installed image.
pub const OTA_ACTION_DELTA: u32 = 2;

/// Delta algorithm of a delta step: BSDIFF40.
pub const OTA_DELTA_ALGORITHM_BSDIFF40: u32 = 0;
/// Delta algorithm of a delta step: the native ota-delta format.
pub const OTA_DELTA_ALGORITHM_OTA_DELTA: u32 = 1;

/// A component installed on the device, as the device reports it.
#[repr(C)]
pub struct ota_installed {
    /// Component id, NUL-terminated UTF-8.
    pub id: *const c_char,
    /// Installed version (semantic version), NUL-terminated.
    pub version: *const c_char,
    /// SHA-256 of the installed image.
    pub sha256: [u8; 32],
}

/// What the device reports about itself for the install decision. Borrowed for the call only.
#[repr(C)]
pub struct ota_device_state {
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
    /// Installed components (may be NULL when `installed_count` is 0).
    pub installed: *const ota_installed,
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
    /// The slot the device runs from: `OTA_SLOT_A` or `OTA_SLOT_B`.
    pub active_slot: u32,
}

/// One step of a plan, by value.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ota_plan_step {
    /// Index of the step's component in the manifest (for `ota_manifest_component_*`).
    pub component_index: usize,
    /// `OTA_ACTION_SKIP`, `OTA_ACTION_FULL` or `OTA_ACTION_DELTA`.
    pub action: u32,
    /// Bytes to download (full image or patch); 0 for a skip.
    pub download_size: u64,
    /// SHA-256 of what to download (full image or patch); zeros for a skip.
    pub download_sha256: [u8; 32],
    /// For a delta: `OTA_DELTA_ALGORITHM_*` (vendor algorithms: their number, 256 or more).
    pub delta_algorithm: u32,
    /// For a delta: SHA-256 of the source image the patch applies to.
    pub delta_from_sha256: [u8; 32],
    /// Whether `slot` is set (firmware steps).
    pub has_slot: bool,
    /// The inactive slot to write, then switch to: `OTA_SLOT_A` or `OTA_SLOT_B`.
    pub slot: u32,
    /// Whether the device must reboot after this step.
    pub reboot: bool,
}

fn refusal_status(r: &Refusal) -> Status {
    match r.rule {
        Rule::Invalid(_) => Status::RefusedInvalid,
        Rule::WrongVendor => Status::RefusedWrongVendor,
        Rule::WrongClass => Status::RefusedWrongClass,
        Rule::WrongHardware { .. } => Status::RefusedWrongHardware,
        Rule::Expired { .. } => Status::RefusedExpired,
        Rule::SequenceNotNewer { .. } => Status::RefusedSequence,
        Rule::SecurityCounterBelowFloor { .. } => Status::RefusedSecurityCounter,
        Rule::OutsideUpgradePath { .. } => Status::RefusedUpgradePath,
        Rule::UnmetDependency { .. } => Status::RefusedDependency,
        Rule::DuplicateInstalled => Status::RefusedDuplicateInstalled,
        _ => Status::RefusedOther,
    }
}

fn slot_code(slot: Slot) -> u32 {
    match slot {
        Slot::A => OTA_SLOT_A,
        Slot::B => OTA_SLOT_B,
    }
}

/// Reads the C device state into the Rust one.
///
/// # Safety
/// The pointers inside `s` must satisfy the documented contract of `ota_device_state`.
pub(crate) unsafe fn device_state(s: &ota_device_state) -> Result<DeviceState, Status> {
    // SAFETY: forwarded contract: (vendor, vendor_len) is a readable buffer or NULL with 0.
    let vendor = unsafe { bytes_in(s.vendor, s.vendor_len) }?;
    // SAFETY: as above for the class.
    let class = unsafe { bytes_in(s.device_class, s.device_class_len) }?;
    // SAFETY: hardware is NUL-terminated by contract (NULL is refused).
    let hardware = unsafe { str_in(s.hardware) }?;
    let active_slot = match s.active_slot {
        OTA_SLOT_A => Slot::A,
        OTA_SLOT_B => Slot::B,
        _ => return Err(Status::InvalidArgument),
    };
    let list: &[ota_installed] = if s.installed_count == 0 {
        &[]
    } else if s.installed.is_null() {
        return Err(Status::NullArgument);
    } else if s.installed_count > isize::MAX as usize / core::mem::size_of::<ota_installed>() {
        return Err(Status::InvalidArgument);
    } else {
        // SAFETY: non-NULL, and the caller guarantees `installed_count` readable entries.
        unsafe { core::slice::from_raw_parts(s.installed, s.installed_count) }
    };
    let mut installed = Vec::with_capacity(list.len());
    for entry in list {
        // SAFETY: each entry's strings are NUL-terminated by contract (NULL is refused).
        let id = unsafe { str_in(entry.id) }?;
        // SAFETY: as above.
        let version = unsafe { str_in(entry.version) }?;
        installed.push(Installed {
            id: id.to_owned(),
            version: Version::parse(version).map_err(|_| Status::InvalidArgument)?,
            sha256: Sha256(entry.sha256),
        });
    }
    Ok(DeviceState {
        vendor: DeviceId::new(vendor).map_err(|_| Status::InvalidArgument)?,
        class: DeviceId::new(class).map_err(|_| Status::InvalidArgument)?,
        hardware: hardware.to_owned(),
        installed,
        security_counter: s.security_counter,
        last_sequence: s.has_last_sequence.then_some(s.last_sequence),
        now: s.now,
        active_slot,
    })
}

/// Runs the install decision for `state` and writes a new plan to `*out`, or returns the
/// refusal as an `OTA_STATUS_REFUSED_*` status (`ota_manifest_refusal_message` says which
/// component and rule). A device state the API cannot read (bad version string, unknown slot,
/// empty vendor) is `OTA_STATUS_INVALID_ARGUMENT`.
///
/// # Safety
/// `manifest` a live handle or NULL; `state` NULL or valid as documented on
/// `ota_device_state`; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_manifest_plan(
    manifest: *const ota_manifest,
    state: *const ota_device_state,
    out: *mut *mut ota_plan,
) -> Status {
    guard(|| {
        // SAFETY: forwarded contract.
        let m = unsafe { handle::get(manifest) }?;
        // SAFETY: forwarded contract (a borrowed struct, read only).
        let s = unsafe { handle::get(state) }?;
        let out = out_ptr(out)?;
        // SAFETY: forwarded contract.
        let state = unsafe { device_state(s) }?;
        let plan = m.inner.plan(&state).map_err(|r| refusal_status(&r))?;
        // SAFETY: checked non-NULL; writable by contract.
        unsafe { handle::give(out, ota_plan { inner: plan }) };
        Ok(())
    })
}

/// Copies the message of the install decision's refusal for `state` (naming the component and
/// the rule, e.g. "component `app`: unmet dependency on ...") into `(buf, cap)`, NUL-terminated.
/// The decision is recomputed (it is a pure function of its inputs). Returns
/// `OTA_STATUS_NOT_REFUSED` when the decision is a plan.
///
/// # Safety
/// As `ota_manifest_plan` for the inputs, and `ota_manifest_name` for the buffer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_manifest_refusal_message(
    manifest: *const ota_manifest,
    state: *const ota_device_state,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> Status {
    guard(|| {
        // SAFETY: forwarded contract.
        let m = unsafe { handle::get(manifest) }?;
        // SAFETY: forwarded contract.
        let s = unsafe { handle::get(state) }?;
        out_ptr(out_len)?;
        // SAFETY: forwarded contract.
        let state = unsafe { device_state(s) }?;
        match m.inner.plan(&state) {
            Ok(_) => Err(Status::NotRefused),
            // SAFETY: forwarded contract.
            Err(r) => unsafe { str_out(&r.to_string(), buf, cap, out_len) },
        }
    })
}

/// Frees a plan. NULL does nothing.
///
/// # Safety
/// `plan` must be NULL or a handle from `ota_manifest_plan` not freed yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_plan_free(plan: *mut ota_plan) {
    let _ = guard(|| {
        // SAFETY: forwarded contract.
        unsafe { handle::free(plan) };
        Ok(())
    });
}

/// The totals of a plan, by value.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ota_plan_info {
    /// Number of steps (one per component, in install order).
    pub step_count: usize,
    /// Sequence number to record once the plan is done.
    pub sequence: u64,
    /// Security counter the device may raise its floor to once done.
    pub security_counter: u64,
    /// Bytes to download in total.
    pub download_bytes: u64,
    /// Whether any step needs a reboot.
    pub reboot_required: bool,
    /// Whether there is nothing to fetch.
    pub is_noop: bool,
}

/// Writes the plan's totals to `*out`.
///
/// # Safety
/// `plan` a live handle or NULL; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_plan_get_info(
    plan: *const ota_plan,
    out: *mut ota_plan_info,
) -> Status {
    guard(|| {
        // SAFETY: forwarded contract.
        let p = &unsafe { handle::get(plan) }?.inner;
        let out = out_ptr(out)?;
        let info = ota_plan_info {
            step_count: p.steps.len(),
            sequence: p.sequence,
            security_counter: p.security_counter,
            download_bytes: p.download_bytes(),
            reboot_required: p.reboot_required(),
            is_noop: p.is_noop(),
        };
        // SAFETY: checked non-NULL; writable by contract.
        unsafe { out.write(info) };
        Ok(())
    })
}

/// Writes step `index` of the plan to `*out`. `manifest` must be the manifest the plan was made
/// from (the step names its component by index in it).
///
/// # Safety
/// `manifest` and `plan` live handles or NULL; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_plan_get_step(
    manifest: *const ota_manifest,
    plan: *const ota_plan,
    index: usize,
    out: *mut ota_plan_step,
) -> Status {
    guard(|| {
        // SAFETY: forwarded contract.
        let m = &unsafe { handle::get(manifest) }?.inner;
        // SAFETY: forwarded contract.
        let p = &unsafe { handle::get(plan) }?.inner;
        let out = out_ptr(out)?;
        let step = p.steps.get(index).ok_or(Status::IndexOutOfRange)?;
        let component_index = m
            .components
            .iter()
            .position(|c| c.id == step.component)
            .ok_or(Status::InvalidArgument)?;
        let (action, download_size, download_sha256, delta_algorithm, delta_from_sha256) =
            match &step.action {
                Action::Skip => (OTA_ACTION_SKIP, 0, [0; 32], 0, [0; 32]),
                Action::Full { size, sha256 } => (OTA_ACTION_FULL, *size, sha256.0, 0, [0; 32]),
                Action::Delta(d) => (
                    OTA_ACTION_DELTA,
                    d.patch_size,
                    d.patch_sha256.0,
                    algorithm_code(d.algorithm),
                    d.from_sha256.0,
                ),
                _ => return Err(Status::ManifestOther),
            };
        let value = ota_plan_step {
            component_index,
            action,
            download_size,
            download_sha256,
            delta_algorithm,
            delta_from_sha256,
            has_slot: step.slot.is_some(),
            slot: step.slot.map_or(0, slot_code),
            reboot: step.reboot,
        };
        // SAFETY: checked non-NULL; writable by contract.
        unsafe { out.write(value) };
        Ok(())
    })
}

fn algorithm_code(a: ::ota_manifest::DeltaAlgorithm) -> u32 {
    match a {
        ::ota_manifest::DeltaAlgorithm::Bsdiff40 => OTA_DELTA_ALGORITHM_BSDIFF40,
        ::ota_manifest::DeltaAlgorithm::OtaDelta => OTA_DELTA_ALGORITHM_OTA_DELTA,
        ::ota_manifest::DeltaAlgorithm::Vendor(v) => v,
        _ => u32::MAX,
    }
}
