//! Trust roots, signed envelopes and streaming digest checks, in caller-provided storage.
//!
//! Nothing is allocated: a trust root or a digest verifier lives in a struct the caller declares
//! (a static, or on its stack), of a size fixed by this header. The library writes a marker into
//! it when it initialises it and refuses storage without the marker (`OTA_MCU_STATUS_INVALID_STATE`).

use core::mem::{align_of, size_of};

use ota_verify::{DigestVerifier, Error, Policy, Sha256, TrustRoot};

use crate::buffer::{bytes_in, out_ptr, status};
use crate::status::Status;

/// Size of [`ota_mcu_trust_root`]'s storage, in 8-byte words.
pub const OTA_MCU_TRUST_ROOT_WORDS: usize = 144;
/// Size of [`ota_mcu_digest_verifier`]'s storage, in 8-byte words.
pub const OTA_MCU_DIGEST_VERIFIER_WORDS: usize = 24;

// The storage must hold the Rust value on every target this builds for (32-bit Cortex-M and the
// 64-bit host of the tests): checked at compile time.
const _: () = assert!(size_of::<TrustRoot>() <= OTA_MCU_TRUST_ROOT_WORDS * 8);
const _: () = assert!(align_of::<TrustRoot>() <= 8);
const _: () = assert!(size_of::<DigestVerifier>() <= OTA_MCU_DIGEST_VERIFIER_WORDS * 8);
const _: () = assert!(align_of::<DigestVerifier>() <= 8);

const ROOT_MARK: u32 = 0x4f54_4152; // "OTAR"
const DIGEST_MARK: u32 = 0x4f54_4144; // "OTAD"
const SPENT_MARK: u32 = 0x4f54_4158; // "OTAX"

/// A loaded trust root (the keys and thresholds the device trusts), in the caller's storage:
/// declare one (a static, or on the stack), fill it with `ota_mcu_trust_root_load`. It holds no
/// pointer, so it may be copied with `memcpy`. Its fields are private to the library.
#[repr(C)]
pub struct ota_mcu_trust_root {
    /// Private: set by the library.
    pub _mark: u32,
    /// Private: the decoded trust root.
    pub _storage: [u64; OTA_MCU_TRUST_ROOT_WORDS],
}

/// A streaming size + SHA-256 check in the caller's storage (`ota_mcu_digest_verifier_new`).
/// Its fields are private to the library.
#[repr(C)]
pub struct ota_mcu_digest_verifier {
    /// Private: set by the library.
    pub _mark: u32,
    /// Private: the hash state.
    pub _storage: [u64; OTA_MCU_DIGEST_VERIFIER_WORDS],
}

/// What a verified envelope said, by value.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ota_mcu_verified {
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

fn verify_status(e: &Error) -> Status {
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
        _ => Status::VerifyOther,
    }
}

/// The trust root in `root`, if the library put one there.
///
/// # Safety
/// `root` NULL or valid for reads of an `ota_mcu_trust_root`.
unsafe fn root_ref<'a>(root: *const ota_mcu_trust_root) -> Result<&'a TrustRoot, Status> {
    if root.is_null() {
        return Err(Status::NullArgument);
    }
    // SAFETY: non-NULL and readable by contract.
    let r = unsafe { &*root };
    if r._mark != ROOT_MARK {
        return Err(Status::InvalidState);
    }
    // SAFETY: the mark is written only after a TrustRoot was written to the storage, which is
    // large and aligned enough (checked at compile time); a TrustRoot holds no pointer, so a
    // memcpy'd copy is as valid as the original.
    Ok(unsafe { &*r._storage.as_ptr().cast::<TrustRoot>() })
}

/// Writes `value` into `storage` and sets the mark.
///
/// # Safety
/// `storage` valid for writes of `[u64; N]`, large and aligned enough for `T` (checked at compile
/// time for the two types used here); `mark` valid for writes.
unsafe fn put<T, const N: usize>(mark: *mut u32, storage: *mut [u64; N], value: T, m: u32) {
    // SAFETY: forwarded contract; no drop of the old contents (both types need no drop and the
    // old bytes may be uninitialised).
    unsafe {
        storage.cast::<T>().write(value);
        mark.write(m);
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

/// Loads a first trust root from its signed form (COSE_Sign) into `root`, checking that a
/// threshold of its own root keys signed it. Expiry is not checked here (a device whose shipped
/// root expired must still rotate forward); `ota_mcu_trust_root_verify` checks it. On any error
/// `root` is left as it was.
///
/// # Safety
/// `signed` readable for `signed_len` bytes (or NULL with 0); `root` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_mcu_trust_root_load(
    signed: *const u8,
    signed_len: usize,
    root: *mut ota_mcu_trust_root,
) -> Status {
    status((|| {
        let root = out_ptr(root)?;
        // SAFETY: forwarded contract.
        let bytes = unsafe { bytes_in(signed, signed_len) }?;
        // Decoded in place into one local (about 1.1 KiB on Cortex-M), copied to the caller's
        // storage only once verified.
        let mut value = TrustRoot::EMPTY;
        value.load_signed(bytes).map_err(|e| verify_status(&e))?;
        // SAFETY: `root` is non-NULL and writable; its fields are addressed without a reference
        // (the storage may be uninitialised).
        unsafe {
            put(
                &raw mut (*root)._mark,
                &raw mut (*root)._storage,
                value,
                ROOT_MARK,
            )
        };
        Ok(())
    })())
}

/// Rotates `root` to the next signed trust root (version N+1, signed by a threshold of the
/// current root keys AND of its own). On any error `root` is unchanged.
///
/// # Safety
/// `root` NULL or a trust root; `signed_next` readable for `signed_next_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_mcu_trust_root_update(
    root: *mut ota_mcu_trust_root,
    signed_next: *const u8,
    signed_next_len: usize,
) -> Status {
    status((|| {
        // SAFETY: forwarded contract.
        let current = unsafe { root_ref(root) }?;
        // SAFETY: forwarded contract.
        let bytes = unsafe { bytes_in(signed_next, signed_next_len) }?;
        let next = current.rotate(bytes).map_err(|e| verify_status(&e))?;
        // SAFETY: checked non-NULL and marked above; `current` is not used after this write.
        unsafe {
            put(
                &raw mut (*root)._mark,
                &raw mut (*root)._storage,
                next,
                ROOT_MARK,
            )
        };
        Ok(())
    })())
}

/// Writes the trust root's version and expiry.
///
/// # Safety
/// `root` NULL or a trust root; `version` and `expires` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_mcu_trust_root_version(
    root: *const ota_mcu_trust_root,
    version: *mut u64,
    expires: *mut u64,
) -> Status {
    status((|| {
        // SAFETY: forwarded contract.
        let r = unsafe { root_ref(root) }?;
        let (version, expires) = (out_ptr(version)?, out_ptr(expires)?);
        // SAFETY: both checked non-NULL; writable by contract.
        unsafe {
            version.write(r.version());
            expires.write(r.expires());
        }
        Ok(())
    })())
}

/// Verifies a release envelope (COSE_Sign1 or COSE_Sign) against the trust root: a threshold of
/// release keys over the exact bytes, root and release not expired at `now`, and a sequence
/// number above `last_sequence`. On success `*out` says where the payload is: inside the
/// caller's `envelope` buffer (attached) or the caller's `detached` buffer. Pass `detached` NULL
/// (and 0) when the payload is attached.
///
/// # Safety
/// `root` NULL or a trust root; `envelope` readable for `envelope_len` bytes; `detached` NULL or
/// readable for `detached_len` bytes; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_mcu_trust_root_verify(
    root: *const ota_mcu_trust_root,
    envelope: *const u8,
    envelope_len: usize,
    detached: *const u8,
    detached_len: usize,
    now: u64,
    last_sequence: u64,
    out: *mut ota_mcu_verified,
) -> Status {
    status((|| {
        // SAFETY: forwarded contract.
        let r = unsafe { root_ref(root) }?;
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
        let value = ota_mcu_verified {
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
    })())
}

/// Starts, in `verifier`, a streaming check that exactly `size` bytes with SHA-256 `sha256` (32
/// bytes) arrive.
///
/// # Safety
/// `sha256` readable for 32 bytes; `verifier` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_mcu_digest_verifier_new(
    size: u64,
    sha256: *const u8,
    verifier: *mut ota_mcu_digest_verifier,
) -> Status {
    status((|| {
        let verifier = out_ptr(verifier)?;
        // SAFETY: forwarded contract.
        let want = unsafe { sha256_in(sha256) }?;
        // SAFETY: non-NULL and writable; fields addressed without a reference.
        unsafe {
            put(
                &raw mut (*verifier)._mark,
                &raw mut (*verifier)._storage,
                DigestVerifier::new(size, want),
                DIGEST_MARK,
            )
        };
        Ok(())
    })())
}

/// The digest verifier in `verifier`, if the library put one there and it is not spent.
///
/// # Safety
/// `verifier` NULL or valid for reads and writes of an `ota_mcu_digest_verifier`.
unsafe fn digest_mut<'a>(
    verifier: *mut ota_mcu_digest_verifier,
) -> Result<&'a mut DigestVerifier, Status> {
    if verifier.is_null() {
        return Err(Status::NullArgument);
    }
    // SAFETY: non-NULL and valid by contract.
    let v = unsafe { &mut *verifier };
    if v._mark != DIGEST_MARK {
        return Err(Status::InvalidState);
    }
    // SAFETY: the mark is set only after a DigestVerifier was written there (size and alignment
    // checked at compile time); it holds no pointer.
    Ok(unsafe { &mut *v._storage.as_mut_ptr().cast::<DigestVerifier>() })
}

/// Feeds bytes. `OTA_MCU_STATUS_VERIFY_SIZE_EXCEEDED` when they would go past the expected size
/// (those bytes are refused, the verifier keeps what it had).
///
/// # Safety
/// `verifier` NULL or a digest verifier; `data` readable for `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_mcu_digest_verifier_update(
    verifier: *mut ota_mcu_digest_verifier,
    data: *const u8,
    len: usize,
) -> Status {
    status((|| {
        // SAFETY: forwarded contract.
        let v = unsafe { digest_mut(verifier) }?;
        // SAFETY: forwarded contract.
        let bytes = unsafe { bytes_in(data, len) }?;
        v.update(bytes).map_err(|e| verify_status(&e))
    })())
}

/// Checks size and digest: `OTA_MCU_STATUS_OK`, `OTA_MCU_STATUS_VERIFY_SIZE_MISMATCH` (too short)
/// or `OTA_MCU_STATUS_VERIFY_DIGEST_MISMATCH`. The verifier is spent afterwards
/// (`OTA_MCU_STATUS_INVALID_STATE` for more calls).
///
/// # Safety
/// `verifier` NULL or a digest verifier.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_mcu_digest_verifier_finish(
    verifier: *mut ota_mcu_digest_verifier,
) -> Status {
    status((|| {
        // SAFETY: forwarded contract.
        let v = unsafe { digest_mut(verifier) }?.clone();
        // SAFETY: checked non-NULL by digest_mut.
        unsafe { (&raw mut (*verifier)._mark).write(SPENT_MARK) };
        v.finish().map_err(|e| verify_status(&e))
    })())
}

/// Writes the SHA-256 of `(data, len)` to `out` (32 bytes).
///
/// # Safety
/// `data` readable for `len` bytes (or NULL with 0); `out` writable for 32 bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_mcu_sha256(data: *const u8, len: usize, out: *mut u8) -> Status {
    status((|| {
        let out = out_ptr(out)?;
        // SAFETY: forwarded contract.
        let bytes = unsafe { bytes_in(data, len) }?;
        let d = Sha256::digest(bytes);
        // SAFETY: `out` non-NULL and writable for 32 bytes by contract; no overlap is possible
        // with a value on our stack.
        unsafe { core::ptr::copy_nonoverlapping(d.0.as_ptr(), out, 32) };
        Ok(())
    })())
}
