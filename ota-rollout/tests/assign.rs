#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Ring assignment: monotonicity, determinism, binomial spread, exact sizes, strata, overrides.

use std::collections::{BTreeMap, BTreeSet};

use ota_rollout::{
    Assignment, Device, Error, FleetAssignment, Gate, Limits, Plan, Ring, Rule, Selector,
};
use proptest::prelude::*;

/// A plan whose rings have these shares (each ring's own part of the fleet).
fn plan_shares(salt: &str, shares: &[f64]) -> Plan {
    Plan::new(
        salt,
        shares
            .iter()
            .enumerate()
            .map(|(i, &f)| Ring {
                name: format!("ring{i}"),
                share: f,
                gate: Gate::new(Rule::Manual),
            })
            .collect(),
    )
}

/// A plan whose rings end at these non-decreasing cumulative bounds (the property tests speak
/// of bounds, which any change of shares moves).
fn plan_with(salt: &str, bounds: &[f64]) -> Plan {
    let mut prev = 0.0;
    let shares: Vec<f64> = bounds
        .iter()
        .map(|&b| {
            let s = b - prev;
            prev = b;
            s
        })
        .collect();
    plan_shares(salt, &shares)
}

/// The ids of each ring.
fn ring_ids(fa: &FleetAssignment, fleet: &[Device]) -> Vec<Vec<String>> {
    fa.rings
        .iter()
        .map(|r| r.iter().map(|&i| fleet[i].id.clone()).collect())
        .collect()
}

/// Sorted cumulative bounds in (0, 1], and a grown copy (each bound >= the old one).
fn fractions_and_growth() -> impl Strategy<Value = (Vec<f64>, Vec<f64>)> {
    (1usize..5)
        .prop_flat_map(|k| {
            (
                proptest::collection::vec(1u32..=1000, k),
                proptest::collection::vec(0u32..=300, k),
            )
        })
        .prop_map(|(mut a, inc)| {
            a.sort_unstable();
            let old: Vec<f64> = a.iter().map(|&x| f64::from(x) / 1000.0).collect();
            let mut new = Vec::with_capacity(old.len());
            let mut prev = 0.0f64;
            for (o, i) in old.iter().zip(&inc) {
                let g = (o + f64::from(*i) / 1000.0).min(1.0).max(prev);
                new.push(g);
                prev = g;
            }
            (old, new)
        })
}

fn ids(n: usize, prefix: &str) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i:06}")).collect()
}

fn ring_rank(a: Option<usize>, rings: usize) -> usize {
    a.unwrap_or(rings)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Growing any cumulative bound (any share, the others unchanged) never moves a device out of the rollout or to a later ring.
    #[test]
    fn stateless_is_monotone((old, new) in fractions_and_growth(), salt in "[a-z0-9]{0,12}") {
        let a = plan_with(&salt, &old).assigner();
        let b = plan_with(&salt, &new).assigner();
        for id in ids(2000, "m") {
            let before = ring_rank(a.ring_of(&id), old.len());
            let after = ring_rank(b.ring_of(&id), new.len());
            prop_assert!(after <= before, "{id}: ring {before} -> {after}");
        }
    }

    #[test]
    fn exact_is_monotone_and_exact((old, new) in fractions_and_growth(), n in 0usize..600) {
        let fleet: Vec<Device> = ids(n, "x").into_iter().map(Device::new).collect();
        let a = plan_with("s", &old).assign_fleet(&fleet).unwrap();
        let b = plan_with("s", &new).assign_fleet(&fleet).unwrap();
        // Exact cumulative sizes.
        for (fa, plan_f) in [(&a, &old), (&b, &new)] {
            let mut cum = 0u64;
            for (k, f) in plan_f.iter().enumerate() {
                cum += fa.rings[k].len() as u64;
                let want = (f * 1e9).round() as u128 * n as u128;
                let want = want.div_ceil(1_000_000_000) as u64;
                prop_assert_eq!(cum, want, "ring {} of {:?}", k, plan_f);
            }
            prop_assert_eq!(cum as usize + fa.not_yet.len(), n);
        }
        let rank = |fa: &FleetAssignment, i: usize, rings: usize| {
            ring_rank(fa.ring_of(i).map(|r| r.0), rings)
        };
        for i in 0..fleet.len() {
            prop_assert!(rank(&b, i, new.len()) <= rank(&a, i, old.len()));
        }
    }

    /// The same plan and fleet give the same result, also after a JSON round trip of the plan
    /// and with the fleet in another order; exact mode follows the stateless order.
    #[test]
    fn deterministic((old, _) in fractions_and_growth(), n in 1usize..300, rot in 0usize..300) {
        let plan = plan_with("det", &old);
        let fleet: Vec<Device> = ids(n, "d").into_iter().map(Device::new).collect();
        let mut rotated = fleet.clone();
        rotated.rotate_left(rot % n);
        let again = Plan::from_json(plan.to_json().as_bytes(), &Limits::default()).unwrap();
        let x = plan.assign_fleet(&fleet).unwrap();
        prop_assert_eq!(&x, &again.assign_fleet(&fleet).unwrap());
        let y = again.assign_fleet(&rotated).unwrap();
        prop_assert_eq!(ring_ids(&x, &fleet), ring_ids(&y, &rotated));
        for d in &fleet {
            prop_assert_eq!(plan.assign(d), again.assign(d));
        }
        // Exact rings are consecutive runs of the position order.
        let assigner = plan.assigner();
        let mut last = 0.0f64;
        for ring in &x.rings {
            for &i in ring {
                let p = assigner.position(&fleet[i].id);
                prop_assert!(p >= last);
                last = p;
            }
        }
    }

    /// Ring sizes in stateless mode follow the binomial distribution: within 5 standard
    /// deviations of n*f (a false failure about once in 1.7 million cases).
    #[test]
    fn stateless_sizes_within_binomial_bounds(f in 0.001f64..1.0, salt in "[a-z]{1,8}") {
        let n = 20_000usize;
        let a = plan_with(&salt, &[f]).assigner();
        let count = ids(n, "b").iter().filter(|id| a.ring_of(id).is_some()).count() as f64;
        let mean = n as f64 * f;
        let sd = (n as f64 * f * (1.0 - f)).sqrt();
        prop_assert!((count - mean).abs() <= 5.0 * sd + 1.0, "f={f} count={count} mean={mean} sd={sd}");
    }

    /// Every stratum present gets a canary, no stratum more than its upper quota, and the
    /// canary ring has exactly max(ceil(f0 N), number of strata) devices.
    #[test]
    fn strata_are_covered_and_proportional(
        sizes in proptest::collection::vec(1usize..400, 1..8),
        f0 in 0.001f64..0.3,
    ) {
        let mut fleet = Vec::new();
        for (s, &count) in sizes.iter().enumerate() {
            for i in 0..count {
                fleet.push(Device::new(format!("s{s}-{i}")).with("hw", format!("rev{s}")));
            }
        }
        let n = fleet.len() as u64;
        let mut plan = plan_with("strata", &[f0, 1.0]);
        plan.strata = vec!["hw".into()];
        let fa = plan.assign_fleet(&fleet).unwrap();
        let seats = (((f0 * 1e9).round() as u128 * n as u128).div_ceil(1_000_000_000)) as u64;
        let mut per: BTreeMap<String, u64> = BTreeMap::new();
        for &i in &fa.rings[0] {
            let s = fleet[i].id.split('-').next().unwrap().to_string();
            *per.entry(s).or_default() += 1;
        }
        prop_assert_eq!(per.len(), sizes.len(), "a stratum has no canary");
        let total: u64 = per.values().sum();
        prop_assert_eq!(total, seats.max(sizes.len() as u64));
        for (s, &count) in sizes.iter().enumerate() {
            let got = per[&format!("s{s}")];
            let quota = (seats as u128 * count as u128).div_ceil(n as u128) as u64;
            prop_assert!(got <= quota.max(1), "stratum {s}: {got} canaries, upper quota {quota}");
        }
        // The rest of the fleet is in ring 1; nobody is lost or doubled.
        prop_assert_eq!(fa.rings[0].len() + fa.rings[1].len(), fleet.len());
        let all: BTreeSet<&usize> = fa.rings.iter().flatten().collect();
        prop_assert_eq!(all.len(), fleet.len());
    }

    /// With strata, growing shares other than the canary's stays monotone.
    #[test]
    fn strata_monotone_in_later_fractions(f1 in 0.05f64..0.5, grow in 0.0f64..0.5) {
        let fleet: Vec<Device> = (0..500)
            .map(|i| Device::new(format!("d{i}")).with("region", ["eu", "us", "ap", "sa"][i % 4]))
            .collect();
        let mk = |f1: f64| {
            let mut p = plan_with("m", &[0.02, f1, 1.0]);
            p.strata = vec!["region".into()];
            p.assign_fleet(&fleet).unwrap()
        };
        let a = mk(f1);
        let b = mk((f1 + grow).min(1.0));
        for i in 0..fleet.len() {
            prop_assert!(b.ring_of(i).unwrap().0 <= a.ring_of(i).unwrap().0);
        }
    }
}

#[test]
fn overrides_and_eligibility() {
    let mut plan = plan_with("o", &[0.01, 0.5]);
    plan.pinned.insert("lab-1".into(), 0);
    plan.pinned.insert("old-1".into(), 0);
    plan.excluded.insert("vip-1".into());
    plan.eligibility = Some(Selector::Equals {
        attr: "model".into(),
        value: "new".into(),
    });
    plan.validate(&Limits::default()).unwrap();
    let lab = Device::new("lab-1").with("model", "new");
    let old = Device::new("old-1").with("model", "old");
    let vip = Device::new("vip-1").with("model", "new");
    assert_eq!(plan.assign(&lab), Assignment::Pinned(0));
    assert_eq!(plan.assign(&vip), Assignment::Excluded);
    // Pinning does not override eligibility.
    assert!(matches!(plan.assign(&old), Assignment::Ineligible(_)));

    let mut fleet: Vec<Device> = (0..1000)
        .map(|i| Device::new(format!("d{i}")).with("model", "new"))
        .collect();
    fleet.extend([lab, old, vip]);
    let fa = plan.assign_fleet(&fleet).unwrap();
    assert!(
        fa.rings[0].contains(&1000),
        "lab-1 is pinned to the canary ring"
    );
    assert_eq!(fa.excluded, [1002], "vip-1");
    assert_eq!(fa.ineligible.len(), 1);
    assert_eq!(fa.ineligible[0].0, 1001, "old-1");
    // N = 1001 eligible: ring 0 holds ceil(10.01) = 11 including the pinned device.
    assert_eq!(fa.rings[0].len(), 11);
    assert_eq!(fa.rings[0].len() + fa.rings[1].len(), 501);
    assert_eq!(fa.not_yet.len(), 1001 - 501);
}

#[test]
fn pins_beyond_the_quota_grow_the_ring() {
    let mut plan = plan_with("p", &[0.01, 1.0]);
    for i in 0..5 {
        plan.pinned.insert(format!("d{i}"), 0);
    }
    let fleet: Vec<Device> = (0..100).map(|i| Device::new(format!("d{i}"))).collect();
    let fa = plan.assign_fleet(&fleet).unwrap();
    assert_eq!(fa.rings[0].len(), 5);
    assert_eq!(fa.rings[1].len(), 95);
}

#[test]
fn duplicate_ids_are_refused() {
    let plan = plan_with("p", &[1.0]);
    let fleet = vec![Device::new("a"), Device::new("b"), Device::new("a")];
    assert_eq!(
        plan.assign_fleet(&fleet),
        Err(Error::DuplicateDevice { id: "a".into() })
    );
}

#[test]
fn different_salts_draw_different_canaries() {
    let fleet: Vec<Device> = (0..10_000).map(|i| Device::new(format!("d{i}"))).collect();
    let a = plan_with("r1", &[0.01, 1.0]).assign_fleet(&fleet).unwrap();
    let b = plan_with("r2", &[0.01, 1.0]).assign_fleet(&fleet).unwrap();
    let sa: BTreeSet<_> = a.rings[0].iter().collect();
    // (Indices into the same fleet, so they compare as ids.)
    let overlap = b.rings[0].iter().filter(|d| sa.contains(d)).count();
    // Independent draws of 100 out of 10,000 overlap by 1 on average.
    assert!(overlap <= 8, "overlap {overlap}");
}

/// The guide's rings: 1% / 10% / the remaining 89% of 20,000 devices are 200 / 2,000 / 17,800,
/// and the default shares say exactly that.
#[test]
fn default_shares_are_the_guides_rings() {
    assert_eq!(ota_rollout::DEFAULT_RING_SHARES, [0.01, 0.10, 0.89]);
    let plan = plan_shares("guide", &ota_rollout::DEFAULT_RING_SHARES);
    assert_eq!(plan.cumulative_shares(), [0.01, 0.11, 1.0]);
    let fleet: Vec<Device> = (0..20_000).map(|i| Device::new(format!("d{i}"))).collect();
    let fa = plan.assign_fleet(&fleet).unwrap();
    assert_eq!(fa.ring_sizes(), [200, 2_000, 17_800]);
    assert!(fa.not_yet.is_empty());
    // Every device once, and `ring_by_device` agrees with the rings.
    let by = fa.ring_by_device(fleet.len());
    for (k, ring) in fa.rings.iter().enumerate() {
        for (i, &d) in ring.iter().enumerate() {
            assert_eq!(by[d], Some((k, i as u64)));
        }
    }
    assert!(by.iter().all(Option::is_some));
}

/// The slip the old cumulative field invited: shares written as cumulative bounds add up to
/// more than the fleet, and the plan says so instead of silently shrinking the last ring.
#[test]
fn cumulative_bounds_written_as_shares_are_refused() {
    let err = plan_shares("slip", &[0.01, 0.10, 1.0])
        .validate(&Limits::default())
        .unwrap_err();
    match err {
        Error::InvalidPlan { field, reason } => {
            assert_eq!(field, "/rings/2/share");
            assert!(reason.contains("not a cumulative bound"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    let old = br#"{"salt":"s","rings":[{"name":"all","fraction":1.0,"gate":{"rule":{"kind":"manual"}}}]}"#;
    match Plan::from_json(old, &Limits::default()).unwrap_err() {
        Error::Json { message, .. } => assert!(message.contains("`share`"), "{message}"),
        other => panic!("{other:?}"),
    }
}
