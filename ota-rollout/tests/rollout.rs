#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The state machine: scenarios, manual events, rate limits, errors that change nothing, and
//! serde round trips at every step.

use ota_rollout::{
    Decision, Error, Event, Exponential, FailAction, Gate, Inconclusive, Outcome, Plan,
    RateIncreaseCriteria, RateLimit, Report, Ring, Rollout, Rule, Sprt, SprtDecision, Status, Why,
};
use proptest::prelude::*;

const SPRT: Sprt = Sprt {
    p0: 0.01,
    p1: 0.05,
    alpha: 0.05,
    beta: 0.10,
};

fn plan(rules: &[Rule], soak: u64) -> Plan {
    let shares = ota_rollout::DEFAULT_RING_SHARES;
    Plan::new(
        "t",
        rules
            .iter()
            .zip(shares)
            .enumerate()
            .map(|(i, (&rule, f))| Ring {
                name: format!("r{i}"),
                share: f,
                gate: Gate {
                    min_soak_secs: soak,
                    ..Gate::new(rule)
                },
            })
            .collect(),
    )
}

fn starts(ds: &[Decision]) -> Vec<(usize, u64, u64)> {
    ds.iter()
        .filter_map(|d| match d {
            Decision::Start { ring, first, count } => Some((*ring, *first, *count)),
            _ => None,
        })
        .collect()
}

fn report(r: &mut Rollout, ring: usize, index: u64, ok: bool, now: u64) -> Vec<Decision> {
    let outcome = if ok {
        Report::Succeeded
    } else {
        Report::Failed
    };
    r.handle(
        Event::Report {
            ring,
            index,
            outcome,
        },
        now,
    )
    .unwrap()
}

#[test]
fn bad_canary_aborts_with_numbers_and_nothing_after() {
    let p = plan(&[Rule::Sprt(SPRT); 3], 0);
    let mut r = Rollout::new(p, &[100, 900, 9000], 0).unwrap();
    let d = r.handle(Event::Tick, 0).unwrap();
    // No rate limit: the whole canary ring starts, and only it.
    assert_eq!(starts(&d), [(0, 0, 100)]);
    assert!(report(&mut r, 0, 0, false, 10).is_empty());
    let d = report(&mut r, 0, 1, false, 20);
    let Decision::Abort { ring: 0, verdict } = &d[0] else {
        panic!("{d:?}")
    };
    assert_eq!(verdict.outcome, Outcome::Abort);
    assert_eq!((verdict.reports, verdict.failures), (2, 2));
    assert!(matches!(verdict.why, Why::SprtRejected { .. }));
    assert!(matches!(r.status(), Status::Aborted { ring: 0, .. }));
    let before = r.clone();
    assert_eq!(
        r.handle(Event::Tick, 30),
        Err(Error::Finished { status: "aborted" })
    );
    assert_eq!(r, before);
    assert_eq!(r.started(), 100);
}

/// `sprt_progress` shows the path the gate followed: after each report the log-likelihood ratio
/// is the test's at those counts, strictly inside the bounds while undecided, at or beyond the
/// upper bound on the report that aborts.
#[test]
fn sprt_progress_follows_each_report_to_the_abort() {
    let p = plan(&[Rule::Sprt(SPRT), Rule::Manual, Rule::Manual], 0);
    let mut r = Rollout::new(p, &[100, 900, 9000], 0).unwrap();
    r.handle(Event::Tick, 0).unwrap();
    let (lower, upper) = SPRT.bounds();
    let start = r.sprt_progress(0).unwrap();
    assert_eq!((start.failures, start.successes, start.llr), (0, 0, 0.0));
    assert_eq!((start.lower, start.upper), (lower, upper));
    assert_eq!(r.sprt_progress(1), None, "a manual gate has no SPRT");
    assert_eq!(r.sprt_progress(7), None);
    // One success, then failures until the gate aborts.
    let mut path = Vec::new();
    let mut index = 0;
    loop {
        let d = report(&mut r, 0, index, index == 0, 10 + index);
        let at = r.sprt_progress(0).unwrap();
        assert_eq!(at.llr, SPRT.llr(at.failures, at.successes));
        path.push(at);
        index += 1;
        if matches!(d.first(), Some(Decision::Abort { .. })) {
            break;
        }
        assert!(lower < at.llr && at.llr < upper, "{at:?}");
        assert_eq!(at.decision, SprtDecision::Continue);
    }
    let last = path.last().unwrap();
    assert!(last.llr >= upper);
    assert_eq!(last.decision, SprtDecision::RejectBaseline);
    assert_eq!((last.failures, last.successes), (index - 1, 1));
    assert!(
        path.windows(2).all(|w| w[1].llr > w[0].llr),
        "failures raise it"
    );
}

#[test]
fn good_release_promotes_ring_by_ring_and_completes() {
    let p = plan(&[Rule::Sprt(SPRT); 3], 3600);
    let mut r = Rollout::new(p, &[100, 900, 9000], 0).unwrap();
    r.handle(Event::Tick, 0).unwrap();
    // 55 clean reports accept, but the soak time is not over.
    for i in 0..55 {
        let d = report(&mut r, 0, i, true, 60 + i);
        assert!(d.is_empty(), "{d:?}");
    }
    assert_eq!(r.rings()[0].sprt, SprtDecision::AcceptBaseline);
    assert_eq!(r.active_ring(), 0);
    let d = r.handle(Event::Tick, 3600).unwrap();
    match &d[..] {
        [
            Decision::Promote {
                from: 0,
                to: 1,
                verdict,
            },
            Decision::Start {
                ring: 1,
                first: 0,
                count: 900,
            },
        ] => {
            assert!(matches!(verdict.why, Why::SprtAccepted { .. }));
            assert_eq!(verdict.soaked_secs, 3600);
        }
        other => panic!("{other:?}"),
    }
    for i in 55..100 {
        report(&mut r, 0, i, true, 3700);
    }
    for i in 0..900 {
        report(&mut r, 1, i, i % 150 != 7, 4000);
    }
    let d = r.handle(Event::Tick, 7200).unwrap();
    assert!(matches!(d[0], Decision::Promote { from: 1, to: 2, .. }));
    assert_eq!(starts(&d), [(2, 0, 9000)]);
    for i in 0..8999 {
        assert!(!report(&mut r, 2, i, true, 8000).contains(&Decision::Complete));
    }
    let d = report(&mut r, 2, 8999, true, 8000);
    assert_eq!(d, [Decision::Complete]);
    assert_eq!(*r.status(), Status::Completed);
}

#[test]
fn bad_events_change_nothing() {
    let mut r = Rollout::new(plan(&[Rule::Manual; 3], 0), &[10, 90, 900], 100).unwrap();
    r.handle(Event::Tick, 100).unwrap();
    report(&mut r, 0, 3, true, 110);
    let before = r.clone();
    let bad = |r: &mut Rollout, e: Event, now: u64| r.handle(e, now).unwrap_err();
    let rep = |ring, index| Event::Report {
        ring,
        index,
        outcome: Report::Failed,
    };
    assert_eq!(
        bad(&mut r, Event::Tick, 50),
        Error::TimeWentBackwards { last: 110, now: 50 }
    );
    assert_eq!(
        bad(&mut r, rep(0, 3), 120),
        Error::DuplicateReport { ring: 0, index: 3 }
    );
    assert_eq!(
        bad(&mut r, rep(1, 0), 120),
        Error::NotStarted { ring: 1, index: 0 }
    );
    assert_eq!(
        bad(&mut r, rep(0, 10), 120),
        Error::UnknownDevice { ring: 0, index: 10 }
    );
    assert_eq!(
        bad(&mut r, rep(7, 0), 120),
        Error::UnknownDevice { ring: 7, index: 0 }
    );
    assert!(matches!(
        bad(&mut r, Event::Resume, 120),
        Error::InvalidEvent {
            event: "resume",
            ..
        }
    ));
    assert_eq!(r, before);
    assert!(matches!(
        Rollout::new(plan(&[Rule::Manual; 3], 0), &[1, 2], 0),
        Err(Error::RingCountMismatch { plan: 3, given: 2 })
    ));
}

#[test]
fn manual_gate_pause_approve_resume_abort() {
    let mut r = Rollout::new(plan(&[Rule::Manual; 3], 0), &[2, 8, 90], 0).unwrap();
    r.handle(Event::Tick, 0).unwrap();
    report(&mut r, 0, 0, true, 1);
    let d = report(&mut r, 0, 1, true, 2);
    let [Decision::Pause { ring: 0, verdict }] = &d[..] else {
        panic!("{d:?}")
    };
    assert_eq!(verdict.why, Why::AwaitingApproval);
    // Paused: ticks start nothing.
    assert!(r.handle(Event::Tick, 100).unwrap().is_empty());
    let d = r.handle(Event::Approve, 200).unwrap();
    assert!(matches!(d[0], Decision::Promote { from: 0, to: 1, .. }));
    assert_eq!(starts(&d), [(1, 0, 8)]);
    // A human pause, then resume: starts continue; then a human abort.
    let d = r
        .handle(
            Event::Pause {
                note: "looking".into(),
            },
            300,
        )
        .unwrap();
    assert!(
        matches!(&d[0], Decision::Pause { verdict, .. } if verdict.why == Why::Operator { note: "looking".into() })
    );
    r.handle(Event::Resume, 400).unwrap();
    assert_eq!(*r.status(), Status::Running);
    let d = r
        .handle(
            Event::Abort {
                note: "customer report".into(),
            },
            500,
        )
        .unwrap();
    assert!(matches!(&d[0], Decision::Abort { ring: 1, .. }));
    assert!(r.handle(Event::Approve, 600).is_err());
}

#[test]
fn failing_gate_can_pause_and_a_human_can_resume() {
    let mut p = plan(&[Rule::Sprt(SPRT); 3], 0);
    p.rings[0].gate.on_fail = FailAction::Pause;
    let mut r = Rollout::new(p, &[10, 90, 900], 0).unwrap();
    r.handle(Event::Tick, 0).unwrap();
    report(&mut r, 0, 0, false, 1);
    let d = report(&mut r, 0, 1, false, 2);
    assert!(matches!(&d[..], [Decision::Pause { ring: 0, .. }]));
    r.handle(Event::Resume, 3).unwrap();
    // Acknowledged: the same verdict does not pause again, and the ring can still finish.
    for i in 2..10 {
        let d = report(&mut r, 0, i, true, 4);
        assert!(!d.iter().any(|d| matches!(d, Decision::Pause { .. })));
    }
    assert_eq!(*r.status(), Status::Running);
}

#[test]
fn inconclusive_canary_carries_evidence_into_next_ring() {
    let mut p = plan(&[Rule::Sprt(SPRT); 3], 0);
    for ring in &mut p.rings {
        ring.gate.on_inconclusive = Inconclusive::Promote;
    }
    let mut r = Rollout::new(p, &[20, 200, 2000], 0).unwrap();
    r.handle(Event::Tick, 0).unwrap();
    for i in 0..19 {
        report(&mut r, 0, i, true, 1);
    }
    let d = report(&mut r, 0, 19, true, 1);
    assert!(
        matches!(d[0], Decision::Promote { from: 0, to: 1, .. }),
        "{d:?}"
    );
    assert_eq!(r.rings()[1].stats.carried_succeeded, 20);
    // 35 more clean reports reach the 55 the test needs.
    for i in 0..34 {
        report(&mut r, 1, i, true, 2);
    }
    assert_eq!(r.rings()[1].sprt, SprtDecision::Continue);
    report(&mut r, 1, 34, true, 2);
    assert_eq!(r.rings()[1].sprt, SprtDecision::AcceptBaseline);
}

#[test]
fn rate_limit_per_minute_and_exponential() {
    let mut p = plan(&[Rule::Manual; 3], 0);
    p.rate = Some(RateLimit {
        base_per_minute: 5,
        maximum_per_minute: Some(20),
        exponential: Some(Exponential {
            increment_factor: 2.0,
            criteria: RateIncreaseCriteria::NumberOfNotifiedThings(10),
        }),
    });
    let mut r = Rollout::new(p, &[100, 0, 0], 0).unwrap();
    // Minute 0: 5. Several ticks in the same minute add nothing.
    assert_eq!(starts(&r.handle(Event::Tick, 0).unwrap()), [(0, 0, 5)]);
    assert!(starts(&r.handle(Event::Tick, 30).unwrap()).is_empty());
    // Minute 1: still 5 notified < 10, so 5 more.
    assert_eq!(starts(&r.handle(Event::Tick, 60).unwrap()), [(0, 5, 5)]);
    // 10 notified: rate doubles to 10.
    assert_eq!(starts(&r.handle(Event::Tick, 120).unwrap()), [(0, 10, 10)]);
    // 20 notified: 20 (capped at 20 from then on).
    assert_eq!(starts(&r.handle(Event::Tick, 180).unwrap()), [(0, 20, 20)]);
    assert_eq!(starts(&r.handle(Event::Tick, 240).unwrap()), [(0, 40, 20)]);
}

#[test]
fn empty_rings_are_skipped() {
    let p = plan(&[Rule::Sprt(SPRT), Rule::Sprt(SPRT), Rule::Manual], 0);
    let mut r = Rollout::new(p, &[0, 0, 3], 0).unwrap();
    let d = r.handle(Event::Tick, 0).unwrap();
    assert!(matches!(d[0], Decision::Promote { from: 0, to: 1, .. }));
    assert!(matches!(d[1], Decision::Promote { from: 1, to: 2, .. }));
    assert_eq!(starts(&d), [(2, 0, 3)]);
}

#[derive(Debug, Clone)]
enum Step {
    Tick(u64),
    Report(usize, u64, bool),
    Approve,
    Resume,
    Pause,
    Abort,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => (0u64..400).prop_map(Step::Tick),
        20 => (0usize..3, 0u64..60, proptest::bool::weighted(0.9)).prop_map(|(r, i, ok)| Step::Report(r, i, ok)),
        1 => Just(Step::Approve),
        1 => Just(Step::Resume),
        1 => Just(Step::Pause),
        1 => Just(Step::Abort),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// At every step, the rollout restored from its JSON takes the same event to the same
    /// decisions and the same state; errors leave the state unchanged.
    #[test]
    fn serde_round_trip_at_every_step(steps in proptest::collection::vec(step(), 1..120), rule in 0usize..3) {
        let rule = [Rule::Sprt(SPRT), Rule::Threshold(ota_rollout::Threshold { max_failure_percent: 10.0, min_executions: 5 }), Rule::Manual][rule];
        let mut p = plan(&[rule; 3], 120);
        p.rate = Some(RateLimit::per_minute(7));
        let mut r = Rollout::new(p, &[6, 20, 60], 0).unwrap();
        let mut now = 0u64;
        for s in steps {
            let event = match s {
                Step::Tick(dt) => { now += dt; Event::Tick }
                Step::Report(ring, index, ok) => Event::Report { ring, index, outcome: if ok { Report::Succeeded } else { Report::TimedOut } },
                Step::Approve => Event::Approve,
                Step::Resume => Event::Resume,
                Step::Pause => Event::Pause { note: "p".into() },
                Step::Abort => Event::Abort { note: "a".into() },
            };
            let json = serde_json::to_string(&r).unwrap();
            let mut restored: Rollout = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(&restored, &r);
            let before = r.clone();
            let a = r.handle(event.clone(), now);
            let b = restored.handle(event, now);
            prop_assert_eq!(&a, &b);
            prop_assert_eq!(&r, &restored);
            if a.is_err() {
                prop_assert_eq!(&r, &before);
            }
            // Invariants: counts never exceed sizes; only open rings start devices.
            for (k, ring) in r.rings().iter().enumerate() {
                prop_assert!(ring.stats.reports() <= ring.stats.started);
                prop_assert!(ring.stats.started <= ring.stats.size);
                if k > r.active_ring() {
                    prop_assert_eq!(ring.stats.started, 0);
                }
            }
        }
    }
}

/// A corrupted persisted state is refused when decoded, not discovered by a panic later.
#[test]
fn corrupted_state_is_refused() {
    let mut r = Rollout::new(plan(&[Rule::Manual; 3], 0), &[4, 10, 100], 0).unwrap();
    r.handle(Event::Tick, 0).unwrap();
    report(&mut r, 0, 1, true, 1);
    let good: serde_json::Value = serde_json::to_value(&r).unwrap();
    assert_eq!(serde_json::from_value::<Rollout>(good.clone()).unwrap(), r);
    let corrupt = |path: &[&str], v: serde_json::Value| {
        let mut j = good.clone();
        let mut node = &mut j;
        for p in path {
            node = match p.parse::<usize>() {
                Ok(i) => &mut node[i],
                Err(_) => &mut node[*p],
            };
        }
        *node = v;
        serde_json::from_value::<Rollout>(j)
    };
    use serde_json::json;
    assert!(corrupt(&["active"], json!(3)).is_err());
    assert!(corrupt(&["rings", "0", "stats", "started"], json!(5)).is_err());
    assert!(corrupt(&["rings", "0", "stats", "succeeded"], json!(2)).is_err());
    assert!(corrupt(&["rings", "0", "reported"], json!([0])).is_err());
    assert!(corrupt(&["rings", "2", "reported"], json!([])).is_err());
    assert!(corrupt(&["rings"], json!([])).is_err());
    assert!(corrupt(&["plan", "rings", "0", "share"], json!(2.0)).is_err());
    let (v, _) = Gate::new(Rule::Manual).evaluate(
        &ota_rollout::RingStats::default(),
        0,
        SprtDecision::Continue,
    );
    let paused = |ring| {
        serde_json::to_value(Status::Paused {
            ring,
            verdict: v.clone(),
        })
        .unwrap()
    };
    assert!(corrupt(&["status"], paused(9)).is_err());
    assert!(corrupt(&["status"], paused(0)).is_ok());
}
