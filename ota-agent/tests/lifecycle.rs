//! Lifecycle paths other than the power cuts: health hang and boot loop, bad input (tampered
//! staged image, corrupt store records), rejected releases, and a run on real files (file store,
//! U-Boot environment, partition files, A/B directory swap).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Ctx, Device, Fixture, HealthPlan, boot_once, check_final, run_update, run_with};
use ota_agent::sim::SimFlash;
use ota_agent::{
    Agent, BootControl, Config, DirSwapInstaller, Env, EnvLayout, Error, FileFetch, FileSlots,
    FileStore, FlashStore, Installer, Outcome, Progress, Reason, Release, SlotInstaller, Stage,
    State, Store, UbootEnv, lwm2m_fw_result, lwm2m_sw_result,
};
use ota_manifest::Slot;

#[test]
fn health_check_past_its_deadline_reverts() {
    let fx = Fixture::new();
    let rel = fx.release();
    let dev = Device::new(&fx, 4, 0xFF);
    let o = run_update(&fx, &rel, &dev, HealthPlan::Hang, 0);
    assert_eq!(
        o,
        Outcome::Reverted {
            stage: Stage::Trial,
            reason: Reason::HealthCheckTimeout
        }
    );
    check_final(&fx, &dev, o);
    assert_eq!(lwm2m_fw_result(o), 8);
}

#[test]
fn reboot_loop_in_trial_reverts_at_the_agents_limit() {
    let fx = Fixture::new();
    let rel = fx.release();
    let dev = Device::new(&fx, 4, 0x00);
    let mut ctx = Ctx::new(&fx, HealthPlan::Pass);
    let mut cfg = Config::default();
    cfg.tries = 10; // the bootloader would go on; the agent's own count stops it
    cfg.max_trial_boots = 2;
    ctx.cfg = cfg;
    // The system resets right after every health check (before the commit write lands).
    ctx.check.cut = Some(dev.rail.clone());
    let o = run_with(&fx, &rel, &dev, &mut ctx, 40);
    assert_eq!(
        o,
        Outcome::Reverted {
            stage: Stage::Trial,
            reason: Reason::BootLoop
        }
    );
    assert_eq!(
        ctx.check.runs, 2,
        "two trial boots ran the check, the third was refused"
    );
    check_final(&fx, &dev, o);
}

#[test]
fn tampered_staged_image_fails_verification_and_the_old_slot_boots() {
    let fx = Fixture::new();
    let rel = fx.release();
    // Find the cut point that leaves the record in Staged (the write after it is the next
    // state's), then flip a byte of the staged firmware there (bad flash, or an attacker with
    // write access to the inactive slot).
    let dev = Device::new(&fx, 8, 0xFF);
    let mut ctx = Ctx::new(&fx, HealthPlan::Pass);
    let mut staged_at = None;
    for i in 1..200u64 {
        let probe = Device::new(&fx, 8, 0xFF);
        probe.rail.cut_at(i);
        let mut pctx = Ctx::new(&fx, HealthPlan::Pass);
        boot_once(&fx, &rel, &probe, &mut pctx, true);
        let agent = probe.open(probe.power_on().unwrap()).unwrap();
        if agent.state() == State::Staged {
            staged_at = Some(i);
            break;
        }
    }
    let cut = staged_at.expect("a cut point that leaves the record in Staged");
    dev.rail.cut_at(cut);
    boot_once(&fx, &rel, &dev, &mut ctx, true);
    dev.fw.corrupt(Slot::B, 100);
    let mut outcome = None;
    for _ in 0..10 {
        if let Some(o) = boot_once(&fx, &rel, &dev, &mut ctx, true) {
            outcome = Some(o);
            break;
        }
    }
    assert_eq!(
        outcome,
        Some(Outcome::Failed {
            stage: Stage::Verify,
            reason: Reason::IntegrityCheckFailure
        })
    );
    let boot = dev.power_on().unwrap();
    assert_eq!(boot.booted(), Slot::A);
    assert_eq!(dev.booted_image(&fx, Slot::A), 0);
    assert!(
        boot.tries_left(Slot::B) == 0 && !boot.is_successful(Slot::B),
        "B never armed"
    );
    assert_eq!(dev.app_image(&fx), 0, "the app was never switched");
    assert_eq!(lwm2m_fw_result(outcome.unwrap()), 5);
    assert_eq!(lwm2m_sw_result(State::Failed, outcome.unwrap()), 53);
}

#[test]
fn store_record_with_bad_crc() {
    let fx = Fixture::new();
    let rel = fx.release();
    let dev = Device::new(&fx, 4, 0xFF);
    let o = run_update(&fx, &rel, &dev, HealthPlan::Pass, 0);
    assert_eq!(o, Outcome::Committed);
    // Which sector holds the newest record: corrupt it; the older copy (Trial) is used and
    // the agent runs the health check again and commits again.
    let mut store = FlashStore::new(dev.store.clone(), 0).unwrap();
    let newest = store.load().unwrap().unwrap();
    let sector = (0..2)
        .find(|s| {
            let probe = SimFlash::clone(&dev.store);
            probe.corrupt(*s * 2048 + 30);
            let r = FlashStore::new(probe.clone(), 0).unwrap().load();
            probe.corrupt(*s * 2048 + 30);
            r.ok().flatten() != Some(newest.clone())
        })
        .unwrap();
    dev.store.corrupt(sector * 2048 + 30);
    let boot = dev.power_on().unwrap();
    assert_eq!(dev.booted_image(&fx, boot.booted()), 1);
    let agent = dev.open(boot).unwrap();
    assert_eq!(agent.state(), State::Trial, "the previous record");
    assert_eq!(
        agent.floor().sequence,
        0,
        "the floor of the previous record"
    );
    drop(agent);
    assert_eq!(
        run_update(&fx, &rel, &dev, HealthPlan::Pass, 0),
        Outcome::Committed
    );
    check_final(&fx, &dev, Outcome::Committed);
    // Both copies bad: a clear error; the bootloader still starts the last good slot.
    dev.store.corrupt(30);
    dev.store.corrupt(2048 + 30);
    let boot = dev.power_on().unwrap();
    assert_eq!(dev.booted_image(&fx, boot.booted()), 1);
    match dev.open(boot) {
        Err(Error::StoreCorrupt { what }) => assert!(what.contains("flash sectors"), "{what}"),
        other => panic!("{:?}", other.map(|a| a.state())),
    }
}

#[test]
fn file_store_with_bad_crc_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("agent.state");
    let mut s = FileStore::new(&p);
    s.save(b"record").unwrap();
    let mut b = std::fs::read(&p).unwrap();
    b[18] ^= 0x10;
    std::fs::write(&p, &b).unwrap();
    let fx = Fixture::new();
    let dev = Device::new(&fx, 1, 0xFF);
    let boot = dev.power_on().unwrap();
    match Agent::open(FileStore::new(&p), boot, Config::default()) {
        Err(Error::StoreCorrupt { what }) => assert!(what.ends_with("agent.state"), "{what}"),
        other => panic!("{:?}", other.map(|a| a.state())),
    }
}

/// A store path that is an endless file (a misconfigured path to a character device) is read
/// only up to one frame's length and refused, never read whole.
#[test]
fn file_store_on_an_endless_file_is_refused_without_reading_it_all() {
    let mut s = FileStore::new("/dev/zero");
    assert!(matches!(s.load(), Err(Error::StoreCorrupt { .. })));
    // A file one byte longer than the largest frame is corrupt too.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("agent.state");
    let mut s = FileStore::new(&p);
    s.save(b"record").unwrap();
    let mut b = std::fs::read(&p).unwrap();
    b.resize(ota_agent::MAX_RECORD + ota_agent::FRAME_OVERHEAD + 1, 0);
    std::fs::write(&p, &b).unwrap();
    assert!(matches!(
        FileStore::new(&p).load(),
        Err(Error::StoreCorrupt { .. })
    ));
}

#[test]
fn rejected_releases_name_their_stage() {
    let mut fx = Fixture::new();
    let mut bad = fx.signed.clone();
    let n = bad.len();
    bad[n - 10] ^= 1;
    let e = Release::verify(&fx.root, &bad, &fx.device_state(None, 0)).unwrap_err();
    assert_eq!(
        (e.stage, e.reason),
        (Stage::Verify, Reason::IntegrityCheckFailure)
    );
    assert_eq!(e.refusal, None, "a bad signature is no rule's refusal");
    // The device has accepted sequence 2 already: replay refused by the envelope's policy.
    let e = Release::verify(&fx.root, &fx.signed, &fx.device_state(Some(2), 0)).unwrap_err();
    assert_eq!(e.stage, Stage::Verify);
    // ... and named as the anti-rollback rule (a refusal, not a forgery).
    assert_eq!(
        e.refusal.map(|r| r.rule),
        Some(ota_manifest::Rule::SequenceNotNewer {
            sequence: 2,
            accepted: 2
        })
    );
    // Security counter below the device floor: refused by the manifest's rules.
    let low = fx.sign(3, 0);
    let e = Release::verify(&fx.root, &low, &fx.device_state(Some(2), 1)).unwrap_err();
    assert_eq!((e.stage, e.reason), (Stage::Decide, Reason::Refused));
    assert!(matches!(
        e.refusal.as_ref().map(|r| &r.rule),
        Some(ota_manifest::Rule::SecurityCounterBelowFloor {
            counter: 0,
            floor: 1
        })
    ));
    // And the agent records a rejection as Failed, for the LwM2M report.
    let dev = Device::new(&fx, 1, 0xFF);
    let mut agent = dev.open(dev.power_on().unwrap()).unwrap();
    agent.reject(e.stage, e.reason).unwrap();
    assert_eq!(agent.state(), State::Failed);
    assert_eq!(lwm2m_fw_result(agent.outcome()), 8);
    assert_eq!(lwm2m_sw_result(agent.state(), agent.outcome()), 57);
}

/// The U-Boot boot script of RAUC's bootchooser, run by the test between "reboots": the first
/// slot in BOOT_ORDER with tries left, one try spent.
fn uboot_script(layout: &EnvLayout) -> Slot {
    let env = UbootEnv::open(layout.clone(), Slot::A, 3).unwrap();
    let order = env.get("BOOT_ORDER").unwrap().to_owned();
    let mut env = env;
    for name in order.split_whitespace() {
        let (slot, var) = match name {
            "A" => (Slot::A, "BOOT_A_LEFT"),
            _ => (Slot::B, "BOOT_B_LEFT"),
        };
        let left: u8 = env.get(var).unwrap().parse().unwrap();
        if left > 0 {
            env.set(&[(var, (left - 1).to_string())]).unwrap();
            return slot;
        }
    }
    panic!("no bootable slot")
}

fn file_device_run(health: HealthPlan) -> (tempfile::TempDir, Outcome, Slot, Vec<String>) {
    let fx = Fixture::new();
    let rel = fx.release();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The "CDN": files named by digest.
    std::fs::create_dir(d.join("cdn")).unwrap();
    for (digest, bytes) in &fx.files {
        std::fs::write(d.join("cdn").join(FileFetch::name(digest)), bytes).unwrap();
    }
    // Partitions, the app's A/B directories, the environment, the state file.
    let cap = 64 << 10;
    let mut a = fx.old_fw.clone();
    a.resize(cap, 0);
    std::fs::write(d.join("p2"), &a).unwrap();
    std::fs::write(d.join("p3"), vec![0u8; cap]).unwrap();
    std::fs::create_dir_all(d.join("app/a")).unwrap();
    std::fs::write(d.join("app/a/app"), &fx.old_app).unwrap();
    let env_file = d.join("uboot.env");
    std::fs::write(&env_file, vec![0u8; 0x4000]).unwrap();
    let layout = EnvLayout {
        copies: vec![(env_file.clone(), 0), (env_file, 0x2000)],
        size: 0x2000,
    };
    UbootEnv::create(&layout, &UbootEnv::rauc_defaults(3)).unwrap();
    let mut log = Vec::new();
    let mut outcome = None;
    let mut ctx = Ctx::new(&fx, health);
    let mut fetch = FileFetch::new(d.join("cdn"));
    for _ in 0..10 {
        let booted = uboot_script(&layout);
        log.push(format!("boot {booted:?}"));
        let boot = UbootEnv::open(layout.clone(), booted, 3).unwrap();
        let mut agent = Agent::open(
            FileStore::new(d.join("agent.state")),
            boot,
            Config::default(),
        )
        .unwrap();
        let mut fw =
            SlotInstaller::firmware(FileSlots::new(d.join("p2"), d.join("p3"), cap as u64));
        let mut app = DirSwapInstaller::new(d.join("app"), "app");
        let mut installers: [&mut dyn Installer; 2] = [&mut fw, &mut app];
        if agent.state() == State::Idle {
            agent.start(&rel, &mut installers).unwrap();
        }
        let mut env = Env {
            fetch: &mut fetch,
            installers: &mut installers,
            health: &mut ctx.check,
            clock: &ctx.clock,
            release: Some(&rel),
        };
        match agent.resume(&mut env).unwrap() {
            Progress::AtRest(o) => {
                outcome = Some(o);
                log.push(format!("{:?}", agent.state()));
                break;
            }
            p => log.push(format!("{:?} {p:?}", agent.state())),
        }
    }
    let cur = DirSwapInstaller::new(d.join("app"), "app")
        .current()
        .unwrap();
    (dir, outcome.unwrap(), cur, log)
}

#[test]
fn files_uboot_env_and_directory_swap_commit() {
    let (dir, o, app_side, log) = file_device_run(HealthPlan::Pass);
    assert_eq!(o, Outcome::Committed, "{log:?}");
    assert_eq!(app_side, Slot::B);
    let fx = Fixture::new();
    assert_eq!(
        std::fs::read(dir.path().join("app/b/app")).unwrap(),
        fx.new_app
    );
    let p3 = std::fs::read(dir.path().join("p3")).unwrap();
    assert_eq!(&p3[..fx.new_fw.len()], &fx.new_fw[..]);
    let env = UbootEnv::open(
        EnvLayout {
            copies: vec![
                (dir.path().join("uboot.env"), 0),
                (dir.path().join("uboot.env"), 0x2000),
            ],
            size: 0x2000,
        },
        Slot::B,
        3,
    )
    .unwrap();
    assert_eq!(env.get("BOOT_ORDER"), Some("B A"));
    assert_eq!(env.get("BOOT_B_LEFT"), Some("3"), "marked good");
    assert_eq!(log.first().map(String::as_str), Some("boot A"));
    assert!(log.iter().any(|l| l == "boot B"), "{log:?}");
}

#[test]
fn files_uboot_env_and_directory_swap_revert() {
    let (dir, o, app_side, log) = file_device_run(HealthPlan::Fail);
    assert_eq!(
        o,
        Outcome::Reverted {
            stage: Stage::Trial,
            reason: Reason::HealthCheckFailed
        },
        "{log:?}"
    );
    assert_eq!(app_side, Slot::A, "the app directory switched back");
    let mut env = UbootEnv::open(
        EnvLayout {
            copies: vec![
                (dir.path().join("uboot.env"), 0),
                (dir.path().join("uboot.env"), 0x2000),
            ],
            size: 0x2000,
        },
        Slot::A,
        3,
    )
    .unwrap();
    assert_eq!(env.primary_slot().unwrap(), Slot::A);
    assert_eq!(env.get("BOOT_B_LEFT"), Some("0"));
}

#[test]
fn resume_again_before_the_reboot_keeps_waiting_for_it() {
    let fx = Fixture::new();
    let rel = fx.release();
    let dev = Device::new(&fx, 2, 0xFF);
    let mut ctx = Ctx::new(&fx, HealthPlan::Pass);
    let mut agent = dev.open(dev.power_on().unwrap()).unwrap();
    let mut fwi = SlotInstaller::firmware(dev.fw.clone());
    let mut appi = SlotInstaller::volume(dev.app.clone(), "app");
    let mut installers: [&mut dyn Installer; 2] = [&mut fwi, &mut appi];
    agent.start(&rel, &mut installers).unwrap();
    let mut env = Env {
        fetch: &mut ctx.fetch,
        installers: &mut installers,
        health: &mut ctx.check,
        clock: &ctx.clock,
        release: Some(&rel),
    };
    assert_eq!(agent.resume(&mut env).unwrap(), Progress::RebootRequired);
    for _ in 0..3 {
        assert_eq!(agent.resume(&mut env).unwrap(), Progress::RebootRequired);
        assert_eq!(
            agent.state(),
            State::Pending,
            "not mistaken for spent tries"
        );
    }
    drop(agent);
    assert_eq!(
        run_update(&fx, &rel, &dev, HealthPlan::Pass, 0),
        Outcome::Committed
    );
}

/// The inactive slot holds an older good image (it can boot). Starting an update into it makes
/// it unbootable before a byte is written: a bootloader falling back from the booted slot can
/// never boot a half-written image.
#[test]
fn the_slot_to_be_written_is_made_unbootable_first() {
    let fx = Fixture::new();
    let rel = fx.release();
    let dev = Device::new(&fx, 4, 0xFF);
    let mut boot = dev.power_on().unwrap();
    boot.mark_successful(Slot::B).unwrap();
    assert!(boot.is_successful(Slot::B));
    let mut agent = dev.open(boot).unwrap();
    let mut fwi = SlotInstaller::firmware(dev.fw.clone());
    let mut appi = SlotInstaller::volume(dev.app.clone(), "app");
    let mut installers: [&mut dyn Installer; 2] = [&mut fwi, &mut appi];
    agent.start(&rel, &mut installers).unwrap();
    assert_eq!(agent.state(), State::Downloading);
    drop(agent);
    let boot = dev.power_on().unwrap();
    assert_eq!(boot.booted(), Slot::A);
    assert!(!boot.is_successful(Slot::B) && boot.tries_left(Slot::B) == 0);
    // The update still completes.
    assert_eq!(
        run_update(&fx, &rel, &dev, HealthPlan::Pass, 0),
        Outcome::Committed
    );
}

/// A signed manifest whose chunk table names chunks larger than the agent buffers (here 1 KiB
/// chunks against a 512-byte limit; in the field, a `chunk_size` of 4 GiB) is refused before
/// anything is allocated or written to the new slot.
#[test]
fn chunks_larger_than_the_agent_buffers_are_refused() {
    let fx = Fixture::new();
    let rel = fx.release();
    let dev = Device::new(&fx, 4, 0xFF);
    let mut ctx = Ctx::new(&fx, HealthPlan::Pass);
    let mut cfg = Config::default();
    cfg.max_chunk = 512;
    ctx.cfg = cfg;
    assert_eq!(
        run_with(&fx, &rel, &dev, &mut ctx, 10),
        Outcome::Failed {
            stage: Stage::Download,
            reason: Reason::OutOfMemory
        }
    );
    assert_eq!(dev.power_on().unwrap().booted(), Slot::A);
}

#[test]
fn release_needed_then_cancel() {
    let fx = Fixture::new();
    let rel = fx.release();
    let dev = Device::new(&fx, 1, 0x00);
    let mut ctx = Ctx::new(&fx, HealthPlan::Pass);
    ctx.fetch.fail = 1;
    let mut agent = dev.open(dev.power_on().unwrap()).unwrap();
    let mut fwi = SlotInstaller::firmware(dev.fw.clone());
    let mut appi = SlotInstaller::volume(dev.app.clone(), "app");
    let mut installers: [&mut dyn Installer; 2] = [&mut fwi, &mut appi];
    assert!(agent.cancel().is_err(), "nothing to cancel at rest");
    agent.start(&rel, &mut installers).unwrap();
    assert_eq!(agent.release_digest(), rel.digest());
    let mut env = Env {
        fetch: &mut ctx.fetch,
        installers: &mut installers,
        health: &mut ctx.check,
        clock: &ctx.clock,
        release: None,
    };
    assert_eq!(agent.resume(&mut env).unwrap(), Progress::ReleaseNeeded);
    assert_eq!(agent.state(), State::Downloading);
    env.release = Some(&rel);
    assert!(matches!(
        agent.resume(&mut env).unwrap(),
        Progress::Interrupted(_)
    ));
    agent.cancel().unwrap();
    assert_eq!(
        agent.outcome(),
        Outcome::Failed {
            stage: Stage::Download,
            reason: Reason::Cancelled
        }
    );
    assert_eq!(lwm2m_fw_result(agent.outcome()), 10);
    drop(agent);
    let boot = dev.power_on().unwrap();
    assert_eq!(boot.booted(), Slot::A);
    assert!(!boot.is_successful(Slot::B) && boot.tries_left(Slot::B) == 0);
}

#[test]
fn dropped_connection_resumes_from_the_cursor_not_from_zero() {
    let fx = Fixture::new();
    let rel = fx.release();
    // A clean run: what the update downloads.
    let dev = Device::new(&fx, 4, 0xFF);
    let mut ctx = Ctx::new(&fx, HealthPlan::Pass);
    let mut o = None;
    while o.is_none() {
        o = boot_once(&fx, &rel, &dev, &mut ctx, true);
    }
    let clean = ctx.fetch.fetched;
    let patch = fx
        .files
        .values()
        .map(Vec::len)
        .filter(|&l| l != fx.new_app.len() && l != fx.new_fw.len())
        .max()
        .unwrap() as u64;
    assert_eq!(
        clean,
        patch + fx.new_app.len() as u64,
        "a delta, not the full firmware"
    );
    // The link drops near the end of the patch: the resume re-fetches the header and the
    // frame in flight, not the bytes before the cursor.
    let dev = Device::new(&fx, 4, 0xFF);
    let mut ctx = Ctx::new(&fx, HealthPlan::Pass);
    ctx.fetch.drop_at = Some(patch - 8);
    let mut o = None;
    let mut interrupted = 0;
    for _ in 0..20 {
        if o.is_some() {
            break;
        }
        let before = ctx.boots;
        o = boot_once(&fx, &rel, &dev, &mut ctx, true);
        interrupted += u32::from(o.is_none() && ctx.boots == before + 1);
    }
    assert_eq!(o, Some(Outcome::Committed));
    let extra = ctx.fetch.fetched - clean;
    println!(
        "patch {patch} bytes, clean download {clean}, after a drop {} (+{extra})",
        ctx.fetch.fetched
    );
    assert!(interrupted > 0);
    assert!(
        extra < patch - 8,
        "re-fetched {extra} bytes: the download restarted instead of resuming"
    );
    check_final(&fx, &dev, Outcome::Committed);
}

fn app_only(health: HealthPlan) -> (Device, Outcome) {
    let fx = Fixture::new_cached();
    // The device already runs the new firmware: only the app installs (no reboot, no slot).
    let mut st = fx.device_state(None, 0);
    st.installed[0].sha256 = ota_manifest::Sha256::of(&fx.new_fw);
    st.installed[0].version = ota_manifest::semver::Version::new(2, 0, 0);
    let rel = Release::verify(&fx.root, &fx.signed, &st).unwrap();
    let dev = Device::new(fx, 4, 0xFF);
    let mut ctx = Ctx::new(fx, health);
    let mut agent = dev.open(dev.power_on().unwrap()).unwrap();
    let mut fwi = SlotInstaller::firmware(dev.fw.clone());
    let mut appi = SlotInstaller::volume(dev.app.clone(), "app");
    let mut installers: [&mut dyn Installer; 2] = [&mut fwi, &mut appi];
    agent.start(&rel, &mut installers).unwrap();
    assert_eq!(agent.targets().len(), 1);
    assert_eq!(agent.new_slot(), None);
    let mut env = Env {
        fetch: &mut ctx.fetch,
        installers: &mut installers,
        health: &mut ctx.check,
        clock: &ctx.clock,
        release: Some(&rel),
    };
    let Progress::AtRest(o) = agent.resume(&mut env).unwrap() else {
        panic!("an app-only update needs no reboot")
    };
    (dev, o)
}

#[test]
fn app_only_update_commits_and_reverts_without_a_reboot() {
    let fx = Fixture::new_cached();
    let (dev, o) = app_only(HealthPlan::Pass);
    assert_eq!(o, Outcome::Committed);
    assert_eq!(dev.app_image(fx), 1);
    assert_eq!(
        dev.power_on().unwrap().booted(),
        Slot::A,
        "firmware untouched"
    );
    let (dev, o) = app_only(HealthPlan::Fail);
    assert_eq!(
        o,
        Outcome::Reverted {
            stage: Stage::Trial,
            reason: Reason::HealthCheckFailed
        }
    );
    assert_eq!(dev.app_image(fx), 0);
}

#[test]
fn no_new_update_while_the_reverted_slot_still_runs() {
    let fx = Fixture::new_cached();
    let rel = fx.release();
    let dev = Device::new(fx, 4, 0xFF);
    let mut ctx = Ctx::new(fx, HealthPlan::Fail);
    for _ in 0..10 {
        let boot = dev.power_on().unwrap();
        let mut agent = dev.open(boot).unwrap();
        let mut fwi = SlotInstaller::firmware(dev.fw.clone());
        let mut appi = SlotInstaller::volume(dev.app.clone(), "app");
        let mut installers: [&mut dyn Installer; 2] = [&mut fwi, &mut appi];
        if agent.state() == State::Idle {
            agent.start(&rel, &mut installers).unwrap();
        }
        let mut env = Env {
            fetch: &mut ctx.fetch,
            installers: &mut installers,
            health: &mut ctx.check,
            clock: &ctx.clock,
            release: Some(&rel),
        };
        let p = agent.resume(&mut env).unwrap();
        if agent.state() == State::Reverted {
            assert_eq!(p, Progress::RebootRequired, "still on the new slot");
            // The slot that would be "inactive" now is the good old one.
            let e = agent.start(&rel, &mut installers).unwrap_err();
            assert!(matches!(e, Error::WrongState { .. }), "{e}");
            drop(agent);
            check_final(
                fx,
                &dev,
                Outcome::Reverted {
                    stage: Stage::Trial,
                    reason: Reason::HealthCheckFailed,
                },
            );
            return;
        }
    }
    panic!("never reverted");
}
