//! Property test: random sequences of power cuts, plain reboots, health results and fetch
//! errors. On every sequence: every boot starts the old or the new image byte for byte, the floor
//! rises only with Committed (checked at every boot by `boot_once`), and the update ends
//! Committed (only when the last health check passed) or Reverted, with the device coherent.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Ctx, Device, Fixture, HealthPlan, boot_once, check_final};
use ota_agent::Outcome;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Event {
    /// Cut the power this many writes from now.
    Cut(u64),
    /// Power off and on before the agent runs.
    Reboot,
    /// The health check's answer from now on.
    Health(bool),
    /// The next fetches fail with a lost connection.
    FetchErrors(u32),
    /// A boot on which the agent runs.
    Run,
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        (1u64..30).prop_map(Event::Cut),
        Just(Event::Reboot),
        any::<bool>().prop_map(Event::Health),
        (1u32..4).prop_map(Event::FetchErrors),
        Just(Event::Run),
        Just(Event::Run),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_on_random_event_sequences(
        events in proptest::collection::vec(event(), 1..40),
        align in prop_oneof![Just(1u32), Just(2), Just(4), Just(8)],
        erased in prop_oneof![Just(0x00u8), Just(0xFF)],
    ) {
        let fx = Fixture::new_cached();
        let rel = fx.release();
        let dev = Device::new(fx, align, erased);
        let mut ctx = Ctx::new(fx, HealthPlan::Pass);
        let mut done = None;
        for e in &events {
            match e {
                Event::Cut(k) => dev.rail.cut_at(dev.rail.ops() + k),
                Event::Reboot => {
                    boot_once(fx, &rel, &dev, &mut ctx, false);
                }
                Event::Health(ok) => {
                    ctx.check.plan = if *ok { HealthPlan::Pass } else { HealthPlan::Fail };
                }
                Event::FetchErrors(n) => ctx.fetch.fail = *n,
                Event::Run => {
                    if let Some(o) = boot_once(fx, &rel, &dev, &mut ctx, true) {
                        done = Some(o);
                        break;
                    }
                }
            }
        }
        let mut o = done;
        for _ in 0..400 {
            if o.is_some() {
                break;
            }
            o = boot_once(fx, &rel, &dev, &mut ctx, true);
        }
        let o = o.expect("at rest within 400 boots");
        prop_assert!(matches!(o, Outcome::Committed | Outcome::Reverted { .. }), "{o:?}");
        if o == Outcome::Committed {
            prop_assert_eq!(ctx.check.plan, HealthPlan::Pass);
        }
        check_final(fx, &dev, o);
    }
}
