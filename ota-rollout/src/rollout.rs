//! The rollout state machine (design in `STATES.md`).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::event::{Decision, Event, Report, Status};
use crate::gate::{FailAction, Outcome, SprtDecision, SprtProgress, Verdict, Why};
use crate::health::{
    HealthDecision, HealthStatus, Observation, apply_observation, validate_states,
};
use crate::limits::Limits;
use crate::plan::Plan;
use crate::ring_state::RingState;

/// A rollout in progress. Persist it with serde between events.
///
/// Deserialising checks the state's invariants (the plan is valid, one ring state per ring,
/// counts within sizes, indices in range), so a corrupted record is an error, never a panic
/// later.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RolloutRecord")]
pub struct Rollout {
    plan: Plan,
    status: Status,
    active: usize,
    rings: Vec<RingState>,
    last_now: u64,
    minute: u64,
    started_this_minute: u64,
}

/// The unchecked shape of a persisted [`Rollout`].
#[derive(Deserialize)]
struct RolloutRecord {
    plan: Plan,
    status: Status,
    active: usize,
    rings: Vec<RingState>,
    last_now: u64,
    minute: u64,
    started_this_minute: u64,
}

impl TryFrom<RolloutRecord> for Rollout {
    type Error = Error;

    fn try_from(r: RolloutRecord) -> Result<Rollout> {
        r.plan.validate(&Limits::default())?;
        let n = r.plan.rings.len();
        if r.rings.len() != n {
            return Err(Error::RingCountMismatch {
                plan: n,
                given: r.rings.len(),
            });
        }
        let bad = |what: &str| Err(Error::plan("/state", what.to_owned()));
        if r.active >= n {
            return bad("active ring out of range");
        }
        if let Status::Paused { ring, .. } | Status::Aborted { ring, .. } = r.status
            && ring >= n
        {
            return bad("status names a ring out of range");
        }
        for (k, ring) in r.rings.iter().enumerate() {
            let checks = r.plan.rings.get(k).map_or(0, |p| p.gate.health.len());
            validate_states(&ring.health, checks, &format!("/state/rings/{k}/health"))?;
            let s = &ring.stats;
            if s.size > 1 << 32
                || s.started > s.size
                || s.succeeded
                    .checked_add(s.failed)
                    .and_then(|x| x.checked_add(s.refused))
                    .is_none_or(|x| x > s.started)
                || ring.reported.len() as u64 != s.size.div_ceil(64)
                || s.carried_failed.checked_add(s.carried_succeeded).is_none()
            {
                return bad("ring counts are inconsistent");
            }
            let marked: u64 = ring
                .reported
                .iter()
                .map(|w| u64::from(w.count_ones()))
                .sum();
            if marked != s.resolved() {
                return bad("reported bits do not match the counts");
            }
        }
        Ok(Rollout {
            plan: r.plan,
            status: r.status,
            active: r.active,
            rings: r.rings,
            last_now: r.last_now,
            minute: r.minute,
            started_this_minute: r.started_this_minute,
        })
    }
}

impl Rollout {
    /// A rollout of `plan` over rings of the given sizes (from
    /// [`crate::FleetAssignment::ring_sizes`]), starting at `now` with the first ring open.
    ///
    /// # Errors
    ///
    /// Whatever [`Plan::validate`] refuses (default [`Limits`]), [`Error::RingCountMismatch`],
    /// [`Error::InvalidPlan`] for a ring too large to track in memory (over 2^32 devices).
    pub fn new(plan: Plan, ring_sizes: &[u64], now: u64) -> Result<Rollout> {
        plan.validate(&Limits::default())?;
        if ring_sizes.len() != plan.rings.len() {
            return Err(Error::RingCountMismatch {
                plan: plan.rings.len(),
                given: ring_sizes.len(),
            });
        }
        if ring_sizes.iter().any(|&s| s > 1 << 32) {
            return Err(Error::plan("/rings", "a ring of more than 2^32 devices"));
        }
        let mut rings: Vec<RingState> = ring_sizes
            .iter()
            .zip(&plan.rings)
            .map(|(&s, r)| RingState::new(s, r.gate.health.len()))
            .collect();
        if let Some(first) = rings.first_mut() {
            first.opened_at = Some(now);
        }
        Ok(Rollout {
            plan,
            status: Status::Running,
            active: 0,
            rings,
            last_now: now,
            minute: now / 60,
            started_this_minute: 0,
        })
    }

    /// The plan.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The status.
    pub fn status(&self) -> &Status {
        &self.status
    }

    /// The newest open ring.
    pub fn active_ring(&self) -> usize {
        self.active
    }

    /// The state of each ring.
    pub fn rings(&self) -> &[RingState] {
        &self.rings
    }

    /// What ring `ring`'s SPRT gate has seen so far (counts, log-likelihood ratio, bounds and
    /// decision), e.g. after each report; `None` for a ring that does not exist or whose gate is
    /// not an SPRT.
    pub fn sprt_progress(&self, ring: usize) -> Option<SprtProgress> {
        let state = self.rings.get(ring)?;
        self.plan
            .rings
            .get(ring)?
            .gate
            .sprt_progress(&state.stats, state.sprt)
    }

    /// The statistic of each health check of ring `ring` (empty for a ring that does not exist
    /// or has no health checks).
    pub fn health(&self, ring: usize) -> Vec<HealthStatus> {
        match (self.plan.rings.get(ring), self.rings.get(ring)) {
            (Some(p), Some(r)) => p
                .gate
                .health
                .iter()
                .zip(&r.health)
                .map(|(c, s)| c.status(s))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Handles one telemetry report of a device of ring `ring` at time `now`: it feeds the
    /// ring's health checks, and a regression pauses or aborts the rollout (as the check's
    /// `on_regression` says) exactly as a failing pass/fail gate does. Then it does what
    /// [`Rollout::handle`] does after any event (gates, starts, completion).
    ///
    /// Duplicate telemetry is not detected (no per-report history is kept): give each report
    /// once (e.g. by report id).
    ///
    /// # Errors
    ///
    /// [`Error::TimeWentBackwards`], [`Error::Finished`], [`Error::RingNotOpen`],
    /// [`Error::InvalidObservation`]. On error the rollout is unchanged.
    pub fn handle_telemetry(
        &mut self,
        ring: usize,
        observation: &Observation,
        now: u64,
    ) -> Result<Vec<Decision>> {
        self.check(&Event::Tick, now)?;
        let (Some(plan_ring), Some(state)) = (self.plan.rings.get(ring), self.rings.get(ring))
        else {
            return Err(Error::RingNotOpen { ring });
        };
        if state.opened_at.is_none() || ring > self.active {
            return Err(Error::RingNotOpen { ring });
        }
        let next = apply_observation(&plan_ring.gate.health, &state.health, observation)?;
        self.last_now = now;
        if let Some(r) = self.rings.get_mut(ring) {
            r.health = next;
        }
        let mut out = Vec::new();
        self.after_event(now, &mut out, Some(&observation.device));
        Ok(out)
    }

    /// Devices started over all rings.
    pub fn started(&self) -> u64 {
        self.rings.iter().map(|r| r.stats.started).sum()
    }

    /// Reports a gate counts (successes and failures) over all rings.
    pub fn reports(&self) -> u64 {
        self.rings.iter().map(|r| r.stats.reports()).sum()
    }

    /// Refusals ([`Report::Refused`]) over all rings; per ring in [`RingStats::refused`](crate::RingStats::refused).
    pub fn refused(&self) -> u64 {
        self.rings.iter().map(|r| r.stats.refused).sum()
    }

    /// Handles one event at time `now` (UTC seconds) and returns the decisions it leads to.
    ///
    /// # Errors
    ///
    /// [`Error::TimeWentBackwards`], [`Error::Finished`], [`Error::UnknownDevice`],
    /// [`Error::NotStarted`], [`Error::DuplicateReport`], [`Error::InvalidEvent`]. On error the
    /// rollout is unchanged.
    pub fn handle(&mut self, event: Event, now: u64) -> Result<Vec<Decision>> {
        self.check(&event, now)?;
        self.last_now = now;
        let mut out = Vec::new();
        match event {
            Event::Tick => {}
            Event::Report {
                ring,
                index,
                outcome,
            } => {
                let r = &mut self.rings[ring];
                if let Some(word) = r.reported.get_mut((index / 64) as usize) {
                    *word |= 1 << (index % 64);
                }
                match outcome {
                    Report::Succeeded => r.stats.succeeded += 1,
                    Report::Failed | Report::TimedOut => r.stats.failed += 1,
                    Report::Refused => r.stats.refused += 1,
                }
            }
            Event::Approve => {
                if let Status::Paused { ring, .. } = self.status
                    && let Some(r) = self.rings.get_mut(ring)
                {
                    r.pause_acknowledged = true;
                }
                self.status = Status::Running;
                let verdict = self.operator_verdict("approved", now);
                self.promote(verdict, now, &mut out);
            }
            Event::Resume => {
                if let Status::Paused { ring, .. } = self.status
                    && let Some(r) = self.rings.get_mut(ring)
                {
                    r.pause_acknowledged = true;
                }
                self.status = Status::Running;
            }
            Event::Pause { note } => {
                let mut verdict = self.operator_verdict(&note, now);
                verdict.outcome = Outcome::Pause;
                out.push(Decision::Pause {
                    ring: self.active,
                    verdict: verdict.clone(),
                });
                self.status = Status::Paused {
                    ring: self.active,
                    verdict,
                };
                return Ok(out);
            }
            Event::Abort { note } => {
                let mut verdict = self.operator_verdict(&note, now);
                verdict.outcome = Outcome::Abort;
                out.push(Decision::Abort {
                    ring: self.active,
                    verdict: verdict.clone(),
                });
                self.status = Status::Aborted {
                    ring: self.active,
                    verdict,
                };
                return Ok(out);
            }
        }
        self.after_event(now, &mut out, None);
        Ok(out)
    }

    /// Gates, starts and completion after an event has been applied. `device` is the device
    /// whose telemetry was just counted, named in a regression verdict.
    fn after_event(&mut self, now: u64, out: &mut Vec<Decision>, device: Option<&str>) {
        self.evaluate(now, out, device);
        if self.status == Status::Running {
            self.start_devices(now, out);
        }
        let last = self.rings.len().saturating_sub(1);
        if self.status == Status::Running
            && self.active == last
            && self
                .rings
                .iter()
                .all(|r| r.stats.resolved() >= r.stats.size)
        {
            self.status = Status::Completed;
            out.push(Decision::Complete);
        }
    }

    fn check(&self, event: &Event, now: u64) -> Result<()> {
        if now < self.last_now {
            return Err(Error::TimeWentBackwards {
                last: self.last_now,
                now,
            });
        }
        if matches!(self.status, Status::Aborted { .. } | Status::Completed) {
            return Err(Error::Finished {
                status: self.status.name(),
            });
        }
        match event {
            Event::Report { ring, index, .. } => {
                let ring = *ring;
                let index = *index;
                let r = self
                    .rings
                    .get(ring)
                    .filter(|r| index < r.stats.size)
                    .ok_or(Error::UnknownDevice { ring, index })?;
                if index >= r.stats.started {
                    return Err(Error::NotStarted { ring, index });
                }
                if r.is_reported(index) {
                    return Err(Error::DuplicateReport { ring, index });
                }
            }
            Event::Resume if !matches!(self.status, Status::Paused { .. }) => {
                return Err(Error::InvalidEvent {
                    event: "resume",
                    status: self.status.name(),
                });
            }
            Event::Pause { .. } if self.status != Status::Running => {
                return Err(Error::InvalidEvent {
                    event: "pause",
                    status: self.status.name(),
                });
            }
            _ => {}
        }
        Ok(())
    }

    fn soaked(&self, ring: usize, now: u64) -> u64 {
        self.rings
            .get(ring)
            .and_then(|r| r.opened_at)
            .map_or(0, |t| now.saturating_sub(t))
    }

    fn operator_verdict(&self, note: &str, now: u64) -> Verdict {
        let stats = self
            .rings
            .get(self.active)
            .map(|r| r.stats)
            .unwrap_or_default();
        Verdict {
            outcome: Outcome::Promote,
            why: Why::Operator {
                note: note.to_owned(),
            },
            reports: stats.reports(),
            failures: stats.failed,
            soaked_secs: self.soaked(self.active, now),
        }
    }

    /// Opens the next ring (no-op on the last one).
    fn promote(&mut self, verdict: Verdict, now: u64, out: &mut Vec<Decision>) {
        if self.active + 1 >= self.rings.len() {
            return;
        }
        let from = self.active;
        self.active += 1;
        // An undecided SPRT goes on in the next ring with the evidence gathered so far.
        let carry = match (&self.plan.rings[from].gate.rule, self.rings[from].sprt) {
            (crate::gate::Rule::Sprt(_), SprtDecision::Continue) => {
                self.rings[from].stats.sprt_counts()
            }
            _ => (0, 0),
        };
        let next = &mut self.rings[self.active];
        next.opened_at = Some(now);
        next.stats.carried_failed = carry.0;
        next.stats.carried_succeeded = carry.1;
        out.push(Decision::Promote {
            from,
            to: self.active,
            verdict,
        });
    }

    /// The first health regression of ring `k`, as a verdict, if any.
    fn health_failure(&self, k: usize, now: u64, device: Option<&str>) -> Option<Verdict> {
        let checks = &self.plan.rings.get(k)?.gate.health;
        let r = self.rings.get(k)?;
        let (check, state) = checks
            .iter()
            .zip(&r.health)
            .find(|(_, s)| s.decision == HealthDecision::Pause)?;
        Some(Verdict {
            outcome: match check.on_regression {
                FailAction::Abort => Outcome::Abort,
                FailAction::Pause => Outcome::Pause,
            },
            why: Why::HealthRegressed {
                status: check.status(state),
                device: device.map(str::to_owned),
            },
            reports: r.stats.reports(),
            failures: r.stats.failed,
            soaked_secs: self.soaked(k, now),
        })
    }

    /// Whether a health check of ring `k` holds its promotion: undecided, or a regression that
    /// a human resumed past (only `Approve` promotes then). An empty ring gets no telemetry and
    /// waits for none.
    fn health_holds(&self, k: usize) -> bool {
        let (Some(p), Some(r)) = (self.plan.rings.get(k), self.rings.get(k)) else {
            return false;
        };
        // One state per check (checked on creation and deserialisation).
        r.stats.expected() > 0
            && !p.gate.health.is_empty()
            && r.health
                .iter()
                .any(|s| s.decision != HealthDecision::Promote)
    }

    fn evaluate(&mut self, now: u64, out: &mut Vec<Decision>, device: Option<&str>) {
        loop {
            if matches!(self.status, Status::Aborted { .. } | Status::Completed) {
                return;
            }
            // Failure first, on every open ring.
            for k in 0..=self.active.min(self.rings.len().saturating_sub(1)) {
                let soaked = self.soaked(k, now);
                let gate = &self.plan.rings[k].gate;
                let r = &mut self.rings[k];
                let (verdict, decision) = gate.evaluate(&r.stats, soaked, r.sprt);
                r.sprt = decision;
                let failed = matches!(
                    verdict.why,
                    Why::SprtRejected { .. } | Why::ThresholdExceeded { .. }
                );
                let verdict = if failed {
                    verdict
                } else {
                    match self.health_failure(k, now, device) {
                        Some(v) => v,
                        None => continue,
                    }
                };
                let acknowledged = self.rings[k].pause_acknowledged;
                match verdict.outcome {
                    Outcome::Abort => {
                        out.push(Decision::Abort {
                            ring: k,
                            verdict: verdict.clone(),
                        });
                        self.status = Status::Aborted { ring: k, verdict };
                        return;
                    }
                    Outcome::Pause if !acknowledged => {
                        if self.status == Status::Running {
                            out.push(Decision::Pause {
                                ring: k,
                                verdict: verdict.clone(),
                            });
                            self.status = Status::Paused { ring: k, verdict };
                        }
                        return;
                    }
                    _ => {}
                }
            }
            if self.status != Status::Running || self.active + 1 >= self.rings.len() {
                return;
            }
            let k = self.active;
            let soaked = self.soaked(k, now);
            let health_holds = self.health_holds(k);
            let gate = &self.plan.rings[k].gate;
            let r = &mut self.rings[k];
            let (verdict, decision) = gate.evaluate(&r.stats, soaked, r.sprt);
            r.sprt = decision;
            match verdict.outcome {
                // Every health check must have found no regression first.
                Outcome::Promote if health_holds => return,
                Outcome::Promote => self.promote(verdict, now, out),
                Outcome::Pause if !r.pause_acknowledged => {
                    out.push(Decision::Pause {
                        ring: k,
                        verdict: verdict.clone(),
                    });
                    self.status = Status::Paused { ring: k, verdict };
                    return;
                }
                _ => return,
            }
        }
    }

    fn start_devices(&mut self, now: u64, out: &mut Vec<Decision>) {
        let minute = now / 60;
        if minute != self.minute {
            self.minute = minute;
            self.started_this_minute = 0;
        }
        let mut allowance = match &self.plan.rate {
            None => u64::MAX,
            Some(rate) => {
                let notified = self.started();
                let succeeded: u64 = self.rings.iter().map(|r| r.stats.succeeded).sum();
                rate.current_per_minute(notified, succeeded)
                    .saturating_sub(self.started_this_minute)
            }
        };
        for k in 0..=self.active.min(self.rings.len().saturating_sub(1)) {
            if allowance == 0 {
                break;
            }
            let r = &mut self.rings[k];
            let count = (r.stats.size - r.stats.started).min(allowance);
            if count == 0 {
                continue;
            }
            out.push(Decision::Start {
                ring: k,
                first: r.stats.started,
                count,
            });
            r.stats.started += count;
            allowance -= count;
            self.started_this_minute += count;
        }
    }
}
