//! A release that passed signature verification and the install decision.

use ota_manifest::{DeviceState, Manifest, Plan, Refusal, Rule};
use ota_verify::{Policy, TrustRoot};

use crate::outcome::{Reason, Stage};

/// A verified release: the signed envelope checked against the trust root (threshold,
/// expiry, sequence newer than the device's), its manifest decoded, and the install decision
/// (`Manifest::plan`) made for this device.
#[derive(Debug, Clone)]
pub struct Release {
    manifest: Manifest,
    plan: Plan,
    digest: [u8; 32],
}

/// Why a release was not accepted; nothing was fetched or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{stage:?}: {reason:?}: {detail}")]
pub struct Rejected {
    /// [`Stage::Verify`] (signature, encoding) or [`Stage::Decide`] (the manifest's rules).
    pub stage: Stage,
    /// Why.
    pub reason: Reason,
    /// The underlying error's text.
    pub detail: String,
    /// The install-decision rule that refused the release, when one did: every rejection at
    /// [`Stage::Decide`], and at [`Stage::Verify`] the envelope's own anti-rollback and expiry
    /// checks (a validly signed release that is older than the device's or expired is a
    /// refusal, not a forgery). `None` for an envelope that does not verify or decode.
    pub refusal: Option<Box<Refusal>>,
}

impl Release {
    /// Verifies `envelope` (a COSE signed manifest) with `root` at `device.now` after the
    /// device's last sequence, decodes the manifest and makes the install decision.
    ///
    /// # Errors
    /// [`Rejected`] with the stage and reason.
    pub fn verify(
        root: &TrustRoot,
        envelope: &[u8],
        device: &DeviceState,
    ) -> Result<Release, Rejected> {
        let policy = Policy::new(device.now, device.last_sequence.unwrap_or(0));
        let v = root.verify(envelope, None, &policy).map_err(|e| Rejected {
            stage: Stage::Verify,
            reason: Reason::IntegrityCheckFailure,
            detail: e.to_string(),
            refusal: envelope_refusal(&e),
        })?;
        let manifest = Manifest::from_cbor(v.payload).map_err(|e| Rejected {
            stage: Stage::Verify,
            reason: Reason::UnsupportedPackage,
            detail: e.to_string(),
            refusal: None,
        })?;
        if manifest.sequence != v.sequence {
            return Err(Rejected {
                stage: Stage::Verify,
                reason: Reason::IntegrityCheckFailure,
                detail: "manifest sequence differs from the signed one".into(),
                refusal: None,
            });
        }
        let plan = manifest.plan(device).map_err(|e| Rejected {
            stage: Stage::Decide,
            reason: Reason::Refused,
            detail: e.to_string(),
            refusal: Some(Box::new(e)),
        })?;
        Ok(Release {
            manifest,
            plan,
            digest: ota_verify::Sha256::digest(envelope).0,
        })
    }

    /// The manifest.
    #[must_use]
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The install decision.
    #[must_use]
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// SHA-256 of the signed envelope (the record ties a resumed download to it).
    #[must_use]
    pub fn digest(&self) -> &[u8; 32] {
        &self.digest
    }
}

/// The envelope checks of ota-verify that are install-decision rules: a replayed (not newer)
/// sequence and an expired release.
fn envelope_refusal(e: &ota_verify::Error) -> Option<Box<Refusal>> {
    let rule = match *e {
        ota_verify::Error::Rollback { got, need_above } => Rule::SequenceNotNewer {
            sequence: got,
            accepted: need_above,
        },
        ota_verify::Error::Expired {
            what: "release",
            expires,
            now,
        } => Rule::Expired {
            expires_at: expires,
            now,
        },
        _ => return None,
    };
    Some(Box::new(Refusal {
        component: None,
        rule,
    }))
}
