//! The state of one ring of a rollout: its counts, gate state and which devices reported.

use serde::{Deserialize, Serialize};

use crate::gate::{RingStats, SprtDecision};
use crate::health::HealthState;

/// The state of one ring.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RingState {
    /// Counts.
    pub stats: RingStats,
    /// When the ring opened (UTC seconds), if it has.
    pub opened_at: Option<u64>,
    /// The SPRT's latched decision.
    pub sprt: SprtDecision,
    /// A human resumed after this ring's gate paused: it does not pause again.
    pub pause_acknowledged: bool,
    /// The state of each of the gate's health checks, in the gate's order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub health: Vec<HealthState>,
    /// One bit per device: reported.
    pub(crate) reported: Vec<u64>,
}

impl RingState {
    pub(crate) fn new(size: u64, health_checks: usize) -> Self {
        RingState {
            stats: RingStats {
                size,
                ..RingStats::default()
            },
            opened_at: None,
            sprt: SprtDecision::Continue,
            pause_acknowledged: false,
            health: vec![HealthState::default(); health_checks],
            reported: vec![0; size.div_ceil(64) as usize],
        }
    }

    pub(crate) fn is_reported(&self, index: u64) -> bool {
        let word = self
            .reported
            .get((index / 64) as usize)
            .copied()
            .unwrap_or(0);
        word >> (index % 64) & 1 == 1
    }
}
