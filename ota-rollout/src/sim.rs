//! A deterministic Monte Carlo simulator of gates and whole rollouts (cargo feature `sim`).
//!
//! A separate namespace on purpose: it is a measuring tool beside the policy, with its own
//! randomness, and a server running rollouts does not need it.
//!
//! The policy code stays pure; randomness lives only here, in a small PRNG seeded by the caller
//! ([`SplitMix64`], Steele, Lea and Flood 2014: a 64-bit counter advanced by the golden-ratio
//! increment and passed through a variant of the MurmurHash3 finaliser; it passes BigCrush and is
//! the seeding generator of the xoshiro family). The same seed gives the same results on every
//! platform. The simulator drives the real [`Gate`] and [`Rollout`] code, so what it measures is
//! what a server gets.

mod telemetry;

pub use telemetry::{
    TelemetryDesign, TelemetryGateSummary, TelemetryModel, TelemetrySummary, telemetry_summary,
};

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::event::{Decision, Event, Report, Status};
use crate::gate::{Gate, Outcome, RingStats, Rule, SprtDecision};
use crate::plan::Plan;
use crate::rollout::Rollout;

/// SplitMix64: small, fast, statistically sound for simulation (not for secrets).
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)` with 53 bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn bernoulli(&mut self, p: f64) -> bool {
        self.next_f64() < p
    }

    /// A Poisson draw of mean `mean` (Knuth's product of uniforms, in pieces of mean at most
    /// 30 so `exp(-mean)` never underflows); 0 for a mean that is not positive and finite.
    pub fn poisson(&mut self, mean: f64) -> u64 {
        if !(mean.is_finite() && mean > 0.0) {
            return 0;
        }
        let mut left = mean;
        let mut k = 0u64;
        while left > 0.0 {
            let piece = left.min(30.0);
            left -= piece;
            let limit = (-piece).exp();
            let mut p = self.next_f64();
            while p > limit {
                k += 1;
                p *= self.next_f64();
            }
        }
        k
    }

    /// Uniform in `[lo, hi]`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        let span = hi - lo + 1;
        lo + (((u128::from(self.next_u64())) * u128::from(span)) >> 64) as u64
    }
}

/// How one gate trial ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GateEnd {
    /// The rule failed the release.
    Failed,
    /// The rule passed the release.
    Passed,
    /// Neither within the report budget.
    Undecided,
}

/// One gate trial: the rule watching a stream of independent reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateTrial {
    /// How it ended.
    pub end: GateEnd,
    /// Reports seen when it ended.
    pub reports: u64,
}

/// Runs `rule` over up to `budget` reports, each a failure with probability `p`, evaluating the
/// gate after every report (no soak, no minimum). For the threshold rule "passed" means the
/// whole budget reported without the rule failing.
pub fn gate_trial(rule: Rule, p: f64, budget: u64, rng: &mut SplitMix64) -> GateTrial {
    let gate = Gate::new(rule);
    let mut stats = RingStats {
        size: budget,
        started: budget,
        ..RingStats::default()
    };
    let mut latched = SprtDecision::Continue;
    while stats.reports() < budget {
        if rng.bernoulli(p) {
            stats.failed += 1;
        } else {
            stats.succeeded += 1;
        }
        let (verdict, d) = gate.evaluate(&stats, 0, latched);
        latched = d;
        match verdict.outcome {
            Outcome::Abort | Outcome::Pause
                if !matches!(verdict.why, crate::gate::Why::SprtInconclusive { .. }) =>
            {
                return GateTrial {
                    end: GateEnd::Failed,
                    reports: stats.reports(),
                };
            }
            Outcome::Promote => {
                return GateTrial {
                    end: GateEnd::Passed,
                    reports: stats.reports(),
                };
            }
            _ => {}
        }
    }
    GateTrial {
        end: GateEnd::Undecided,
        reports: stats.reports(),
    }
}

/// Summary of many gate trials.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct GateSummary {
    /// Trials run.
    pub runs: u64,
    /// Trials that failed the release.
    pub failed: u64,
    /// Trials that passed it.
    pub passed: u64,
    /// Trials undecided within the budget.
    pub undecided: u64,
    /// Mean reports at the moment of failing (over failed trials).
    pub mean_reports_to_fail: f64,
    /// Mean reports at the end of a trial, whatever the end.
    pub mean_reports: f64,
    /// Largest reports-to-fail seen.
    pub max_reports_to_fail: u64,
}

/// Runs `runs` gate trials from `seed`.
pub fn gate_summary(rule: Rule, p: f64, budget: u64, runs: u64, seed: u64) -> GateSummary {
    let mut rng = SplitMix64::new(seed);
    let mut s = GateSummary {
        runs,
        ..GateSummary::default()
    };
    let (mut sum_fail, mut sum_all) = (0u64, 0u64);
    for _ in 0..runs {
        let t = gate_trial(rule, p, budget, &mut rng);
        sum_all += t.reports;
        match t.end {
            GateEnd::Failed => {
                s.failed += 1;
                sum_fail += t.reports;
                s.max_reports_to_fail = s.max_reports_to_fail.max(t.reports);
            }
            GateEnd::Passed => s.passed += 1,
            GateEnd::Undecided => s.undecided += 1,
        }
    }
    if s.failed > 0 {
        s.mean_reports_to_fail = sum_fail as f64 / s.failed as f64;
    }
    if runs > 0 {
        s.mean_reports = sum_all as f64 / runs as f64;
    }
    s
}

/// The fleet model of a rollout simulation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FleetModel {
    /// Probability that a device fails (the release's true failure rate).
    pub fail_rate: f64,
    /// Shortest time from start to report, seconds.
    pub report_delay_min_secs: u64,
    /// Longest time from start to report, seconds (uniform in between).
    pub report_delay_max_secs: u64,
    /// Seconds between ticks.
    pub tick_secs: u64,
    /// Give up after this long (simulated seconds).
    pub max_secs: u64,
    /// Answer every pause with `Approve` (an operator who always goes on), instead of stopping.
    pub approve_pauses: bool,
}

/// How a simulated rollout ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RolloutEnd {
    /// A gate aborted it, in this ring.
    Aborted(usize),
    /// It paused (and the model does not approve pauses), in this ring.
    Paused(usize),
    /// Every device reported.
    Completed,
    /// `max_secs` passed.
    TimedOut,
}

/// One simulated rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolloutTrial {
    /// How it ended.
    pub end: RolloutEnd,
    /// Devices that had been given the release when it ended (the blast radius on abort).
    pub started: u64,
    /// Reports received when it ended.
    pub reports: u64,
    /// Simulated seconds.
    pub elapsed_secs: u64,
}

/// Simulates one rollout of `plan` over rings of `sizes` devices.
///
/// # Errors
///
/// Whatever [`Rollout::new`] refuses.
pub fn rollout_trial(
    plan: &Plan,
    sizes: &[u64],
    model: &FleetModel,
    rng: &mut SplitMix64,
) -> Result<RolloutTrial> {
    let mut rollout = Rollout::new(plan.clone(), sizes, 0)?;
    // (due time, ring, index, failed)
    let mut pending: BinaryHeap<Reverse<(u64, usize, u64, bool)>> = BinaryHeap::new();
    let tick = model.tick_secs.max(1);
    let mut now = 0u64;
    let mut decisions = rollout.handle(Event::Tick, now)?;
    loop {
        for d in decisions.drain(..) {
            match d {
                Decision::Start { ring, first, count } => {
                    for index in first..first + count {
                        let due = now
                            + rng.range(model.report_delay_min_secs, model.report_delay_max_secs);
                        pending.push(Reverse((due, ring, index, rng.bernoulli(model.fail_rate))));
                    }
                }
                Decision::Abort { ring, .. } => {
                    return Ok(finish(&rollout, RolloutEnd::Aborted(ring), now));
                }
                Decision::Complete => return Ok(finish(&rollout, RolloutEnd::Completed, now)),
                _ => {}
            }
        }
        if let Status::Paused { ring, .. } = rollout.status() {
            if !model.approve_pauses {
                return Ok(finish(&rollout, RolloutEnd::Paused(*ring), now));
            }
            decisions = rollout.handle(Event::Approve, now)?;
            continue;
        }
        // Next report due within this tick, else the next tick.
        let next_tick = (now / tick + 1) * tick;
        if let Some(Reverse((due, ring, index, failed))) = pending.peek().copied()
            && due < next_tick
        {
            pending.pop();
            now = now.max(due);
            let outcome = if failed {
                Report::Failed
            } else {
                Report::Succeeded
            };
            decisions = rollout.handle(
                Event::Report {
                    ring,
                    index,
                    outcome,
                },
                now,
            )?;
            continue;
        }
        now = next_tick;
        if now > model.max_secs {
            return Ok(finish(&rollout, RolloutEnd::TimedOut, now));
        }
        decisions = rollout.handle(Event::Tick, now)?;
    }
}

fn finish(rollout: &Rollout, end: RolloutEnd, now: u64) -> RolloutTrial {
    RolloutTrial {
        end,
        started: rollout.started(),
        reports: rollout.reports(),
        elapsed_secs: now,
    }
}

/// Summary of many simulated rollouts.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RolloutSummary {
    /// Rollouts run.
    pub runs: u64,
    /// Aborted by a gate.
    pub aborted: u64,
    /// Stopped at a pause.
    pub paused: u64,
    /// Completed.
    pub completed: u64,
    /// Ran out of simulated time.
    pub timed_out: u64,
    /// Aborts per ring.
    pub aborted_in_ring: Vec<u64>,
    /// Mean devices started when the rollout stopped (abort or pause): the blast radius.
    pub mean_started_at_stop: f64,
    /// 99th percentile of devices started at stop.
    pub p99_started_at_stop: u64,
    /// Largest number of devices started at stop.
    pub max_started_at_stop: u64,
    /// Mean reports received when it stopped.
    pub mean_reports_at_stop: f64,
    /// Mean simulated hours to the end (any end).
    pub mean_hours: f64,
}

/// Runs `runs` simulated rollouts from `seed`.
///
/// # Errors
///
/// Whatever [`Rollout::new`] refuses.
pub fn rollout_summary(
    plan: &Plan,
    sizes: &[u64],
    model: &FleetModel,
    runs: u64,
    seed: u64,
) -> Result<RolloutSummary> {
    let mut rng = SplitMix64::new(seed);
    let mut s = RolloutSummary {
        runs,
        aborted_in_ring: vec![0; sizes.len()],
        ..RolloutSummary::default()
    };
    let mut stops = Vec::new();
    let (mut sum_reports, mut sum_secs) = (0u64, 0u64);
    for _ in 0..runs {
        let t = rollout_trial(plan, sizes, model, &mut rng)?;
        sum_secs += t.elapsed_secs;
        match t.end {
            RolloutEnd::Aborted(r) => {
                s.aborted += 1;
                if let Some(c) = s.aborted_in_ring.get_mut(r) {
                    *c += 1;
                }
                stops.push(t.started);
                sum_reports += t.reports;
            }
            RolloutEnd::Paused(_) => {
                s.paused += 1;
                stops.push(t.started);
                sum_reports += t.reports;
            }
            RolloutEnd::Completed => s.completed += 1,
            RolloutEnd::TimedOut => s.timed_out += 1,
        }
    }
    if !stops.is_empty() {
        stops.sort_unstable();
        let n = stops.len();
        s.mean_started_at_stop = stops.iter().sum::<u64>() as f64 / n as f64;
        s.p99_started_at_stop = stops[((n * 99).div_ceil(100)).saturating_sub(1).min(n - 1)];
        s.max_started_at_stop = stops[n - 1];
        s.mean_reports_at_stop = sum_reports as f64 / n as f64;
    }
    if runs > 0 {
        s.mean_hours = sum_secs as f64 / runs as f64 / 3600.0;
    }
    Ok(s)
}
