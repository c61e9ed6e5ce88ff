#![no_main]
//! Decodes arbitrary bytes as a rollout plan and as a selector. Whatever decodes must re-encode
//! and decode to the same value, and must be usable: stateless and exact assignment of a small
//! fleet, and a rollout over it, without panicking.

use libfuzzer_sys::fuzz_target;
use ota_rollout::{Device, Event, Limits, Plan, Rollout, Selector};

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    if let Ok(sel) = Selector::from_json(data, &limits) {
        let again = Selector::from_json(sel.to_json().as_bytes(), &limits).expect("re-decode");
        assert_eq!(again, sel);
        let dev = Device::new("d").with("fw", "1.2.3").with("hw", "a");
        assert_eq!(
            sel.matches(&dev.attributes),
            sel.explain(&dev.attributes).is_ok()
        );
    }
    if let Ok(plan) = Plan::from_json(data, &limits) {
        let again = Plan::from_json(plan.to_json().as_bytes(), &limits).expect("re-decode");
        assert_eq!(again, plan);
        let fleet: Vec<Device> = (0..50)
            .map(|i| {
                Device::new(format!("d{i}"))
                    .with("fw", "1.2.3")
                    .with("hw", ["a", "b"][i % 2])
            })
            .collect();
        for d in &fleet {
            let _ = plan.assign(d);
        }
        let fa = plan.assign_fleet(&fleet).expect("unique ids");
        let placed: usize = fa.rings.iter().map(Vec::len).sum::<usize>()
            + fa.not_yet.len()
            + fa.excluded.len()
            + fa.ineligible.len();
        assert_eq!(placed, fleet.len());
        let mut r = Rollout::new(plan, &fa.ring_sizes(), 0).expect("valid plan");
        let _ = r.handle(Event::Tick, 60);
        let _ = r.handle(Event::Approve, 120);
    }
});
