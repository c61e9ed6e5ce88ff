//! The C callbacks behind ota-agent's traits: [`Store`], [`BootControl`], [`SlotDevice`],
//! [`Fetch`], [`HealthCheck`] and [`Clock`].
//!
//! Every callback result is checked before it is used: a length larger than the buffer passed, a
//! slot number that is neither A nor B, or an unknown return code is a misbehaving callback and
//! becomes an error, never an out-of-bounds read.

use core::ffi::{c_char, c_void};
use std::ffi::CString;
use std::io;

use ::ota_agent::{
    BootControl, Clock, Error, Fetch, FetchError, Health, HealthCheck, MAX_RECORD, Resource,
    Result, SlotDevice, Store,
};
use ota_manifest::Slot;

use super::{
    OTA_AGENT_CB_EMPTY, OTA_AGENT_CB_INTERRUPTED, OTA_AGENT_CB_NOT_FOUND, OTA_AGENT_CB_OK,
    OTA_AGENT_CB_UNSUPPORTED, OTA_AGENT_RESOURCE_IMAGE, OTA_AGENT_RESOURCE_PATCH,
    ota_agent_resource,
};
use crate::plan::{OTA_SLOT_A, OTA_SLOT_B};

type LoadFn = unsafe extern "C" fn(*mut c_void, *mut u8, usize, *mut usize) -> i32;
type SaveFn = unsafe extern "C" fn(*mut c_void, *const u8, usize) -> i32;
type GetSlotFn = unsafe extern "C" fn(*mut c_void, *mut u32) -> i32;
type SlotFn = unsafe extern "C" fn(*mut c_void, u32) -> i32;
type SetPendingFn = unsafe extern "C" fn(*mut c_void, u32, u8) -> i32;
type AttemptsFn = unsafe extern "C" fn(*mut c_void, u32, *mut u8) -> i32;
type SlotReadFn = unsafe extern "C" fn(*mut c_void, u32, u64, *mut u8, usize) -> i32;
type SlotWriteFn = unsafe extern "C" fn(*mut c_void, u32, u64, *const u8, usize) -> i32;
type FetchFn = unsafe extern "C" fn(
    *mut c_void,
    *const ota_agent_resource,
    u64,
    *mut u8,
    usize,
    *mut usize,
) -> i32;
type HealthFn = unsafe extern "C" fn(*mut c_void, u64) -> i32;
type NowFn = unsafe extern "C" fn(*mut c_void) -> u64;

/// The callbacks with every required pointer checked non-NULL (`ota_agent_new` refuses NULL).
#[derive(Clone, Copy)]
pub(super) struct Callbacks {
    pub user: *mut c_void,
    pub store_load: LoadFn,
    pub store_save: SaveFn,
    pub boot_booted_slot: GetSlotFn,
    pub boot_primary_slot: GetSlotFn,
    pub boot_set_pending: SetPendingFn,
    pub boot_mark_successful: SlotFn,
    pub boot_mark_unbootable: SlotFn,
    pub boot_attempts: AttemptsFn,
    pub slot_capacity: u64,
    pub slot_read: SlotReadFn,
    pub slot_write: SlotWriteFn,
    pub slot_sync: SlotFn,
    pub fetch: FetchFn,
    pub health_check: HealthFn,
    pub now_ms: Option<NowFn>,
}

/// A callback that reported a failure or broke its contract. `INTERRUPTED` is the power-cut
/// equivalent: nothing after the last persisted state happened.
fn failed(what: &'static str, detail: String) -> Error {
    Error::Io {
        op: what,
        path: "C callback".into(),
        source: io::Error::other(detail),
    }
}

fn check(what: &'static str, rc: i32) -> Result<()> {
    match rc {
        OTA_AGENT_CB_OK => Ok(()),
        OTA_AGENT_CB_INTERRUPTED => Err(Error::PowerLost),
        other => Err(failed(what, format!("returned {other}"))),
    }
}

pub(super) fn slot_code(s: Slot) -> u32 {
    match s {
        Slot::A => OTA_SLOT_A,
        Slot::B => OTA_SLOT_B,
    }
}

fn slot_from(what: &'static str, code: u32) -> Result<Slot> {
    match code {
        OTA_SLOT_A => Ok(Slot::A),
        OTA_SLOT_B => Ok(Slot::B),
        other => Err(failed(
            what,
            format!("reported slot {other}, not A (0) or B (1)"),
        )),
    }
}

/// The record store.
pub(super) struct CStore(pub Callbacks);

impl Store for CStore {
    fn load(&mut self) -> Result<Option<Vec<u8>>> {
        let mut buf = vec![0u8; MAX_RECORD];
        let mut len = 0usize;
        // SAFETY: `buf` is writable for MAX_RECORD bytes and `len` for one usize; the callback's
        // contract is to write at most `cap` bytes and accept the caller's `user`.
        let rc = unsafe { (self.0.store_load)(self.0.user, buf.as_mut_ptr(), buf.len(), &mut len) };
        if rc == OTA_AGENT_CB_EMPTY {
            return Ok(None);
        }
        check("store_load", rc)?;
        if len > buf.len() {
            return Err(failed(
                "store_load",
                format!("reported {len} bytes for a {MAX_RECORD}-byte buffer"),
            ));
        }
        if len == 0 {
            return Ok(None);
        }
        buf.truncate(len);
        Ok(Some(buf))
    }

    fn save(&mut self, record: &[u8]) -> Result<()> {
        // SAFETY: `record` is readable for its length; the callback only reads it.
        let rc = unsafe { (self.0.store_save)(self.0.user, record.as_ptr(), record.len()) };
        check("store_save", rc)
    }
}

/// The boot control.
pub(super) struct CBoot(pub Callbacks);

impl CBoot {
    fn get(&self, what: &'static str, f: GetSlotFn) -> Result<Slot> {
        let mut code = u32::MAX;
        // SAFETY: `code` is writable; the callback accepts the caller's `user`.
        let rc = unsafe { f(self.0.user, &mut code) };
        check(what, rc)?;
        slot_from(what, code)
    }

    fn set(&self, what: &'static str, f: SlotFn, slot: Slot) -> Result<()> {
        // SAFETY: plain values; the callback accepts the caller's `user`.
        let rc = unsafe { f(self.0.user, slot_code(slot)) };
        check(what, rc)
    }
}

impl BootControl for CBoot {
    fn booted_slot(&mut self) -> Result<Slot> {
        self.get("boot_booted_slot", self.0.boot_booted_slot)
    }
    fn primary_slot(&mut self) -> Result<Slot> {
        self.get("boot_primary_slot", self.0.boot_primary_slot)
    }
    fn set_pending(&mut self, slot: Slot, tries: u8) -> Result<()> {
        // SAFETY: plain values; the callback accepts the caller's `user`.
        let rc = unsafe { (self.0.boot_set_pending)(self.0.user, slot_code(slot), tries) };
        check("boot_set_pending", rc)
    }
    fn mark_successful(&mut self, slot: Slot) -> Result<()> {
        self.set("boot_mark_successful", self.0.boot_mark_successful, slot)
    }
    fn mark_unbootable(&mut self, slot: Slot) -> Result<()> {
        self.set("boot_mark_unbootable", self.0.boot_mark_unbootable, slot)
    }
    fn boot_attempts(&mut self, slot: Slot) -> Result<u8> {
        let mut n = 0u8;
        // SAFETY: `n` is writable; the callback accepts the caller's `user`.
        let rc = unsafe { (self.0.boot_attempts)(self.0.user, slot_code(slot), &mut n) };
        check("boot_attempts", rc)?;
        Ok(n)
    }
}

/// The two firmware slots (the flash driver).
pub(super) struct CSlots(pub Callbacks);

impl SlotDevice for CSlots {
    fn capacity(&self) -> u64 {
        self.0.slot_capacity
    }
    fn read(&mut self, slot: Slot, offset: u64, buf: &mut [u8]) -> Result<()> {
        // SAFETY: `buf` is writable for its length; the callback writes exactly `len` bytes.
        let rc = unsafe {
            (self.0.slot_read)(
                self.0.user,
                slot_code(slot),
                offset,
                buf.as_mut_ptr(),
                buf.len(),
            )
        };
        check("slot_read", rc)
    }
    fn write(&mut self, slot: Slot, offset: u64, data: &[u8]) -> Result<()> {
        // SAFETY: `data` is readable for its length; the callback only reads it.
        let rc = unsafe {
            (self.0.slot_write)(
                self.0.user,
                slot_code(slot),
                offset,
                data.as_ptr(),
                data.len(),
            )
        };
        check("slot_write", rc)
    }
    fn sync(&mut self, slot: Slot) -> Result<()> {
        // SAFETY: plain values; the callback accepts the caller's `user`.
        let rc = unsafe { (self.0.slot_sync)(self.0.user, slot_code(slot)) };
        check("slot_sync", rc)
    }
}

/// The downloader. A callback that breaks its contract stops the download (as a lost
/// connection, so nothing is concluded from it) and leaves its description in `fault`.
pub(super) struct CFetch {
    pub cb: Callbacks,
    pub fault: Option<String>,
}

impl CFetch {
    fn fault(&mut self, detail: String) -> FetchError {
        let e = FetchError::ConnectionLost(format!("fetch callback: {detail}"));
        self.fault = Some(e.to_string());
        e
    }
}

impl Fetch for CFetch {
    fn fetch(
        &mut self,
        what: &Resource<'_>,
        offset: u64,
        buf: &mut [u8],
    ) -> core::result::Result<usize, FetchError> {
        let (kind, component, sha256, from) = match what {
            Resource::Image { component, sha256 } => {
                (OTA_AGENT_RESOURCE_IMAGE, *component, **sha256, [0u8; 32])
            }
            Resource::Patch {
                component,
                from_sha256,
                patch_sha256,
            } => (
                OTA_AGENT_RESOURCE_PATCH,
                *component,
                **patch_sha256,
                **from_sha256,
            ),
        };
        let Ok(id) = CString::new(component) else {
            return Err(FetchError::NotFound(format!("component `{component}`")));
        };
        let res = ota_agent_resource {
            kind,
            component: id.as_ptr().cast::<c_char>(),
            sha256,
            from_sha256: from,
        };
        let mut got = 0usize;
        // SAFETY: `res` (and the string it points to) lives across the call, `buf` is writable
        // for `buf.len()` bytes and `got` for one usize; the callback writes at most `cap` bytes.
        let rc = unsafe {
            (self.cb.fetch)(
                self.cb.user,
                &res,
                offset,
                buf.as_mut_ptr(),
                buf.len(),
                &mut got,
            )
        };
        match rc {
            OTA_AGENT_CB_OK if got <= buf.len() => Ok(got),
            OTA_AGENT_CB_OK => Err(self.fault(format!(
                "reported {got} bytes for a {}-byte buffer",
                buf.len()
            ))),
            OTA_AGENT_CB_INTERRUPTED => Err(FetchError::ConnectionLost(format!(
                "fetch callback interrupted at offset {offset}"
            ))),
            OTA_AGENT_CB_NOT_FOUND => Err(FetchError::NotFound(format!(
                "fetch callback: component `{component}`"
            ))),
            OTA_AGENT_CB_UNSUPPORTED => Err(FetchError::UnsupportedProtocol(
                "fetch callback: unsupported protocol".into(),
            )),
            other => Err(self.fault(format!("returned {other}"))),
        }
    }
}

/// The trial's health check.
pub(super) struct CHealth(pub Callbacks);

impl HealthCheck for CHealth {
    fn check(&mut self, deadline_ms: u64) -> Health {
        // SAFETY: a plain value; the callback accepts the caller's `user`.
        let rc = unsafe { (self.0.health_check)(self.0.user, deadline_ms) };
        if rc == OTA_AGENT_CB_OK {
            Health::Pass
        } else {
            Health::Fail(format!("health check callback returned {rc}"))
        }
    }
}

/// The clock: the caller's, or the operating system's monotonic one.
pub(super) struct CClock(pub Callbacks, pub ota_agent::SystemClock);

impl Clock for CClock {
    fn now_ms(&self) -> u64 {
        match self.0.now_ms {
            // SAFETY: the callback accepts the caller's `user` and returns a plain value.
            Some(f) => unsafe { f(self.0.user) },
            None => self.1.now_ms(),
        }
    }
}
