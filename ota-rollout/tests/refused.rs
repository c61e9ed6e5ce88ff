#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Refusals (`Report::Refused`): a device that refused the release completes its ring but is
//! neither a success nor a failure for any gate.

use ota_rollout::{
    Decision, Error, Event, FailAction, Gate, Inconclusive, Outcome, Plan, Report, Ring, RingStats,
    Rollout, Rule, Sprt, SprtDecision, Status, Threshold, Why,
};
use proptest::prelude::*;

const SPRT: Sprt = Sprt {
    p0: 0.01,
    p1: 0.05,
    alpha: 0.05,
    beta: 0.10,
};

const THRESHOLD: Rule = Rule::Threshold(Threshold {
    max_failure_percent: 60.0,
    min_executions: 2,
});

fn plan(gates: &[Gate]) -> Plan {
    let shares = ota_rollout::DEFAULT_RING_SHARES;
    Plan::new(
        "t",
        gates
            .iter()
            .zip(shares)
            .enumerate()
            .map(|(i, (g, f))| Ring {
                name: format!("r{i}"),
                share: f,
                gate: g.clone(),
            })
            .collect(),
    )
}

fn send(r: &mut Rollout, ring: usize, index: u64, outcome: Report) -> Vec<Decision> {
    r.handle(
        Event::Report {
            ring,
            index,
            outcome,
        },
        10,
    )
    .unwrap()
}

fn promoted(ds: &[Decision]) -> Option<&ota_rollout::Verdict> {
    ds.iter().find_map(|d| match d {
        Decision::Promote { verdict, .. } => Some(verdict),
        _ => None,
    })
}

#[test]
fn threshold_ring_with_refusals_promotes_and_the_last_ring_completes() {
    let mut r = Rollout::new(plan(&vec![Gate::new(THRESHOLD); 2]), &[4, 3], 0).unwrap();
    r.handle(Event::Tick, 0).unwrap();
    assert!(send(&mut r, 0, 0, Report::Succeeded).is_empty());
    assert!(send(&mut r, 0, 1, Report::Refused).is_empty());
    assert!(send(&mut r, 0, 2, Report::Succeeded).is_empty());
    // The fourth device refuses: the ring is complete, 2 of 2 counted reports succeeded.
    let d = send(&mut r, 0, 3, Report::Refused);
    let v = promoted(&d).expect("promoted");
    assert_eq!((v.reports, v.failures), (2, 0));
    assert!(matches!(v.why, Why::ThresholdHeld { .. }), "{v:?}");
    assert_eq!(r.rings()[0].stats.refused, 2);
    assert_eq!(r.rings()[0].stats.resolved(), 4);
    assert_eq!(r.reports(), 2);
    assert_eq!(r.refused(), 2);
    // Last ring: a refusal as the very last report completes the rollout.
    send(&mut r, 1, 0, Report::Succeeded);
    send(&mut r, 1, 1, Report::Failed);
    let d = send(&mut r, 1, 2, Report::Refused);
    assert_eq!(d, [Decision::Complete]);
    assert_eq!(r.status(), &Status::Completed);
    assert_eq!(r.refused(), 3);
}

#[test]
fn manual_ring_with_refusals_waits_for_approval_once_complete() {
    let mut r = Rollout::new(plan(&vec![Gate::new(Rule::Manual); 2]), &[3, 2], 0).unwrap();
    r.handle(Event::Tick, 0).unwrap();
    assert!(send(&mut r, 0, 0, Report::Refused).is_empty());
    assert!(send(&mut r, 0, 1, Report::Succeeded).is_empty());
    let d = send(&mut r, 0, 2, Report::Refused);
    let [Decision::Pause { ring: 0, verdict }] = d.as_slice() else {
        panic!("{d:?}")
    };
    assert_eq!(verdict.why, Why::AwaitingApproval);
    assert_eq!(verdict.reports, 1);
    let d = r.handle(Event::Approve, 10).unwrap();
    assert!(promoted(&d).is_some(), "{d:?}");
    // A ring whose every device refused is complete without any counted report.
    send(&mut r, 1, 0, Report::Refused);
    assert_eq!(send(&mut r, 1, 1, Report::Refused), [Decision::Complete]);
}

#[test]
fn undecided_sprt_on_a_ring_with_refusals_does_what_on_inconclusive_says() {
    for (on_inconclusive, expect_promote) in
        [(Inconclusive::Pause, false), (Inconclusive::Promote, true)]
    {
        let gate = Gate {
            on_inconclusive,
            ..Gate::new(Rule::Sprt(SPRT))
        };
        let mut r = Rollout::new(plan(&[gate.clone(), gate]), &[5, 5], 0).unwrap();
        r.handle(Event::Tick, 0).unwrap();
        for i in 0..3 {
            assert!(send(&mut r, 0, i, Report::Succeeded).is_empty());
        }
        assert!(send(&mut r, 0, 3, Report::Refused).is_empty());
        let d = send(&mut r, 0, 4, Report::Refused);
        if expect_promote {
            let v = promoted(&d).expect("promoted");
            assert!(matches!(v.why, Why::SprtInconclusive { .. }), "{v:?}");
            // The carried evidence is the three successes, no refusal.
            assert_eq!(r.rings()[1].stats.carried_succeeded, 3);
        } else {
            let [Decision::Pause { ring: 0, verdict }] = d.as_slice() else {
                panic!("{d:?}")
            };
            assert!(matches!(verdict.why, Why::SprtInconclusive { .. }));
        }
        assert_eq!(r.sprt_progress(0).unwrap().successes, 3);
        assert_eq!(r.sprt_progress(0).unwrap().failures, 0);
    }
}

#[test]
fn refusals_do_not_dilute_failures() {
    // Two failures in a ring of 100 reject the SPRT baseline whatever the refusals around them.
    let mut r = Rollout::new(plan(&vec![Gate::new(Rule::Sprt(SPRT)); 2]), &[100, 10], 0).unwrap();
    r.handle(Event::Tick, 0).unwrap();
    for i in 0..50 {
        assert!(send(&mut r, 0, i, Report::Refused).is_empty());
    }
    assert!(send(&mut r, 0, 50, Report::Failed).is_empty());
    let d = send(&mut r, 0, 51, Report::Failed);
    let [Decision::Abort { ring: 0, verdict }] = d.as_slice() else {
        panic!("{d:?}")
    };
    assert_eq!((verdict.reports, verdict.failures), (2, 2));
}

#[test]
fn a_refusal_is_final_a_later_report_of_the_device_is_a_duplicate() {
    let mut r = Rollout::new(plan(&vec![Gate::new(THRESHOLD); 2]), &[3, 3], 0).unwrap();
    r.handle(Event::Tick, 0).unwrap();
    send(&mut r, 0, 0, Report::Refused);
    let before = r.clone();
    for outcome in [Report::Succeeded, Report::Failed, Report::Refused] {
        let e = r
            .handle(
                Event::Report {
                    ring: 0,
                    index: 0,
                    outcome,
                },
                11,
            )
            .unwrap_err();
        assert_eq!(e, Error::DuplicateReport { ring: 0, index: 0 });
        assert_eq!(r, before);
    }
    // Refusing a device that has not started is refused like any report.
    let e = r
        .handle(
            Event::Report {
                ring: 1,
                index: 0,
                outcome: Report::Refused,
            },
            11,
        )
        .unwrap_err();
    assert_eq!(e, Error::NotStarted { ring: 1, index: 0 });
}

#[test]
fn persisted_state_without_refusals_is_unchanged_and_bad_counts_are_refused() {
    let mut r = Rollout::new(plan(&vec![Gate::new(THRESHOLD); 2]), &[3, 3], 0).unwrap();
    r.handle(Event::Tick, 0).unwrap();
    send(&mut r, 0, 0, Report::Succeeded);
    // No refusal: the field is not written, so states read and written before it existed
    // look the same.
    let json = serde_json::to_string(&r).unwrap();
    assert!(!json.contains("refused"), "{json}");
    send(&mut r, 0, 1, Report::Refused);
    let json = serde_json::to_string(&r).unwrap();
    assert!(json.contains("\"refused\":1"), "{json}");
    let back: Rollout = serde_json::from_str(&json).unwrap();
    assert_eq!(back, r);
    // A refusal count that the reported bits do not back is an error, not a state.
    let bad = json.replace("\"refused\":1", "\"refused\":2");
    assert!(serde_json::from_str::<Rollout>(&bad).is_err());
    let bad = json.replace("\"refused\":1", "\"refused\":0");
    assert!(serde_json::from_str::<Rollout>(&bad).is_err());
}

fn any_gate() -> impl Strategy<Value = Gate> {
    let rule = prop_oneof![
        Just(Rule::Sprt(SPRT)),
        (0.0f64..60.0, 0u64..6).prop_map(|(max_failure_percent, min_executions)| {
            Rule::Threshold(Threshold {
                max_failure_percent,
                min_executions,
            })
        }),
        Just(Rule::Manual),
    ];
    (rule, 0u64..8, any::<bool>(), any::<bool>()).prop_map(|(rule, min_reports, pause, promote)| {
        Gate {
            min_reports,
            on_fail: if pause {
                FailAction::Pause
            } else {
                FailAction::Abort
            },
            on_inconclusive: if promote {
                Inconclusive::Promote
            } else {
                Inconclusive::Pause
            },
            ..Gate::new(rule)
        }
    })
}

#[derive(Debug, Clone)]
enum Step {
    Tick(u64),
    Report(usize, u64, bool),
    Approve,
    Resume,
    Pause,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0u64..60).prop_map(Step::Tick),
        20 => (0usize..3, 0u64..10, proptest::bool::weighted(0.8))
            .prop_map(|(r, i, ok)| Step::Report(r, i, ok)),
        1 => Just(Step::Approve),
        1 => Just(Step::Resume),
        1 => Just(Step::Pause),
    ]
}

/// Everything but `Start` (whose counts include the refusing devices).
fn not_starts(ds: Vec<Decision>) -> Vec<Decision> {
    ds.into_iter()
        .filter(|d| !matches!(d, Decision::Start { .. }))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A gate judges a ring with refused devices exactly as the same ring without them.
    #[test]
    fn a_gate_ignores_refused_devices(
        gate in any_gate(),
        size in 0u64..40,
        succ in 0u64..40,
        fail in 0u64..40,
        refused in 0u64..20,
        soaked in 0u64..100,
        latched in prop_oneof![Just(SprtDecision::Continue), Just(SprtDecision::AcceptBaseline), Just(SprtDecision::RejectBaseline)],
    ) {
        let size = size.max(succ + fail);
        let without = RingStats { size, started: succ + fail, succeeded: succ, failed: fail, ..RingStats::default() };
        let with = RingStats { size: size + refused, started: succ + fail + refused, refused, ..without };
        prop_assert_eq!(gate.evaluate(&with, soaked, latched), gate.evaluate(&without, soaked, latched));
    }

    /// Adding refusing devices to every ring, and their refusals to any sequence of reports and
    /// operator events, leaves every gate decision unchanged (only `Start` counts differ).
    #[test]
    fn refusals_leave_rollout_decisions_unchanged(
        gates in proptest::collection::vec(any_gate(), 3),
        sizes in proptest::collection::vec(1u64..8, 3),
        extra in proptest::collection::vec(0u64..4, 3),
        steps in proptest::collection::vec(step(), 1..80),
    ) {
        let p = plan(&gates);
        let mut a = Rollout::new(p.clone(), &sizes, 0).unwrap();
        let b_sizes: Vec<u64> = sizes.iter().zip(&extra).map(|(s, e)| s + e).collect();
        let mut b = Rollout::new(p, &b_sizes, 0).unwrap();
        // In B, ring k's devices alternate (A's device, a refuser) while both remain; A's device
        // i is B's i-th non-refusing device.
        let mut a_to_b = vec![Vec::new(); 3];
        let mut refusers = vec![Vec::new(); 3];
        for k in 0..3 {
            let (mut i, mut j) = (0, 0);
            for b_index in 0..b_sizes[k] {
                if j < extra[k] && (i >= sizes[k] || b_index % 2 == 1) {
                    refusers[k].push(b_index);
                    j += 1;
                } else {
                    a_to_b[k].push(b_index);
                    i += 1;
                }
            }
        }
        // Out of range in A stays out of range in B.
        let map = |k: usize, i: u64| a_to_b[k].get(i as usize).copied().unwrap_or(i + extra[k]);
        let mut refusals_sent = [false; 3];
        let mut now = 0;
        let mut events = vec![Step::Tick(0)];
        events.extend(steps);
        for s in events {
            let (ea, eb) = match s {
                Step::Tick(dt) => { now += dt; (Event::Tick, Event::Tick) }
                Step::Report(k, i, ok) => {
                    let outcome = if ok { Report::Succeeded } else { Report::Failed };
                    (Event::Report { ring: k, index: i, outcome }, Event::Report { ring: k, index: map(k, i), outcome })
                }
                Step::Approve => (Event::Approve, Event::Approve),
                Step::Resume => (Event::Resume, Event::Resume),
                Step::Pause => (Event::Pause { note: "p".into() }, Event::Pause { note: "p".into() }),
            };
            let da = a.handle(ea, now);
            let db = b.handle(eb, now);
            prop_assert_eq!(da.is_err(), db.is_err(), "{:?} / {:?}", da, db);
            let (Ok(da), Ok(db)) = (da, db) else { continue };
            let mut db = db;
            // Refusals of a ring come in as soon as its devices have started.
            for k in 0..3 {
                if !refusals_sent[k] && b.rings()[k].stats.started > 0 && matches!(b.status(), Status::Running | Status::Paused { .. }) {
                    refusals_sent[k] = true;
                    for &index in &refusers[k] {
                        db.extend(b.handle(Event::Report { ring: k, index, outcome: Report::Refused }, now).unwrap());
                    }
                }
            }
            prop_assert_eq!(not_starts(da), not_starts(db));
            prop_assert_eq!(a.status(), b.status());
            prop_assert_eq!(a.active_ring(), b.active_ring());
            for (ra, rb) in a.rings().iter().zip(b.rings()) {
                prop_assert_eq!((ra.stats.succeeded, ra.stats.failed), (rb.stats.succeeded, rb.stats.failed));
                prop_assert_eq!(ra.sprt, rb.sprt);
                prop_assert!(rb.stats.resolved() <= rb.stats.started);
            }
        }
    }
}

#[test]
fn outcome_of_a_refusal_only_ring_is_promotion_as_an_empty_ring() {
    let mut r = Rollout::new(plan(&vec![Gate::new(Rule::Sprt(SPRT)); 2]), &[2, 2], 0).unwrap();
    r.handle(Event::Tick, 0).unwrap();
    send(&mut r, 0, 0, Report::Refused);
    let d = send(&mut r, 0, 1, Report::Refused);
    let v = promoted(&d).expect("promoted");
    assert_eq!(v.why, Why::EmptyRing);
    assert_eq!(v.outcome, Outcome::Promote);
}
