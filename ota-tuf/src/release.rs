//! A release read from the repository, and ota's checks on it.

use std::collections::BTreeMap;

use ota_manifest::{Manifest, Sha256};
use ota_verify::{Policy, TrustRoot};

use crate::error::{Error, Result};

/// A release as read from a TUF repository: its signed envelope and the full images of its
/// components, each of which already passed TUF's hash and length checks. Nothing of ota's
/// has been checked yet: call [`Release::verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    name: String,
    envelope: Vec<u8>,
    images: BTreeMap<String, Vec<u8>>,
}

/// A release that passed ota's checks too: the envelope verified against the trust root
/// (threshold, expiry, sequence above the device's), its manifest decoded, and every component
/// image equal in size and SHA-256 to the manifest's.
#[derive(Debug, Clone)]
pub struct VerifiedRelease {
    name: String,
    envelope: Vec<u8>,
    manifest: Manifest,
    images: BTreeMap<String, Vec<u8>>,
}

impl Release {
    /// A release from its parts (as [`crate::Repository::fetch_release`] builds it; useful to
    /// apply ota's checks to releases that came another way).
    #[must_use]
    pub fn new(name: String, envelope: Vec<u8>, images: BTreeMap<String, Vec<u8>>) -> Self {
        Release {
            name,
            envelope,
            images,
        }
    }

    /// The release name (the `<release>` of the target names).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The signed envelope's exact bytes.
    #[must_use]
    pub fn envelope(&self) -> &[u8] {
        &self.envelope
    }

    /// The component images by component id.
    #[must_use]
    pub fn images(&self) -> &BTreeMap<String, Vec<u8>> {
        &self.images
    }

    /// ota's checks, exactly those a release that came directly goes through
    /// (`TrustRoot::verify`, `Manifest::from_cbor`, the signed sequence), then each component
    /// image against the manifest: one image per component, no other, same size and SHA-256.
    ///
    /// # Errors
    /// [`Error::Envelope`], [`Error::Manifest`], [`Error::SequenceMismatch`],
    /// [`Error::MissingComponent`], [`Error::UnexpectedComponent`],
    /// [`Error::ComponentMismatch`].
    pub fn verify(self, root: &TrustRoot, policy: &Policy) -> Result<VerifiedRelease> {
        let release = &self.name;
        let verified = root
            .verify(&self.envelope, None, policy)
            .map_err(|source| Error::Envelope {
                release: release.clone(),
                source,
            })?;
        let manifest = Manifest::from_cbor(verified.payload).map_err(|source| Error::Manifest {
            release: release.clone(),
            source,
        })?;
        if manifest.sequence != verified.sequence {
            return Err(Error::SequenceMismatch {
                release: release.clone(),
                manifest: manifest.sequence,
                signed: verified.sequence,
            });
        }
        for c in &manifest.components {
            let image = self
                .images
                .get(&c.id)
                .ok_or_else(|| Error::MissingComponent {
                    release: release.clone(),
                    component: c.id.clone(),
                })?;
            let mismatch = |field| Error::ComponentMismatch {
                release: release.clone(),
                component: c.id.clone(),
                field,
            };
            if u64::try_from(image.len()).ok() != Some(c.size) {
                return Err(mismatch("size"));
            }
            if Sha256::of(image) != c.sha256 {
                return Err(mismatch("sha256"));
            }
        }
        if let Some(id) = self
            .images
            .keys()
            .find(|id| !manifest.components.iter().any(|c| &c.id == *id))
        {
            return Err(Error::UnexpectedComponent {
                release: release.clone(),
                component: id.clone(),
            });
        }
        Ok(VerifiedRelease {
            name: self.name,
            envelope: self.envelope,
            manifest,
            images: self.images,
        })
    }
}

impl VerifiedRelease {
    /// The release name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The signed envelope's exact bytes.
    #[must_use]
    pub fn envelope(&self) -> &[u8] {
        &self.envelope
    }

    /// The verified manifest: make the install decision with [`Manifest::plan`].
    #[must_use]
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The image of a component, checked against the manifest.
    #[must_use]
    pub fn image(&self, component: &str) -> Option<&[u8]> {
        self.images.get(component).map(Vec::as_slice)
    }

    /// The manifest and the images by component id.
    #[must_use]
    pub fn into_parts(self) -> (Manifest, BTreeMap<String, Vec<u8>>) {
        (self.manifest, self.images)
    }
}
