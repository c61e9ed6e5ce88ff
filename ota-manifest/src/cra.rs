//! The fields the EU Cyber Resilience Act asks of an update: security or feature update, and the
//! CVE ids a security update fixes.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{DecodeError, Error};

pub use crate::update_class::UpdateClass;

/// A checked CVE id, `CVE-YYYY-NNNN...`: the year is four digits from 1999 on (the first CVE
/// year), the sequence number 4 to 19 digits, zero-padded to four digits and never longer with a
/// leading zero (the CVE program's syntax since 2014). `CVE` is upper case: one spelling per id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CveId(String);

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
    crate::schema::is_cve(s)
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
