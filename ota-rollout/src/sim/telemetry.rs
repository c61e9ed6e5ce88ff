//! Telemetry gates by simulation: the crash-rate health check beside the pass/fail SPRT and the
//! threshold rule, all fed the same simulated reports (method in `GATES.md`).

use serde::{Deserialize, Serialize};

use super::SplitMix64;
use crate::gate::{FailAction, Gate, Outcome, RingStats, Rule, Sprt, SprtDecision, Threshold};
use crate::health::{Baseline, HealthCheck, HealthDecision, HealthMonitor, Observation, Reading};

/// The fleet's crash process. A report is one device's uptime since its last report, uniform
/// in `[hours_min, hours_max]`, and its crashes: Poisson with mean `ratio x base_rate x hours`;
/// with probability `ratio x loop_share` the device is also in a reboot loop and adds a Poisson
/// number of crashes of mean `loop_events` (over-dispersion).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TelemetryModel {
    /// Crashes per device-hour of the previous release (outside reboot loops).
    pub base_rate: f64,
    /// Shortest uptime per report, hours.
    pub hours_min: f64,
    /// Longest uptime per report, hours.
    pub hours_max: f64,
    /// Probability that a report of the previous release comes from a reboot loop.
    pub loop_share: f64,
    /// Mean extra crashes in such a report.
    pub loop_events: f64,
    /// Device-hours the previous release's baseline is measured over (drawn anew per trial).
    pub baseline_hours: f64,
}

impl TelemetryModel {
    /// One report at `ratio` times the previous release's crash rate: (hours, crashes).
    fn report(&self, ratio: f64, rng: &mut SplitMix64) -> (f64, u64) {
        let hours = self.hours_min + (self.hours_max - self.hours_min) * rng.next_f64();
        let mut crashes = rng.poisson(ratio * self.base_rate * hours);
        if self.loop_share > 0.0 && rng.bernoulli(ratio * self.loop_share) {
            crashes += rng.poisson(self.loop_events);
        }
        (hours, crashes)
    }
}

/// How the three gates are set up from a baseline draw.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TelemetryDesign {
    /// The regression all gates are designed to catch (rate ratio; H1 of both SPRTs).
    pub ratio: f64,
    /// False-abort rate of both SPRTs.
    pub alpha: f64,
    /// Missed-regression rate of both SPRTs.
    pub beta: f64,
    /// The health check's minimum exposure, device-hours.
    pub min_exposure: f64,
    /// The threshold rule judges from this many reports on; it stops a release whose share of
    /// reports with a crash is above the share a release `ratio` times worse would have.
    pub threshold_min_reports: u64,
}

/// How one gate did over many trials.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct TelemetryGateSummary {
    /// Trials in which the gate stopped the release (pause or abort).
    pub stopped: u64,
    /// Trials in which it passed it.
    pub passed: u64,
    /// Trials still undecided after the report budget.
    pub undecided: u64,
    /// Mean reports when it stopped the release (over stopping trials).
    pub mean_reports_to_stop: f64,
    /// Mean reports when it decided either way (undecided trials count the whole budget).
    pub mean_reports_to_decide: f64,
}

/// The four gates side by side, on the same reports.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct TelemetrySummary {
    /// Trials run.
    pub runs: u64,
    /// The crash-rate health check, dispersion 1 (plain Poisson SPRT).
    pub health: TelemetryGateSummary,
    /// The same check with the dispersion estimated from the baseline reports (Pearson).
    pub health_dispersed: TelemetryGateSummary,
    /// The pass/fail SPRT: a report fails when it has at least one crash.
    pub sprt: TelemetryGateSummary,
    /// The threshold rule on the same pass/fail reports.
    pub threshold: TelemetryGateSummary,
    /// Mean dispersion estimated from the baselines.
    pub mean_dispersion: f64,
}

/// What one gate did in one trial: `Some((stopped, reports))` once decided.
type End = Option<(bool, u64)>;

struct Drawn {
    events: u64,
    hours: f64,
    failure_share: f64,
    dispersion: f64,
}

/// The previous release's figures: crashes, device-hours, share of reports with a crash, and
/// the Pearson dispersion `sum((x - m)^2 / m) / (n - 1)` with `m = rate x hours`.
fn draw_baseline(model: &TelemetryModel, rng: &mut SplitMix64) -> Drawn {
    let mut reports = Vec::new();
    let (mut hours, mut events, mut failed) = (0.0, 0u64, 0u64);
    while hours < model.baseline_hours {
        let (h, x) = model.report(1.0, rng);
        hours += h;
        events += x;
        failed += u64::from(x > 0);
        reports.push((h, x));
    }
    let rate = events as f64 / hours;
    let n = reports.len() as f64;
    let pearson: f64 = reports
        .iter()
        .map(|&(h, x)| {
            let m = (rate * h).max(1e-12);
            (x as f64 - m).powi(2) / m
        })
        .sum();
    Drawn {
        events,
        hours,
        failure_share: (failed as f64).max(0.5) / n,
        dispersion: (pearson / (n - 1.0).max(1.0)).max(1.0),
    }
}

fn pass_fail_gate(rule: Rule) -> Gate {
    Gate {
        on_fail: FailAction::Abort,
        ..Gate::new(rule)
    }
}

/// One trial: draw a baseline, build the gates, feed them the same reports at `ratio` times
/// the baseline rate until all decided or `budget` reports. Returns the four ends and the
/// dispersion estimate.
fn trial(
    model: &TelemetryModel,
    design: &TelemetryDesign,
    ratio: f64,
    budget: u64,
    rng: &mut SplitMix64,
) -> Option<([End; 4], f64)> {
    let base = draw_baseline(model, rng);
    let check = |dispersion: f64| HealthCheck {
        metric: "crashes".into(),
        baseline: Baseline::Rate {
            events: base.events,
            device_hours: base.hours,
        },
        ratio: design.ratio,
        alpha: design.alpha,
        beta: design.beta,
        min_exposure: design.min_exposure,
        dispersion,
        on_regression: FailAction::Pause,
    };
    let mut monitors = [
        HealthMonitor::new(vec![check(1.0)]).ok()?,
        HealthMonitor::new(vec![check(base.dispersion)]).ok()?,
    ];
    // A report fails when it has a crash: p0 from the baseline, p(r) = 1 - (1 - p0)^r.
    let p0 = base.failure_share;
    let p_at = |r: f64| 1.0 - (1.0 - p0).powf(r);
    let sprt = pass_fail_gate(Rule::Sprt(Sprt {
        p0,
        p1: p_at(design.ratio),
        alpha: design.alpha,
        beta: design.beta,
    }));
    let threshold = pass_fail_gate(Rule::Threshold(Threshold {
        max_failure_percent: 100.0 * p_at(design.ratio),
        min_executions: design.threshold_min_reports,
    }));
    let mut stats = RingStats {
        size: budget,
        started: budget,
        ..RingStats::default()
    };
    let mut latched = [SprtDecision::Continue; 2];
    let mut ends: [End; 4] = [None; 4];
    for n in 1..=budget {
        if ends.iter().all(Option::is_some) {
            break;
        }
        let (hours, crashes) = model.report(ratio, rng);
        if crashes > 0 {
            stats.failed += 1;
        } else {
            stats.succeeded += 1;
        }
        let obs = Observation::new("sim", hours).with("crashes", Reading::Events(crashes));
        for (m, end) in monitors.iter_mut().zip(ends.iter_mut()) {
            if end.is_none() {
                match m.observe(&obs).ok()? {
                    HealthDecision::Pause => *end = Some((true, n)),
                    HealthDecision::Promote => *end = Some((false, n)),
                    HealthDecision::Continue => {}
                }
            }
        }
        for ((gate, l), end) in [&sprt, &threshold]
            .into_iter()
            .zip(latched.iter_mut())
            .zip(ends.iter_mut().skip(2))
        {
            if end.is_none() {
                let (verdict, d) = gate.evaluate(&stats, 0, *l);
                *l = d;
                match verdict.outcome {
                    Outcome::Abort | Outcome::Pause => *end = Some((true, n)),
                    Outcome::Promote => *end = Some((false, n)),
                    Outcome::Continue => {}
                }
            }
        }
    }
    Some((ends, base.dispersion))
}

/// Runs `runs` trials at true rate ratio `ratio` from `seed`, up to `budget` reports each;
/// `None` when a drawn baseline makes a gate invalid (e.g. a proportion ratio reaching 1).
pub fn telemetry_summary(
    model: &TelemetryModel,
    design: &TelemetryDesign,
    ratio: f64,
    budget: u64,
    runs: u64,
    seed: u64,
) -> Option<TelemetrySummary> {
    let mut rng = SplitMix64::new(seed);
    let mut sums = [(TelemetryGateSummary::default(), 0u64, 0u64); 4];
    let mut dispersion = 0.0;
    for _ in 0..runs {
        let (ends, phi) = trial(model, design, ratio, budget, &mut rng)?;
        dispersion += phi;
        for (end, (s, to_stop, to_decide)) in ends.iter().zip(sums.iter_mut()) {
            match end {
                Some((true, n)) => {
                    s.stopped += 1;
                    *to_stop += n;
                    *to_decide += n;
                }
                Some((false, n)) => {
                    s.passed += 1;
                    *to_decide += n;
                }
                None => {
                    s.undecided += 1;
                    *to_decide += budget;
                }
            }
        }
    }
    let done = |(mut s, to_stop, to_decide): (TelemetryGateSummary, u64, u64)| {
        if s.stopped > 0 {
            s.mean_reports_to_stop = to_stop as f64 / s.stopped as f64;
        }
        if runs > 0 {
            s.mean_reports_to_decide = to_decide as f64 / runs as f64;
        }
        s
    };
    Some(TelemetrySummary {
        runs,
        health: done(sums[0]),
        health_dispersed: done(sums[1]),
        sprt: done(sums[2]),
        threshold: done(sums[3]),
        mean_dispersion: if runs > 0 {
            dispersion / runs as f64
        } else {
            0.0
        },
    })
}
