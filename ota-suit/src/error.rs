//! The one error type of the crate: what is wrong, where (byte offset in the envelope), and for
//! unsupported content, which SUIT number by name.

/// Why an envelope was refused, or could not be mapped.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Malformed or non-deterministic CBOR (offset and key path inside).
    #[error("CBOR: {0}")]
    Cbor(#[from] ota_cbor::Error),
    /// The envelope is larger than [`Limits::max_envelope`](crate::Limits).
    #[error("envelope of {size} bytes, limit {max}")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// More items than a limit allows (components, commands, signatures, ...).
    #[error("{count} {what} at byte {offset}, limit {max}")]
    TooMany {
        /// What was counted.
        what: &'static str,
        /// How many were declared.
        count: u64,
        /// The limit.
        max: usize,
        /// Offset of the container.
        offset: usize,
    },
    /// A string longer than a limit allows.
    #[error("{what} of {len} bytes at byte {offset}, limit {max}")]
    TooLong {
        /// Which string.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
        /// Its offset.
        offset: usize,
    },
    /// try-each nested deeper than the limit.
    #[error("try-each nested deeper than {max} at byte {offset}")]
    TooDeep {
        /// The limit.
        max: usize,
        /// Offset of the try-each.
        offset: usize,
    },
    /// A required member is missing.
    #[error("{what} is missing (in the map at byte {offset})")]
    Missing {
        /// Which member (`"manifest"`, `"authentication-wrapper"`, ...).
        what: &'static str,
        /// Offset of the map that should hold it.
        offset: usize,
    },
    /// A well-formed value that breaks a rule of the format.
    #[error("{what} at byte {offset}")]
    Invalid {
        /// The rule.
        what: &'static str,
        /// Offset of the value.
        offset: usize,
    },
    /// An envelope member this reader does not support.
    #[error("unsupported envelope member {key} at byte {offset}")]
    UnsupportedEnvelopeKey {
        /// Its key.
        key: i64,
        /// Its offset.
        offset: usize,
    },
    /// A manifest member this reader does not support.
    #[error("unsupported manifest member {key} ({name}) at byte {offset}")]
    UnsupportedManifestKey {
        /// Its key.
        key: i64,
        /// Its name in the draft, or `"unknown"`.
        name: &'static str,
        /// Its offset.
        offset: usize,
    },
    /// A common member this reader does not support (1: dependencies of older drafts).
    #[error("unsupported common member {key} at byte {offset}")]
    UnsupportedCommonKey {
        /// Its key.
        key: i64,
        /// Its offset.
        offset: usize,
    },
    /// A manifest version other than 1.
    #[error("manifest version {version} at byte {offset} (only 1 is supported)")]
    UnsupportedManifestVersion {
        /// The version.
        version: u64,
        /// Its offset.
        offset: usize,
    },
    /// A SUIT command outside the supported subset.
    #[error("unsupported SUIT command {number} ({name}) at byte {offset}")]
    UnsupportedCommand {
        /// The command number.
        number: i64,
        /// Its name in the draft, or `"unknown"`.
        name: &'static str,
        /// Its offset.
        offset: usize,
    },
    /// A SUIT parameter outside the supported subset.
    #[error("unsupported SUIT parameter {number} ({name}) at byte {offset}")]
    UnsupportedParameter {
        /// The parameter number.
        number: i64,
        /// Its name in the draft, or `"unknown"`.
        name: &'static str,
        /// Its offset.
        offset: usize,
    },
    /// A digest algorithm other than SHA-256.
    #[error("unsupported digest algorithm {alg} at byte {offset} (only SHA-256, -16)")]
    UnsupportedDigestAlgorithm {
        /// The COSE algorithm id.
        alg: i64,
        /// Its offset.
        offset: usize,
    },
    /// A COSE signature algorithm other than ES256 and EdDSA.
    #[error("unsupported COSE algorithm {alg} at byte {offset}")]
    UnsupportedAlgorithm {
        /// The COSE algorithm id.
        alg: i64,
        /// Its offset.
        offset: usize,
    },
    /// A COSE header this reader does not understand (and so must not skip).
    #[error("unsupported COSE header {label} at byte {offset}")]
    UnsupportedHeader {
        /// The header label.
        label: i64,
        /// Its offset.
        offset: usize,
    },
    /// A severed member in the envelope whose manifest entry is not a digest, or absent.
    #[error("severed member {key} at byte {offset} has no digest in the manifest")]
    UnexpectedSevered {
        /// Its key.
        key: i64,
        /// Its offset.
        offset: usize,
    },
    /// A severed member whose SHA-256 is not the digest the manifest gives for it.
    #[error("severed member {key} does not match its digest in the manifest")]
    SeveredDigestMismatch {
        /// Its key.
        key: i64,
    },
    /// The manifest does not hash to the digest in the authentication wrapper.
    #[error("the manifest does not match the digest of the authentication wrapper")]
    ManifestDigestMismatch,
    /// No COSE_Sign1 of the envelope uses the trust anchor's algorithm.
    #[error("no signature with the trust anchor's algorithm")]
    NoSignatureForAnchor,
    /// The signature does not verify (deliberately without detail).
    #[error("bad signature")]
    BadSignature,
    /// A trust anchor that could not be imported.
    #[error("invalid trust anchor: {reason}")]
    InvalidKey {
        /// Why.
        reason: &'static str,
    },
    /// A verified manifest that has no safe equivalent as an ota manifest.
    #[error("cannot map to an ota manifest: {reason}")]
    Unmappable {
        /// Why.
        reason: String,
    },
}

/// The crate's result type.
pub type Result<T> = core::result::Result<T, Error>;
