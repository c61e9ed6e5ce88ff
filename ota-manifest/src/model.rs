//! The manifest model: owned types, checked on every way in (CBOR, JSON) and out.

use std::collections::BTreeMap;

use semver::{Version, VersionReq};
use serde::{Deserialize, Serialize};

use crate::digest::{DeviceId, Sha256};

/// A release manifest: what a release contains, for which hardware, from which installed versions,
/// and how each part may be delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Release name (1 byte or more).
    pub name: String,
    /// Release version (shown to people; anti-rollback uses `sequence`).
    pub version: Version,
    /// Monotonically increasing sequence number: a device installs only a newer one.
    pub sequence: u64,
    /// Security counter: a device whose floor is above it refuses the release (as MCUboot's).
    pub security_counter: u64,
    /// Issued at, seconds since the Unix epoch.
    pub issued_at: u64,
    /// Expires at, seconds since the Unix epoch; the device refuses from that second on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    /// Release notes URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes_uri: Option<String>,
    /// Which devices may install the release.
    pub compatibility: Compatibility,
    /// The payloads, one component each.
    pub components: Vec<Component>,
    /// Extension fields (negative keys) kept verbatim, see [`Extensions`].
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "serde_impls::extensions_no_duplicates"
    )]
    pub extensions: Extensions,
}

/// Which devices a release is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Compatibility {
    /// The vendor id the device must report.
    pub vendor: DeviceId,
    /// The device class ids, one of which the device must report.
    pub classes: Vec<DeviceId>,
    /// Hardware revisions accepted by exact (string) match.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hardware: Vec<String>,
    /// Hardware revisions accepted when the device's revision parses as a semver version that
    /// matches one of these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hardware_ranges: Vec<VersionReq>,
}

/// One payload of a release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Component {
    /// Stable id, unique in the release (1 byte or more).
    pub id: String,
    /// What it is and how it installs.
    pub layer: Layer,
    /// The version this release installs.
    pub version: Version,
    /// The installed versions that may upgrade to this one (the upgrade path).
    pub upgrade_from: VersionReq,
    /// Size of the full image in bytes.
    pub size: u64,
    /// SHA-256 of the full image.
    pub sha256: Sha256,
    /// Chunk digests, so a device can verify and resume a download chunk by chunk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunks: Option<Chunks>,
    /// Deltas from images a device may have installed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deltas: Vec<DeltaSource>,
    /// Components (of this release or installed) that must be present at a matching version.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<Dependency>,
    /// Install order among components with no dependency between them (lower first).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub order: u32,
    /// Software bill of materials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sbom: Option<Sbom>,
    /// Where to download the image.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uris: Vec<String>,
    /// Image reference (container or model registry), for application and model layers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Extension fields (negative keys) kept verbatim.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "serde_impls::extensions_no_duplicates"
    )]
    pub extensions: Extensions,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_zero(v: &u32) -> bool {
    *v == 0
}

/// What a component is, which decides how it installs.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    /// OS, kernel or RTOS: installs to the inactive A/B slot and needs a reboot.
    Firmware,
    /// Application or container image: no reboot.
    Application,
    /// AI model weights for an on-device runtime: no reboot.
    Model,
    /// Configuration: no reboot.
    Configuration,
    /// Vendor-defined layer (256 or more); no reboot unless the vendor's agent says so.
    Vendor(u32),
}

impl Layer {
    /// First value of the vendor-defined range.
    pub const VENDOR_MIN: u32 = 256;

    /// Whether installing it switches the A/B slot and reboots.
    #[must_use]
    pub fn needs_reboot(self) -> bool {
        matches!(self, Layer::Firmware)
    }

    /// The wire code (FORMAT.md): 0 firmware, 1 application, 2 model, 3 configuration, 256 and
    /// up vendor-defined. `ComponentView::layer` gives the same number.
    #[must_use]
    pub fn code(self) -> u32 {
        match self {
            Layer::Firmware => 0,
            Layer::Application => 1,
            Layer::Model => 2,
            Layer::Configuration => 3,
            Layer::Vendor(v) => v,
        }
    }

    pub(crate) fn from_code(code: u32) -> Option<Self> {
        Some(match code {
            0 => Layer::Firmware,
            1 => Layer::Application,
            2 => Layer::Model,
            3 => Layer::Configuration,
            v if v >= Self::VENDOR_MIN => Layer::Vendor(v),
            _ => return None,
        })
    }
}

/// Chunking of a full image: `ceil(size / size_per_chunk)` digests, the last chunk may be short.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chunks {
    /// Bytes per chunk (more than 0).
    pub chunk_size: u32,
    /// SHA-256 of each chunk, in order.
    pub sha256: Vec<Sha256>,
}

/// A delta a device may fetch instead of the full image when its installed image is `from_sha256`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeltaSource {
    /// The version of the source image.
    pub from_version: Version,
    /// SHA-256 of the source image the patch applies to.
    pub from_sha256: Sha256,
    /// Patch size in bytes.
    pub patch_size: u64,
    /// SHA-256 of the patch.
    pub patch_sha256: Sha256,
    /// Patch format.
    pub algorithm: DeltaAlgorithm,
}

/// A patch format.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeltaAlgorithm {
    /// BSDIFF40 (bsdiff 4, bzip2 streams).
    Bsdiff40,
    /// The ota-delta native format.
    OtaDelta,
    /// Vendor-defined (256 or more).
    Vendor(u32),
}

impl DeltaAlgorithm {
    /// The wire code (FORMAT.md): 0 BSDIFF40, 1 ota-delta native, 256 and up vendor-defined.
    /// `DeltaView::algorithm` gives the same number.
    #[must_use]
    pub fn code(self) -> u32 {
        match self {
            DeltaAlgorithm::Bsdiff40 => 0,
            DeltaAlgorithm::OtaDelta => 1,
            DeltaAlgorithm::Vendor(v) => v,
        }
    }

    pub(crate) fn from_code(code: u32) -> Option<Self> {
        Some(match code {
            0 => DeltaAlgorithm::Bsdiff40,
            1 => DeltaAlgorithm::OtaDelta,
            v if v >= 256 => DeltaAlgorithm::Vendor(v),
            _ => return None,
        })
    }
}

/// A dependency on another component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dependency {
    /// The component's id.
    pub id: String,
    /// The versions that satisfy it.
    pub req: VersionReq,
}

/// A software bill of materials reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sbom {
    /// Its format.
    pub format: SbomFormat,
    /// SHA-256 of the SBOM document.
    pub sha256: Sha256,
    /// Where to get it.
    pub uri: String,
}

/// SBOM document formats.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SbomFormat {
    /// CycloneDX.
    CycloneDx,
    /// SPDX.
    Spdx,
}

impl SbomFormat {
    pub(crate) fn code(self) -> u32 {
        match self {
            SbomFormat::CycloneDx => 0,
            SbomFormat::Spdx => 1,
        }
    }

    pub(crate) fn from_code(code: u64) -> Option<Self> {
        match code {
            0 => Some(SbomFormat::CycloneDx),
            1 => Some(SbomFormat::Spdx),
            _ => None,
        }
    }
}

/// Extension fields of a map: negative key to the value's canonical CBOR bytes.
pub type Extensions = BTreeMap<i64, Extension>;

/// The value of an extension field: one well-formed canonical CBOR item, kept verbatim.
///
/// Build one with [`Extension::from_cbor`], which checks the bytes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Extension(Vec<u8>);

impl Extension {
    /// Checks that `bytes` is exactly one canonical CBOR item (no floats, depth within the default
    /// limit) and keeps it.
    ///
    /// # Errors
    /// The decode error that rejects the bytes.
    pub fn from_cbor(bytes: &[u8]) -> crate::Result<Self> {
        Self::from_cbor_with(bytes, &crate::Limits::default())
    }

    pub(crate) fn from_cbor_with(bytes: &[u8], limits: &crate::Limits) -> crate::Result<Self> {
        let mut r = crate::cbor::Reader::new(bytes, limits);
        r.skip_item(0)?;
        r.finish()?;
        Ok(Self(bytes.to_vec()))
    }

    pub(crate) fn from_checked(bytes: &[u8]) -> Self {
        Self(bytes.to_vec())
    }

    /// The canonical CBOR bytes of the value.
    #[must_use]
    pub fn as_cbor(&self) -> &[u8] {
        &self.0
    }
}

mod serde_impls {
    use std::fmt;

    use serde::de::{MapAccess, Visitor};
    use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error as _};

    use super::{Extension, Extensions};

    /// An `extensions` object whose keys must be distinct (serde's map impl would keep the last).
    pub(super) fn extensions_no_duplicates<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Extensions, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Extensions;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of negative integer keys to hex CBOR")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Extensions, A::Error> {
                let mut out = Extensions::new();
                while let Some((k, v)) = a.next_entry::<i64, Extension>()? {
                    if out.insert(k, v).is_some() {
                        return Err(A::Error::custom(format_args!(
                            "duplicate extension key {k}"
                        )));
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_map(V)
    }

    impl Serialize for Extension {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(&crate::digest::to_hex(&self.0))
        }
    }
    impl<'de> Deserialize<'de> for Extension {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
            let bytes = crate::digest::from_hex(&s).ok_or_else(|| D::Error::custom("bad hex"))?;
            // Checked again, with the caller's limits, by the structural check of `from_json`.
            Ok(Extension(bytes))
        }
    }
}
