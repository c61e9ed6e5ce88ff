//! Rollout: ring assignment of a device for a plan, and the install-window check.

use core::ffi::c_char;

use ota_rollout::{
    Assignment, Attributes, Blocker, Device, DeviceContext, InstallPolicy, Limits, MayStart, Plan,
};

use crate::buffer::{bytes_in, out_ptr, str_in, str_out};
use crate::guard::guard;
use crate::handle;
use crate::status::Status;

/// Largest install-policy JSON accepted (a policy is a handful of windows and flags).
const MAX_POLICY_BYTES: usize = 64 * 1024;

/// A rollout plan. Made by `ota_rollout_plan_new_from_json`, freed by `ota_rollout_plan_free`.
/// Immutable: may be shared between threads for reading.
pub struct ota_rollout_plan {
    inner: Plan,
}

/// An install policy (windows and device conditions). Immutable: may be shared for reading.
pub struct ota_install_policy {
    inner: InstallPolicy,
}

/// A device as the rollout sees it: its id and attributes, given either as `attribute_count`
/// key/value pairs or as a JSON object of strings (`attributes_json`, NUL-terminated); both may
/// be given (JSON first, then the pairs, a later key replacing an earlier one).
#[repr(C)]
pub struct ota_rollout_device {
    /// Device id, NUL-terminated.
    pub id: *const c_char,
    /// Attribute names (`attribute_count` NUL-terminated strings), or NULL when the count is 0.
    pub keys: *const *const c_char,
    /// Attribute values, parallel to `keys`.
    pub values: *const *const c_char,
    /// Number of key/value pairs.
    pub attribute_count: usize,
    /// A JSON object of string values, or NULL.
    pub attributes_json: *const c_char,
}

/// What the device reports about itself for the install-window check.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ota_device_context {
    /// Offset from UTC in minutes (-840 to +840).
    pub utc_offset_minutes: i16,
    /// On external power.
    pub charging: bool,
    /// Whether the device has a battery (false: mains-powered, always enough).
    pub has_battery: bool,
    /// Battery charge in percent, when `has_battery`.
    pub battery_percent: u8,
    /// On a metered network.
    pub metered: bool,
    /// Not in use.
    pub idle: bool,
    /// When the update was first offered (UTC seconds), for the deferral limit.
    pub offered_at: u64,
}

/// Blocker bit: outside every maintenance window.
pub const OTA_BLOCKER_OUTSIDE_WINDOW: u32 = 1;
/// Blocker bit: not charging.
pub const OTA_BLOCKER_NOT_CHARGING: u32 = 2;
/// Blocker bit: battery below the minimum.
pub const OTA_BLOCKER_BATTERY_LOW: u32 = 4;
/// Blocker bit: on a metered network.
pub const OTA_BLOCKER_METERED: u32 = 8;
/// Blocker bit: in use.
pub const OTA_BLOCKER_BUSY: u32 = 16;
/// Blocker bit: a blocker this version of the C API does not name.
pub const OTA_BLOCKER_OTHER: u32 = 0x8000_0000;

/// The answer of `ota_install_policy_may_start`, by value.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ota_may_start {
    /// The install may start now.
    pub may_start: bool,
    /// It may start only because a critical update's deferral limit has passed.
    pub forced: bool,
    /// `OTA_BLOCKER_*` bits of everything in the way (0 when `may_start`).
    pub blockers: u32,
    /// Whether `next` is known.
    pub has_next: bool,
    /// The earliest time (UTC seconds) the window and deferral limit could allow it.
    pub next: u64,
}

fn rollout_status(_e: &ota_rollout::Error) -> Status {
    // Every error of decoding a plan or policy is the operator's document: one status.
    Status::RolloutPlanInvalid
}

/// # Safety
/// `d` valid as documented on `ota_rollout_device`.
unsafe fn device_in(d: &ota_rollout_device) -> Result<Device, Status> {
    // SAFETY: forwarded contract.
    let id = unsafe { str_in(d.id) }?;
    let mut attributes = Attributes::new();
    if !d.attributes_json.is_null() {
        // SAFETY: forwarded contract.
        let text = unsafe { str_in(d.attributes_json) }?;
        let map: std::collections::BTreeMap<String, String> =
            serde_json::from_str(text).map_err(|_| Status::InvalidArgument)?;
        attributes.extend(map);
    }
    if d.attribute_count > 0 {
        if d.keys.is_null() || d.values.is_null() {
            return Err(Status::NullArgument);
        }
        if d.attribute_count > isize::MAX as usize / core::mem::size_of::<*const c_char>() {
            return Err(Status::InvalidArgument);
        }
        // SAFETY: non-NULL, and the caller guarantees `attribute_count` readable pointers each.
        let (keys, values) = unsafe {
            (
                core::slice::from_raw_parts(d.keys, d.attribute_count),
                core::slice::from_raw_parts(d.values, d.attribute_count),
            )
        };
        for (&k, &v) in keys.iter().zip(values) {
            // SAFETY: each is a NUL-terminated string by contract (NULL is refused).
            let (k, v) = unsafe { (str_in(k)?, str_in(v)?) };
            attributes.insert(k.to_owned(), v.to_owned());
        }
    }
    Ok(Device {
        id: id.to_owned(),
        attributes,
    })
}

/// Decodes and validates a rollout plan from JSON `(ptr, len)` with the default limits.
///
/// Each ring gives its own `share` of the eligible fleet, not a cumulative bound: the guide's
/// 1% / 10% / 89% rings are `"share": 0.01`, `0.10`, `0.89`. Shares adding up to more than 1, or
/// a ring with the former cumulative `fraction` field, give `OTA_STATUS_ROLLOUT_PLAN_INVALID`.
///
/// # Safety
/// `json` readable for `len` bytes; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_rollout_plan_new_from_json(
    json: *const u8,
    len: usize,
    out: *mut *mut ota_rollout_plan,
) -> Status {
    guard(|| {
        let out = out_ptr(out)?;
        // SAFETY: forwarded contract.
        let bytes = unsafe { bytes_in(json, len) }?;
        let inner = Plan::from_json(bytes, &Limits::default()).map_err(|e| rollout_status(&e))?;
        // SAFETY: checked non-NULL; writable by contract.
        unsafe { handle::give(out, ota_rollout_plan { inner }) };
        Ok(())
    })
}

/// Frees a rollout plan. NULL does nothing.
///
/// # Safety
/// `plan` NULL or a handle not freed yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_rollout_plan_free(plan: *mut ota_rollout_plan) {
    let _ = guard(|| {
        // SAFETY: forwarded contract.
        unsafe { handle::free(plan) };
        Ok(())
    });
}

/// Writes the number of rings of the plan.
///
/// # Safety
/// `plan` a live handle or NULL; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_rollout_plan_ring_count(
    plan: *const ota_rollout_plan,
    out: *mut usize,
) -> Status {
    guard(|| {
        // SAFETY: forwarded contract.
        let p = unsafe { handle::get(plan) }?;
        let out = out_ptr(out)?;
        // SAFETY: checked non-NULL; writable by contract.
        unsafe { out.write(p.inner.rings.len()) };
        Ok(())
    })
}

/// The stateless ring assignment of one device (exclusion, eligibility, pins, then the hash):
/// writes the ring index (0 = first ring) and whether the plan pins it there, or returns
/// `OTA_STATUS_ROLLOUT_NOT_YET`, `OTA_STATUS_ROLLOUT_EXCLUDED` or `OTA_STATUS_ROLLOUT_INELIGIBLE`
/// (`ota_rollout_plan_explain` copies why).
///
/// # Safety
/// `plan` a live handle or NULL; `device` NULL or valid as documented; `ring` and `pinned`
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_rollout_plan_ring(
    plan: *const ota_rollout_plan,
    device: *const ota_rollout_device,
    ring: *mut usize,
    pinned: *mut bool,
) -> Status {
    guard(|| {
        // SAFETY: forwarded contract.
        let p = unsafe { handle::get(plan) }?;
        // SAFETY: forwarded contract.
        let d = unsafe { handle::get(device) }?;
        let (ring, pinned) = (out_ptr(ring)?, out_ptr(pinned)?);
        // SAFETY: forwarded contract.
        let device = unsafe { device_in(d) }?;
        let (r, pin) = match p.inner.assign(&device) {
            Assignment::Ring(r) => (r, false),
            Assignment::Pinned(r) => (r, true),
            Assignment::NotYet => return Err(Status::RolloutNotYet),
            Assignment::Excluded => return Err(Status::RolloutExcluded),
            Assignment::Ineligible(_) => return Err(Status::RolloutIneligible),
        };
        // SAFETY: both checked non-NULL; writable by contract.
        unsafe {
            ring.write(r);
            pinned.write(pin);
        }
        Ok(())
    })
}

/// Copies a sentence explaining the device's assignment (for an ineligible device: the failing
/// selector node and what it found, e.g. `/all/0/equals: model is "gw-100", not "gw-200"`) into
/// `(buf, cap)`, NUL-terminated.
///
/// # Safety
/// As `ota_rollout_plan_ring` for the inputs; `buf` writable for `cap` bytes; `out_len` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_rollout_plan_explain(
    plan: *const ota_rollout_plan,
    device: *const ota_rollout_device,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> Status {
    guard(|| {
        // SAFETY: forwarded contract.
        let p = unsafe { handle::get(plan) }?;
        // SAFETY: forwarded contract.
        let d = unsafe { handle::get(device) }?;
        out_ptr(out_len)?;
        // SAFETY: forwarded contract.
        let device = unsafe { device_in(d) }?;
        let name = |r: usize| p.inner.rings.get(r).map_or("?", |x| x.name.as_str());
        let text = match p.inner.assign(&device) {
            Assignment::Ring(r) => format!("ring {r} ({})", name(r)),
            Assignment::Pinned(r) => format!("ring {r} ({}), pinned by the plan", name(r)),
            Assignment::NotYet => "not in any ring yet".to_owned(),
            Assignment::Excluded => "excluded by the plan".to_owned(),
            Assignment::Ineligible(why) => format!("ineligible: {why}"),
        };
        // SAFETY: forwarded contract.
        unsafe { str_out(&text, buf, cap, out_len) }
    })
}

/// Decodes and validates an install policy from JSON `(ptr, len)` (at most 64 KiB), e.g.
/// `{"windows":[{"day":"saturday","start_minute":120,"duration_minutes":240}],
/// "require_charging":true,"min_battery_percent":30,"max_deferral_secs":604800}`.
///
/// # Safety
/// `json` readable for `len` bytes; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_install_policy_new_from_json(
    json: *const u8,
    len: usize,
    out: *mut *mut ota_install_policy,
) -> Status {
    guard(|| {
        let out = out_ptr(out)?;
        // SAFETY: forwarded contract.
        let bytes = unsafe { bytes_in(json, len) }?;
        if bytes.len() > MAX_POLICY_BYTES {
            return Err(Status::RolloutPlanInvalid);
        }
        let inner: InstallPolicy =
            serde_json::from_slice(bytes).map_err(|_| Status::RolloutPlanInvalid)?;
        inner.validate().map_err(|e| rollout_status(&e))?;
        // SAFETY: checked non-NULL; writable by contract.
        unsafe { handle::give(out, ota_install_policy { inner }) };
        Ok(())
    })
}

/// Frees an install policy. NULL does nothing.
///
/// # Safety
/// `policy` NULL or a handle not freed yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_install_policy_free(policy: *mut ota_install_policy) {
    let _ = guard(|| {
        // SAFETY: forwarded contract.
        unsafe { handle::free(policy) };
        Ok(())
    });
}

/// Whether a device in `context` may start installing at `now` (UTC seconds); `critical`
/// applies the policy's deferral limit. Writes the answer to `*out`: may start (perhaps forced),
/// or the blockers and the next opportunity when known.
///
/// # Safety
/// `policy` a live handle or NULL; `context` NULL or readable; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_install_policy_may_start(
    policy: *const ota_install_policy,
    context: *const ota_device_context,
    now: u64,
    critical: bool,
    out: *mut ota_may_start,
) -> Status {
    guard(|| {
        // SAFETY: forwarded contract.
        let p = unsafe { handle::get(policy) }?;
        // SAFETY: forwarded contract.
        let c = *unsafe { handle::get(context) }?;
        let out = out_ptr(out)?;
        if !(-840..=840).contains(&c.utc_offset_minutes) || c.battery_percent > 100 {
            return Err(Status::InvalidArgument);
        }
        let ctx = DeviceContext {
            utc_offset_minutes: c.utc_offset_minutes,
            charging: c.charging,
            battery_percent: c.has_battery.then_some(c.battery_percent),
            metered: c.metered,
            idle: c.idle,
            offered_at: c.offered_at,
        };
        let answer = match p.inner.may_start(&ctx, now, critical) {
            MayStart::Yes { forced } => ota_may_start {
                may_start: true,
                forced,
                blockers: 0,
                has_next: false,
                next: 0,
            },
            MayStart::No { blockers, next } => ota_may_start {
                may_start: false,
                forced: false,
                blockers: blockers.iter().fold(0, |acc, b| acc | blocker_bit(*b)),
                has_next: next.is_some(),
                next: next.unwrap_or(0),
            },
        };
        // SAFETY: checked non-NULL; writable by contract.
        unsafe { out.write(answer) };
        Ok(())
    })
}

fn blocker_bit(b: Blocker) -> u32 {
    match b {
        Blocker::OutsideWindow => OTA_BLOCKER_OUTSIDE_WINDOW,
        Blocker::NotCharging => OTA_BLOCKER_NOT_CHARGING,
        Blocker::BatteryLow { .. } => OTA_BLOCKER_BATTERY_LOW,
        Blocker::Metered => OTA_BLOCKER_METERED,
        Blocker::Busy => OTA_BLOCKER_BUSY,
        _ => OTA_BLOCKER_OTHER,
    }
}
