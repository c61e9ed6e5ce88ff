//! The update lifecycle of ota-agent through C callbacks: `ota_agent_*`.
//!
//! The store, the boot control, the firmware slots (the flash driver), the download and the
//! health check are C functions in one [`ota_agent_callbacks`] table with a `user` context. The
//! handle owns the lifecycle; after any error from a callback it reloads its state from the
//! store, exactly as after a reboot, so the next call continues from the last persisted state.

use core::cell::UnsafeCell;
use core::ffi::{c_char, c_void};
use core::sync::atomic::{AtomicBool, Ordering};
use std::panic::{AssertUnwindSafe, catch_unwind};

use ::ota_agent::{
    Agent, Config, Error, Outcome, Reason, Release, Stage, State, lwm2m_fw_result, lwm2m_fw_state,
    lwm2m_sw_result, lwm2m_sw_state,
};
use ota_verify::TrustRoot;

mod callbacks;
mod calls;

use callbacks::{CBoot, CClock, CFetch, CHealth, CSlots, CStore, Callbacks, slot_code};
pub use calls::{
    ota_agent_cancel, ota_agent_get_report, ota_agent_last_error, ota_agent_resume,
    ota_agent_set_release, ota_agent_start,
};

use crate::buffer::{bytes_in, out_ptr};
use crate::guard::guard;
use crate::status::Status;
use crate::verify::verify_status;

/// Callback result: success.
pub const OTA_AGENT_CB_OK: i32 = 0;
/// Callback result: the operation failed (a device error). The update fails or the call returns
/// `OTA_STATUS_CALLBACK_FAILED`, depending on the callback (see `ota_agent_callbacks`).
pub const OTA_AGENT_CB_FAILED: i32 = 1;
/// Callback result: interrupted, as by a power cut; nothing after the last persisted state
/// happened. From `fetch`: the connection dropped (the download resumes later from here).
pub const OTA_AGENT_CB_INTERRUPTED: i32 = 2;
/// `fetch` result: the server does not have the resource (the update fails: invalid URI).
pub const OTA_AGENT_CB_NOT_FOUND: i32 = 3;
/// `fetch` result: a transport the fetcher does not speak (the update fails).
pub const OTA_AGENT_CB_UNSUPPORTED: i32 = 4;
/// `store_load` result: nothing was ever saved.
pub const OTA_AGENT_CB_EMPTY: i32 = 5;

/// The largest record the agent saves: a store needs this many bytes (plus its own framing).
pub const OTA_AGENT_MAX_RECORD: usize = 2048;
const _: () = assert!(OTA_AGENT_MAX_RECORD == ::ota_agent::MAX_RECORD);

/// `ota_agent_resource.kind`: a full image, named by its SHA-256.
pub const OTA_AGENT_RESOURCE_IMAGE: u32 = 0;
/// `ota_agent_resource.kind`: a patch, named by its SHA-256 (`from_sha256`: its source image).
pub const OTA_AGENT_RESOURCE_PATCH: u32 = 1;

/// `ota_agent_resume` progress: no update in progress (the report says how the last one ended).
pub const OTA_AGENT_PROGRESS_AT_REST: u32 = 0;
/// `ota_agent_resume` progress: reboot now (the trial is armed, or a revert needs the old slot).
pub const OTA_AGENT_PROGRESS_REBOOT_REQUIRED: u32 = 1;
/// `ota_agent_resume` progress: the download stopped (connection lost); call again later.
pub const OTA_AGENT_PROGRESS_INTERRUPTED: u32 = 2;
/// `ota_agent_resume` progress: downloading, and the signed release is needed again
/// (`ota_agent_set_release`), e.g. after a reboot.
pub const OTA_AGENT_PROGRESS_RELEASE_NEEDED: u32 = 3;

/// Lifecycle state (ota-agent STATES.md): nothing in progress, never updated.
pub const OTA_AGENT_STATE_IDLE: u32 = 0;
/// Lifecycle state: components are being fetched and written.
pub const OTA_AGENT_STATE_DOWNLOADING: u32 = 1;
/// Lifecycle state: everything written and verified; nothing switched yet.
pub const OTA_AGENT_STATE_STAGED: u32 = 2;
/// Lifecycle state: activating.
pub const OTA_AGENT_STATE_INSTALLING: u32 = 3;
/// Lifecycle state: the firmware trial boot is armed.
pub const OTA_AGENT_STATE_PENDING: u32 = 4;
/// Lifecycle state: running the new firmware on trial.
pub const OTA_AGENT_STATE_TRIAL: u32 = 5;
/// Lifecycle state: confirmed; the anti-rollback floor was raised.
pub const OTA_AGENT_STATE_COMMITTED: u32 = 6;
/// Lifecycle state: a revert is being carried out.
pub const OTA_AGENT_STATE_REVERTING: u32 = 7;
/// Lifecycle state: rolled back.
pub const OTA_AGENT_STATE_REVERTED: u32 = 8;
/// Lifecycle state: failed before anything was switched.
pub const OTA_AGENT_STATE_FAILED: u32 = 9;

/// Last outcome: never updated.
pub const OTA_AGENT_OUTCOME_NONE: u32 = 0;
/// Last outcome: installed and confirmed.
pub const OTA_AGENT_OUTCOME_COMMITTED: u32 = 1;
/// Last outcome: rolled back after activation (stage and reason set).
pub const OTA_AGENT_OUTCOME_REVERTED: u32 = 2;
/// Last outcome: failed before anything was switched (stage and reason set).
pub const OTA_AGENT_OUTCOME_FAILED: u32 = 3;

/// A resource to download, passed to the `fetch` callback (valid during the call only).
#[repr(C)]
pub struct ota_agent_resource {
    /// `OTA_AGENT_RESOURCE_IMAGE` or `OTA_AGENT_RESOURCE_PATCH`.
    pub kind: u32,
    /// The component id, NUL-terminated.
    pub component: *const c_char,
    /// SHA-256 of the bytes to serve (the image's or the patch's): resources are content
    /// addressed, map the digest to a URI however the server lays them out.
    pub sha256: [u8; 32],
    /// For a patch: SHA-256 of the image it applies to; zeros for an image.
    pub from_sha256: [u8; 32],
}

/// The device behind the agent: C functions sharing one `user` context, copied by `ota_agent_new`
/// (`user` must stay valid until `ota_agent_free`). Every function is required except `now_ms`.
/// Callbacks run on the calling thread, inside an `ota_agent_*` call; they must not unwind or
/// `longjmp` out, and must not call `ota_agent_*` on the same handle (that returns
/// `OTA_STATUS_AGENT_BUSY`). Unless stated, they return `OTA_AGENT_CB_OK`, `OTA_AGENT_CB_FAILED` or
/// `OTA_AGENT_CB_INTERRUPTED` (a power-cut equivalent: the call returns
/// `OTA_STATUS_AGENT_INTERRUPTED`). Slots are `OTA_SLOT_A` / `OTA_SLOT_B`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ota_agent_callbacks {
    /// Passed unchanged as the first argument of every callback.
    pub user: *mut c_void,
    /// Copies the last saved record into `buf` (at most `cap` bytes) and its length to `*len`;
    /// `OTA_AGENT_CB_EMPTY` (or OK with length 0) when nothing was ever saved. A failure is
    /// `OTA_STATUS_CALLBACK_FAILED`; a length above `cap` is refused the same way.
    pub store_load: Option<
        unsafe extern "C" fn(user: *mut c_void, buf: *mut u8, cap: usize, len: *mut usize) -> i32,
    >,
    /// Replaces the record, atomically: after a power cut the next load returns the old record
    /// or the new one, never a mix (two sectors with a sequence number, or write-fsync-rename).
    pub store_save:
        Option<unsafe extern "C" fn(user: *mut c_void, record: *const u8, len: usize) -> i32>,
    /// Writes the slot the device booted from to `*slot`.
    pub boot_booted_slot: Option<unsafe extern "C" fn(user: *mut c_void, slot: *mut u32) -> i32>,
    /// Writes the slot the bootloader tries first on the next boot to `*slot`.
    pub boot_primary_slot: Option<unsafe extern "C" fn(user: *mut c_void, slot: *mut u32) -> i32>,
    /// Arms a trial: `slot` becomes primary, not successful, with `tries` boot attempts (one
    /// atomic write).
    pub boot_set_pending:
        Option<unsafe extern "C" fn(user: *mut c_void, slot: u32, tries: u8) -> i32>,
    /// Marks `slot` good: it boots without spending tries.
    pub boot_mark_successful: Option<unsafe extern "C" fn(user: *mut c_void, slot: u32) -> i32>,
    /// Marks `slot` unbootable; the other slot becomes primary. `ota_agent_start` calls it on
    /// the slot it is about to write (so a half-written image never boots), a revert on the
    /// slot it leaves.
    pub boot_mark_unbootable: Option<unsafe extern "C" fn(user: *mut c_void, slot: u32) -> i32>,
    /// Writes the boot attempts spent on `slot` since it was armed to `*attempts`.
    pub boot_attempts:
        Option<unsafe extern "C" fn(user: *mut c_void, slot: u32, attempts: *mut u8) -> i32>,
    /// Bytes per firmware slot (a larger image fails the update: not enough space).
    pub slot_capacity: u64,
    /// Reads exactly `len` bytes of `slot` at `offset` (the installed image is the delta source;
    /// the staged one is re-hashed). A failure fails the update (install).
    pub slot_read: Option<
        unsafe extern "C" fn(
            user: *mut c_void,
            slot: u32,
            offset: u64,
            buf: *mut u8,
            len: usize,
        ) -> i32,
    >,
    /// Writes `len` bytes into the inactive `slot` at `offset`. A failure fails the update.
    pub slot_write: Option<
        unsafe extern "C" fn(
            user: *mut c_void,
            slot: u32,
            offset: u64,
            data: *const u8,
            len: usize,
        ) -> i32,
    >,
    /// Makes every byte written to `slot` durable (progress is persisted only after it).
    pub slot_sync: Option<unsafe extern "C" fn(user: *mut c_void, slot: u32) -> i32>,
    /// Reads bytes of `what` from `offset` into `buf` (at most `cap`) and their number to `*got`
    /// (0 at the end). `OTA_AGENT_CB_INTERRUPTED` or `_FAILED`: the connection dropped, the
    /// download resumes from the last durable byte; `_NOT_FOUND`, `_UNSUPPORTED`: the update
    /// fails. A count above `cap` stops the call with `OTA_STATUS_CALLBACK_FAILED`.
    pub fetch: Option<
        unsafe extern "C" fn(
            user: *mut c_void,
            what: *const ota_agent_resource,
            offset: u64,
            buf: *mut u8,
            cap: usize,
            got: *mut usize,
        ) -> i32,
    >,
    /// Checks the new system during its trial, before `deadline_ms` (on the `now_ms` clock):
    /// `OTA_AGENT_CB_OK` commits, anything else reverts; returning after the deadline reverts.
    pub health_check: Option<unsafe extern "C" fn(user: *mut c_void, deadline_ms: u64) -> i32>,
    /// Monotonic milliseconds for the health check's deadline; NULL: the operating system's.
    pub now_ms: Option<unsafe extern "C" fn(user: *mut c_void) -> u64>,
}

/// Settings of the lifecycle (`ota_agent_config_default` fills the defaults).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ota_agent_config {
    /// Boot attempts the bootloader gives a new firmware slot (at least 1; default 3).
    pub tries: u8,
    /// Trial boots the agent counts before it calls it a boot loop (at least 1; default 3).
    pub max_trial_boots: u8,
    /// Times the trial may be armed again after a cut between persisting and arming (at least 1;
    /// default 3).
    pub max_arms: u8,
    /// The health check's deadline in milliseconds after it starts (default 60000).
    pub health_timeout_ms: u64,
    /// Download chunk for full images without a chunk table (at least 1; default 4096).
    pub chunk_size: u32,
}

/// Where the lifecycle stands, by value (`ota_agent_get_report`), with the LwM2M numbers an
/// LwM2M client reports directly.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ota_agent_report {
    /// `OTA_AGENT_STATE_*`.
    pub state: u32,
    /// `OTA_AGENT_OUTCOME_*`: how the last update ended (NONE during an update).
    pub outcome: u32,
    /// Stage of a failure or revert (ota-agent `Stage`: 1 download, 2 verify, 3 decide,
    /// 4 install, 5 trial, 6 commit); 0 when none.
    pub stage: u32,
    /// Reason of a failure or revert (ota-agent `Reason`: 1 not enough space ... 4 integrity
    /// check failure ... 8 health check failed ... 10 tries exhausted ...); 0 when none.
    pub reason: u32,
    /// LwM2M Object 5 resource 3 "State" (0 Idle, 1 Downloading, 2 Downloaded, 3 Updating).
    pub lwm2m_fw_state: u8,
    /// LwM2M Object 5 resource 5 "Update Result" (0-11).
    pub lwm2m_fw_result: u8,
    /// LwM2M Object 9 resource 7 "Update State" (0-4).
    pub lwm2m_sw_state: u8,
    /// LwM2M Object 9 resource 9 "Update Result" (0-3, 50-59).
    pub lwm2m_sw_result: u8,
    /// The anti-rollback floor: sequence of the last committed release (0: none).
    pub floor_sequence: u64,
    /// The anti-rollback floor: security counter.
    pub floor_security_counter: u64,
    /// Whether `new_slot` holds the slot the update writes.
    pub has_new_slot: bool,
    /// `OTA_SLOT_A` or `OTA_SLOT_B` when `has_new_slot`.
    pub new_slot: u32,
    /// SHA-256 of the signed envelope of the update in progress (or the last one).
    pub release_sha256: [u8; 32],
}

/// An update agent. Made by `ota_agent_new`, freed by `ota_agent_free`. One call at a time: a
/// second call while one runs (from a callback, or another thread) returns
/// `OTA_STATUS_AGENT_BUSY`.
pub struct ota_agent {
    busy: AtomicBool,
    inner: UnsafeCell<Inner>,
}

struct Inner {
    cb: Callbacks,
    cfg: Config,
    root: TrustRoot,
    /// `None` after an error that also failed to reload: reopened at the next call.
    agent: Option<Agent<CStore, CBoot>>,
    release: Option<Release>,
    last_error: String,
}

fn agent_status(e: &Error) -> Status {
    match e {
        Error::PowerLost => Status::AgentInterrupted,
        // Only the callback adapters make I/O errors here.
        Error::Io { .. } => Status::CallbackFailed,
        Error::StoreCorrupt { .. } | Error::Record { .. } => Status::AgentStoreCorrupt,
        Error::NoBootableSlot => Status::AgentNoBootableSlot,
        Error::WrongState { .. } => Status::InvalidState,
        _ => Status::AgentOther,
    }
}

impl Inner {
    fn open(&mut self) -> Result<&mut Agent<CStore, CBoot>, Status> {
        if self.agent.is_none() {
            match Agent::open(CStore(self.cb), CBoot(self.cb), self.cfg) {
                Ok(a) => self.agent = Some(a),
                Err(e) => {
                    self.last_error = e.to_string();
                    return Err(agent_status(&e));
                }
            }
        }
        self.agent.as_mut().ok_or(Status::InvalidState)
    }

    /// Records `e`, and forgets everything not persisted: the state is reloaded from the store,
    /// as after a reboot (now if the store answers, else at the next call).
    fn fail(&mut self, e: &Error) -> Status {
        self.agent = None;
        let _ = self.open();
        self.last_error = e.to_string();
        agent_status(e)
    }

    /// A device state for verifying a release, with the agent's floor (authoritative) applied.
    fn floor_applied(
        &mut self,
        mut dev: ota_manifest::DeviceState,
    ) -> Result<ota_manifest::DeviceState, Status> {
        let floor = self.open()?.floor();
        if floor.sequence > 0 {
            dev.last_sequence = Some(
                dev.last_sequence
                    .map_or(floor.sequence, |s| s.max(floor.sequence)),
            );
        }
        dev.security_counter = dev.security_counter.max(floor.security_counter);
        Ok(dev)
    }
}

/// Runs `f` on the handle: NULL is `OTA_STATUS_NULL_ARGUMENT`, a call while another runs is
/// `OTA_STATUS_AGENT_BUSY`, and a panic drops the unpersisted state (reloaded at the next call).
///
/// # Safety
/// `agent` NULL or a live handle from `ota_agent_new`.
unsafe fn with_agent(
    agent: *const ota_agent,
    f: impl FnOnce(&mut Inner) -> Result<(), Status>,
) -> Status {
    guard(|| {
        // SAFETY: forwarded contract; only shared references to the handle are made, and the
        // inner state is reached through the busy flag below.
        let h = unsafe { agent.as_ref() }.ok_or(Status::NullArgument)?;
        if h.busy.swap(true, Ordering::Acquire) {
            return Err(Status::AgentBusy);
        }
        // SAFETY: the busy flag was clear and is now set by this call: no other reference to
        // the inner state exists until it is cleared below.
        let inner = unsafe { &mut *h.inner.get() };
        let r = match catch_unwind(AssertUnwindSafe(|| f(&mut *inner))) {
            Ok(r) => r,
            Err(_) => {
                inner.agent = None;
                inner.release = None;
                Err(Status::Panic)
            }
        };
        h.busy.store(false, Ordering::Release);
        r
    })
}

fn state_code(s: State) -> u32 {
    s as u32
}

fn report(a: &Agent<CStore, CBoot>) -> ota_agent_report {
    let (outcome, stage, reason) = match a.outcome() {
        Outcome::None => (OTA_AGENT_OUTCOME_NONE, None, None),
        Outcome::Committed => (OTA_AGENT_OUTCOME_COMMITTED, None, None),
        Outcome::Reverted { stage, reason } => {
            (OTA_AGENT_OUTCOME_REVERTED, Some(stage), Some(reason))
        }
        Outcome::Failed { stage, reason } => (OTA_AGENT_OUTCOME_FAILED, Some(stage), Some(reason)),
    };
    let state = a.state();
    ota_agent_report {
        state: state_code(state),
        outcome,
        stage: stage.map_or(0, |s: Stage| s as u32),
        reason: reason.map_or(0, |r: Reason| r as u32),
        lwm2m_fw_state: lwm2m_fw_state(state),
        lwm2m_fw_result: lwm2m_fw_result(a.outcome()),
        lwm2m_sw_state: lwm2m_sw_state(state),
        lwm2m_sw_result: lwm2m_sw_result(state, a.outcome()),
        floor_sequence: a.floor().sequence,
        floor_security_counter: a.floor().security_counter,
        has_new_slot: a.new_slot().is_some(),
        new_slot: a.new_slot().map_or(0, slot_code),
        release_sha256: *a.release_digest(),
    }
}

/// Writes the default settings to `*out`.
///
/// # Safety
/// `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_agent_config_default(out: *mut ota_agent_config) -> Status {
    guard(|| {
        let out = out_ptr(out)?;
        let d = Config::default();
        let c = ota_agent_config {
            tries: d.tries,
            max_trial_boots: d.max_trial_boots,
            max_arms: d.max_arms,
            health_timeout_ms: d.health_timeout_ms,
            chunk_size: d.chunk_size,
        };
        // SAFETY: checked non-NULL; writable by contract.
        unsafe { out.write(c) };
        Ok(())
    })
}

fn config_in(c: &ota_agent_config) -> Result<Config, Status> {
    if c.tries == 0 || c.max_trial_boots == 0 || c.max_arms == 0 || c.chunk_size == 0 {
        return Err(Status::InvalidArgument);
    }
    let mut cfg = Config::default();
    cfg.tries = c.tries;
    cfg.max_trial_boots = c.max_trial_boots;
    cfg.max_arms = c.max_arms;
    cfg.health_timeout_ms = c.health_timeout_ms;
    cfg.chunk_size = c.chunk_size;
    Ok(cfg)
}

fn callbacks_in(c: &ota_agent_callbacks) -> Result<Callbacks, Status> {
    let n = Status::NullArgument;
    Ok(Callbacks {
        user: c.user,
        store_load: c.store_load.ok_or(n)?,
        store_save: c.store_save.ok_or(n)?,
        boot_booted_slot: c.boot_booted_slot.ok_or(n)?,
        boot_primary_slot: c.boot_primary_slot.ok_or(n)?,
        boot_set_pending: c.boot_set_pending.ok_or(n)?,
        boot_mark_successful: c.boot_mark_successful.ok_or(n)?,
        boot_mark_unbootable: c.boot_mark_unbootable.ok_or(n)?,
        boot_attempts: c.boot_attempts.ok_or(n)?,
        slot_capacity: c.slot_capacity,
        slot_read: c.slot_read.ok_or(n)?,
        slot_write: c.slot_write.ok_or(n)?,
        slot_sync: c.slot_sync.ok_or(n)?,
        fetch: c.fetch.ok_or(n)?,
        health_check: c.health_check.ok_or(n)?,
        now_ms: c.now_ms,
    })
}

/// Makes an agent: loads the signed trust root (as `ota_trust_root_new`), copies the callbacks
/// and loads the persisted record through `store_load` (a fresh Idle record when the store is
/// empty). Nothing else is done: call `ota_agent_resume` at every boot. `config` NULL: defaults.
/// A NULL required callback is `OTA_STATUS_NULL_ARGUMENT`; a zero setting
/// `OTA_STATUS_INVALID_ARGUMENT`; a store whose data does not decode
/// `OTA_STATUS_AGENT_STORE_CORRUPT`.
///
/// # Safety
/// `root` readable for `root_len` bytes; `callbacks` a valid struct whose functions follow their
/// contracts with its `user` until `ota_agent_free`; `config` NULL or valid; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_agent_new(
    root: *const u8,
    root_len: usize,
    callbacks: *const ota_agent_callbacks,
    config: *const ota_agent_config,
    out: *mut *mut ota_agent,
) -> Status {
    guard(|| {
        let out = out_ptr(out)?;
        // SAFETY: forwarded contract.
        let bytes = unsafe { bytes_in(root, root_len) }?;
        // SAFETY: forwarded contract (a borrowed struct, copied).
        let cb = callbacks_in(unsafe { callbacks.as_ref() }.ok_or(Status::NullArgument)?)?;
        // SAFETY: forwarded contract; NULL means the defaults.
        let cfg = match unsafe { config.as_ref() } {
            Some(c) => config_in(c)?,
            None => Config::default(),
        };
        let root = TrustRoot::from_signed(bytes).map_err(|e| verify_status(&e))?;
        let agent = Agent::open(CStore(cb), CBoot(cb), cfg).map_err(|e| agent_status(&e))?;
        let h = ota_agent {
            busy: AtomicBool::new(false),
            inner: UnsafeCell::new(Inner {
                cb,
                cfg,
                root,
                agent: Some(agent),
                release: None,
                last_error: String::new(),
            }),
        };
        // SAFETY: checked non-NULL; writable by contract.
        unsafe { crate::handle::give(out, h) };
        Ok(())
    })
}

/// Frees an agent; NULL does nothing. Called from inside one of the agent's own callbacks it
/// does nothing either (the handle is in use).
///
/// # Safety
/// `agent` NULL or a live handle, not used by another thread, freed once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_agent_free(agent: *mut ota_agent) {
    // SAFETY: forwarded contract.
    if let Some(h) = unsafe { agent.as_ref() }
        && h.busy.load(Ordering::Acquire)
    {
        return;
    }
    // SAFETY: forwarded contract: a handle from `give`, freed once.
    unsafe { crate::handle::free(agent) };
}
