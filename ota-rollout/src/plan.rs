//! The rollout plan: rings, gates, eligibility, overrides, rate limit; its JSON decoder.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::gate::Gate;
use crate::limits::Limits;
use crate::position::{PPB, fraction_to_ppb};
use crate::rate::RateLimit;
use crate::selector::{Attributes, Selector};

/// A device as the plan sees it: an id and its attributes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// The device's stable id (serial number, thing name...).
    pub id: String,
    /// Attributes used by the eligibility selector and canary strata.
    #[serde(default)]
    pub attributes: Attributes,
}

impl Device {
    /// A device with no attributes.
    pub fn new(id: impl Into<String>) -> Self {
        Device {
            id: id.into(),
            attributes: Attributes::new(),
        }
    }

    /// Adds an attribute (builder style).
    #[must_use]
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes.insert(key.into(), value.into());
        self
    }
}

/// One ring of a rollout.
///
/// A ring's size is its **share** of the eligible fleet, the ring's own part, not a cumulative
/// bound: the guide's canary rings 1% / 10% / the remaining 89% are the shares `0.01`, `0.10`,
/// `0.89` (see [`DEFAULT_RING_SHARES`](crate::DEFAULT_RING_SHARES)). The shares of a plan add up
/// to at most 1; when they add up to less, the rest of the fleet is "not yet" (in no ring).
/// Internally ring `k` covers the positions below the sum of the shares of rings `0..=k`
/// ([`Plan::cumulative_shares`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ring {
    /// A name for people ("canary", "early", "everyone").
    pub name: String,
    /// This ring's own share of the eligible fleet, in `[0, 1]`, resolved to parts per billion
    /// (so `0.07` of 100 devices is exactly 7). Not cumulative: `[0.01, 0.10, 0.89]` is 1%, then
    /// 10%, then the remaining 89%. A share of 0 makes a ring of pinned devices only.
    pub share: f64,
    /// The health gate that must pass before the next ring opens.
    pub gate: Gate,
}

/// A rollout plan. Build it in code or decode it with [`Plan::from_json`]; either way call
/// [`Plan::validate`] (the decoder does) before using it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// The salt of the device order. A new salt per release gives each release a fresh draw;
    /// keeping it keeps every device in its place.
    pub salt: String,
    /// The rings, in order.
    pub rings: Vec<Ring>,
    /// Who may get the release at all (everyone when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eligibility: Option<Selector>,
    /// Devices placed in a given ring regardless of their hash (named canaries, lab devices).
    /// Pinning does not override eligibility.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pinned: BTreeMap<String, usize>,
    /// Devices never assigned, whatever their hash or pinning.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub excluded: BTreeSet<String>,
    /// Attributes whose value combinations define canary strata (exact mode only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub strata: Vec<String>,
    /// How fast devices are started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<RateLimit>,
}

impl Plan {
    /// A plan with the given salt and rings and nothing else.
    pub fn new(salt: impl Into<String>, rings: Vec<Ring>) -> Self {
        Plan {
            salt: salt.into(),
            rings,
            eligibility: None,
            pinned: BTreeMap::new(),
            excluded: BTreeSet::new(),
            strata: Vec::new(),
            rate: None,
        }
    }

    /// The cumulative bound of each ring: the sum of the shares of rings `0..=k`, as fractions
    /// of the eligible fleet (exact in parts per billion; the last is 1.0 when the shares cover
    /// the whole fleet).
    pub fn cumulative_shares(&self) -> Vec<f64> {
        self.cumulative_ppb()
            .into_iter()
            .map(|c| c as f64 / PPB as f64)
            .collect()
    }

    /// The cumulative bounds in parts per billion (capped at one billion).
    pub(crate) fn cumulative_ppb(&self) -> Vec<u64> {
        let mut sum = 0u64;
        self.rings
            .iter()
            .map(|r| {
                sum = sum.saturating_add(fraction_to_ppb(r.share)).min(PPB);
                sum
            })
            .collect()
    }

    /// Decodes and validates a plan from JSON.
    ///
    /// # Errors
    ///
    /// [`Error::TooLarge`], [`Error::Json`], and whatever [`Plan::validate`] refuses.
    pub fn from_json(bytes: &[u8], limits: &Limits) -> Result<Plan> {
        if bytes.len() > limits.max_bytes {
            return Err(Error::TooLarge {
                limit: limits.max_bytes,
                actual: bytes.len(),
            });
        }
        let plan: Plan = serde_json::from_slice(bytes).map_err(|e| {
            let mut err = Error::json(&e);
            // Plans written for the earlier cumulative `fraction` field: say what replaced it.
            if let Error::Json { message, .. } = &mut err
                && message.contains("unknown field `fraction`")
            {
                message.push_str(
                    " (rings now give their own `share` of the fleet, not a cumulative `fraction`: \
                     1%, 10%, the rest is 0.01, 0.10, 0.89)",
                );
            }
            err
        })?;
        plan.validate(limits)?;
        Ok(plan)
    }

    /// Encodes the plan as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Checks everything the engine relies on.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPlan`] naming the field: no rings or too many, a share outside
    /// `[0, 1]` or shares adding up to more than 1, a gate parameter out of range, a pin to a
    /// ring that does not exist, a device both pinned and excluded, too many overrides, an
    /// over-long string, a bad rate limit; [`Error::TooDeep`] / [`Error::TooManyNodes`] for the
    /// selector.
    pub fn validate(&self, limits: &Limits) -> Result<()> {
        let long = |s: &str| s.len() > limits.max_string;
        if long(&self.salt) {
            return Err(Error::plan("/salt", "too long"));
        }
        if self.rings.is_empty() {
            return Err(Error::plan("/rings", "a plan needs at least one ring"));
        }
        if self.rings.len() > limits.max_rings {
            return Err(Error::plan(
                "/rings",
                format!("more than {} rings", limits.max_rings),
            ));
        }
        let mut total = 0u64;
        for (i, ring) in self.rings.iter().enumerate() {
            if long(&ring.name) {
                return Err(Error::plan(format!("/rings/{i}/name"), "too long"));
            }
            let f = ring.share;
            if !(f.is_finite() && (0.0..=1.0).contains(&f)) {
                return Err(Error::plan(
                    format!("/rings/{i}/share"),
                    format!("{f} is not in [0, 1]"),
                ));
            }
            total += fraction_to_ppb(f);
            if total > PPB {
                return Err(Error::plan(
                    format!("/rings/{i}/share"),
                    format!(
                        "the shares of rings 0..={i} add up to {}, more than the whole fleet \
                         (a share is the ring's own part, not a cumulative bound)",
                        total as f64 / PPB as f64
                    ),
                ));
            }
            ring.gate.validate(&format!("/rings/{i}/gate"))?;
        }
        if self.pinned.len() + self.excluded.len() > limits.max_overrides {
            return Err(Error::plan(
                "/pinned",
                format!(
                    "more than {} pinned and excluded devices",
                    limits.max_overrides
                ),
            ));
        }
        for (id, ring) in &self.pinned {
            if long(id) {
                return Err(Error::plan("/pinned", "device id too long"));
            }
            if *ring >= self.rings.len() {
                return Err(Error::plan(
                    format!("/pinned/{id}"),
                    format!("ring {ring} does not exist"),
                ));
            }
            if self.excluded.contains(id) {
                return Err(Error::plan(
                    format!("/pinned/{id}"),
                    "device is both pinned and excluded",
                ));
            }
        }
        if self.excluded.iter().any(|id| long(id)) {
            return Err(Error::plan("/excluded", "device id too long"));
        }
        if self.strata.len() > 8 || self.strata.iter().any(|s| long(s)) {
            return Err(Error::plan(
                "/strata",
                "at most 8 attribute names of bounded length",
            ));
        }
        if let Some(sel) = &self.eligibility {
            sel.validate(limits, "/eligibility")?;
        }
        if let Some(rate) = &self.rate {
            rate.validate("/rate")?;
        }
        Ok(())
    }
}
