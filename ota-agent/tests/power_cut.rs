//! Power cut at every write of an upgrade and of a revert, across write alignments and erased
//! values; random multi-cut runs; a cut in every trial boot (Mender's field bug).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Ctx, Device, Fixture, HealthPlan, boot_once, check_final, run_update};
use ota_agent::{Outcome, Reason, Stage, State};

fn is_upgrade(o: Outcome) -> bool {
    o == Outcome::Committed
}

#[test]
fn power_cut_at_every_write() {
    let fx = Fixture::new();
    let rel = fx.release();
    let mut cases = 0u64;
    for (name, health) in [("upgrade", HealthPlan::Pass), ("revert", HealthPlan::Fail)] {
        for align in [1u32, 2, 4, 8] {
            for erased in [0x00u8, 0xFF] {
                let dev = Device::new(&fx, align, erased);
                let clean = run_update(&fx, &rel, &dev, health, 0);
                check_final(&fx, &dev, clean);
                match health {
                    HealthPlan::Pass => assert!(is_upgrade(clean), "{clean:?}"),
                    _ => assert_eq!(
                        clean,
                        Outcome::Reverted {
                            stage: Stage::Trial,
                            reason: Reason::HealthCheckFailed
                        }
                    ),
                }
                let n = dev.rail.ops();
                assert!(n > 10, "too few writes counted: {n}");
                let parts = [
                    dev.store.writes(),
                    dev.bootmeta.writes(),
                    dev.fw.writes(),
                    dev.app.writes(),
                ];
                assert_eq!(parts.iter().sum::<u64>(), n, "every write is counted once");
                for i in 1..=n {
                    let dev = Device::new(&fx, align, erased);
                    dev.rail.cut_at(i);
                    let o = run_update(&fx, &rel, &dev, health, 0);
                    // One cut never costs the upgrade (tries 3 > 1 lost boot), and never saves
                    // the unhealthy one.
                    assert_eq!(
                        o, clean,
                        "{name}, align {align}, erased {erased:#x}, cut at {i}"
                    );
                    check_final(&fx, &dev, o);
                    cases += 1;
                }
                println!(
                    "{name}: align {align}, erased {erased:#04x}: N = {n} writes (record store \
                     {} erase/program, boot control {}, firmware slot {}, app volume {}), \
                     {n} cut points passed",
                    parts[0], parts[1], parts[2], parts[3]
                );
            }
        }
    }
    println!("power cut at every write: {cases} cases");
    assert!(cases > 0);
}

#[test]
fn random_multi_cut_runs() {
    let fx = Fixture::new();
    let rel = fx.release();
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut outcomes = [0u32; 2];
    let runs = 150;
    for r in 0..runs {
        let align = [1u32, 2, 4, 8][(next() % 4) as usize];
        let erased = if next() % 2 == 0 { 0x00 } else { 0xFF };
        let dev = Device::new(&fx, align, erased);
        let cuts = 2 + next() % 4;
        for _ in 0..cuts {
            dev.rail.cut_at(1 + next() % 90);
        }
        let health = if next() % 4 == 0 {
            HealthPlan::Fail
        } else {
            HealthPlan::Pass
        };
        let o = run_update(&fx, &rel, &dev, health, (next() % 3) as u32);
        match o {
            Outcome::Committed => outcomes[0] += 1,
            Outcome::Reverted { .. } => outcomes[1] += 1,
            other => panic!("run {r}: {other:?}"),
        }
        if health == HealthPlan::Fail {
            assert!(
                matches!(o, Outcome::Reverted { .. }),
                "run {r}: unhealthy committed"
            );
        }
        check_final(&fx, &dev, o);
    }
    println!(
        "random multi-cut: {runs} runs, {} committed, {} reverted",
        outcomes[0], outcomes[1]
    );
}

#[test]
fn cut_in_every_trial_boot_is_counted_and_reverted() {
    let fx = Fixture::new();
    let rel = fx.release();
    let dev = Device::new(&fx, 4, 0xFF);
    let mut ctx = Ctx::new(&fx, HealthPlan::Pass);
    let mut new_boots = 0;
    let mut outcome = None;
    for _ in 0..50 {
        // Every boot of the armed new slot loses power before the agent runs (Mender's field
        // report: the device "boots" but never reaches the update client).
        let boot = dev.power_on().unwrap();
        let booted = boot.booted();
        let agent = dev.open(boot).unwrap();
        let armed = matches!(agent.state(), State::Pending | State::Trial);
        if armed && agent.new_slot() == Some(booted) {
            assert_eq!(dev.booted_image(&fx, booted), 1);
            new_boots += 1;
            continue;
        }
        drop(agent);
        // Not the new slot: this boot runs normally (boot_once powers on again; on the old,
        // successful slot that changes nothing).
        if let Some(o) = boot_once(&fx, &rel, &dev, &mut ctx, true) {
            outcome = Some(o);
            break;
        }
    }
    assert_eq!(
        outcome,
        Some(Outcome::Reverted {
            stage: Stage::Trial,
            reason: Reason::TriesExhausted
        })
    );
    assert_eq!(
        new_boots, 3,
        "each of the 3 tries was one cut boot of the new slot"
    );
    assert_eq!(
        ctx.check.runs, 0,
        "the health check never ran, every trial boot was cut"
    );
    check_final(&fx, &dev, outcome.unwrap_or(Outcome::None));
    println!("cut in every trial boot: {new_boots} cut boots of the new slot, then reverted");
}
