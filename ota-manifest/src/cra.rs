//! The fields the EU Cyber Resilience Act asks of an update: security or feature update, and the
//! CVE ids a security update fixes.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{DecodeError, Error};

/// Whether a component's update is a security update or a feature update.
///
/// A component without a class (manifests written before the field existed) is *unclassified*:
/// a device that defers updates treats it as a security update (it never waits longer than a
/// security update may), and the rollout treats it as a regular, non-security release.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateClass {
    /// Adds or changes functionality and fixes no vulnerability: a device may defer it within its
    /// policy.
    Feature,
    /// Fixes vulnerabilities: a device may defer it only until its security deadline.
    Security,
}

impl UpdateClass {
    pub(crate) fn code(self) -> u64 {
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

/// A checked CVE id, `CVE-YYYY-NNNN...`: the year is four digits from 1999 on (the first CVE
/// year), the sequence number 4 to 19 digits, zero-padded to four digits and never longer with a
/// leading zero (the CVE program's syntax since 2014). `CVE` is upper case: one spelling per id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CveId(String);

/// The longest sequence number a [`CveId`] may have, in digits (fits a `u64`).
const MAX_SEQUENCE_DIGITS: usize = 19;

impl CveId {
    /// Checks the syntax.
    ///
    /// # Errors
    /// [`Error::Field`] with [`DecodeError::Syntax`].
    pub fn new(s: &str) -> Result<Self, Error> {
        if is_cve(s) {
            Ok(Self(s.to_owned()))
        } else {
            Err(Error::Field {
                field: String::new(),
                kind: DecodeError::Syntax("CVE id CVE-YYYY-NNNN"),
            })
        }
    }

    /// The id.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The year part.
    #[must_use]
    pub fn year(&self) -> u16 {
        self.0
            .get(4..8)
            .and_then(|y| y.parse().ok())
            .unwrap_or_default()
    }

    /// The sequence number.
    #[must_use]
    pub fn number(&self) -> u64 {
        self.0
            .get(9..)
            .and_then(|n| n.parse().ok())
            .unwrap_or_default()
    }
}

fn is_cve(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("CVE-") else {
        return false;
    };
    let Some((year, number)) = rest.split_once('-') else {
        return false;
    };
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    let year_ok = year.len() == 4 && digits(year) && year >= "1999";
    let number_ok = (4..=MAX_SEQUENCE_DIGITS).contains(&number.len())
        && digits(number)
        && !(number.len() > 4 && number.starts_with('0'));
    year_ok && number_ok
}

impl fmt::Display for CveId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for CveId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::new(s)
    }
}

impl Serialize for CveId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for CveId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        CveId::new(&s).map_err(|_| {
            <D::Error as serde::de::Error>::custom("expected a CVE id: CVE-YYYY-NNNN (4+ digits)")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cve_syntax() {
        for ok in [
            "CVE-2014-0160",
            "CVE-1999-0001",
            "CVE-2024-12345",
            "CVE-2021-44228",
            "CVE-2024-1000000000000000000",
        ] {
            assert!(CveId::new(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "CVE-2014-160",
            "cve-2014-0160",
            "CVE-14-0160",
            "CVE-1998-0001",
            "CVE-20144-0160",
            "CVE-2014-01600",
            "CVE-2014-0160 ",
            "CVE-2014-016a",
            "CVE-2014-+160",
            "CVE-2014",
            "CVE-2024-10000000000000000000",
            "GHSA-2014-0160",
        ] {
            assert!(CveId::new(bad).is_err(), "{bad}");
        }
        let c = CveId::new("CVE-2021-44228").unwrap();
        assert_eq!((c.year(), c.number()), (2021, 44228));
    }
}
