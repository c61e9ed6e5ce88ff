//! The deferral rules of the install decision (`Manifest::schedule`), rule by rule with their
//! boundaries, on the supply-chain fixture tests/data/cra.cbor (lock-fw: security, CVEs; door-app:
//! feature; issued at 1 764 000 000, max security deferral 7 days, support ends 2031-01-01).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ota_manifest::{
    DeferralPolicy, DeviceId, DeviceState, Due, Installed, Manifest, Rule, Support, Timing,
    UpdateClass, Urgency, Window,
};

const DAY: u64 = 86_400;
const ISSUED: u64 = 1_764_000_000;
const SUPPORT_END: u64 = 1_924_992_000;

fn cra() -> Manifest {
    let path = format!("{}/tests/data/cra.cbor", env!("CARGO_MANIFEST_DIR"));
    Manifest::from_cbor(&std::fs::read(path).unwrap()).unwrap()
}

fn feature_only() -> Manifest {
    let mut m = cra();
    for c in &mut m.components {
        c.update_class = Some(UpdateClass::Feature);
        c.cves.clear();
    }
    m
}

fn device(m: &Manifest, now: u64) -> DeviceState {
    DeviceState {
        vendor: m.compatibility.vendor.clone(),
        class: m.compatibility.classes[0].clone(),
        hardware: "2.1.0".into(),
        installed: vec![],
        security_counter: 0,
        last_sequence: None,
        now,
        active_slot: ota_manifest::Slot::A,
    }
}

fn policy(feature_days: u64, security_days: u64) -> DeferralPolicy {
    DeferralPolicy {
        feature_deferral: feature_days * DAY,
        security_deferral: security_days * DAY,
        window: None,
    }
}

fn timing(m: &Manifest, now: u64, p: &DeferralPolicy) -> Timing {
    m.schedule(&device(m, now), p).unwrap().timing
}

#[test]
fn the_default_policy_postpones_nothing_and_plans_as_plan_does() {
    for m in [cra(), feature_only()] {
        let d = device(&m, ISSUED + 5);
        let s = m.schedule(&d, &DeferralPolicy::default()).unwrap();
        assert_eq!(s.timing, Timing::Now(Due::NotDeferrable));
        assert_eq!(s.plan, m.plan(&d).unwrap());
    }
}

#[test]
fn a_feature_release_waits_until_the_policy_deadline_and_not_one_second_more() {
    let m = feature_only();
    let p = policy(14, 0);
    let deadline = ISSUED + 14 * DAY;
    let s = m.schedule(&device(&m, ISSUED), &p).unwrap();
    assert_eq!(s.urgency, Urgency::Feature);
    assert_eq!(s.deadline, deadline);
    assert_eq!(s.timing, Timing::Wait { until: deadline });
    assert_eq!(
        timing(&m, deadline - 1, &p),
        Timing::Wait { until: deadline }
    );
    assert_eq!(timing(&m, deadline, &p), Timing::Now(Due::Deadline));
    assert_eq!(timing(&m, deadline + 1, &p), Timing::Now(Due::Deadline));
    // A feature release ignores the security deferral, and a policy of 0 days does not defer.
    assert_eq!(
        timing(&m, ISSUED, &policy(0, 30)),
        Timing::Now(Due::NotDeferrable)
    );
}

#[test]
fn a_security_release_is_not_postponed_past_its_deadline() {
    let m = cra();
    // The manifest caps the policy's 30 days at 7.
    let p = policy(60, 30);
    let s = m.schedule(&device(&m, ISSUED), &p).unwrap();
    assert_eq!(s.urgency, Urgency::Security);
    let deadline = ISSUED + 7 * DAY;
    assert_eq!(s.deadline, deadline);
    assert_eq!(
        timing(&m, deadline - 1, &p),
        Timing::Wait { until: deadline }
    );
    assert_eq!(timing(&m, deadline, &p), Timing::Now(Due::Deadline));
    // A stricter policy wins over the manifest's bound.
    let s = m.schedule(&device(&m, ISSUED), &policy(60, 3)).unwrap();
    assert_eq!(s.deadline, ISSUED + 3 * DAY);
    // Without a bound in the manifest, the policy's alone.
    let mut open = cra();
    open.max_security_deferral = None;
    let s = open.schedule(&device(&open, ISSUED), &p).unwrap();
    assert_eq!(s.deadline, ISSUED + 30 * DAY);
    // A bound of 0: install as soon as received, whatever the policy allows.
    let mut now = cra();
    now.max_security_deferral = Some(0);
    assert_eq!(timing(&now, ISSUED, &p), Timing::Now(Due::NotDeferrable));
}

#[test]
fn an_unclassified_component_is_postponed_no_longer_than_a_security_update() {
    let mut m = feature_only();
    m.components[1].update_class = None;
    let s = m.schedule(&device(&m, ISSUED), &policy(14, 2)).unwrap();
    assert_eq!(s.urgency, Urgency::Security);
    assert_eq!(s.deadline, ISSUED + 2 * DAY);
    assert_eq!(m.update_class(), None); // the fleet sees no security release
}

#[test]
fn only_components_the_plan_changes_decide_the_urgency() {
    let m = cra();
    let mut d = device(&m, ISSUED);
    // The security firmware is already installed: only the feature app changes.
    d.installed.push(Installed {
        id: "lock-fw".into(),
        version: m.components[0].version.clone(),
        sha256: m.components[0].sha256,
    });
    let s = m.schedule(&d, &policy(14, 1)).unwrap();
    assert_eq!(s.urgency, Urgency::Feature);
    assert_eq!(s.deadline, ISSUED + 14 * DAY);
}

#[test]
fn a_window_brings_the_install_forward_but_never_past_the_deadline() {
    let m = feature_only();
    let day0 = ISSUED - ISSUED % DAY; // midnight UTC of the issue day
    let mut p = policy(3, 0);
    p.window = Some(Window {
        start: 2 * 3600, // 02:00 to 04:00 UTC
        length: 2 * 3600,
    });
    let deadline = ISSUED + 3 * DAY;
    // Issued at 16:00 UTC, after the day's window: wait for tomorrow's.
    let now = ISSUED;
    assert_eq!(now - day0, 16 * 3600);
    assert_eq!(
        timing(&m, now, &p),
        Timing::Wait {
            until: day0 + DAY + 2 * 3600
        }
    );
    assert_eq!(
        timing(&m, day0 + DAY + 2 * 3600, &p),
        Timing::Now(Due::WindowOpen)
    );
    assert_eq!(
        timing(&m, day0 + DAY + 4 * 3600 - 1, &p),
        Timing::Now(Due::WindowOpen)
    );
    assert_eq!(
        timing(&m, day0 + DAY + 4 * 3600, &p),
        Timing::Wait {
            until: day0 + 2 * DAY + 2 * 3600
        }
    );
    // A window that opens only after the deadline: wait until the deadline, then install.
    p.window = Some(Window {
        start: u32::try_from((deadline % DAY + 3600) % DAY).unwrap(),
        length: 60,
    });
    assert_eq!(
        timing(&m, deadline - 10, &p),
        Timing::Wait { until: deadline }
    );
    assert_eq!(timing(&m, deadline, &p), Timing::Now(Due::Deadline));
}

#[test]
fn past_the_support_end_the_device_is_told_and_still_gets_the_plan() {
    let mut m = cra();
    m.expires_at = None; // the fixture's release expires long before its support end
    let p = policy(0, 0);
    let s = m.schedule(&device(&m, SUPPORT_END - 1), &p).unwrap();
    assert_eq!(
        s.support,
        Support::Until {
            ends_at: SUPPORT_END
        }
    );
    let s = m.schedule(&device(&m, SUPPORT_END), &p).unwrap();
    assert_eq!(
        s.support,
        Support::Ended {
            ended_at: SUPPORT_END
        }
    );
    assert!(!s.plan.steps.is_empty());
    let mut unstated = cra();
    unstated.support_ends_at = None;
    let s = unstated.schedule(&device(&unstated, ISSUED), &p).unwrap();
    assert_eq!(s.support, Support::Unstated);
}

#[test]
fn refusals_are_plans_refusals_and_deadlines_saturate() {
    let m = cra();
    let mut d = device(&m, ISSUED);
    d.class = DeviceId::from_uuid([9; 16]);
    let r = m.schedule(&d, &policy(1, 1)).unwrap_err();
    assert_eq!(r.rule, Rule::WrongClass);
    let mut late = feature_only();
    late.issued_at = u64::MAX - 10;
    late.expires_at = None;
    late.support_ends_at = None;
    let s = late
        .schedule(&device(&late, u64::MAX - 5), &policy(u64::MAX / DAY, 0))
        .unwrap();
    assert_eq!(s.deadline, u64::MAX);
    assert_eq!(s.timing, Timing::Wait { until: u64::MAX });
}

#[test]
fn the_release_class_for_a_fleet() {
    assert_eq!(cra().update_class(), Some(UpdateClass::Security));
    assert_eq!(feature_only().update_class(), Some(UpdateClass::Feature));
}
