//! Ring assignment: stateless (per device, from its hash) and exact (for a known fleet list).

use std::collections::{BTreeMap, BinaryHeap, HashSet};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::plan::{Device, Plan};
use crate::position::{POSITIONS, position53, ppb_count, ppb_threshold, salt_seed};
use crate::selector::Ineligible;

/// Where a device stands in a rollout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Assignment {
    /// In this ring (by its hash).
    Ring(usize),
    /// In this ring because the plan pins it there.
    Pinned(usize),
    /// Not in any ring: the shares add up to less than 1 and its position is beyond them.
    NotYet,
    /// The plan excludes it.
    Excluded,
    /// The eligibility selector refuses it.
    Ineligible(Ineligible),
}

impl Assignment {
    /// The ring, if any.
    pub fn ring(&self) -> Option<usize> {
        match self {
            Assignment::Ring(r) | Assignment::Pinned(r) => Some(*r),
            _ => None,
        }
    }
}

/// Precomputed stateless assignment for one plan: the salt's seed and each ring's threshold.
#[derive(Debug, Clone)]
pub struct Assigner {
    seed: u64,
    thresholds: Vec<u64>,
}

impl Assigner {
    /// The ring a device id falls in by hash alone (no eligibility, pins or exclusions), or
    /// `None` when beyond the last ring. This is the hot path measured by the benchmark.
    #[inline]
    pub fn ring_of(&self, device_id: &str) -> Option<usize> {
        let p = position53(self.seed, device_id);
        self.thresholds.iter().position(|&t| p < t)
    }

    /// A device's position in this plan's order, in `[0, 1)` (exact: 53 bits). A device is in
    /// ring `k` when its position is below the cumulative share of rings `0..=k`.
    pub fn position(&self, device_id: &str) -> f64 {
        position53(self.seed, device_id) as f64 / POSITIONS as f64
    }

    /// The seed of the plan's salt.
    pub fn seed(&self) -> u64 {
        self.seed
    }
}

impl Plan {
    /// The stateless assigner of this plan.
    pub fn assigner(&self) -> Assigner {
        Assigner {
            seed: salt_seed(&self.salt),
            thresholds: self
                .cumulative_ppb()
                .into_iter()
                .map(ppb_threshold)
                .collect(),
        }
    }

    /// Stateless assignment of one device: exclusion, then eligibility, then pinning, then the
    /// hash. Needs nothing but the plan and the device, so a server can answer a device's poll
    /// without a fleet list. Strata are not applied (they need the fleet; see
    /// [`Plan::assign_fleet`]).
    pub fn assign(&self, device: &Device) -> Assignment {
        self.assign_with(&self.assigner(), device)
    }

    /// [`Plan::assign`] with a precomputed [`Assigner`] (for many devices).
    pub fn assign_with(&self, assigner: &Assigner, device: &Device) -> Assignment {
        if self.excluded.contains(&device.id) {
            return Assignment::Excluded;
        }
        if let Some(sel) = &self.eligibility
            && let Err(why) = sel.explain(&device.attributes)
        {
            return Assignment::Ineligible(why);
        }
        if let Some(&ring) = self.pinned.get(&device.id) {
            return Assignment::Pinned(ring);
        }
        match assigner.ring_of(&device.id) {
            Some(r) => Assignment::Ring(r),
            None => Assignment::NotYet,
        }
    }

    /// Exact assignment of a known fleet.
    ///
    /// The eligible, non-excluded devices (`N` of them) are ordered by their hash position (the
    /// same order as stateless mode; ties by id). Pinned devices go to their ring. Ring `k`
    /// and the rings before it then hold exactly `ceil(c_k * N)` devices, `c_k` being the sum
    /// of the shares of rings `0..=k` (more only when pins alone exceed that), filled in
    /// position order, so growing a share only moves devices into the rollout or to an earlier
    /// ring. With the shares 1% / 10% / 89% and `N = 20,000` the rings hold 200, 2,000 and
    /// 17,800 devices.
    ///
    /// With `strata`, the first ring is chosen per stratum (each distinct combination of the
    /// strata attributes' values, a missing attribute being its own value): every stratum gets
    /// at least one canary, the remaining canary seats go by the Adams divisor method (which
    /// never takes a seat away when the canary ring grows), and each stratum's canaries are its
    /// lowest positions. The canary ring grows to the number of strata when that is larger.
    /// Later rings keep their exact sizes; growing the *canary* share of a stratified plan can
    /// then move a device from a later ring one ring further out (exact sizes and stratification
    /// cannot both be monotone in that one share); growing any other share stays monotone.
    ///
    /// Each ring lists its devices (as indices into `devices`) in start order (position order).
    ///
    /// # Errors
    ///
    /// [`Error::DuplicateDevice`] when an id appears twice.
    pub fn assign_fleet(&self, devices: &[Device]) -> Result<FleetAssignment> {
        let mut seen = HashSet::with_capacity(devices.len());
        for d in devices {
            if !seen.insert(d.id.as_str()) {
                return Err(Error::DuplicateDevice { id: d.id.clone() });
            }
        }
        drop(seen);
        let seed = salt_seed(&self.salt);
        let nrings = self.rings.len();
        let mut out = FleetAssignment {
            rings: vec![Vec::new(); nrings],
            not_yet: Vec::new(),
            excluded: Vec::new(),
            ineligible: Vec::new(),
        };
        // (position, index into devices, pinned ring)
        let mut candidates: Vec<(u64, usize, Option<usize>)> = Vec::with_capacity(devices.len());
        for (i, d) in devices.iter().enumerate() {
            if self.excluded.contains(&d.id) {
                out.excluded.push(i);
                continue;
            }
            if let Some(sel) = &self.eligibility
                && let Err(why) = sel.explain(&d.attributes)
            {
                out.ineligible.push((i, why));
                continue;
            }
            let pin = self.pinned.get(&d.id).copied().filter(|&r| r < nrings);
            candidates.push((position53(seed, &d.id), i, pin));
        }
        let n = candidates.len() as u64;
        candidates.sort_unstable_by(|a, b| (a.0, &devices[a.1].id).cmp(&(b.0, &devices[b.1].id)));

        // ring index per candidate (usize::MAX = not placed yet)
        let mut placed = vec![usize::MAX; candidates.len()];
        let mut ring_count = vec![0u64; nrings];
        for (ci, c) in candidates.iter().enumerate() {
            if let Some(r) = c.2 {
                placed[ci] = r;
                ring_count[r] += 1;
            }
        }
        let targets: Vec<u64> = self
            .cumulative_ppb()
            .into_iter()
            .map(|c| ppb_count(c, n))
            .collect();

        if !self.strata.is_empty() && nrings > 0 {
            let seats = targets[0].saturating_sub(ring_count[0]);
            self.place_stratified(devices, &candidates, &mut placed, seats, &mut ring_count);
        }

        // Fill rings in position order up to their cumulative targets.
        let mut cursor = 0usize;
        let mut cumulative = 0u64;
        for (k, &target) in targets.iter().enumerate() {
            cumulative += ring_count[k];
            while cumulative < target && cursor < candidates.len() {
                if placed[cursor] == usize::MAX {
                    placed[cursor] = k;
                    ring_count[k] += 1;
                    cumulative += 1;
                }
                cursor += 1;
            }
        }
        for (ci, c) in candidates.iter().enumerate() {
            match out.rings.get_mut(placed[ci]) {
                Some(ring) => ring.push(c.1),
                None => out.not_yet.push(c.1),
            }
        }
        Ok(out)
    }

    fn place_stratified(
        &self,
        devices: &[Device],
        candidates: &[(u64, usize, Option<usize>)],
        placed: &mut [usize],
        seats: u64,
        ring_count: &mut [u64],
    ) {
        // Strata of the not-yet-placed candidates, each a list of candidate indices in position
        // order (candidates are already sorted).
        let mut strata: BTreeMap<Vec<Option<&str>>, Vec<usize>> = BTreeMap::new();
        for (ci, c) in candidates.iter().enumerate() {
            if placed[ci] != usize::MAX {
                continue;
            }
            let attrs = &devices[c.1].attributes;
            let key: Vec<Option<&str>> = self
                .strata
                .iter()
                .map(|a| attrs.get(a).map(String::as_str))
                .collect();
            strata.entry(key).or_default().push(ci);
        }
        let groups: Vec<&Vec<usize>> = strata.values().collect();
        if groups.is_empty() {
            return;
        }
        let total_seats = seats.max(groups.len() as u64);
        // Adams divisor method: start with one seat each, then give each further seat to the
        // stratum with the most devices per seat (ties: the earlier stratum key).
        let mut alloc = vec![1u64; groups.len()];
        let mut given = groups.len() as u64;
        // Priority n_s / a_s compared exactly as fractions: wrap in an ordering key.
        #[derive(PartialEq, Eq)]
        struct Prio {
            n: u64,
            a: u64,
            idx: usize,
        }
        impl Ord for Prio {
            fn cmp(&self, o: &Self) -> core::cmp::Ordering {
                (u128::from(self.n) * u128::from(o.a))
                    .cmp(&(u128::from(o.n) * u128::from(self.a)))
                    .then(o.idx.cmp(&self.idx))
            }
        }
        impl PartialOrd for Prio {
            fn partial_cmp(&self, o: &Self) -> Option<core::cmp::Ordering> {
                Some(self.cmp(o))
            }
        }
        let mut heap: BinaryHeap<Prio> = groups
            .iter()
            .enumerate()
            .filter(|(_, g)| g.len() > 1)
            .map(|(idx, g)| Prio {
                n: g.len() as u64,
                a: 1,
                idx,
            })
            .collect();
        while given < total_seats {
            let Some(top) = heap.pop() else { break };
            alloc[top.idx] += 1;
            given += 1;
            if alloc[top.idx] < top.n {
                heap.push(Prio {
                    n: top.n,
                    a: alloc[top.idx],
                    idx: top.idx,
                });
            }
        }
        for (g, &a) in groups.iter().zip(&alloc) {
            for &ci in g.iter().take(a as usize) {
                placed[ci] = 0;
                ring_count[0] += 1;
            }
        }
    }
}

/// The result of exact assignment. Every device is named by its index in the slice given to
/// [`Plan::assign_fleet`], so a caller maps back to its own records without an id lookup:
/// device `rings[k][i]` is the one [`crate::Event::Report`] calls `ring: k, index: i`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetAssignment {
    /// The devices of each ring, in start order (indices into the input).
    pub rings: Vec<Vec<usize>>,
    /// Eligible devices beyond the last ring (when the shares add up to less than 1).
    pub not_yet: Vec<usize>,
    /// Devices the plan excludes, in input order.
    pub excluded: Vec<usize>,
    /// Devices the selector refuses, with the reason, in input order.
    pub ineligible: Vec<(usize, Ineligible)>,
}

impl FleetAssignment {
    /// The size of each ring, as [`crate::Rollout::new`] wants them.
    pub fn ring_sizes(&self) -> Vec<u64> {
        self.rings.iter().map(|r| r.len() as u64).collect()
    }

    /// The ring and start index of the device at `device` in the input, if it is in a ring
    /// (linear search; for every device at once use [`FleetAssignment::ring_by_device`]).
    pub fn ring_of(&self, device: usize) -> Option<(usize, u64)> {
        self.rings
            .iter()
            .enumerate()
            .find_map(|(k, r)| r.iter().position(|&d| d == device).map(|i| (k, i as u64)))
    }

    /// For each of the `devices` input devices, its ring and start index (`None` when in no
    /// ring).
    pub fn ring_by_device(&self, devices: usize) -> Vec<Option<(usize, u64)>> {
        let mut out = vec![None; devices];
        for (k, ring) in self.rings.iter().enumerate() {
            for (i, &d) in ring.iter().enumerate() {
                if let Some(slot) = out.get_mut(d) {
                    *slot = Some((k, i as u64));
                }
            }
        }
        out
    }
}
