#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Telemetry health checks: the statistics by hand, detection and false alarms on simulated
//! streams, the minimum exposure, refusals of bad input, and properties over any valid stream.

use ota_rollout::{
    Baseline, Error, FailAction, HealthCheck, HealthDecision, HealthMonitor, HealthState,
    Observation, Reading,
};
use proptest::prelude::*;

/// Baseline 20 crashes over 10,000 device-hours: 0.002 per device-hour. H1 ratio 2,
/// alpha = 5%, beta = 10%. By hand (natural logarithms):
///   upper = ln(0.9 / 0.05) = ln 18        =  2.890372
///   lower = ln(0.1 / 0.95)                = -2.251292
///   llr(x events, t hours) = (x ln 2 - 0.002 t (2 - 1)) / (1 + t / 10,000)
///                          = (0.693147 x - 0.002 t) / (1 + t / 10,000)
/// (the divisor is the baseline-uncertainty correction of GATES.md).
fn crash_check(min_exposure: f64) -> HealthCheck {
    HealthCheck {
        metric: "crashes".into(),
        baseline: Baseline::Rate {
            events: 20,
            device_hours: 10_000.0,
        },
        ratio: 2.0,
        alpha: 0.05,
        beta: 0.10,
        min_exposure,
        dispersion: 1.0,
        on_regression: FailAction::Pause,
    }
}

fn state(exposure: f64, total: f64) -> HealthState {
    HealthState {
        exposure,
        total,
        reports: 1,
        decision: HealthDecision::Continue,
    }
}

#[test]
fn rate_statistic_by_hand() {
    let c = crash_check(0.0);
    c.validate("/c").unwrap();
    let (lower, upper) = c.bounds();
    assert!((upper - 2.890372).abs() < 1e-6, "{upper}");
    assert!((lower - -2.251292).abs() < 1e-6, "{lower}");
    assert!((c.baseline_level() - 0.002).abs() < 1e-12);
    // 5 crashes in 100 h: (3.465736 - 0.2) / 1.01 = 3.233402 >= upper.
    assert!((c.llr(&state(100.0, 5.0)) - 3.233402).abs() < 1e-6);
    assert_eq!(c.decide(&state(100.0, 5.0)), HealthDecision::Pause);
    // 4 crashes in 100 h: (2.772589 - 0.2) / 1.01 = 2.547118, undecided.
    assert_eq!(c.decide(&state(100.0, 4.0)), HealthDecision::Continue);
    // No crash: promoted once 0.002 t / (1 + t / 10,000) >= 2.251292, i.e. from
    // t = 2.251292 / (0.002 - 0.000225129) = 1268.43 h.
    assert_eq!(c.decide(&state(1268.0, 0.0)), HealthDecision::Continue);
    assert_eq!(c.decide(&state(1269.0, 0.0)), HealthDecision::Promote);
    // Dispersion 2 halves the statistic: 5 crashes in 100 h no longer decide.
    let over = HealthCheck {
        dispersion: 2.0,
        ..c.clone()
    };
    assert!((over.llr(&state(100.0, 5.0)) - 1.616701).abs() < 1e-6);
    assert_eq!(over.decide(&state(100.0, 5.0)), HealthDecision::Continue);
}

#[test]
fn minimum_exposure_holds_both_decisions() {
    let c = crash_check(500.0);
    // A clear regression (10 crashes in 100 h, llr 6.73) waits for 500 device-hours.
    assert_eq!(c.decide(&state(100.0, 10.0)), HealthDecision::Continue);
    assert_eq!(c.decide(&state(499.9, 10.0)), HealthDecision::Continue);
    assert_eq!(c.decide(&state(500.0, 10.0)), HealthDecision::Pause);
    // Through the monitor, report by report: nothing decides before 500 h.
    let mut m = HealthMonitor::new(vec![c]).unwrap();
    for i in 0..49 {
        let d = m
            .observe(&Observation::new(format!("d{i}"), 10.0).with("crashes", Reading::Events(3)))
            .unwrap();
        assert_eq!(d, HealthDecision::Continue, "decided at {} h", (i + 1) * 10);
    }
    let d = m
        .observe(&Observation::new("d49", 10.0).with("crashes", Reading::Events(3)))
        .unwrap();
    assert_eq!(d, HealthDecision::Pause);
    assert_eq!(m.statuses()[0].exposure, 500.0);
}

#[test]
fn proportion_and_mean_by_hand() {
    // 100 errors in 10,000 requests: p0 = 1%; ratio 2: p1 = 2%.
    // llr(f, n) = (f ln 2 + (n - f) ln(0.98 / 0.99)) / (1 + n / 10,000).
    let p = HealthCheck {
        metric: "http_errors".into(),
        baseline: Baseline::Proportion {
            failures: 100,
            trials: 10_000,
        },
        ..crash_check(0.0)
    };
    p.validate("/p").unwrap();
    let s = state(1000.0, 10.0);
    let want = (10.0 * 2f64.ln() + 990.0 * (0.98f64 / 0.99).ln()) / 1.1;
    assert!((p.llr(&s) - want).abs() < 1e-9);
    assert!((want - -2.835796).abs() < 1e-5, "{want}");
    assert_eq!(p.decide(&s), HealthDecision::Promote);
    // Mean latency 200 ms, sd 50 ms; ratio 1.1: delta = 20 ms.
    // llr(S, n) = 20 / 2500 (S - n 210) / (1 + n / 1000) = 0.008 (S - 210 n) / (1 + n / 1000).
    let m = HealthCheck {
        metric: "latency_ms".into(),
        baseline: Baseline::Mean {
            mean: 200.0,
            std_dev: 50.0,
            devices: 1000,
        },
        ratio: 1.1,
        ..crash_check(0.0)
    };
    m.validate("/m").unwrap();
    // 10 devices averaging 250 ms: 0.008 * (2500 - 2100) / 1.01 = 3.168317 >= 2.89.
    assert!((m.llr(&state(10.0, 2500.0)) - 3.168317).abs() < 1e-6);
    assert_eq!(m.decide(&state(10.0, 2500.0)), HealthDecision::Pause);
    // Averaging 200 ms: -0.8 / 1.01, undecided; 170 ms: -3.2 / 1.01, promoted.
    assert_eq!(m.decide(&state(10.0, 2000.0)), HealthDecision::Continue);
    assert_eq!(m.decide(&state(10.0, 1700.0)), HealthDecision::Promote);
}

#[test]
fn zero_baseline_events_count_as_half() {
    let c = HealthCheck {
        baseline: Baseline::Rate {
            events: 0,
            device_hours: 1000.0,
        },
        ..crash_check(0.0)
    };
    c.validate("/c").unwrap();
    assert!((c.baseline_level() - 0.0005).abs() < 1e-15);
    // One crash is finite evidence: (ln 2 - 0.0005 t) / (1 + t / 1000).
    assert!(c.llr(&state(10.0, 1.0)).is_finite());
}

/// SplitMix64, as in the crate's simulator, kept local so these tests need no feature.
struct Rng(u64);
impl Rng {
    fn f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
    fn poisson(&mut self, mean: f64) -> u64 {
        let limit = (-mean).exp();
        let (mut k, mut p) = (0, self.f64());
        while p > limit {
            k += 1;
            p *= self.f64();
        }
        k
    }
}

/// Runs a crash-rate monitor on a stream of 24-hour reports at `ratio` times the baseline rate
/// until it decides (or 20,000 reports); returns the decision and the reports used.
fn run(check: &HealthCheck, ratio: f64, rng: &mut Rng) -> (HealthDecision, u64) {
    let mut m = HealthMonitor::new(vec![check.clone()]).unwrap();
    for n in 1..=20_000 {
        let events = rng.poisson(0.002 * ratio * 24.0);
        let d = m
            .observe(&Observation::new("d", 24.0).with("crashes", Reading::Events(events)))
            .unwrap();
        if d != HealthDecision::Continue {
            return (d, n);
        }
    }
    (HealthDecision::Continue, 20_000)
}

#[test]
fn a_clear_regression_is_caught_early() {
    let c = HealthCheck {
        alpha: 0.01,
        beta: 0.05,
        ..crash_check(240.0)
    };
    let mut rng = Rng(7);
    let (mut caught, mut reports) = (0, 0);
    for _ in 0..500 {
        let (d, n) = run(&c, 3.0, &mut rng);
        if d == HealthDecision::Pause {
            caught += 1;
            reports += n;
        }
    }
    // Designed for ratio 2 with beta 5%; at ratio 3 nearly every run pauses.
    assert!(caught >= 490, "caught {caught} of 500");
    // Expected evidence per 24-h report at ratio 3: 0.144 ln 2 - 0.048 = 0.0518 per report;
    // ln(0.95/0.01) = 4.55 needs about 88 reports. Allow a wide margin.
    let mean = reports as f64 / caught as f64;
    assert!(mean < 150.0, "mean reports to pause {mean}");
}

#[test]
fn equal_rates_rarely_pause() {
    let c = HealthCheck {
        alpha: 0.01,
        beta: 0.05,
        ..crash_check(240.0)
    };
    let mut rng = Rng(11);
    let (mut paused, mut promoted) = (0, 0);
    for _ in 0..2000 {
        match run(&c, 1.0, &mut rng).0 {
            HealthDecision::Pause => paused += 1,
            HealthDecision::Promote => promoted += 1,
            HealthDecision::Continue => {}
        }
    }
    // Wald: false pauses <= alpha / (1 - beta) = 1.05%; allow sampling noise (sd 0.23%).
    assert!(paused <= 2000 * 2 / 100, "false pauses {paused} of 2000");
    assert!(promoted >= 1950, "promoted {promoted}");
}

fn bad_obs(check: HealthCheck, obs: Observation) -> Error {
    let mut m = HealthMonitor::new(vec![check]).unwrap();
    m.observe(&Observation::new("ok", 5.0).with("crashes", Reading::Events(0)))
        .unwrap();
    let before = m.clone();
    let e = m.observe(&obs).unwrap_err();
    assert_eq!(m, before, "a refused observation changed the monitor");
    assert!(matches!(e, Error::InvalidObservation { .. }), "{e}");
    e
}

#[test]
fn bad_observations_are_errors_and_change_nothing() {
    for hours in [-1.0, f64::NAN, f64::INFINITY, -0.0001, 1e9] {
        let e = bad_obs(
            crash_check(0.0),
            Observation::new("gw-1", hours).with("crashes", Reading::Events(1)),
        );
        assert!(e.to_string().contains("hours"), "{e}");
    }
    let e = bad_obs(
        crash_check(0.0),
        Observation::new("gw-1", 1.0).with("crashes", Reading::Events(u64::MAX)),
    );
    assert!(e.to_string().contains("readings/crashes/events"), "{e}");
    let e = bad_obs(
        crash_check(0.0),
        Observation::new("gw-1", 1.0).with("crashes", Reading::Value(3.0)),
    );
    assert!(e.to_string().contains("wrong kind"), "{e}");
    let e = bad_obs(
        crash_check(0.0),
        Observation::new("gw-1", 1.0).with("reboots", Reading::Events(1)),
    );
    assert!(e.to_string().contains("readings/reboots"), "{e}");
    // Bad hours are refused even when the observation has no rate reading.
    bad_obs(crash_check(0.0), Observation::new("gw-1", f64::NAN));
    let p = HealthCheck {
        metric: "crashes".into(),
        baseline: Baseline::Proportion {
            failures: 1,
            trials: 100,
        },
        ..crash_check(0.0)
    };
    let mut m = HealthMonitor::new(vec![p]).unwrap();
    let e = m
        .observe(&Observation::new("gw-1", 1.0).with(
            "crashes",
            Reading::Trials {
                failures: 5,
                trials: 4,
            },
        ))
        .unwrap_err();
    assert!(e.to_string().contains("more failures than trials"), "{e}");
    let mean = HealthCheck {
        metric: "crashes".into(),
        baseline: Baseline::Mean {
            mean: 1.0,
            std_dev: 1.0,
            devices: 10,
        },
        ..crash_check(0.0)
    };
    let mut m = HealthMonitor::new(vec![mean]).unwrap();
    for v in [f64::NAN, f64::INFINITY, 1e300] {
        assert!(
            m.observe(&Observation::new("gw-1", 1.0).with("crashes", Reading::Value(v)))
                .is_err()
        );
    }
    assert_eq!(m.states()[0], HealthState::default());
}

fn plan_error(c: HealthCheck) -> String {
    match HealthMonitor::new(vec![c]).unwrap_err() {
        Error::InvalidPlan { field, reason } => format!("{field}: {reason}"),
        e => panic!("unexpected {e}"),
    }
}

#[test]
fn bad_checks_are_refused_with_the_field() {
    let rate = |events, device_hours| HealthCheck {
        baseline: Baseline::Rate {
            events,
            device_hours,
        },
        ..crash_check(0.0)
    };
    for h in [0.0, -5.0, f64::NAN, f64::INFINITY] {
        assert!(
            plan_error(rate(3, h)).starts_with("/health/0/baseline/device_hours"),
            "{h}"
        );
    }
    for ratio in [1.0, 0.5, f64::NAN] {
        let c = HealthCheck {
            ratio,
            ..crash_check(0.0)
        };
        assert!(plan_error(c).starts_with("/health/0/ratio"));
    }
    let c = HealthCheck {
        alpha: 0.0,
        ..crash_check(0.0)
    };
    assert!(plan_error(c).starts_with("/health/0/alpha"));
    let c = HealthCheck {
        dispersion: 0.5,
        ..crash_check(0.0)
    };
    assert!(plan_error(c).starts_with("/health/0/dispersion"));
    // The baseline must have at least the exposure asked of the new release.
    assert!(plan_error(crash_check(20_000.0)).starts_with("/health/0/min_exposure"));
    let c = HealthCheck {
        baseline: Baseline::Proportion {
            failures: 0,
            trials: 0,
        },
        ..crash_check(0.0)
    };
    assert!(plan_error(c).starts_with("/health/0/baseline/trials"));
    // ratio 2 of a 60% proportion is not a proportion.
    let c = HealthCheck {
        baseline: Baseline::Proportion {
            failures: 60,
            trials: 100,
        },
        ..crash_check(0.0)
    };
    assert!(plan_error(c).starts_with("/health/0/ratio"));
    let c = HealthCheck {
        baseline: Baseline::Mean {
            mean: 0.0,
            std_dev: 1.0,
            devices: 10,
        },
        ..crash_check(0.0)
    };
    assert!(plan_error(c).starts_with("/health/0/baseline/mean"));
    let e = HealthMonitor::new(vec![crash_check(0.0), crash_check(0.0)]).unwrap_err();
    assert!(e.to_string().contains("/health/1/metric"), "{e}");
}

#[test]
fn json_shape_and_corrupted_records() {
    let c: HealthCheck = serde_json::from_str(
        r#"{"metric": "crashes", "baseline": {"kind": "rate", "events": 20, "device_hours": 10000},
            "ratio": 2, "alpha": 0.05, "beta": 0.1, "min_exposure": 500}"#,
    )
    .unwrap();
    assert_eq!(c, crash_check(500.0));
    assert!(
        serde_json::from_str::<HealthCheck>(
            r#"{"metric": "c", "baseline": {"kind": "rate", "events": 1, "device_hours": 1, "x": 1},
                "ratio": 2, "alpha": 0.05, "beta": 0.1}"#
        )
        .is_err()
    );
    let mut m = HealthMonitor::new(vec![crash_check(0.0)]).unwrap();
    m.observe(&Observation::new("a", 3.0).with("crashes", Reading::Events(1)))
        .unwrap();
    let json = serde_json::to_string(&m).unwrap();
    assert_eq!(serde_json::from_str::<HealthMonitor>(&json).unwrap(), m);
    let no_state = json.replace(
        r#""states":[{"exposure":3.0,"total":1.0,"reports":1,"decision":"continue"}]"#,
        r#""states":[]"#,
    );
    assert_ne!(no_state, json);
    assert!(serde_json::from_str::<HealthMonitor>(&no_state).is_err());
    let bad_ratio = json.replace(r#""ratio":2.0"#, r#""ratio":0.5"#);
    assert_ne!(bad_ratio, json);
    assert!(serde_json::from_str::<HealthMonitor>(&bad_ratio).is_err());
}

fn arb_reading() -> impl Strategy<Value = (f64, Reading, Reading, Reading)> {
    (
        0.0f64..200.0,
        0u64..30,
        (0u64..50, 0u64..500),
        -1000.0f64..5000.0,
    )
        .prop_map(|(h, e, (f, t), v)| {
            (
                h,
                Reading::Events(e),
                Reading::Trials {
                    failures: f.min(t),
                    trials: t,
                },
                Reading::Value(v),
            )
        })
}

fn three_checks(min_exposure: f64, ratio: f64) -> Vec<HealthCheck> {
    let base = HealthCheck {
        ratio,
        ..crash_check(min_exposure)
    };
    vec![
        base.clone(),
        HealthCheck {
            metric: "errors".into(),
            baseline: Baseline::Proportion {
                failures: 500,
                trials: 100_000,
            },
            ..base.clone()
        },
        HealthCheck {
            metric: "latency".into(),
            baseline: Baseline::Mean {
                mean: 300.0,
                std_dev: 80.0,
                devices: 20_000,
            },
            ..base
        },
    ]
}

proptest! {
    /// Any stream of valid observations is accepted, never panics, and each check's decision
    /// is latched: once it leaves Continue it never changes, and neither does the combined one.
    #[test]
    fn valid_streams_never_fail_and_decisions_latch(
        min_exposure in 0.0f64..5000.0,
        ratio in 1.05f64..5.0,
        stream in proptest::collection::vec((arb_reading(), 0u8..8), 0..300),
    ) {
        let mut m = HealthMonitor::new(three_checks(min_exposure, ratio)).unwrap();
        let mut latched = [HealthDecision::Continue; 3];
        let mut combined = HealthDecision::Continue;
        for ((hours, e, t, v), mask) in stream {
            let mut obs = Observation::new("gw", hours);
            if mask & 1 != 0 { obs = obs.with("crashes", e); }
            if mask & 2 != 0 { obs = obs.with("errors", t); }
            if mask & 4 != 0 { obs = obs.with("latency", v); }
            let d = m.observe(&obs).unwrap();
            if combined != HealthDecision::Continue {
                prop_assert_eq!(d, combined);
            }
            combined = d;
            for (i, s) in m.states().iter().enumerate() {
                if latched[i] != HealthDecision::Continue {
                    prop_assert_eq!(s.decision, latched[i]);
                }
                // Nothing decides below the minimum exposure.
                if s.exposure < min_exposure {
                    prop_assert_eq!(s.decision, HealthDecision::Continue);
                }
                latched[i] = s.decision;
            }
            for st in m.statuses() {
                prop_assert!(st.llr.is_finite() && st.observed.is_finite());
            }
        }
    }

    /// The rate statistic is monotone: more events never lower it, more exposure without events
    /// never raises it; so the unlatched decision moves the same way.
    #[test]
    fn rate_statistic_is_monotone(t in 0.0f64..1e6, x in 0.0f64..1e4, dt in 0.0f64..1e4, dx in 0u32..100) {
        let c = crash_check(0.0);
        let s = state(t, x);
        prop_assert!(c.llr(&state(t, x + f64::from(dx))) >= c.llr(&s));
        prop_assert!(c.llr(&state(t + dt, x)) <= c.llr(&s));
        if c.decide(&s) == HealthDecision::Pause {
            prop_assert_eq!(c.decide(&state(t, x + f64::from(dx))), HealthDecision::Pause);
        }
    }

    /// Arbitrary (also invalid) hours and counts: an error or a result, never a panic, and a
    /// refused observation changes nothing.
    #[test]
    fn arbitrary_input_never_panics(hours in any::<f64>(), events in any::<u64>(), v in any::<f64>(),
                                    f in any::<u64>(), tr in any::<u64>()) {
        let mut m = HealthMonitor::new(three_checks(0.0, 2.0)).unwrap();
        let before = m.clone();
        let obs = Observation::new("gw", hours)
            .with("crashes", Reading::Events(events))
            .with("errors", Reading::Trials { failures: f, trials: tr })
            .with("latency", Reading::Value(v));
        if m.observe(&obs).is_err() {
            prop_assert_eq!(m, before);
        }
    }
}
