//! The update class of a component (FORMAT.md, component key 14): security or feature update.
//! Without `std` too: the no_std view reports it.

use core::fmt;

/// Whether a component's update is a security update or a feature update.
///
/// A component without a class (manifests written before the field existed) is *unclassified*:
/// a device that defers updates treats it as a security update (it never waits longer than a
/// security update may), and the rollout treats it as a regular, non-security release.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "std",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
pub enum UpdateClass {
    /// Adds or changes functionality and fixes no vulnerability: a device may defer it within its
    /// policy.
    Feature,
    /// Fixes vulnerabilities: a device may defer it only until its security deadline.
    Security,
}

impl UpdateClass {
    /// Its CBOR code (FORMAT.md, component key 14): 0 feature, 1 security.
    #[must_use]
    pub fn code(self) -> u64 {
        match self {
            UpdateClass::Feature => 0,
            UpdateClass::Security => 1,
        }
    }

    pub(crate) fn from_code(code: u64) -> Option<Self> {
        match code {
            0 => Some(UpdateClass::Feature),
            1 => Some(UpdateClass::Security),
            _ => None,
        }
    }
}

impl fmt::Display for UpdateClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UpdateClass::Feature => "feature",
            UpdateClass::Security => "security",
        })
    }
}
