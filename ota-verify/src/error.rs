//! The one error type of the crate.

/// Result alias used across the crate.
pub type Result<T> = core::result::Result<T, Error>;

/// Everything that can go wrong, one variant per thing an operator acts on differently.
///
/// A bad signature is deliberately opaque: it says neither which check failed nor why.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A signature by a trusted key did not verify. Opaque on purpose.
    #[error("bad signature")]
    BadSignature,
    /// Fewer distinct trusted keys signed than the role's threshold asks for.
    #[error("signature threshold not met: {valid} valid of {needed} needed")]
    BelowThreshold {
        /// Distinct trusted keys whose signature verified.
        valid: u8,
        /// The role's threshold.
        needed: u8,
    },
    /// No signature came from a key the trust root names for this role (unknown, revoked or
    /// rotated-out key, or no key id at all).
    #[error("no signature by a key trusted for this role (unknown or revoked key)")]
    UnknownKey,
    /// The algorithm in the header is not EdDSA/Ed25519 (COSE -8 or -19).
    #[error("unsupported COSE algorithm {alg}")]
    UnsupportedAlgorithm {
        /// The COSE algorithm identifier found.
        alg: i64,
    },
    /// A document is past its expiry time (seconds since the Unix epoch, caller-supplied `now`).
    #[error("{what} expired at {expires}, now is {now}")]
    Expired {
        /// Which document: `"trust root"` or `"release"`.
        what: &'static str,
        /// Its expiry time.
        expires: u64,
        /// The caller's time.
        now: u64,
    },
    /// The sequence number or version is not newer than the last one accepted.
    #[error("rollback refused: got {got}, need > {need_above}")]
    Rollback {
        /// Sequence number or version received.
        got: u64,
        /// The last accepted one; the received one must be greater.
        need_above: u64,
    },
    /// A trust-root rotation skipped a version (N+1 must follow N).
    #[error("trust root version {got} does not follow {current} (expected {expected})", expected = current + 1)]
    NotNextVersion {
        /// Version received.
        got: u64,
        /// Version currently trusted.
        current: u64,
    },
    /// The SHA-256 of the data is not the expected one.
    #[error("SHA-256 digest mismatch (chunk: {chunk:?})")]
    DigestMismatch {
        /// Index of the chunk that failed, for chunked verification.
        chunk: Option<u64>,
    },
    /// More bytes arrived than expected (endless-data attack); the extra bytes were refused.
    #[error("size exceeded: more than {limit} bytes")]
    SizeExceeded {
        /// The expected size, never exceeded.
        limit: u64,
    },
    /// The data ended before the expected size.
    #[error("size mismatch: expected {expected} bytes, got {got}")]
    SizeMismatch {
        /// Expected size.
        expected: u64,
        /// Size received.
        got: u64,
    },
    /// The bytes are not a well-formed envelope or trust root.
    #[error("malformed input at byte {offset}: {reason}")]
    Malformed {
        /// Byte offset in the input where decoding stopped.
        offset: usize,
        /// What was wrong.
        reason: &'static str,
    },
    /// A count or depth the input controls is above the crate's fixed limit.
    #[error("limit exceeded: {what} (at most {limit})")]
    LimitExceeded {
        /// What was counted.
        what: &'static str,
        /// The limit.
        limit: usize,
    },
    /// A public or private key could not be used.
    #[error("invalid key: {reason}")]
    InvalidKey {
        /// Why.
        reason: &'static str,
    },
    /// A trust root breaks a structural rule (threshold above key count, missing role...).
    #[error("invalid trust root: {reason}")]
    InvalidTrustRoot {
        /// Which rule.
        reason: &'static str,
    },
    /// The envelope's content type is not the one expected here (a trust root where a release
    /// was expected, or the reverse).
    #[error("wrong content type for this document")]
    WrongContentType,
    /// The envelope has a detached payload and none was supplied, or the reverse.
    #[error("payload: {reason}")]
    Payload {
        /// `"detached payload not supplied"` or `"payload both attached and supplied"`.
        reason: &'static str,
    },
    /// A caller-supplied output buffer is too small.
    #[error("buffer too small: {needed} bytes needed")]
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
    },
    /// A [`crate::Signer`] (HSM, KMS) failed to sign.
    #[error("signer failed")]
    SignerFailed,
    /// A chunk index is outside the chunk table.
    #[error("chunk index {index} out of range (table has {count} chunks)")]
    ChunkIndex {
        /// Index asked for.
        index: u64,
        /// Chunks in the table.
        count: u64,
    },
}
