//! What one scenario found: counts per ring, gate decisions, the SPRT path, bytes and reasons.

use std::collections::BTreeMap;

use crate::agent::{Attempt, Outcome};
use crate::fleet::HwRev;

/// Per-ring counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RingRow {
    /// Devices assigned to the ring.
    pub devices: u64,
    /// Devices the server offered the release to.
    pub offered: u64,
    /// Installed and healthy.
    pub installed: u64,
    /// Already up to date.
    pub up_to_date: u64,
    /// Refused by a rule of the manifest's install decision.
    pub refused: u64,
    /// Rejected the signed envelope.
    pub rejected: u64,
    /// Trial boot failed, fell back.
    pub rolled_back: u64,
    /// Download or apply failed.
    pub failed: u64,
    /// Offered but still waiting (window, charger) when the rollout stopped.
    pub withdrawn: u64,
}

/// A gate decision, with when and why.
#[derive(Debug, Clone, PartialEq)]
pub struct GateLine {
    /// Seconds since the scenario began.
    pub at: u64,
    /// What was decided (`promote canary -> early`, `abort at canary`, `complete`).
    pub what: String,
    /// The gate's reason with its numbers.
    pub why: String,
    /// Promote/abort/pause/complete.
    pub kind: GateKind,
}

/// Kinds of gate decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateKind {
    /// A ring opened.
    Promote,
    /// Stopped for good.
    Abort,
    /// Waiting for a human.
    Pause,
    /// Everyone reported.
    Complete,
}

/// The result of one scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioReport {
    /// Counts per ring.
    pub rings: Vec<RingRow>,
    /// Gate decisions in order.
    pub gates: Vec<GateLine>,
    /// Reports the gate had counted when it aborted (devices already installing then finish).
    pub abort_after_reports: Option<u64>,
    /// Final status: `completed`, `aborted at canary`...
    pub status: String,
    /// True when the rollout aborted.
    pub aborted: bool,
    /// Seconds from the first offer to the end.
    pub duration: u64,
    /// Bytes sent to devices.
    pub bytes_sent: u64,
    /// Bytes the same installs would have needed as full images.
    pub bytes_full: u64,
    /// Components installed from a delta / from a full image.
    pub deltas: u64,
    /// Components installed from a full image.
    pub fulls: u64,
    /// Interrupted downloads that resumed from their cursor.
    pub resumed: u64,
    /// Refusal and rejection reasons with their counts.
    pub refusals: BTreeMap<String, u64>,
    /// Rollback reasons with their counts.
    pub rollbacks: BTreeMap<String, u64>,
    /// Failure reasons with their counts.
    pub failures: BTreeMap<String, u64>,
    /// Healthy installs per hardware revision (A, B, C).
    pub installed_by_hw: [u64; 3],
    /// Refusals per hardware revision.
    pub refused_by_hw: [u64; 3],
    /// Rollbacks per hardware revision.
    pub rolled_back_by_hw: [u64; 3],
    /// Install attempts on battery devices.
    pub battery_attempts: u64,
    /// Of those, attempts made while on the charger.
    pub battery_attempts_charging: u64,
    /// Battery devices that had to wait for their charger at least one tick.
    pub battery_waited: u64,
    /// Cumulative healthy installs per ring over time: (seconds since start, per ring).
    pub timeline: Vec<(u64, Vec<u64>)>,
    /// What the SPRT gates saw, report by report (every ring whose gate is an SPRT).
    pub sprt_path: Vec<SprtPoint>,
}

/// One point of an SPRT gate's path: after a report, the test's log-likelihood ratio and its
/// two bounds (from `Rollout::sprt_progress`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SprtPoint {
    /// Seconds since the scenario began.
    pub at: u64,
    /// The ring whose gate it is.
    pub ring: usize,
    /// Reports the gate has counted (failures + successes, carried ones included).
    pub reports: u64,
    /// Failures among them.
    pub failures: u64,
    /// Log-likelihood ratio.
    pub llr: f64,
    /// Wald's lower bound (accept the release).
    pub lower: f64,
    /// Wald's upper bound (reject it).
    pub upper: f64,
}

impl ScenarioReport {
    /// An empty report over rings of these sizes.
    pub fn new(ring_sizes: &[usize]) -> Self {
        ScenarioReport {
            rings: ring_sizes
                .iter()
                .map(|&n| RingRow {
                    devices: n as u64,
                    ..Default::default()
                })
                .collect(),
            gates: Vec::new(),
            abort_after_reports: None,
            status: String::new(),
            aborted: false,
            duration: 0,
            bytes_sent: 0,
            bytes_full: 0,
            deltas: 0,
            fulls: 0,
            resumed: 0,
            refusals: BTreeMap::new(),
            rollbacks: BTreeMap::new(),
            failures: BTreeMap::new(),
            installed_by_hw: [0; 3],
            refused_by_hw: [0; 3],
            rolled_back_by_hw: [0; 3],
            battery_attempts: 0,
            battery_attempts_charging: 0,
            battery_waited: 0,
            timeline: vec![(0, vec![0; ring_sizes.len()])],
            sprt_path: Vec::new(),
        }
    }

    /// Adds one attempt to the counts; true when the device ended healthy on the new release.
    pub fn count_attempt(&mut self, a: &Attempt, hw: HwRev, ring: usize) -> bool {
        let rep = self;
        let h = hw as usize;
        rep.bytes_sent += a.bytes_sent;
        rep.bytes_full += a.bytes_full;
        rep.deltas += u64::from(a.deltas);
        rep.fulls += u64::from(a.fulls);
        rep.resumed += u64::from(a.resumed);
        let Some(row) = rep.rings.get_mut(ring) else {
            return false;
        };
        match &a.outcome {
            Outcome::Installed => {
                row.installed += 1;
                rep.installed_by_hw[h] += 1;
                true
            }
            Outcome::UpToDate => {
                row.up_to_date += 1;
                true
            }
            Outcome::Refused(r) => {
                row.refused += 1;
                rep.refused_by_hw[h] += 1;
                *rep.refusals.entry(r.clone()).or_default() += 1;
                false
            }
            Outcome::Rejected(why) => {
                row.rejected += 1;
                *rep.refusals.entry(format!("envelope: {why}")).or_default() += 1;
                false
            }
            Outcome::RolledBack(why) => {
                row.rolled_back += 1;
                rep.rolled_back_by_hw[h] += 1;
                *rep.rollbacks.entry(why.clone()).or_default() += 1;
                false
            }
            Outcome::Failed(why) => {
                row.failed += 1;
                *rep.failures.entry(why.clone()).or_default() += 1;
                false
            }
        }
    }
}
