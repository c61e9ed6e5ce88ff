#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Health checks inside the rollout state machine: a regression pauses (or aborts) the rollout
//! as a failing pass/fail gate does, promotion waits for every check, bad telemetry changes
//! nothing, and the state survives serde.

use ota_rollout::{
    Baseline, Decision, Error, Event, FailAction, Gate, HealthCheck, HealthDecision, Observation,
    Outcome, Plan, Reading, Report, Ring, Rollout, Rule, Sprt, Status, Why,
};

const SPRT: Sprt = Sprt {
    p0: 0.01,
    p1: 0.05,
    alpha: 0.05,
    beta: 0.10,
};

/// 0.002 crashes per device-hour on the previous release; H1 ratio 2; decisions after 200
/// device-hours. llr = (0.693147 x - 0.002 t) / (1 + t / 10,000); upper 2.890372, lower
/// -2.251292.
fn crashes(on_regression: FailAction) -> HealthCheck {
    HealthCheck {
        metric: "crashes".into(),
        baseline: Baseline::Rate {
            events: 20,
            device_hours: 10_000.0,
        },
        ratio: 2.0,
        alpha: 0.05,
        beta: 0.10,
        min_exposure: 200.0,
        dispersion: 1.0,
        on_regression,
    }
}

/// Three rings of 100, 100 and 800 devices; the first two gated by SPRT plus the crash check.
fn rollout(on_regression: FailAction) -> Rollout {
    let ring = |name: &str, share: f64| Ring {
        name: name.into(),
        share,
        gate: Gate {
            health: vec![crashes(on_regression)],
            ..Gate::new(Rule::Sprt(SPRT))
        },
    };
    let plan = Plan::new(
        "h",
        vec![ring("canary", 0.1), ring("early", 0.1), ring("rest", 0.8)],
    );
    let mut r = Rollout::new(plan, &[100, 100, 800], 0).unwrap();
    r.handle(Event::Tick, 0).unwrap();
    r
}

fn succeed_all(r: &mut Rollout, ring: usize, n: u64, now: u64) -> Vec<Decision> {
    let mut out = Vec::new();
    for index in 0..n {
        out.extend(
            r.handle(
                Event::Report {
                    ring,
                    index,
                    outcome: Report::Succeeded,
                },
                now,
            )
            .unwrap(),
        );
    }
    out
}

fn telemetry(r: &mut Rollout, ring: usize, hours: f64, events: u64, now: u64) -> Vec<Decision> {
    r.handle_telemetry(
        ring,
        &Observation::new(format!("gw-{now}"), hours).with("crashes", Reading::Events(events)),
        now,
    )
    .unwrap()
}

fn promoted(ds: &[Decision]) -> bool {
    ds.iter().any(|d| matches!(d, Decision::Promote { .. }))
}

#[test]
fn a_crash_regression_pauses_the_rollout_like_a_failing_gate() {
    let mut r = rollout(FailAction::Pause);
    // Every install succeeds: the pass/fail SPRT accepts, but promotion waits for the check.
    let d = succeed_all(&mut r, 0, 100, 10);
    assert!(!promoted(&d), "{d:?}");
    assert_eq!(r.active_ring(), 0);
    assert_eq!(r.status(), &Status::Running);
    // 100 h and 4 crashes: llr 2.55, undecided and below the minimum exposure anyway.
    assert!(telemetry(&mut r, 0, 100.0, 4, 20).is_empty());
    // 100 h more and 3 crashes: 7 crashes in 200 h, llr 4.36 >= 2.89 at the minimum exposure.
    let d = telemetry(&mut r, 0, 100.0, 3, 30);
    let [Decision::Pause { ring: 0, verdict }] = d.as_slice() else {
        panic!("{d:?}")
    };
    assert_eq!(verdict.outcome, Outcome::Pause);
    let Why::HealthRegressed { status, device } = &verdict.why else {
        panic!("{verdict}")
    };
    assert_eq!(device.as_deref(), Some("gw-30"));
    assert_eq!(status.metric, "crashes");
    assert_eq!(status.decision, HealthDecision::Pause);
    assert!((status.llr - (7.0 * 2f64.ln() - 0.4) / 1.02).abs() < 1e-9);
    assert!((status.observed - 0.035).abs() < 1e-12);
    assert!(verdict.to_string().contains("regression"), "{verdict}");
    assert!(matches!(r.status(), Status::Paused { ring: 0, .. }));
    // Paused: nothing starts, nothing promotes, more telemetry changes no decision.
    assert!(telemetry(&mut r, 0, 500.0, 0, 40).is_empty());
    assert!(r.handle(Event::Tick, 50).unwrap().is_empty());
    assert_eq!(r.health(0)[0].decision, HealthDecision::Pause);
    // A human who resumes is not asked again for the same ring; promotion still waits for a
    // health check that can no longer pass, so only Approve moves on.
    r.handle(Event::Resume, 60).unwrap();
    assert!(r.handle(Event::Tick, 70).unwrap().is_empty());
    assert_eq!(r.active_ring(), 0);
    let d = r.handle(Event::Approve, 80).unwrap();
    assert!(promoted(&d), "{d:?}");
}

#[test]
fn on_regression_abort_stops_for_good() {
    let mut r = rollout(FailAction::Abort);
    succeed_all(&mut r, 0, 50, 10);
    let d = telemetry(&mut r, 0, 200.0, 10, 20);
    assert!(
        matches!(&d[..], [Decision::Abort { ring: 0, verdict }] if matches!(verdict.why, Why::HealthRegressed { .. })),
        "{d:?}"
    );
    assert!(matches!(r.status(), Status::Aborted { ring: 0, .. }));
    assert!(matches!(
        r.handle_telemetry(0, &Observation::new("x", 1.0), 30),
        Err(Error::Finished { .. })
    ));
}

#[test]
fn a_healthy_release_promotes_once_every_check_passed() {
    let mut r = rollout(FailAction::Pause);
    // Telemetry first: no crash in 1,300 device-hours, llr -2.6 / 1.13 = -2.30 <= -2.25: no
    // regression (1,200 would give -2.14, not yet).
    for i in 0..12 {
        telemetry(&mut r, 0, 100.0, 0, 1 + i);
    }
    assert_eq!(r.health(0)[0].decision, HealthDecision::Continue);
    for i in 12..13 {
        telemetry(&mut r, 0, 100.0, 0, 1 + i);
    }
    assert_eq!(r.health(0)[0].decision, HealthDecision::Promote);
    assert_eq!(
        r.active_ring(),
        0,
        "promotion also needs the pass/fail gate"
    );
    let d = succeed_all(&mut r, 0, 100, 20);
    assert!(promoted(&d), "{d:?}");
    assert_eq!(r.active_ring(), 1);
    // The canary ring is still watched after promotion: a late regression there pauses.
    let d = telemetry(&mut r, 0, 0.0, 30, 30);
    assert!(d.is_empty(), "decided health checks stay decided: {d:?}");
    // Ring 1's check is fresh; a regression there pauses in ring 1.
    let d = telemetry(&mut r, 1, 200.0, 9, 40);
    assert!(matches!(&d[..], [Decision::Pause { ring: 1, .. }]), "{d:?}");
}

#[test]
fn bad_telemetry_is_an_error_and_changes_nothing() {
    let mut r = rollout(FailAction::Pause);
    telemetry(&mut r, 0, 10.0, 1, 5);
    let before = r.clone();
    let cases: Vec<(usize, Observation, u64)> = vec![
        (
            0,
            Observation::new("a", -1.0).with("crashes", Reading::Events(1)),
            10,
        ),
        (0, Observation::new("a", f64::NAN), 10),
        (
            0,
            Observation::new("a", 1.0).with("latency", Reading::Value(1.0)),
            10,
        ),
        (
            0,
            Observation::new("a", 1.0).with("crashes", Reading::Value(1.0)),
            10,
        ),
        (
            1,
            Observation::new("a", 1.0).with("crashes", Reading::Events(0)),
            10,
        ),
        (7, Observation::new("a", 1.0), 10),
        (0, Observation::new("a", 1.0), 4),
    ];
    for (ring, obs, now) in cases {
        let e = r.handle_telemetry(ring, &obs, now).unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidObservation { .. }
                    | Error::RingNotOpen { .. }
                    | Error::TimeWentBackwards { .. }
            ),
            "{e}"
        );
        assert_eq!(r, before, "{obs:?} changed the rollout");
    }
}

#[test]
fn health_state_survives_serde_and_corruption_is_refused() {
    let mut r = rollout(FailAction::Pause);
    telemetry(&mut r, 0, 150.0, 2, 5);
    let json = serde_json::to_string(&r).unwrap();
    let back: Rollout = serde_json::from_str(&json).unwrap();
    assert_eq!(back, r);
    assert_eq!(back.health(0)[0].exposure, 150.0);
    // The plan as JSON carries the check.
    let plan = serde_json::to_string(r.plan()).unwrap();
    assert!(plan.contains(r#""health":[{"metric":"crashes""#), "{plan}");
    // A ring state without its health state, or with a NaN exposure, is refused.
    let state = r#""health":[{"exposure":150.0,"total":2.0,"reports":1,"decision":"continue"}]"#;
    assert!(json.contains(state), "{json}");
    let gone = json.replacen(state, r#""health":[]"#, 1);
    assert!(serde_json::from_str::<Rollout>(&gone).is_err());
    let negative = json.replacen(r#""exposure":150.0"#, r#""exposure":-1.0"#, 1);
    assert!(serde_json::from_str::<Rollout>(&negative).is_err());
    // An invalid check in a plan is refused with its path.
    let bad = plan.replacen(r#""device_hours":10000.0"#, r#""device_hours":0.0"#, 1);
    let e = Plan::from_json(bad.as_bytes(), &ota_rollout::Limits::default()).unwrap_err();
    assert!(
        e.to_string()
            .contains("/rings/0/gate/health/0/baseline/device_hours"),
        "{e}"
    );
}

#[test]
fn plans_without_health_checks_serialise_as_before() {
    let plan = Plan::new(
        "p",
        vec![Ring {
            name: "all".into(),
            share: 1.0,
            gate: Gate::new(Rule::Sprt(SPRT)),
        }],
    );
    let json = serde_json::to_string(&plan).unwrap();
    assert!(!json.contains("health"), "{json}");
    let r = Rollout::new(plan, &[10], 0).unwrap();
    assert!(!serde_json::to_string(&r).unwrap().contains("health"));
    assert!(r.health(0).is_empty());
}

#[test]
fn an_earlier_ring_is_still_watched_after_promotion() {
    let mut r = rollout(FailAction::Pause);
    // A human promotes the canary ring before its crash check decided.
    let d = r.handle(Event::Approve, 10).unwrap();
    assert!(promoted(&d), "{d:?}");
    assert_eq!(r.active_ring(), 1);
    // Its devices keep reporting telemetry; a regression there pauses, naming ring 0.
    let d = telemetry(&mut r, 0, 200.0, 9, 20);
    assert!(
        matches!(&d[..], [Decision::Pause { ring: 0, verdict }] if matches!(verdict.why, Why::HealthRegressed { .. })),
        "{d:?}"
    );
    // Ring 2 is not open: its telemetry is refused.
    assert!(matches!(
        r.handle_telemetry(2, &Observation::new("x", 1.0), 30),
        Err(Error::RingNotOpen { ring: 2 })
    ));
}
