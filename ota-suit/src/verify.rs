//! Trust anchors and the verification of an envelope: the manifest digest, then the COSE_Sign1
//! signatures over it.

use p256::ecdsa::signature::Verifier as _;

use crate::cbor::Digest;
use crate::envelope::{CoseSign1, Envelope};
use crate::error::{Error, Result};
use crate::manifest::Manifest;
use crate::schema::{ALG_ED25519, ALG_EDDSA, ALG_ES256, ALG_ESP256};

/// A key that SUIT envelopes must be signed with.
#[derive(Debug, Clone)]
pub struct TrustAnchor {
    key: AnchorKey,
}

#[derive(Debug, Clone)]
enum AnchorKey {
    Es256(p256::ecdsa::VerifyingKey),
    Ed25519(ota_verify::PublicKey),
}

/// The signature algorithm of a trust anchor.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// ECDSA P-256 with SHA-256 (COSE -7 ES256, or -9 ESP256).
    Es256,
    /// Ed25519 (COSE -8 EdDSA, or -19).
    Ed25519,
}

impl TrustAnchor {
    /// A P-256 or Ed25519 public key from a SubjectPublicKeyInfo PEM
    /// (`-----BEGIN PUBLIC KEY-----`, what `openssl pkey -pubout` writes).
    ///
    /// # Errors
    /// [`Error::InvalidKey`] if it is neither.
    pub fn from_pem(pem: &str) -> Result<Self> {
        use p256::pkcs8::DecodePublicKey as _;
        if let Ok(key) = p256::ecdsa::VerifyingKey::from_public_key_pem(pem) {
            return Ok(Self {
                key: AnchorKey::Es256(key),
            });
        }
        ota_verify::PublicKey::from_spki_pem(pem)
            .map(Self::ed25519)
            .map_err(|_| Error::InvalidKey {
                reason: "not a P-256 or Ed25519 SubjectPublicKeyInfo PEM",
            })
    }

    /// An Ed25519 anchor from `ota-verify`'s key (checked there: a valid point, not of small
    /// order).
    #[must_use]
    pub fn ed25519(key: ota_verify::PublicKey) -> Self {
        Self {
            key: AnchorKey::Ed25519(key),
        }
    }

    /// A P-256 anchor from its SEC1 encoding (65 bytes uncompressed or 33 compressed).
    ///
    /// # Errors
    /// [`Error::InvalidKey`] if the bytes are not a point on the curve.
    pub fn from_sec1_es256(bytes: &[u8]) -> Result<Self> {
        p256::ecdsa::VerifyingKey::from_sec1_bytes(bytes)
            .map(|key| Self {
                key: AnchorKey::Es256(key),
            })
            .map_err(|_| Error::InvalidKey {
                reason: "not a P-256 SEC1 point",
            })
    }

    /// The anchor's algorithm.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        match self.key {
            AnchorKey::Es256(_) => Algorithm::Es256,
            AnchorKey::Ed25519(_) => Algorithm::Ed25519,
        }
    }

    fn accepts(&self, alg: i64) -> bool {
        match self.key {
            AnchorKey::Es256(_) => alg == ALG_ES256 || alg == ALG_ESP256,
            AnchorKey::Ed25519(_) => alg == ALG_EDDSA || alg == ALG_ED25519,
        }
    }

    fn check(&self, message: &[u8], signature: &[u8]) -> Result<()> {
        match &self.key {
            AnchorKey::Es256(key) => {
                let sig = p256::ecdsa::Signature::from_slice(signature)
                    .map_err(|_| Error::BadSignature)?;
                key.verify(message, &sig).map_err(|_| Error::BadSignature)
            }
            AnchorKey::Ed25519(key) => {
                let sig = <&[u8; 64]>::try_from(signature).map_err(|_| Error::BadSignature)?;
                key.verify_strict(message, sig)
                    .map_err(|_| Error::BadSignature)
            }
        }
    }
}

/// The digest of a manifest as the authentication wrapper gives it: SHA-256 over the byte
/// string that wraps the manifest in the envelope, head included (draft-ietf-suit-manifest
/// §8.3; checked against the libcsuit examples).
#[must_use]
pub fn manifest_digest(manifest_bytes: &[u8]) -> Digest {
    crate::envelope::severed_hash(manifest_bytes)
}

/// The COSE `Sig_structure` of a SUIT signature (RFC 9052 §4.4): `["Signature1", protected,
/// h'', payload]`, the payload being the encoded `SUIT_Digest`.
pub(crate) fn sig_structure(protected: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(protected.len() + payload.len() + 24);
    ota_cbor::write_array(&mut out, 4);
    ota_cbor::write_text(&mut out, "Signature1");
    ota_cbor::write_bytes(&mut out, protected);
    ota_cbor::write_bytes(&mut out, &[]);
    ota_cbor::write_bytes(&mut out, payload);
    out
}

/// An envelope whose manifest digest and signature were checked against a trust anchor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    envelope: Envelope,
}

impl Verified {
    /// The verified manifest.
    #[must_use]
    pub fn manifest(&self) -> &Manifest {
        self.envelope.manifest()
    }

    /// The whole envelope.
    #[must_use]
    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }
}

impl Envelope {
    /// Checks that the manifest hashes to the wrapper's digest and that a COSE_Sign1 with the
    /// anchor's algorithm verifies with its key.
    ///
    /// # Errors
    /// [`Error::ManifestDigestMismatch`], [`Error::NoSignatureForAnchor`],
    /// [`Error::BadSignature`], or an invalid payload ([`Error::Invalid`]).
    pub fn verify(self, anchor: &TrustAnchor) -> Result<Verified> {
        if manifest_digest(self.manifest_bytes()) != *self.digest() {
            return Err(Error::ManifestDigestMismatch);
        }
        let mut tried = false;
        for sig in self.signatures() {
            if !anchor.accepts(sig.alg()) {
                continue;
            }
            tried = true;
            if verify_one(anchor, sig, &self.digest_bytes).is_ok() {
                return Ok(Verified { envelope: self });
            }
        }
        Err(if tried {
            Error::BadSignature
        } else {
            Error::NoSignatureForAnchor
        })
    }
}

fn verify_one(anchor: &TrustAnchor, sig: &CoseSign1, digest_bytes: &[u8]) -> Result<()> {
    if let Some(p) = &sig.payload
        && p.as_slice() != digest_bytes
    {
        return Err(Error::BadSignature);
    }
    anchor.check(&sig_structure(&sig.protected, digest_bytes), &sig.signature)
}

/// Decodes `bytes` under `limits` and verifies them against `anchor`.
///
/// # Errors
/// Any error of [`Envelope::decode`] and [`Envelope::verify`].
pub fn verify(bytes: &[u8], anchor: &TrustAnchor, limits: &crate::Limits) -> Result<Verified> {
    Envelope::decode(bytes, limits)?.verify(anchor)
}
