#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Gates: SPRT decisions against Wald's boundaries computed by hand, the threshold rule's AWS
//! semantics, soak and minimum reports.

use ota_rollout::{
    FailAction, Gate, Inconclusive, Outcome, RingStats, Rule, Sprt, SprtDecision, Threshold, Why,
};

/// p0 = 1%, p1 = 5%, alpha = 5%, beta = 10%. By hand (natural logarithms):
///   upper A = ln((1 - 0.10) / 0.05) = ln 18          =  2.890372
///   lower B = ln(0.10 / (1 - 0.05)) = ln 0.105263    = -2.251292
///   one failure adds  ln(0.05 / 0.01) = ln 5          =  1.609438
///   one success adds  ln(0.95 / 0.99) = ln 0.959596   = -0.041243
const SPRT: Sprt = Sprt {
    p0: 0.01,
    p1: 0.05,
    alpha: 0.05,
    beta: 0.10,
};

#[test]
fn wald_bounds_by_hand() {
    let (lower, upper) = SPRT.bounds();
    assert!((upper - 2.890372).abs() < 1e-6, "{upper}");
    assert!((lower - -2.251292).abs() < 1e-6, "{lower}");
    assert!((SPRT.llr(1, 0) - 1.609438).abs() < 1e-6);
    assert!((SPRT.llr(0, 1) - -0.041243).abs() < 1e-6);
}

#[test]
fn sprt_decisions_by_hand() {
    use SprtDecision::*;
    // No failures: 2.251292 / 0.041243 = 54.59, so 55 successes accept and 54 do not.
    assert_eq!(SPRT.decide(0, 54), Continue);
    assert_eq!(SPRT.decide(0, 55), AcceptBaseline);
    // One failure first: (1.609438 + 2.251292) / 0.041243 = 93.61 successes to accept.
    assert_eq!(SPRT.decide(1, 93), Continue);
    assert_eq!(SPRT.decide(1, 94), AcceptBaseline);
    // Failures at once: one is 1.61 < 2.89, two are 3.22 >= 2.89.
    assert_eq!(SPRT.decide(1, 0), Continue);
    assert_eq!(SPRT.decide(2, 0), RejectBaseline);
    // Ten successes (-0.41243) then failures: 2 give 2.806 < 2.890, 3 give 4.416.
    assert_eq!(SPRT.decide(2, 10), Continue);
    assert_eq!(SPRT.decide(3, 10), RejectBaseline);
    // 5 failures in 150: 8.047 - 5.815 = 2.232, still undecided; 6 in 150: 3.800, reject.
    assert_eq!(SPRT.decide(5, 145), Continue);
    assert_eq!(SPRT.decide(6, 144), RejectBaseline);
}

fn stats(size: u64, succeeded: u64, failed: u64) -> RingStats {
    RingStats {
        size,
        started: succeeded + failed,
        succeeded,
        failed,
        ..RingStats::default()
    }
}

#[test]
fn sprt_gate_latches_and_reports_numbers() {
    let gate = Gate::new(Rule::Sprt(SPRT));
    // Accepted after 55 clean reports; later failures do not reopen a latched decision.
    let (v, d) = gate.evaluate(&stats(1000, 55, 0), 0, SprtDecision::Continue);
    assert_eq!(d, SprtDecision::AcceptBaseline);
    assert_eq!(v.outcome, Outcome::Promote);
    match v.why {
        Why::SprtAccepted { llr, lower } => {
            assert!((llr - 55.0 * -0.041243).abs() < 1e-4);
            assert!((lower - -2.251292).abs() < 1e-6);
        }
        other => panic!("{other:?}"),
    }
    let (v, d) = gate.evaluate(&stats(1000, 55, 5), 0, d);
    assert_eq!(
        (v.outcome, d),
        (Outcome::Promote, SprtDecision::AcceptBaseline)
    );
    // Rejection aborts at once, whatever the soak time and minimum.
    let strict = Gate {
        min_soak_secs: 86_400,
        min_reports: 500,
        ..gate.clone()
    };
    let (v, d) = strict.evaluate(&stats(1000, 0, 2), 10, SprtDecision::Continue);
    assert_eq!(
        (v.outcome, d),
        (Outcome::Abort, SprtDecision::RejectBaseline)
    );
    assert_eq!((v.reports, v.failures, v.soaked_secs), (2, 2, 10));
    assert!(v.to_string().contains("upper bound 2.890"), "{v}");
    // With on_fail = pause, the same evidence pauses.
    let pausing = Gate {
        on_fail: FailAction::Pause,
        ..strict.clone()
    };
    let (v, _) = pausing.evaluate(&stats(1000, 0, 2), 10, SprtDecision::Continue);
    assert_eq!(v.outcome, Outcome::Pause);
    // Acceptance waits for soak time, then for the minimum of reports.
    let (v, _) = strict.evaluate(&stats(1000, 60, 0), 3600, SprtDecision::Continue);
    assert_eq!(v.outcome, Outcome::Continue);
    assert_eq!(
        v.why,
        Why::Soaking {
            needed_secs: 86_400
        }
    );
    let (v, _) = strict.evaluate(&stats(1000, 60, 0), 86_400, SprtDecision::Continue);
    assert_eq!(v.why, Why::NotEnoughReports { needed: 500 });
    // ... capped at the ring's size.
    let (v, _) = strict.evaluate(&stats(60, 60, 0), 86_400, SprtDecision::Continue);
    assert_eq!(v.outcome, Outcome::Promote);
}

#[test]
fn inconclusive_ring() {
    let mut gate = Gate::new(Rule::Sprt(SPRT));
    // 20 clean reports from a 20-device ring: -0.82, undecided, and nothing more will come.
    let (v, d) = gate.evaluate(&stats(20, 20, 0), 0, SprtDecision::Continue);
    assert_eq!((v.outcome, d), (Outcome::Pause, SprtDecision::Continue));
    assert!(matches!(v.why, Why::SprtInconclusive { .. }));
    gate.on_inconclusive = Inconclusive::Promote;
    let (v, _) = gate.evaluate(&stats(20, 20, 0), 0, SprtDecision::Continue);
    assert_eq!(v.outcome, Outcome::Promote);
    // Carried evidence counts: 20 here plus 35 carried = 55 clean reports, accepted.
    let mut s = stats(20, 20, 0);
    s.carried_succeeded = 35;
    let (_, d) = gate.evaluate(&s, 0, SprtDecision::Continue);
    assert_eq!(d, SprtDecision::AcceptBaseline);
}

#[test]
fn threshold_rule_has_aws_semantics() {
    let t = Threshold {
        max_failure_percent: 5.0,
        min_executions: 100,
    };
    // Not judged before 100 executions, whatever the rate.
    assert!(!t.exceeded(50, 99));
    // Exactly 5% is not above 5%.
    assert!(!t.exceeded(5, 100));
    assert!(t.exceeded(6, 100));
    assert!(t.exceeded(51, 1000));
    assert!(!t.exceeded(50, 1000));
    let gate = Gate::new(Rule::Threshold(t));
    let (v, _) = gate.evaluate(&stats(1000, 94, 6), 0, SprtDecision::Continue);
    assert_eq!(v.outcome, Outcome::Abort);
    match v.why {
        Why::ThresholdExceeded {
            failure_percent, ..
        } => assert!((failure_percent - 6.0).abs() < 1e-9),
        other => panic!("{other:?}"),
    }
    // Below the threshold, promotion waits for the whole ring.
    let (v, _) = gate.evaluate(&stats(1000, 500, 5), 0, SprtDecision::Continue);
    assert_eq!((v.outcome, v.why), (Outcome::Continue, Why::RingIncomplete));
    let (v, _) = gate.evaluate(&stats(1000, 990, 10), 0, SprtDecision::Continue);
    assert_eq!(v.outcome, Outcome::Promote);
}

#[test]
fn manual_rule_waits_for_approval() {
    let gate = Gate::new(Rule::Manual);
    let (v, _) = gate.evaluate(&stats(10, 10, 0), 0, SprtDecision::Continue);
    assert_eq!((v.outcome, v.why), (Outcome::Pause, Why::AwaitingApproval));
}

#[test]
fn empty_ring_promotes() {
    let gate = Gate::new(Rule::Sprt(SPRT));
    let (v, _) = gate.evaluate(&stats(0, 0, 0), 0, SprtDecision::Continue);
    assert_eq!((v.outcome, v.why), (Outcome::Promote, Why::EmptyRing));
}
