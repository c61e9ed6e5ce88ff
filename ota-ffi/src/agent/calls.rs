//! The lifecycle calls on an `ota_agent`: start, resume, set the release again, cancel, report.

use core::ffi::c_char;

use ::ota_agent::{Env, Installer, Progress, Release, SlotInstaller, SystemClock};

use super::{
    CClock, CFetch, CHealth, CSlots, Inner, OTA_AGENT_PROGRESS_AT_REST,
    OTA_AGENT_PROGRESS_INTERRUPTED, OTA_AGENT_PROGRESS_REBOOT_REQUIRED,
    OTA_AGENT_PROGRESS_RELEASE_NEEDED, ota_agent, ota_agent_report, report, state_code, with_agent,
};
use crate::buffer::{bytes_in, out_ptr, str_out};
use crate::plan::{device_state, ota_device_state};
use crate::status::Status;

/// Verifies `envelope` for the device (the agent's floor applied) and returns the release, or
/// `Err((stage, reason, detail))`.
///
/// # Safety
/// As for `ota_agent_start`.
unsafe fn verify(
    inner: &mut Inner,
    envelope: *const u8,
    envelope_len: usize,
    device: *const ota_device_state,
) -> Result<Result<Release, ::ota_agent::Rejected>, Status> {
    // SAFETY: forwarded contract.
    let bytes = unsafe { bytes_in(envelope, envelope_len) }?;
    // SAFETY: forwarded contract (a borrowed struct, read only).
    let dev = unsafe { device.as_ref() }.ok_or(Status::NullArgument)?;
    // SAFETY: forwarded contract: the pointers inside `dev` follow `ota_device_state`.
    let dev = unsafe { device_state(dev) }?;
    let dev = inner.floor_applied(dev)?;
    Ok(Release::verify(&inner.root, bytes, &dev))
}

/// Starts installing a signed release (COSE envelope, verified with the agent's trust root for
/// `device`; the agent's anti-rollback floor overrides a lower `last_sequence` /
/// `security_counter` in `device`) and writes the new state (`OTA_AGENT_STATE_*`) to `*state`:
/// DOWNLOADING (call `ota_agent_resume`), FAILED (the release cannot install here: the report
/// says why), or the same rest state (nothing to install). A release that fails verification or
/// the install rules is recorded as FAILED (verify or decide) and returns
/// `OTA_STATUS_AGENT_REJECTED` (`ota_agent_last_error` has the detail). During an update:
/// `OTA_STATUS_INVALID_STATE`.
///
/// # Safety
/// `agent` a live handle; `envelope` readable for `envelope_len` bytes; `device` valid as
/// documented on `ota_device_state`; `state` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_agent_start(
    agent: *mut ota_agent,
    envelope: *const u8,
    envelope_len: usize,
    device: *const ota_device_state,
    state: *mut u32,
) -> Status {
    let body = |inner: &mut Inner| {
        let out = out_ptr(state)?;
        if !inner.open()?.state().is_at_rest() {
            return Err(Status::InvalidState);
        }
        // SAFETY: forwarded contract.
        let verified = unsafe { verify(inner, envelope, envelope_len, device) }?;
        let rel = match verified {
            Ok(r) => r,
            Err(rej) => {
                if let Err(e) = inner.open()?.reject(rej.stage, rej.reason) {
                    return Err(inner.fail(&e));
                }
                inner.last_error = rej.to_string();
                return Err(Status::AgentRejected);
            }
        };
        let mut slots = SlotInstaller::firmware(CSlots(inner.cb));
        let mut installers: [&mut dyn Installer; 1] = [&mut slots];
        let started = inner.open()?.start(&rel, &mut installers);
        match started {
            Ok(s) => {
                inner.release = Some(rel);
                // SAFETY: checked non-NULL; writable by contract.
                unsafe { out.write(state_code(s)) };
                Ok(())
            }
            Err(e) => Err(inner.fail(&e)),
        }
    };
    // SAFETY: forwarded contract.
    unsafe { with_agent(agent, body) }
}

/// Hands the signed release of the update in progress to the agent again, after a reboot during
/// the download (`ota_agent_resume` reported `OTA_AGENT_PROGRESS_RELEASE_NEEDED`). It is verified
/// as by `ota_agent_start`; a release other than the one being downloaded supersedes it (the
/// next `ota_agent_resume` records FAILED (download, cancelled)). A release that fails
/// verification is `OTA_STATUS_AGENT_REJECTED` and changes nothing. Only while downloading:
/// `OTA_STATUS_INVALID_STATE` otherwise.
///
/// # Safety
/// As for `ota_agent_start` (without `state`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_agent_set_release(
    agent: *mut ota_agent,
    envelope: *const u8,
    envelope_len: usize,
    device: *const ota_device_state,
) -> Status {
    let body = |inner: &mut Inner| {
        if inner.open()?.state() != ::ota_agent::State::Downloading {
            return Err(Status::InvalidState);
        }
        // SAFETY: forwarded contract.
        match unsafe { verify(inner, envelope, envelope_len, device) }? {
            Ok(rel) => {
                inner.release = Some(rel);
                Ok(())
            }
            Err(rej) => {
                inner.last_error = rej.to_string();
                Err(Status::AgentRejected)
            }
        }
    };
    // SAFETY: forwarded contract.
    unsafe { with_agent(agent, body) }
}

/// Advances the update as far as it can go now and writes what the device should do to
/// `*progress` (`OTA_AGENT_PROGRESS_*`). Call it at every boot (it finishes or rolls back what a
/// reboot or a power cut interrupted: the trial's health check, a revert) and after
/// `ota_agent_start`. A callback's failure returns its status (`OTA_STATUS_AGENT_INTERRUPTED`,
/// `OTA_STATUS_CALLBACK_FAILED`, ...): nothing past the last persisted state happened, the agent
/// reloaded that state, and calling again continues from it.
///
/// # Safety
/// `agent` a live handle; `progress` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_agent_resume(agent: *mut ota_agent, progress: *mut u32) -> Status {
    let body = |inner: &mut Inner| {
        let out = out_ptr(progress)?;
        let cb = inner.cb;
        let mut fetch = CFetch { cb, fault: None };
        let mut slots = SlotInstaller::firmware(CSlots(cb));
        let mut health = CHealth(cb);
        let clock = CClock(cb, SystemClock::default());
        inner.open()?;
        let Inner { agent, release, .. } = &mut *inner;
        let Some(a) = agent.as_mut() else {
            return Err(Status::InvalidState);
        };
        let mut installers: [&mut dyn Installer; 1] = [&mut slots];
        let mut env = Env {
            fetch: &mut fetch,
            installers: &mut installers,
            health: &mut health,
            clock: &clock,
            release: release.as_ref(),
        };
        let r = a.resume(&mut env);
        let p = match r {
            Ok(p) => p,
            Err(e) => return Err(inner.fail(&e)),
        };
        if let Some(fault) = fetch.fault {
            inner.agent = None;
            let _ = inner.open();
            inner.last_error = fault;
            return Err(Status::CallbackFailed);
        }
        let code = match p {
            Progress::AtRest(_) => {
                inner.release = None;
                OTA_AGENT_PROGRESS_AT_REST
            }
            Progress::RebootRequired => OTA_AGENT_PROGRESS_REBOOT_REQUIRED,
            Progress::Interrupted(e) => {
                inner.last_error = e.to_string();
                OTA_AGENT_PROGRESS_INTERRUPTED
            }
            Progress::ReleaseNeeded => OTA_AGENT_PROGRESS_RELEASE_NEEDED,
        };
        // SAFETY: checked non-NULL; writable by contract.
        unsafe { out.write(code) };
        Ok(())
    };
    // SAFETY: forwarded contract.
    unsafe { with_agent(agent, body) }
}

/// Cancels an update that has not switched anything yet (downloading or staged): FAILED
/// (download, cancelled). Later states finish or revert on their own: `OTA_STATUS_INVALID_STATE`.
///
/// # Safety
/// `agent` a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_agent_cancel(agent: *mut ota_agent) -> Status {
    let body = |inner: &mut Inner| {
        let r = inner.open()?.cancel();
        match r {
            Ok(()) => {
                inner.release = None;
                Ok(())
            }
            Err(e) => Err(inner.fail(&e)),
        }
    };
    // SAFETY: forwarded contract.
    unsafe { with_agent(agent, body) }
}

/// Writes where the lifecycle stands to `*out`: state, last outcome with stage and reason, the
/// LwM2M Object 5 and Object 9 numbers, the anti-rollback floor, the slot being written.
///
/// # Safety
/// `agent` a live handle; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_agent_get_report(
    agent: *const ota_agent,
    out: *mut ota_agent_report,
) -> Status {
    let body = |inner: &mut Inner| {
        let out = out_ptr(out)?;
        let r = report(inner.open()?);
        // SAFETY: checked non-NULL; writable by contract.
        unsafe { out.write(r) };
        Ok(())
    };
    // SAFETY: forwarded contract.
    unsafe { with_agent(agent, body) }
}

/// Copies the text of the last error, rejection or interruption (empty when none) into `buf`,
/// NUL-terminated; `*len` counts the NUL (the buffer rules of every `ota_*` string output).
///
/// # Safety
/// `agent` a live handle; `buf` writable for `cap` bytes (or NULL with 0); `len` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_agent_last_error(
    agent: *const ota_agent,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> Status {
    let body = |inner: &mut Inner| {
        // SAFETY: forwarded contract.
        unsafe { str_out(&inner.last_error, buf, cap, len) }
    };
    // SAFETY: forwarded contract.
    unsafe { with_agent(agent, body) }
}
