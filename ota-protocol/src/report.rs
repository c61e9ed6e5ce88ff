//! The device report: what a device runs and how it is doing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ids::Sha256;

/// What a device reports about itself, periodically and after every update. `report_id` lets
/// the receiver recognise a redelivered report ([`crate::ReportDedup`]); the device's identity is
/// the transport's (its certificate and topic), not a field a device could fill in for another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceReport {
    /// Unique per report of this device (a persisted counter, or random).
    pub report_id: u64,
    /// The device's clock when it wrote the report (seconds since the epoch).
    pub sent_at: u64,
    /// The installed version of each component.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub installed: Vec<InstalledComponent>,
    /// The A/B slot it runs from (`None` without A/B firmware slots).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_slot: Option<Slot>,
    /// Boots since it was manufactured (or since its counter was last reset).
    pub boot_count: u64,
    /// Reboot loops detected (trial boots over the limit that led to a revert).
    pub reboot_loops: u64,
    /// Seconds it has run since the last install was committed (`None`: never updated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uptime_since_install: Option<u64>,
    /// Health metrics by name (finite numbers: temperature, free memory, error counts...).
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "metrics::deserialize"
    )]
    pub health: BTreeMap<String, f64>,
}

/// One installed component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstalledComponent {
    /// The component id (as in the manifest).
    pub id: String,
    /// Its version (semver text, as in the manifest; not parsed here).
    pub version: String,
    /// SHA-256 of its image, when the device knows it (the delta source key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<Sha256>,
}

/// An A/B slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Slot {
    /// Slot A (wire code 0).
    A,
    /// Slot B (wire code 1).
    B,
}

impl Slot {
    /// The wire code.
    #[must_use]
    pub fn code(self) -> u8 {
        match self {
            Slot::A => 0,
            Slot::B => 1,
        }
    }

    /// The slot of a wire code.
    #[must_use]
    pub fn from_code(code: u64) -> Option<Slot> {
        match code {
            0 => Some(Slot::A),
            1 => Some(Slot::B),
            _ => None,
        }
    }
}

/// The health map from JSON, refusing a name given twice (serde would keep the last).
mod metrics {
    use std::collections::BTreeMap;
    use std::fmt;

    use serde::Deserializer;
    use serde::de::{MapAccess, Visitor};

    use crate::error::DecodeError;

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<String, f64>, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = BTreeMap<String, f64>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of metric names to numbers")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
                let mut out = BTreeMap::new();
                while let Some((k, v)) = m.next_entry::<String, f64>()? {
                    if out.contains_key(&k) {
                        return Err(serde::de::Error::custom(DecodeError::DuplicateMetric(k)));
                    }
                    out.insert(k, v);
                }
                Ok(out)
            }
        }
        d.deserialize_map(V)
    }
}
