//! Trust roots, signed envelopes, streaming and chunked digest verification.

use ota_verify::{ChunkVerifier, DigestVerifier, Error, Policy, Sha256, TrustRoot};

use crate::buffer::{bytes_in, out_ptr};
use crate::guard::guard;
use crate::handle;
use crate::status::Status;

/// A trust root (the keys and thresholds a device trusts). Made by `ota_trust_root_new`, rotated
/// by `ota_trust_root_update`, freed by `ota_trust_root_free`. Verification only reads it: it
/// may be shared between threads as long as no thread rotates it at the same time.
pub struct ota_trust_root {
    inner: TrustRoot,
}

/// A streaming SHA-256 + size check. One thread at a time.
pub struct ota_digest_verifier {
    /// `None` once finished.
    inner: Option<DigestVerifier>,
}

/// A chunk-by-chunk download check against a chunk table. One thread at a time.
pub struct ota_chunk_verifier {
    total_len: u64,
    chunk_len: u32,
    table: Vec<u8>,
    next: u64,
}

/// What a verified envelope said, by value.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ota_verified {
    /// The release's sequence number (record it as the last accepted once installed).
    pub sequence: u64,
    /// The release's expiry time.
    pub expires: u64,
    /// Number of distinct trusted keys whose signature verified.
    pub signers: u8,
    /// True when the payload is the caller's detached buffer, false when it is inside the
    /// envelope buffer.
    pub payload_detached: bool,
    /// Offset of the payload inside the buffer it lives in (envelope or detached).
    pub payload_offset: usize,
    /// Length of the payload.
    pub payload_len: usize,
}

pub(crate) fn verify_status(e: &Error) -> Status {
    match e {
        Error::BadSignature => Status::VerifyBadSignature,
        Error::BelowThreshold { .. } => Status::VerifyBelowThreshold,
        Error::UnknownKey => Status::VerifyUnknownKey,
        Error::UnsupportedAlgorithm { .. } => Status::VerifyUnsupportedAlgorithm,
        Error::Expired { .. } => Status::VerifyExpired,
        Error::Rollback { .. } => Status::VerifyRollback,
        Error::NotNextVersion { .. } => Status::VerifyNotNextVersion,
        Error::DigestMismatch { .. } => Status::VerifyDigestMismatch,
        Error::SizeExceeded { .. } => Status::VerifySizeExceeded,
        Error::SizeMismatch { .. } => Status::VerifySizeMismatch,
        Error::Malformed { .. } => Status::VerifyMalformed,
        Error::LimitExceeded { .. } => Status::VerifyLimitExceeded,
        Error::InvalidKey { .. } => Status::VerifyInvalidKey,
        Error::InvalidTrustRoot { .. } => Status::VerifyInvalidTrustRoot,
        Error::WrongContentType => Status::VerifyWrongContentType,
        Error::Payload { .. } => Status::VerifyPayloadMismatch,
        Error::BufferTooSmall { .. } => Status::BufferTooSmall,
        Error::ChunkIndex { .. } => Status::VerifyChunkIndex,
        _ => Status::VerifyOther,
    }
}

/// Reads 32 bytes of SHA-256.
///
/// # Safety
/// `ptr` NULL or readable for 32 bytes.
unsafe fn sha256_in(ptr: *const u8) -> Result<Sha256, Status> {
    // SAFETY: forwarded contract; NULL is refused by bytes_in since the length is not 0.
    let b = unsafe { bytes_in(ptr, 32) }?;
    let mut d = [0u8; 32];
    d.copy_from_slice(b);
    Ok(Sha256(d))
}

/// Loads a first trust root from its signed form (COSE_Sign), checking that a threshold of its
/// own root keys signed it. Expiry is not checked here (a device whose shipped root expired must
/// still rotate forward); `ota_trust_root_verify` checks it.
///
/// # Safety
/// `signed` readable for `signed_len` bytes (or NULL with 0); `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_trust_root_new(
    signed: *const u8,
    signed_len: usize,
    out: *mut *mut ota_trust_root,
) -> Status {
    guard(|| {
        let out = out_ptr(out)?;
        // SAFETY: forwarded contract.
        let bytes = unsafe { bytes_in(signed, signed_len) }?;
        let inner = TrustRoot::from_signed(bytes).map_err(|e| verify_status(&e))?;
        // SAFETY: checked non-NULL; writable by contract.
        unsafe { handle::give(out, ota_trust_root { inner }) };
        Ok(())
    })
}

/// Rotates `root` to the next signed trust root (version N+1, signed by a threshold of the
/// current root keys AND of its own). On any error `root` is unchanged.
///
/// # Safety
/// `root` a live handle or NULL, not used by another thread during the call; `signed_next`
/// readable for `signed_next_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_trust_root_update(
    root: *mut ota_trust_root,
    signed_next: *const u8,
    signed_next_len: usize,
) -> Status {
    guard(|| {
        // SAFETY: forwarded contract.
        let r = unsafe { handle::get_mut(root) }?;
        // SAFETY: forwarded contract.
        let bytes = unsafe { bytes_in(signed_next, signed_next_len) }?;
        r.inner = r.inner.rotate(bytes).map_err(|e| verify_status(&e))?;
        Ok(())
    })
}

/// Writes the trust root's version and expiry.
///
/// # Safety
/// `root` a live handle or NULL; `version` and `expires` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_trust_root_version(
    root: *const ota_trust_root,
    version: *mut u64,
    expires: *mut u64,
) -> Status {
    guard(|| {
        // SAFETY: forwarded contract.
        let r = unsafe { handle::get(root) }?;
        let (version, expires) = (out_ptr(version)?, out_ptr(expires)?);
        // SAFETY: both checked non-NULL; writable by contract.
        unsafe {
            version.write(r.inner.version());
            expires.write(r.inner.expires());
        }
        Ok(())
    })
}

/// Frees a trust root. NULL does nothing.
///
/// # Safety
/// `root` NULL or a handle not freed yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_trust_root_free(root: *mut ota_trust_root) {
    let _ = guard(|| {
        // SAFETY: forwarded contract.
        unsafe { handle::free(root) };
        Ok(())
    });
}

/// Verifies a release envelope (COSE_Sign1 or COSE_Sign) against the trust root: a threshold of
/// release keys over the exact bytes, root and release not expired at `now`, and a sequence
/// number above `last_sequence`. On success `*out` says where the payload is: inside the
/// caller's `envelope` buffer (attached) or the caller's `detached` buffer. Pass `detached` NULL
/// (and 0) when the payload is attached.
///
/// # Safety
/// `root` a live handle or NULL; `envelope` readable for `envelope_len` bytes; `detached` NULL
/// or readable for `detached_len` bytes; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_trust_root_verify(
    root: *const ota_trust_root,
    envelope: *const u8,
    envelope_len: usize,
    detached: *const u8,
    detached_len: usize,
    now: u64,
    last_sequence: u64,
    out: *mut ota_verified,
) -> Status {
    guard(|| {
        // SAFETY: forwarded contract.
        let r = unsafe { handle::get(root) }?;
        let out = out_ptr(out)?;
        if envelope.is_null() {
            return Err(Status::NullArgument);
        }
        // SAFETY: forwarded contract.
        let env = unsafe { bytes_in(envelope, envelope_len) }?;
        let det = if detached.is_null() {
            if detached_len != 0 {
                return Err(Status::NullArgument);
            }
            None
        } else {
            // SAFETY: forwarded contract.
            Some(unsafe { bytes_in(detached, detached_len) }?)
        };
        let v = r
            .inner
            .verify(env, det, &Policy::new(now, last_sequence))
            .map_err(|e| verify_status(&e))?;
        // The payload is a sub-slice of one of the two caller buffers: find which by address.
        let p = v.payload.as_ptr() as usize;
        let inside = |buf: &[u8]| {
            let start = buf.as_ptr() as usize;
            (p >= start && p + v.payload.len() <= start + buf.len()).then(|| p - start)
        };
        let (payload_detached, payload_offset) = match det.and_then(inside) {
            Some(off) => (true, off),
            None => (false, inside(env).ok_or(Status::VerifyOther)?),
        };
        let value = ota_verified {
            sequence: v.sequence,
            expires: v.expires,
            signers: v.signers,
            payload_detached,
            payload_offset,
            payload_len: v.payload.len(),
        };
        // SAFETY: checked non-NULL; writable by contract.
        unsafe { out.write(value) };
        Ok(())
    })
}

/// Starts a streaming check that exactly `size` bytes with SHA-256 `sha256` (32 bytes) arrive.
///
/// # Safety
/// `sha256` readable for 32 bytes; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_digest_verifier_new(
    size: u64,
    sha256: *const u8,
    out: *mut *mut ota_digest_verifier,
) -> Status {
    guard(|| {
        let out = out_ptr(out)?;
        // SAFETY: forwarded contract.
        let want = unsafe { sha256_in(sha256) }?;
        let inner = Some(DigestVerifier::new(size, want));
        // SAFETY: checked non-NULL; writable by contract.
        unsafe { handle::give(out, ota_digest_verifier { inner }) };
        Ok(())
    })
}

/// Feeds bytes. `OTA_STATUS_VERIFY_SIZE_EXCEEDED` when they would go past the expected size (those
/// bytes are refused, the verifier keeps what it had).
///
/// # Safety
/// `verifier` a live handle or NULL; `data` readable for `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_digest_verifier_update(
    verifier: *mut ota_digest_verifier,
    data: *const u8,
    len: usize,
) -> Status {
    guard(|| {
        // SAFETY: forwarded contract.
        let v = unsafe { handle::get_mut(verifier) }?;
        // SAFETY: forwarded contract.
        let bytes = unsafe { bytes_in(data, len) }?;
        let inner = v.inner.as_mut().ok_or(Status::InvalidState)?;
        inner.update(bytes).map_err(|e| verify_status(&e))
    })
}

/// Checks size and digest: `OTA_STATUS_OK`, `OTA_STATUS_VERIFY_SIZE_MISMATCH` (too short) or
/// `OTA_STATUS_VERIFY_DIGEST_MISMATCH`. The verifier is spent afterwards (`OTA_STATUS_INVALID_STATE`
/// for more calls); free it with `ota_digest_verifier_free`.
///
/// # Safety
/// `verifier` a live handle or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_digest_verifier_finish(verifier: *mut ota_digest_verifier) -> Status {
    guard(|| {
        // SAFETY: forwarded contract.
        let v = unsafe { handle::get_mut(verifier) }?;
        let inner = v.inner.take().ok_or(Status::InvalidState)?;
        inner.finish().map_err(|e| verify_status(&e))
    })
}

/// Frees a digest verifier. NULL does nothing.
///
/// # Safety
/// `verifier` NULL or a handle not freed yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_digest_verifier_free(verifier: *mut ota_digest_verifier) {
    let _ = guard(|| {
        // SAFETY: forwarded contract.
        unsafe { handle::free(verifier) };
        Ok(())
    });
}

/// Starts a chunked check of a `total_len`-byte download in `chunk_len`-byte chunks against
/// `table` (the concatenated 32-byte digests, copied), at chunk 0.
///
/// # Safety
/// `table` readable for `table_len` bytes; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_chunk_verifier_new(
    total_len: u64,
    chunk_len: u32,
    table: *const u8,
    table_len: usize,
    out: *mut *mut ota_chunk_verifier,
) -> Status {
    // SAFETY: forwarded contract.
    unsafe { ota_chunk_verifier_resume(total_len, chunk_len, table, table_len, 0, out) }
}

/// As `ota_chunk_verifier_new`, resuming at chunk `next_chunk` (the value of
/// `ota_chunk_verifier_next_chunk` persisted after the last verified chunk).
/// `OTA_STATUS_VERIFY_CHUNK_INDEX` when it is past the end, `OTA_STATUS_VERIFY_MALFORMED` for a zero chunk
/// length or a table of the wrong size.
///
/// # Safety
/// As `ota_chunk_verifier_new`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_chunk_verifier_resume(
    total_len: u64,
    chunk_len: u32,
    table: *const u8,
    table_len: usize,
    next_chunk: u64,
    out: *mut *mut ota_chunk_verifier,
) -> Status {
    guard(|| {
        let out = out_ptr(out)?;
        // SAFETY: forwarded contract.
        let table = unsafe { bytes_in(table, table_len) }?;
        ChunkVerifier::resume(total_len, chunk_len, table, next_chunk)
            .map_err(|e| verify_status(&e))?;
        let value = ota_chunk_verifier {
            total_len,
            chunk_len,
            table: table.to_vec(),
            next: next_chunk,
        };
        // SAFETY: checked non-NULL; writable by contract.
        unsafe { handle::give(out, value) };
        Ok(())
    })
}

/// Verifies the next chunk (`len` must be the chunk length, shorter only for the last chunk).
/// On success the verifier moves to the next chunk; on error it stays.
///
/// # Safety
/// `verifier` a live handle or NULL; `data` readable for `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_chunk_verifier_verify_chunk(
    verifier: *mut ota_chunk_verifier,
    data: *const u8,
    len: usize,
) -> Status {
    guard(|| {
        // SAFETY: forwarded contract.
        let v = unsafe { handle::get_mut(verifier) }?;
        // SAFETY: forwarded contract.
        let bytes = unsafe { bytes_in(data, len) }?;
        // The library type borrows its table; the handle owns a copy and its position.
        let mut check = ChunkVerifier::resume(v.total_len, v.chunk_len, &v.table, v.next)
            .map_err(|e| verify_status(&e))?;
        check.verify_chunk(bytes).map_err(|e| verify_status(&e))?;
        v.next = check.next_chunk();
        Ok(())
    })
}

/// Writes the index of the next chunk to verify (persist it to resume).
///
/// # Safety
/// `verifier` a live handle or NULL; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_chunk_verifier_next_chunk(
    verifier: *const ota_chunk_verifier,
    out: *mut u64,
) -> Status {
    guard(|| {
        // SAFETY: forwarded contract.
        let v = unsafe { handle::get(verifier) }?;
        let out = out_ptr(out)?;
        // SAFETY: checked non-NULL; writable by contract.
        unsafe { out.write(v.next) };
        Ok(())
    })
}

/// Writes whether every chunk has been verified.
///
/// # Safety
/// `verifier` a live handle or NULL; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_chunk_verifier_is_complete(
    verifier: *const ota_chunk_verifier,
    out: *mut bool,
) -> Status {
    guard(|| {
        // SAFETY: forwarded contract.
        let v = unsafe { handle::get(verifier) }?;
        let out = out_ptr(out)?;
        let check = ChunkVerifier::resume(v.total_len, v.chunk_len, &v.table, v.next)
            .map_err(|e| verify_status(&e))?;
        // SAFETY: checked non-NULL; writable by contract.
        unsafe { out.write(check.is_complete()) };
        Ok(())
    })
}

/// Frees a chunk verifier. NULL does nothing.
///
/// # Safety
/// `verifier` NULL or a handle not freed yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_chunk_verifier_free(verifier: *mut ota_chunk_verifier) {
    let _ = guard(|| {
        // SAFETY: forwarded contract.
        unsafe { handle::free(verifier) };
        Ok(())
    });
}

/// Writes the SHA-256 of `(data, len)` into `out` (32 bytes).
///
/// # Safety
/// `data` readable for `len` bytes; `out` writable for 32 bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_sha256(data: *const u8, len: usize, out: *mut u8) -> Status {
    guard(|| {
        let out = out_ptr(out)?;
        // SAFETY: forwarded contract.
        let bytes = unsafe { bytes_in(data, len) }?;
        let d = Sha256::digest(bytes);
        // SAFETY: out is non-NULL and writable for 32 bytes by contract; no overlap with a
        // local array.
        unsafe { core::ptr::copy_nonoverlapping(d.as_bytes().as_ptr(), out, 32) };
        Ok(())
    })
}
