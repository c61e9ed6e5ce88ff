//! The SBOM reference of a component: which document, in which format, with which digest.

use std::fmt;

use crate::digest::Sha256;
use crate::error::{DecodeError, Error};

/// A software bill of materials reference. The manifest's signature covers it, so the digest
/// binds the SBOM document to the release.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sbom {
    /// Its format.
    pub format: SbomFormat,
    /// SHA-256 of the SBOM document (the exact bytes at `uri`).
    pub sha256: Sha256,
    /// Where to get it.
    pub uri: String,
}

/// SBOM document formats.
///
/// The two unit variants are the format's first codes (CBOR `0` and `1`), which name the standard
/// but not its version or encoding; [`SbomFormat::Named`] names all three and is what new
/// manifests should use.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SbomFormat {
    /// CycloneDX, version and encoding not stated (CBOR code 0, JSON `"cyclone_dx"`).
    CycloneDx,
    /// SPDX, version and encoding not stated (CBOR code 1, JSON `"spdx"`).
    Spdx,
    /// Standard, version and encoding, such as `CycloneDX-1.5+json`.
    Named(SbomFormatName),
}

impl SbomFormat {
    /// `CycloneDX-1.5+json`, what `ota sbom` writes.
    #[must_use]
    pub fn cyclonedx_1_5_json() -> Self {
        SbomFormat::Named(SbomFormatName(
            SbomFormatName::CYCLONEDX_1_5_JSON.to_owned(),
        ))
    }

    /// Whether the format is CycloneDX (any version and encoding).
    #[must_use]
    pub fn is_cyclonedx(&self) -> bool {
        match self {
            SbomFormat::CycloneDx => true,
            SbomFormat::Spdx => false,
            SbomFormat::Named(n) => n.standard() == "CycloneDX",
        }
    }

    pub(crate) fn legacy_code(&self) -> Option<u64> {
        match self {
            SbomFormat::CycloneDx => Some(0),
            SbomFormat::Spdx => Some(1),
            SbomFormat::Named(_) => None,
        }
    }

    pub(crate) fn from_code(code: u64) -> Option<Self> {
        match code {
            0 => Some(SbomFormat::CycloneDx),
            1 => Some(SbomFormat::Spdx),
            _ => None,
        }
    }

    /// The JSON spelling: `cyclone_dx`, `spdx`, or the name.
    pub(crate) fn as_json_str(&self) -> &str {
        match self {
            SbomFormat::CycloneDx => "cyclone_dx",
            SbomFormat::Spdx => "spdx",
            SbomFormat::Named(n) => n.as_str(),
        }
    }
}

impl fmt::Display for SbomFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SbomFormat::CycloneDx => f.write_str("CycloneDX (version not stated)"),
            SbomFormat::Spdx => f.write_str("SPDX (version not stated)"),
            SbomFormat::Named(n) => f.write_str(n.as_str()),
        }
    }
}

/// A checked SBOM format name `STANDARD-VERSION+ENCODING` (FORMAT.md): the standard is an ASCII
/// letter then letters and digits (up to 32), the version 1 to 3 dot-separated decimal numbers
/// without leading zeros (up to 5 digits each), the encoding lowercase letters, digits and `-`
/// (up to 16, not starting with `-`). Examples: `CycloneDX-1.5+json`, `SPDX-2.3+tag-value`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SbomFormatName(String);

impl SbomFormatName {
    /// CycloneDX 1.5 in JSON.
    pub const CYCLONEDX_1_5_JSON: &'static str = "CycloneDX-1.5+json";

    /// Checks the syntax.
    ///
    /// # Errors
    /// [`Error::Field`] with [`DecodeError::Syntax`].
    pub fn new(s: &str) -> Result<Self, Error> {
        if is_format_name(s) {
            Ok(Self(s.to_owned()))
        } else {
            Err(Error::Field {
                field: String::new(),
                kind: DecodeError::Syntax("SBOM format STANDARD-VERSION+ENCODING"),
            })
        }
    }

    /// The whole name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The standard (`CycloneDX`).
    #[must_use]
    pub fn standard(&self) -> &str {
        self.0.split_once('-').map_or("", |(s, _)| s)
    }

    /// The version (`1.5`).
    #[must_use]
    pub fn version(&self) -> &str {
        let rest = self.0.split_once('-').map_or("", |(_, r)| r);
        rest.split_once('+').map_or("", |(v, _)| v)
    }

    /// The encoding (`json`).
    #[must_use]
    pub fn encoding(&self) -> &str {
        self.0.split_once('+').map_or("", |(_, e)| e)
    }
}

fn is_format_name(s: &str) -> bool {
    crate::schema::is_sbom_format_name(s)
}

impl fmt::Display for SbomFormatName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for SbomFormatName {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::new(s)
    }
}

mod serde_impls {
    use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error as _};

    use super::{SbomFormat, SbomFormatName};

    impl Serialize for SbomFormat {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(self.as_json_str())
        }
    }
    impl<'de> Deserialize<'de> for SbomFormat {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
            match &*s {
                "cyclone_dx" => Ok(SbomFormat::CycloneDx),
                "spdx" => Ok(SbomFormat::Spdx),
                other => SbomFormatName::new(other)
                    .map(SbomFormat::Named)
                    .map_err(|_| {
                        D::Error::custom(
                            "expected an SBOM format: STANDARD-VERSION+ENCODING such as \
                         CycloneDX-1.5+json, or cyclone_dx / spdx",
                        )
                    }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names_accepted_and_refused() {
        for ok in [
            "CycloneDX-1.5+json",
            "CycloneDX-1.6+xml",
            "SPDX-2.3+tag-value",
            "X-0+a",
            "Spdx3-3.0.1+json-ld",
        ] {
            assert!(SbomFormatName::new(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "CycloneDX",
            "CycloneDX-1.5",
            "CycloneDX+json",
            "CycloneDX-01.5+json",
            "CycloneDX-1.5.0.1+json",
            "CycloneDX-1..5+json",
            "CycloneDX-1.5+JSON",
            "CycloneDX-1.5+-json",
            "CycloneDX-1.5+",
            "1CycloneDX-1.5+json",
            "Cyclone_DX-1.5+json",
            "CycloneDX-1.5+json+x",
            "CycloneDX-123456+json",
        ] {
            assert!(SbomFormatName::new(bad).is_err(), "{bad}");
        }
        let n = SbomFormatName::new("SPDX-2.3+tag-value").unwrap();
        assert_eq!(
            (n.standard(), n.version(), n.encoding()),
            ("SPDX", "2.3", "tag-value")
        );
        assert!(SbomFormat::cyclonedx_1_5_json().is_cyclonedx());
        assert!(!SbomFormat::Named(n).is_cyclonedx());
    }
}
