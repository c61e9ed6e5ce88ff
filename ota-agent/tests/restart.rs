//! A resumed delta apply whose staged prefix no longer matches the persisted cursor restarts
//! from byte 0 once per update, then fails; and the record's padding must be zero.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Ctx, Device, Fixture, HealthPlan, boot_once, check_final};
use ota_agent::{
    FlashStore, Installer, Outcome, Reason, SlotInstaller, Stage, State, Store, fuzzing,
};
use ota_manifest::Slot;

fn patch_len(fx: &Fixture) -> u64 {
    fx.files
        .values()
        .map(Vec::len)
        .filter(|&l| l != fx.new_app.len() && l != fx.new_fw.len())
        .max()
        .unwrap() as u64
}

/// Boots until the download is interrupted (the link dropped); asserts a cursor was kept.
fn boot_until_interrupted(fx: &Fixture, rel: &ota_agent::Release, dev: &Device, ctx: &mut Ctx<'_>) {
    for _ in 0..5 {
        let before = ctx.fetch.drop_at;
        assert_eq!(boot_once(fx, rel, dev, ctx, true), None);
        if before.is_some() && ctx.fetch.drop_at.is_none() {
            let agent = dev.open(dev.power_on().unwrap()).unwrap();
            assert_eq!(agent.state(), State::Downloading);
            return;
        }
    }
    panic!("the link never dropped");
}

/// Before the fix the agent failed the update (verify, integrity) as soon as the resumed apply
/// found the stored prefix changed; now it discards the cursor and applies again from byte 0.
#[test]
fn stored_prefix_mismatch_restarts_the_apply_from_zero() {
    let fx = Fixture::new();
    let rel = fx.release();
    let patch = patch_len(&fx);
    let dev = Device::new(&fx, 4, 0xFF);
    let mut ctx = Ctx::new(&fx, HealthPlan::Pass);
    ctx.fetch.drop_at = Some(patch - 8);
    boot_until_interrupted(&fx, &rel, &dev, &mut ctx);
    // A byte before the cursor did not stick (or someone wrote the slot).
    dev.fw.corrupt(Slot::B, 10);
    let fetched = ctx.fetch.fetched;
    let mut o = None;
    for _ in 0..10 {
        if o.is_some() {
            break;
        }
        o = boot_once(&fx, &rel, &dev, &mut ctx, true);
    }
    assert_eq!(o, Some(Outcome::Committed));
    assert!(
        ctx.fetch.fetched - fetched >= patch,
        "the whole patch is fetched again: {} bytes after the mismatch",
        ctx.fetch.fetched - fetched
    );
    check_final(&fx, &dev, Outcome::Committed);
}

/// The restart happens once per update: a second mismatch fails with a clear stage and reason,
/// and the old slot still boots.
#[test]
fn a_second_mismatch_in_the_same_update_fails_it() {
    let fx = Fixture::new();
    let rel = fx.release();
    let patch = patch_len(&fx);
    let dev = Device::new(&fx, 4, 0xFF);
    let mut ctx = Ctx::new(&fx, HealthPlan::Pass);
    ctx.fetch.drop_at = Some(patch - 8);
    boot_until_interrupted(&fx, &rel, &dev, &mut ctx);
    dev.fw.corrupt(Slot::B, 10);
    // The restart fetches the patch again from byte 0; the link drops near its end again.
    ctx.fetch.drop_at = Some(ctx.fetch.fetched + patch - 8);
    boot_until_interrupted(&fx, &rel, &dev, &mut ctx);
    dev.fw.corrupt(Slot::B, 10);
    let mut o = None;
    for _ in 0..10 {
        if o.is_some() {
            break;
        }
        o = boot_once(&fx, &rel, &dev, &mut ctx, true);
    }
    assert_eq!(
        o,
        Some(Outcome::Failed {
            stage: Stage::Verify,
            reason: Reason::IntegrityCheckFailure
        })
    );
    // Nothing was switched: the old image boots, the old app is current, the floor is unchanged.
    for _ in 0..3 {
        let boot = dev.power_on().unwrap();
        assert_eq!(boot.booted(), Slot::A);
        assert_eq!(dev.booted_image(&fx, Slot::A), 0);
        let agent = dev.open(boot).unwrap();
        assert_eq!(agent.state(), State::Failed);
        assert_eq!(agent.floor().sequence, 0);
    }
    assert_eq!(dev.app_image(&fx), 0);
}

/// The record's padding (after a component id, and the cursor field when no cursor is kept)
/// must be zero: before the fix any bytes were accepted there.
#[test]
fn record_padding_must_be_zero() {
    let fx = Fixture::new();
    let rel = fx.release();
    let dev = Device::new(&fx, 4, 0xFF);
    let mut agent = dev.open(dev.power_on().unwrap()).unwrap();
    let mut fwi = SlotInstaller::firmware(dev.fw.clone());
    let mut appi = SlotInstaller::volume(dev.app.clone(), "app");
    let mut installers: [&mut dyn Installer; 2] = [&mut fwi, &mut appi];
    assert_eq!(
        agent.start(&rel, &mut installers).unwrap(),
        State::Downloading
    );
    drop(agent);
    let b = FlashStore::new(dev.store.clone(), 0)
        .unwrap()
        .load()
        .unwrap()
        .unwrap();
    assert_eq!(fuzzing::record_reencode(&b).unwrap(), b, "canonical");
    assert_eq!(b[88], 0, "no cursor yet");
    // The cursor field of a record without a cursor.
    let mut c = b.clone();
    c[89 + 20] = 1;
    let e = fuzzing::record_reencode(&c).unwrap_err();
    assert!(e.to_string().contains("cursor padding"), "{e}");
    // After the first component's id ("firmware", 8 bytes).
    let id_len = usize::from(b[153]);
    assert_eq!(&b[154..154 + id_len], b"firmware");
    let mut c = b.clone();
    c[154 + id_len + 3] = 0x41;
    let e = fuzzing::record_reencode(&c).unwrap_err();
    assert!(e.to_string().contains("id padding"), "{e}");
    // Unknown flag bits.
    let mut c = b;
    c[88] = 4;
    assert!(fuzzing::record_reencode(&c).is_err());
}
