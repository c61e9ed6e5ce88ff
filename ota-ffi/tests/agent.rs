//! The edges of the `ota_agent_*` C API, driven from Rust through the same `extern "C"`
//! functions a C program calls: NULL pointers, bad settings, callbacks that fail, lie about
//! lengths or slots, and call back into the agent. (The C program `tests/c/lifecycle.c` runs the
//! lifecycle itself under ASan/UBSan and valgrind.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(unsafe_code, clippy::undocumented_unsafe_blocks)]

#[allow(dead_code)]
mod fixtures;

use core::ffi::{c_char, c_void};
use std::path::{Path, PathBuf};
use std::ptr::{null, null_mut};
use std::sync::OnceLock;

use ota::Status;
use ota::agent::*;
use ota::plan::{OTA_SLOT_A, OTA_SLOT_B, ota_device_state, ota_installed};

struct Fx {
    root: Vec<u8>,
    release: Vec<u8>,
    old: Vec<u8>,
    patch: Vec<u8>,
}

fn fx() -> &'static Fx {
    static FX: OnceLock<Fx> = OnceLock::new();
    FX.get_or_init(|| {
        let exe = std::env::current_exe().unwrap();
        let dir: PathBuf = exe
            .parent()
            .and_then(Path::parent)
            .unwrap()
            .join("agent-tests");
        fixtures::write_all(&dir).unwrap();
        let read = |n: &str| std::fs::read(dir.join(n)).unwrap();
        Fx {
            root: read("root.cose"),
            release: read("agent-release.cose"),
            old: read("old.bin"),
            patch: read("patch.otad"),
        }
    })
}

const CAP: usize = 128 * 1024;

/// A device in memory; every behaviour a test wants to break is a field.
struct Dev {
    rec: Vec<u8>,
    /// `store_load` reports this result and length instead of the record.
    load_lie: Option<(i32, usize)>,
    save_rc: i32,
    /// Saves that still succeed before `save_rc` applies.
    save_ok_left: u32,
    booted: u32,
    primary: u32,
    successful: [bool; 2],
    tries: [u8; 2],
    attempts: [u8; 2],
    boot_writes: u32,
    /// `boot_booted_slot` reports this slot number.
    booted_lie: Option<u32>,
    slots: [Vec<u8>; 2],
    write_rc: i32,
    patch_sha: [u8; 32],
    fetch_rc: i32,
    health_rc: i32,
    this: *mut ota_agent,
    inside: Vec<Status>,
}

fn dev(u: *mut c_void) -> &'static mut Dev {
    unsafe { &mut *u.cast::<Dev>() }
}

unsafe extern "C" fn store_load(u: *mut c_void, buf: *mut u8, cap: usize, len: *mut usize) -> i32 {
    let d = dev(u);
    if let Some((rc, n)) = d.load_lie {
        unsafe { *len = n };
        return rc;
    }
    if d.rec.is_empty() {
        return OTA_AGENT_CB_EMPTY;
    }
    assert!(d.rec.len() <= cap);
    unsafe {
        std::ptr::copy_nonoverlapping(d.rec.as_ptr(), buf, d.rec.len());
        *len = d.rec.len();
    }
    OTA_AGENT_CB_OK
}

unsafe extern "C" fn store_save(u: *mut c_void, rec: *const u8, len: usize) -> i32 {
    let d = dev(u);
    if d.save_rc != OTA_AGENT_CB_OK {
        if d.save_ok_left == 0 {
            return d.save_rc;
        }
        d.save_ok_left -= 1;
    }
    d.rec = unsafe { std::slice::from_raw_parts(rec, len) }.to_vec();
    OTA_AGENT_CB_OK
}

unsafe extern "C" fn booted(u: *mut c_void, s: *mut u32) -> i32 {
    let d = dev(u);
    unsafe { *s = d.booted_lie.unwrap_or(d.booted) };
    OTA_AGENT_CB_OK
}

unsafe extern "C" fn primary(u: *mut c_void, s: *mut u32) -> i32 {
    unsafe { *s = dev(u).primary };
    OTA_AGENT_CB_OK
}

unsafe extern "C" fn set_pending(u: *mut c_void, s: u32, tries: u8) -> i32 {
    let d = dev(u);
    d.boot_writes += 1;
    d.primary = s;
    d.successful[s as usize] = false;
    d.tries[s as usize] = tries;
    d.attempts[s as usize] = 0;
    OTA_AGENT_CB_OK
}

unsafe extern "C" fn mark_successful(u: *mut c_void, s: u32) -> i32 {
    let d = dev(u);
    d.boot_writes += 1;
    d.successful[s as usize] = true;
    OTA_AGENT_CB_OK
}

unsafe extern "C" fn mark_unbootable(u: *mut c_void, s: u32) -> i32 {
    let d = dev(u);
    d.boot_writes += 1;
    d.successful[s as usize] = false;
    d.tries[s as usize] = 0;
    d.primary = 1 - s;
    OTA_AGENT_CB_OK
}

unsafe extern "C" fn attempts(u: *mut c_void, s: u32, n: *mut u8) -> i32 {
    unsafe { *n = dev(u).attempts[s as usize] };
    OTA_AGENT_CB_OK
}

unsafe extern "C" fn slot_read(u: *mut c_void, s: u32, off: u64, buf: *mut u8, len: usize) -> i32 {
    let src = &dev(u).slots[s as usize][off as usize..off as usize + len];
    unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), buf, len) };
    OTA_AGENT_CB_OK
}

unsafe extern "C" fn slot_write(
    u: *mut c_void,
    s: u32,
    off: u64,
    data: *const u8,
    len: usize,
) -> i32 {
    let d = dev(u);
    if d.write_rc != OTA_AGENT_CB_OK {
        return d.write_rc;
    }
    let data = unsafe { std::slice::from_raw_parts(data, len) };
    d.slots[s as usize][off as usize..off as usize + len].copy_from_slice(data);
    OTA_AGENT_CB_OK
}

unsafe extern "C" fn slot_sync(_u: *mut c_void, _s: u32) -> i32 {
    OTA_AGENT_CB_OK
}

unsafe extern "C" fn fetch(
    u: *mut c_void,
    what: *const ota_agent_resource,
    off: u64,
    buf: *mut u8,
    cap: usize,
    got: *mut usize,
) -> i32 {
    let d = dev(u);
    if d.fetch_rc != OTA_AGENT_CB_OK {
        return d.fetch_rc;
    }
    let what = unsafe { &*what };
    let id = unsafe { std::ffi::CStr::from_ptr(what.component) };
    assert_eq!(id.to_bytes(), b"firmware");
    assert_eq!(what.kind, OTA_AGENT_RESOURCE_PATCH);
    assert_eq!(what.sha256, d.patch_sha);
    let patch = &fx().patch;
    let rest = patch.get(off as usize..).unwrap_or(&[]);
    let n = rest.len().min(cap);
    unsafe {
        std::ptr::copy_nonoverlapping(rest.as_ptr(), buf, n);
        *got = n;
    }
    OTA_AGENT_CB_OK
}

unsafe extern "C" fn health(u: *mut c_void, _deadline: u64) -> i32 {
    let d = dev(u);
    let mut p = 0u32;
    let mut r = std::mem::MaybeUninit::<ota_agent_report>::uninit();
    let mut len = 0usize;
    unsafe {
        d.inside.push(ota_agent_resume(d.this, &mut p));
        d.inside.push(ota_agent_get_report(d.this, r.as_mut_ptr()));
        d.inside
            .push(ota_agent_last_error(d.this, null_mut(), 0, &mut len));
        d.inside.push(ota_agent_cancel(d.this));
        // Freeing the handle from inside its own callback must not free it.
        ota_agent_free(d.this);
    }
    d.health_rc
}

fn new_dev() -> Box<Dev> {
    let f = fx();
    let mut a = vec![0u8; CAP];
    a[..f.old.len()].copy_from_slice(&f.old);
    Box::new(Dev {
        rec: Vec::new(),
        load_lie: None,
        save_rc: OTA_AGENT_CB_OK,
        save_ok_left: 0,
        booted: OTA_SLOT_A,
        primary: OTA_SLOT_A,
        successful: [true, false],
        tries: [0; 2],
        attempts: [0; 2],
        boot_writes: 0,
        booted_lie: None,
        slots: [a, vec![0u8; CAP]],
        write_rc: OTA_AGENT_CB_OK,
        patch_sha: ota_verify::Sha256::digest(&f.patch).0,
        fetch_rc: OTA_AGENT_CB_OK,
        health_rc: OTA_AGENT_CB_OK,
        this: null_mut(),
        inside: Vec::new(),
    })
}

fn callbacks(d: &mut Dev) -> ota_agent_callbacks {
    ota_agent_callbacks {
        user: (d as *mut Dev).cast(),
        store_load: Some(store_load),
        store_save: Some(store_save),
        boot_booted_slot: Some(booted),
        boot_primary_slot: Some(primary),
        boot_set_pending: Some(set_pending),
        boot_mark_successful: Some(mark_successful),
        boot_mark_unbootable: Some(mark_unbootable),
        boot_attempts: Some(attempts),
        slot_capacity: CAP as u64,
        slot_read: Some(slot_read),
        slot_write: Some(slot_write),
        slot_sync: Some(slot_sync),
        fetch: Some(fetch),
        health_check: Some(health),
        now_ms: None,
    }
}

fn new_agent(d: &mut Dev) -> Result<*mut ota_agent, Status> {
    let cb = callbacks(d);
    let root = &fx().root;
    let mut a = null_mut();
    match unsafe { ota_agent_new(root.as_ptr(), root.len(), &cb, null(), &mut a) } {
        Status::Ok => {
            d.this = a;
            Ok(a)
        }
        s => {
            assert!(a.is_null(), "no handle on error");
            Err(s)
        }
    }
}

/// Runs `f` with the device state of a device running firmware 1.0.0 on slot A.
fn with_state<R>(f: impl FnOnce(&ota_device_state) -> R) -> R {
    let sha = ota_verify::Sha256::digest(&fx().old).0;
    let installed = ota_installed {
        id: c"firmware".as_ptr(),
        version: c"1.0.0".as_ptr(),
        sha256: sha,
    };
    let s = ota_device_state {
        vendor: b"acme".as_ptr(),
        vendor_len: 4,
        device_class: b"gw-200".as_ptr(),
        device_class_len: 6,
        hardware: c"2.1.0".as_ptr(),
        installed: &installed,
        installed_count: 1,
        security_counter: 0,
        has_last_sequence: false,
        last_sequence: 0,
        now: fixtures::NOW,
        active_slot: OTA_SLOT_A,
    };
    f(&s)
}

fn start(a: *mut ota_agent) -> Result<u32, Status> {
    let rel = &fx().release;
    let mut st = 99;
    with_state(
        |s| match unsafe { ota_agent_start(a, rel.as_ptr(), rel.len(), s, &mut st) } {
            Status::Ok => Ok(st),
            e => Err(e),
        },
    )
}

fn resume(a: *mut ota_agent) -> Result<u32, Status> {
    let mut p = 99;
    match unsafe { ota_agent_resume(a, &mut p) } {
        Status::Ok => Ok(p),
        e => {
            assert_eq!(p, 99, "no progress written on error");
            Err(e)
        }
    }
}

fn report(a: *mut ota_agent) -> ota_agent_report {
    let mut r = std::mem::MaybeUninit::uninit();
    assert_eq!(
        unsafe { ota_agent_get_report(a, r.as_mut_ptr()) },
        Status::Ok
    );
    unsafe { r.assume_init() }
}

fn last_error(a: *mut ota_agent) -> String {
    let mut buf = [0 as c_char; 512];
    let mut len = 0;
    let st = unsafe { ota_agent_last_error(a, buf.as_mut_ptr(), buf.len(), &mut len) };
    assert_eq!(st, Status::Ok);
    unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

#[test]
fn new_refuses_null_pointers_and_bad_settings() {
    let mut d = new_dev();
    let cb = callbacks(&mut d);
    let root = &fx().root;
    let mut a = null_mut();
    unsafe {
        assert_eq!(
            ota_agent_new(root.as_ptr(), root.len(), &cb, null(), null_mut()),
            Status::NullArgument
        );
        assert_eq!(
            ota_agent_new(root.as_ptr(), root.len(), null(), null(), &mut a),
            Status::NullArgument
        );
        assert_eq!(
            ota_agent_new(null(), 5, &cb, null(), &mut a),
            Status::NullArgument
        );
        assert_eq!(
            ota_agent_new(b"junk".as_ptr(), 4, &cb, null(), &mut a),
            Status::VerifyMalformed
        );
    }
    // Each required callback, one at a time.
    let blank: [fn(&mut ota_agent_callbacks); 14] = [
        |c| c.store_load = None,
        |c| c.store_save = None,
        |c| c.boot_booted_slot = None,
        |c| c.boot_primary_slot = None,
        |c| c.boot_set_pending = None,
        |c| c.boot_mark_successful = None,
        |c| c.boot_mark_unbootable = None,
        |c| c.boot_attempts = None,
        |c| c.slot_read = None,
        |c| c.slot_write = None,
        |c| c.slot_sync = None,
        |c| c.fetch = None,
        |c| c.health_check = None,
        |c| c.now_ms = None,
    ];
    for (i, f) in blank.iter().enumerate() {
        let mut c = cb;
        f(&mut c);
        let st = unsafe { ota_agent_new(root.as_ptr(), root.len(), &c, null(), &mut a) };
        // now_ms (the last) is optional.
        let want = if i == 13 {
            Status::Ok
        } else {
            Status::NullArgument
        };
        assert_eq!(st, want, "callback {i}");
        unsafe { ota_agent_free(a) };
        a = null_mut();
    }
    let mut cfg = std::mem::MaybeUninit::uninit();
    assert_eq!(
        unsafe { ota_agent_config_default(cfg.as_mut_ptr()) },
        Status::Ok
    );
    let cfg = unsafe { cfg.assume_init() };
    assert_eq!(
        (cfg.tries, cfg.max_trial_boots, cfg.max_arms, cfg.chunk_size),
        (3, 3, 3, 4096)
    );
    assert_eq!(cfg.health_timeout_ms, 60_000);
    for bad in [
        ota_agent_config { tries: 0, ..cfg },
        ota_agent_config {
            max_trial_boots: 0,
            ..cfg
        },
        ota_agent_config { max_arms: 0, ..cfg },
        ota_agent_config {
            chunk_size: 0,
            ..cfg
        },
    ] {
        let st = unsafe { ota_agent_new(root.as_ptr(), root.len(), &cb, &bad, &mut a) };
        assert_eq!(st, Status::InvalidArgument);
        assert!(a.is_null());
    }
    assert_eq!(
        unsafe { ota_agent_config_default(null_mut()) },
        Status::NullArgument
    );
}

#[test]
fn null_handles_and_outputs_are_refused() {
    let mut d = new_dev();
    let a = new_agent(&mut d).unwrap();
    let mut p = 0;
    let mut len = 0;
    unsafe {
        assert_eq!(ota_agent_resume(null_mut(), &mut p), Status::NullArgument);
        assert_eq!(ota_agent_resume(a, null_mut()), Status::NullArgument);
        assert_eq!(ota_agent_get_report(a, null_mut()), Status::NullArgument);
        assert_eq!(ota_agent_cancel(null_mut()), Status::NullArgument);
        assert_eq!(
            ota_agent_last_error(a, null_mut(), 0, null_mut()),
            Status::NullArgument
        );
        with_state(|s| {
            assert_eq!(
                ota_agent_start(a, null(), 10, s, &mut p),
                Status::NullArgument
            );
            assert_eq!(
                ota_agent_start(a, fx().release.as_ptr(), fx().release.len(), null(), &mut p),
                Status::NullArgument
            );
            assert_eq!(
                ota_agent_start(a, fx().release.as_ptr(), fx().release.len(), s, null_mut()),
                Status::NullArgument
            );
        });
        // Nothing was recorded by the refused calls.
        assert_eq!(report(a).state, OTA_AGENT_STATE_IDLE);
        // The last error of a fresh agent is the empty string (one byte: its NUL).
        assert_eq!(
            ota_agent_last_error(a, null_mut(), 0, &mut len),
            Status::BufferTooSmall
        );
        assert_eq!(len, 1);
        ota_agent_free(a);
        ota_agent_free(null_mut());
    }
}

#[test]
fn lying_store_and_boot_callbacks_are_refused_not_trusted() {
    // A load that reports more bytes than the buffer it was given.
    let mut d = new_dev();
    d.load_lie = Some((OTA_AGENT_CB_OK, OTA_AGENT_MAX_RECORD + 1));
    assert_eq!(new_agent(&mut d).unwrap_err(), Status::CallbackFailed);
    // A load that fails, or is interrupted.
    d.load_lie = Some((OTA_AGENT_CB_FAILED, 0));
    assert_eq!(new_agent(&mut d).unwrap_err(), Status::CallbackFailed);
    d.load_lie = Some((OTA_AGENT_CB_INTERRUPTED, 0));
    assert_eq!(new_agent(&mut d).unwrap_err(), Status::AgentInterrupted);
    // A record that is not one.
    d.load_lie = None;
    d.rec = b"not a record".to_vec();
    assert_eq!(new_agent(&mut d).unwrap_err(), Status::AgentStoreCorrupt);
    // A boot control naming a slot that does not exist.
    let mut d = new_dev();
    let a = new_agent(&mut d).unwrap();
    d.booted_lie = Some(7);
    assert_eq!(resume(a), Err(Status::CallbackFailed));
    assert!(
        last_error(a).contains("reported slot 7"),
        "{}",
        last_error(a)
    );
    d.booted_lie = None;
    assert_eq!(resume(a), Ok(OTA_AGENT_PROGRESS_AT_REST));
    unsafe { ota_agent_free(a) };
}

#[test]
fn store_failures_leave_the_persisted_state_and_the_next_call_continues() {
    let mut d = new_dev();
    let a = new_agent(&mut d).unwrap();
    for (rc, want) in [
        (OTA_AGENT_CB_FAILED, Status::CallbackFailed),
        (42, Status::CallbackFailed),
        (OTA_AGENT_CB_INTERRUPTED, Status::AgentInterrupted),
    ] {
        d.save_rc = rc;
        assert_eq!(start(a), Err(want));
        assert_eq!(report(a).state, OTA_AGENT_STATE_IDLE);
        assert!(d.rec.is_empty());
    }
    assert!(last_error(a).contains("power lost"), "{}", last_error(a));
    d.save_rc = OTA_AGENT_CB_OK;
    assert_eq!(start(a), Ok(OTA_AGENT_STATE_DOWNLOADING));
    // A start during an update is refused; so is set_release at rest, and cancel after it.
    assert_eq!(start(a), Err(Status::InvalidState));
    assert_eq!(unsafe { ota_agent_cancel(a) }, Status::Ok);
    let rel = &fx().release;
    with_state(|s| {
        assert_eq!(
            unsafe { ota_agent_set_release(a, rel.as_ptr(), rel.len(), s) },
            Status::InvalidState
        );
    });
    assert_eq!(unsafe { ota_agent_cancel(a) }, Status::InvalidState);
    unsafe { ota_agent_free(a) };
}

#[test]
fn fetch_and_slot_failures_become_outcomes_with_lwm2m_codes() {
    // The server does not have the patch: Failed (download, invalid URI), Object 5 result 7.
    let mut d = new_dev();
    d.fetch_rc = OTA_AGENT_CB_NOT_FOUND;
    let a = new_agent(&mut d).unwrap();
    start(a).unwrap();
    assert_eq!(resume(a), Ok(OTA_AGENT_PROGRESS_AT_REST));
    let r = report(a);
    assert_eq!((r.state, r.stage, r.reason), (OTA_AGENT_STATE_FAILED, 1, 6));
    assert_eq!((r.lwm2m_fw_result, r.lwm2m_sw_result), (7, 56));
    // Unsupported transport: Object 5 result 9.
    d.fetch_rc = OTA_AGENT_CB_UNSUPPORTED;
    start(a).unwrap();
    assert_eq!(resume(a), Ok(OTA_AGENT_PROGRESS_AT_REST));
    assert_eq!(report(a).lwm2m_fw_result, 9);
    // The connection drops: nothing concluded, resumable.
    d.fetch_rc = OTA_AGENT_CB_INTERRUPTED;
    start(a).unwrap();
    assert_eq!(resume(a), Ok(OTA_AGENT_PROGRESS_INTERRUPTED));
    assert_eq!(report(a).state, OTA_AGENT_STATE_DOWNLOADING);
    assert!(
        last_error(a).contains("connection lost"),
        "{}",
        last_error(a)
    );
    // An unknown code from fetch is a misbehaving callback: refused, nothing concluded.
    d.fetch_rc = 77;
    assert_eq!(resume(a), Err(Status::CallbackFailed));
    assert_eq!(report(a).state, OTA_AGENT_STATE_DOWNLOADING);
    assert!(last_error(a).contains("returned 77"), "{}", last_error(a));
    // The flash driver fails: Failed (install, install failed), Object 5 result 8.
    d.fetch_rc = OTA_AGENT_CB_OK;
    d.write_rc = OTA_AGENT_CB_FAILED;
    assert_eq!(resume(a), Ok(OTA_AGENT_PROGRESS_AT_REST));
    let r = report(a);
    assert_eq!(
        (r.state, r.stage, r.reason),
        (OTA_AGENT_STATE_FAILED, 4, 12)
    );
    assert_eq!(r.lwm2m_fw_result, 8);
    // One boot write per start (the slot about to be written made unbootable), none arming:
    // slot A stays primary.
    assert_eq!((d.boot_writes, d.primary), (3, OTA_SLOT_A));
    unsafe { ota_agent_free(a) };
}

#[test]
fn callbacks_calling_back_are_busy_and_cannot_free_the_agent() {
    let mut d = new_dev();
    let a = new_agent(&mut d).unwrap();
    assert_eq!(start(a), Ok(OTA_AGENT_STATE_DOWNLOADING));
    assert_eq!(resume(a), Ok(OTA_AGENT_PROGRESS_REBOOT_REQUIRED));
    let r = report(a);
    assert_eq!(
        (r.state, r.has_new_slot, r.new_slot),
        (OTA_AGENT_STATE_PENDING, true, OTA_SLOT_B)
    );
    // The bootloader boots B on trial.
    d.primary = OTA_SLOT_B;
    d.tries[1] -= 1;
    d.attempts[1] += 1;
    d.booted = OTA_SLOT_B;
    assert_eq!(resume(a), Ok(OTA_AGENT_PROGRESS_AT_REST));
    // Every call from inside the health check was refused, the free ignored, and the agent
    // went on to commit.
    assert_eq!(d.inside, [Status::AgentBusy; 4]);
    let r = report(a);
    assert_eq!(
        (r.state, r.outcome),
        (OTA_AGENT_STATE_COMMITTED, OTA_AGENT_OUTCOME_COMMITTED)
    );
    assert_eq!((r.floor_sequence, r.floor_security_counter), (8, 4));
    assert!(d.successful[1]);
    assert_eq!(
        &d.slots[1][..fixtures::images().1.len()],
        &fixtures::images().1[..]
    );
    unsafe { ota_agent_free(a) };
}

/// A failed save leaves the persisted record as it was; the agent must forget its unsaved
/// in-memory step too. Here the trial's boot count: if the failed saves were remembered, four of
/// them would count as four trial boots and the next call would revert a healthy update as a
/// boot loop (max_trial_boots is 3).
#[test]
fn failed_saves_in_the_trial_are_not_counted_as_boots() {
    let mut d = new_dev();
    let a = new_agent(&mut d).unwrap();
    start(a).unwrap();
    assert_eq!(resume(a), Ok(OTA_AGENT_PROGRESS_REBOOT_REQUIRED));
    d.tries[1] -= 1;
    d.attempts[1] += 1;
    d.booted = OTA_SLOT_B;
    // Trial is persisted (the first save), then every boot-count save fails.
    d.save_rc = OTA_AGENT_CB_FAILED;
    d.save_ok_left = 1;
    for _ in 0..4 {
        assert_eq!(resume(a), Err(Status::CallbackFailed));
        assert_eq!(report(a).state, OTA_AGENT_STATE_TRIAL);
    }
    d.save_rc = OTA_AGENT_CB_OK;
    assert_eq!(resume(a), Ok(OTA_AGENT_PROGRESS_AT_REST));
    let r = report(a);
    assert_eq!((r.state, r.reason), (OTA_AGENT_STATE_COMMITTED, 0));
    unsafe { ota_agent_free(a) };
}
