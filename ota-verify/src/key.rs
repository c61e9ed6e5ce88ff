//! Ed25519 keys, key ids and the [`Signer`] trait.

use core::fmt;

use curve25519_dalek::edwards::CompressedEdwardsY;
use ed25519_dalek::{SigningKey, VerifyingKey};
use sha2::{Digest as _, Sha256 as Sha256Hasher};

use crate::error::{Error, Result};

/// Length of an Ed25519 signature in bytes.
pub const SIGNATURE_LEN: usize = 64;

/// Identifies a public key: the SHA-256 of its 32 raw bytes (like TUF's key ids, but over the
/// raw key rather than a JSON form). This is what goes into the COSE `kid` header.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(pub(crate) [u8; 32]);

impl KeyId {
    /// The id of a raw public key.
    pub fn of(public_key: &[u8; 32]) -> Self {
        Self(Sha256Hasher::digest(public_key).into())
    }

    /// The 32 bytes of the id.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl From<[u8; 32]> for KeyId {
    fn from(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

impl TryFrom<&[u8]> for KeyId {
    type Error = Error;

    fn try_from(bytes: &[u8]) -> Result<Self> {
        <[u8; 32]>::try_from(bytes)
            .map(Self)
            .map_err(|_| Error::InvalidKey {
                reason: "key id is not 32 bytes",
            })
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in &self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// A streaming Ed25519 verifier with the strict checks done ([`PublicKey::strict_stream`]).
pub(crate) struct StrictStream(ed25519_dalek::StreamVerifier);

impl StrictStream {
    /// Checks the signature over everything written.
    pub(crate) fn finish(self) -> Result<()> {
        self.0
            .finalize_and_verify()
            .map_err(|_| Error::BadSignature)
    }
}

impl ota_cbor::Sink for StrictStream {
    fn put(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

/// An Ed25519 public key that is safe to trust: a valid curve point that is not of small order
/// (the keys `verify_strict` refuses are refused here, at import).
///
/// Without the `std` feature it holds the 32 checked bytes and the key id (64 bytes), not the
/// decompressed point (160 more bytes on 32-bit targets): a trust root of 16 keys fits in about
/// 1 KiB of a microcontroller's RAM, and the point is decompressed again for each signature
/// check. With `std` (and without `small-keys`) it also keeps the decompressed point, so a host
/// does not pay that decompression (about 10% of a check) on every check.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey {
    pub(crate) bytes: [u8; 32],
    pub(crate) id: KeyId,
    #[cfg(all(feature = "std", not(feature = "small-keys")))]
    pub(crate) key: VerifyingKey,
}

impl PublicKey {
    /// Imports 32 raw bytes (RFC 8032 encoding).
    ///
    /// # Errors
    /// [`Error::InvalidKey`] if the bytes are not a point on the curve or the point has small
    /// order (such a key would verify forged signatures).
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self> {
        let key = VerifyingKey::from_bytes(bytes).map_err(|_| Error::InvalidKey {
            reason: "not a valid Ed25519 point",
        })?;
        Self::from_dalek(key)
    }

    fn from_dalek(key: VerifyingKey) -> Result<Self> {
        if key.is_weak() {
            return Err(Error::InvalidKey {
                reason: "small-order Ed25519 key",
            });
        }
        Ok(Self::checked(key))
    }

    /// A key already checked (valid point, not small order).
    fn checked(key: VerifyingKey) -> Self {
        Self {
            id: KeyId::of(key.as_bytes()),
            bytes: key.to_bytes(),
            #[cfg(all(feature = "std", not(feature = "small-keys")))]
            key,
        }
    }

    /// The checked point, decompressed again (it was checked at import, so this does not fail;
    /// if it did, the key would verify nothing).
    #[cfg(not(all(feature = "std", not(feature = "small-keys"))))]
    pub(crate) fn dalek(&self) -> Result<VerifyingKey> {
        VerifyingKey::from_bytes(&self.bytes).map_err(|_| Error::BadSignature)
    }

    /// The checked point, kept from the import.
    #[cfg(all(feature = "std", not(feature = "small-keys")))]
    #[allow(clippy::unnecessary_wraps)] // the same signature as the no-std form
    pub(crate) fn dalek(&self) -> Result<VerifyingKey> {
        Ok(self.key)
    }

    /// The 32 raw bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.bytes
    }

    /// The key's id (SHA-256 of the raw bytes).
    pub fn key_id(&self) -> KeyId {
        self.id
    }

    /// Verifies a raw Ed25519 signature over `message` with `verify_strict` semantics
    /// (no small-order R, canonical s).
    ///
    /// # Errors
    /// [`Error::BadSignature`], with no detail.
    pub fn verify_strict(&self, message: &[u8], signature: &[u8; SIGNATURE_LEN]) -> Result<()> {
        // The same streaming path the envelopes use, so the Wycheproof and RFC 8032 tests of
        // this function test the envelope verifier too.
        let mut v = self.strict_stream(signature)?;
        v.0.update(message);
        v.finish()
    }

    /// A streaming verifier of `signature` that has already done the checks ed25519-dalek's
    /// `verify_strict` adds to `verify` and its streaming verifier lacks: the key and R must
    /// not have small order (the key is checked at import, R here), and s must be canonical
    /// (checked by `verify_stream`). The R' == R comparison is on encodings, as in
    /// `verify_strict`. Feed it the message (a COSE `Sig_structure` is written straight into it
    /// as a [`ota_cbor::Sink`]), then [`StrictStream::finish`].
    pub(crate) fn strict_stream(&self, signature: &[u8; SIGNATURE_LEN]) -> Result<StrictStream> {
        let mut r = [0u8; 32];
        r.copy_from_slice(signature.get(..32).unwrap_or(&[0u8; 32]));
        let point = CompressedEdwardsY(r)
            .decompress()
            .ok_or(Error::BadSignature)?;
        let key = self.dalek()?;
        if point.is_small_order() || key.is_weak() {
            return Err(Error::BadSignature);
        }
        let sig = ed25519_dalek::Signature::from_bytes(signature);
        key.verify_stream(&sig)
            .map(StrictStream)
            .map_err(|_| Error::BadSignature)
    }

    /// Imports a SubjectPublicKeyInfo DER key (what `openssl pkey -pubout -outform DER` writes).
    ///
    /// # Errors
    /// [`Error::InvalidKey`].
    #[cfg(feature = "pem")]
    pub fn from_spki_der(der: &[u8]) -> Result<Self> {
        use ed25519_dalek::pkcs8::DecodePublicKey;
        let key = VerifyingKey::from_public_key_der(der).map_err(|_| Error::InvalidKey {
            reason: "not an Ed25519 SubjectPublicKeyInfo",
        })?;
        Self::from_dalek(key)
    }

    /// Imports a `-----BEGIN PUBLIC KEY-----` PEM (what `openssl pkey -pubout` writes).
    ///
    /// # Errors
    /// [`Error::InvalidKey`].
    #[cfg(feature = "pem")]
    pub fn from_spki_pem(pem: &str) -> Result<Self> {
        use ed25519_dalek::pkcs8::DecodePublicKey;
        let key = VerifyingKey::from_public_key_pem(pem).map_err(|_| Error::InvalidKey {
            reason: "not an Ed25519 public key PEM",
        })?;
        Self::from_dalek(key)
    }

    /// Exports as SubjectPublicKeyInfo PEM, readable by `openssl pkey -pubin`.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] if the encoder fails (it does not for valid keys).
    #[cfg(feature = "pem")]
    pub fn to_spki_pem(&self) -> Result<alloc::string::String> {
        use ed25519_dalek::pkcs8::{EncodePublicKey, spki::der::pem::LineEnding};
        self.dalek()?
            .to_public_key_pem(LineEnding::LF)
            .map_err(|_| Error::InvalidKey {
                reason: "PEM encoding failed",
            })
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.id)
    }
}

/// Something that signs with an Ed25519 key: a [`SecretKey`] in memory, or an HSM / cloud KMS
/// whose private key never enters this process.
pub trait Signer {
    /// The public half, whose [`KeyId`] goes into the COSE `kid` header.
    fn public_key(&self) -> PublicKey;

    /// Signs `message` (the exact COSE `Sig_structure` bytes) with pure Ed25519 (RFC 8032).
    ///
    /// # Errors
    /// [`Error::SignerFailed`] (or any other variant) when the device or service fails.
    fn sign(&self, message: &[u8]) -> Result<[u8; SIGNATURE_LEN]>;
}

/// An Ed25519 private key held in memory (zeroed on drop).
#[derive(Clone)]
pub struct SecretKey {
    key: SigningKey,
}

impl SecretKey {
    /// Builds the key from a 32-byte seed (RFC 8032 §5.1.5 private key). Fill the seed from your
    /// CSPRNG (`getrandom`, an MCU's TRNG...) to generate a new key: this crate never draws
    /// randomness itself.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self {
            key: SigningKey::from_bytes(seed),
        }
    }

    /// Generates a key with the caller's randomness source, which fills the 32-byte seed.
    ///
    /// # Errors
    /// Whatever `fill` returns.
    pub fn generate<E>(
        fill: impl FnOnce(&mut [u8; 32]) -> core::result::Result<(), E>,
    ) -> core::result::Result<Self, E> {
        let mut seed = zeroize::Zeroizing::new([0u8; 32]);
        fill(&mut seed)?;
        Ok(Self::from_seed(&seed))
    }

    /// The 32-byte seed. Handle with care.
    pub fn to_seed(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// The public key.
    pub fn public_key(&self) -> PublicKey {
        let key = self.key.verifying_key();
        // A key derived from a seed is a multiple of the base point: never small order.
        PublicKey::checked(key)
    }

    /// Signs raw bytes with pure Ed25519.
    pub fn sign_raw(&self, message: &[u8]) -> [u8; SIGNATURE_LEN] {
        use ed25519_dalek::Signer as _;
        self.key.sign(message).to_bytes()
    }

    /// Imports a PKCS#8 DER private key (v1 as `openssl genpkey -algorithm ed25519` writes, or v2).
    ///
    /// # Errors
    /// [`Error::InvalidKey`].
    #[cfg(feature = "pem")]
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        use ed25519_dalek::pkcs8::DecodePrivateKey;
        SigningKey::from_pkcs8_der(der)
            .map(|key| Self { key })
            .map_err(|_| Error::InvalidKey {
                reason: "not an Ed25519 PKCS#8 private key",
            })
    }

    /// Imports a `-----BEGIN PRIVATE KEY-----` PEM.
    ///
    /// # Errors
    /// [`Error::InvalidKey`].
    #[cfg(feature = "pem")]
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self> {
        use ed25519_dalek::pkcs8::DecodePrivateKey;
        SigningKey::from_pkcs8_pem(pem)
            .map(|key| Self { key })
            .map_err(|_| Error::InvalidKey {
                reason: "not an Ed25519 PKCS#8 private key PEM",
            })
    }

    /// Exports as PKCS#8 v1 DER (RFC 8410 §7: the seed only, no public key), zeroed on drop.
    ///
    /// Version 1 on purpose: it is what `openssl genpkey` writes, and OpenSSL 3.0 refuses the
    /// v2 form (with the public key) that ed25519-dalek emits (tested in `tests/keys_openssl.rs`).
    #[cfg(feature = "pem")]
    pub fn to_pkcs8_der(&self) -> zeroize::Zeroizing<alloc::vec::Vec<u8>> {
        // SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING seed } }
        const PREFIX: [u8; 16] = [
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        let mut der = zeroize::Zeroizing::new(alloc::vec::Vec::with_capacity(48));
        der.extend_from_slice(&PREFIX);
        der.extend_from_slice(self.key.as_bytes());
        der
    }

    /// Exports as `-----BEGIN PRIVATE KEY-----` PEM (PKCS#8 v1, see
    /// [`SecretKey::to_pkcs8_der`]), zeroed on drop; `openssl pkey` reads it.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] if the encoder fails (it does not for valid keys).
    #[cfg(feature = "pem")]
    pub fn to_pkcs8_pem(&self) -> Result<zeroize::Zeroizing<alloc::string::String>> {
        use ed25519_dalek::pkcs8::{SecretDocument, spki::der::pem::LineEnding};
        let der = self.to_pkcs8_der();
        SecretDocument::try_from(der.as_slice())
            .and_then(|doc| doc.to_pem("PRIVATE KEY", LineEnding::LF))
            .map_err(|_| Error::InvalidKey {
                reason: "PEM encoding failed",
            })
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey({})", self.public_key().key_id())
    }
}

impl Signer for SecretKey {
    fn public_key(&self) -> PublicKey {
        SecretKey::public_key(self)
    }

    fn sign(&self, message: &[u8]) -> Result<[u8; SIGNATURE_LEN]> {
        Ok(self.sign_raw(message))
    }
}
