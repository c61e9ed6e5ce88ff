//! IETF SUIT envelopes (ota-suit): verify against a trust anchor, import as an `ota_manifest`.

use core::ffi::c_char;

use ::ota_suit::{Error, Limits, MapOptions, TrustAnchor};

use crate::buffer::{bytes_in, out_ptr, str_in, str_out};
use crate::guard::guard;
use crate::handle;
use crate::manifest::ota_manifest;
use crate::status::Status;

fn suit_status(e: &Error) -> Status {
    match e {
        Error::Cbor(_) | Error::Missing { .. } | Error::Invalid { .. } => Status::SuitMalformed,
        Error::TooLarge { .. }
        | Error::TooMany { .. }
        | Error::TooLong { .. }
        | Error::TooDeep { .. } => Status::SuitLimitExceeded,
        Error::UnsupportedEnvelopeKey { .. }
        | Error::UnsupportedManifestKey { .. }
        | Error::UnsupportedCommonKey { .. }
        | Error::UnsupportedManifestVersion { .. }
        | Error::UnsupportedCommand { .. }
        | Error::UnsupportedParameter { .. }
        | Error::UnsupportedDigestAlgorithm { .. }
        | Error::UnsupportedAlgorithm { .. }
        | Error::UnsupportedHeader { .. }
        | Error::UnexpectedSevered { .. } => Status::SuitUnsupported,
        Error::SeveredDigestMismatch { .. } | Error::ManifestDigestMismatch => {
            Status::SuitDigestMismatch
        }
        Error::NoSignatureForAnchor | Error::BadSignature => Status::SuitBadSignature,
        Error::InvalidKey { .. } => Status::SuitInvalidAnchor,
        Error::Unmappable { .. } => Status::SuitUnmappable,
        _ => Status::SuitOther,
    }
}

/// Verifies and, with `options`, maps: the one path of the three entry points.
///
/// # Safety
/// `envelope` must point to `envelope_len` readable bytes (or be NULL with 0); `anchor_pem` must
/// be NULL or a NUL-terminated string; `slot` must be NULL or point to a `u64`.
unsafe fn run(
    envelope: *const u8,
    envelope_len: usize,
    anchor_pem: *const c_char,
    slot: *const u64,
) -> Result<Result<(u64, ::ota_manifest::Manifest), Error>, Status> {
    // SAFETY: forwarded contract.
    let bytes = unsafe { bytes_in(envelope, envelope_len) }?;
    // SAFETY: forwarded contract.
    let pem = unsafe { str_in(anchor_pem) }?;
    let mut options = MapOptions::default();
    if !slot.is_null() {
        // SAFETY: non-NULL, and the caller guarantees it points to a u64.
        options = options.slot(unsafe { slot.read() });
    }
    Ok((|| {
        let anchor = TrustAnchor::from_pem(pem)?;
        let verified = ::ota_suit::verify(bytes, &anchor, &Limits::default())?;
        let sequence = verified.manifest().sequence_number;
        let manifest = verified.to_manifest(&options)?;
        Ok((sequence, manifest))
    })())
}

/// Verifies a SUIT envelope (draft-ietf-suit-manifest; the subset ota-suit reads) against a
/// trust anchor given as a PEM SubjectPublicKeyInfo (P-256 for ES256, or Ed25519), NUL-terminated.
/// Strict decoding, the manifest digest and the COSE_Sign1 signature are checked; on success the
/// manifest's sequence number is written to `*sequence_out`. Anti-rollback is the caller's (compare
/// with the last accepted sequence), or the install decision's after `ota_suit_import`.
/// On error, `ota_suit_error_message` gives the reason (naming an unsupported command).
///
/// # Safety
/// `envelope` must point to `envelope_len` readable bytes (or be NULL with 0); `anchor_pem` must
/// be a NUL-terminated string; `sequence_out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_suit_verify(
    envelope: *const u8,
    envelope_len: usize,
    anchor_pem: *const c_char,
    sequence_out: *mut u64,
) -> Status {
    guard(|| {
        let out = out_ptr(sequence_out)?;
        // SAFETY: forwarded contract.
        let bytes = unsafe { bytes_in(envelope, envelope_len) }?;
        // SAFETY: forwarded contract.
        let pem = unsafe { str_in(anchor_pem) }?;
        let anchor = TrustAnchor::from_pem(pem).map_err(|e| suit_status(&e))?;
        let verified =
            ::ota_suit::verify(bytes, &anchor, &Limits::default()).map_err(|e| suit_status(&e))?;
        // SAFETY: `out` checked non-NULL; the caller guarantees it is writable.
        unsafe { out.write(verified.manifest().sequence_number) };
        Ok(())
    })
}

/// Verifies a SUIT envelope as `ota_suit_verify` does, then maps it to an ota manifest (its
/// components, digests, sizes, URIs, vendor and class, sequence number) and writes a new
/// `ota_manifest` handle to `*out`: `ota_manifest_plan` makes the install decision on it, and
/// it is freed with `ota_manifest_free`. `slot` is the device's active component slot when the
/// manifest chooses an image per slot (try-each over component-slot conditions), else NULL.
///
/// # Safety
/// As `ota_suit_verify`; `slot` must be NULL or point to a `uint64_t`; `out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_suit_import(
    envelope: *const u8,
    envelope_len: usize,
    anchor_pem: *const c_char,
    slot: *const u64,
    out: *mut *mut ota_manifest,
) -> Status {
    guard(|| {
        let out = out_ptr(out)?;
        // SAFETY: forwarded contract.
        let (_, inner) = unsafe { run(envelope, envelope_len, anchor_pem, slot) }?
            .map_err(|e| suit_status(&e))?;
        // SAFETY: `out` checked non-NULL; the caller guarantees it is writable.
        unsafe { handle::give(out, ota_manifest { inner }) };
        Ok(())
    })
}

/// Copies the reason `ota_suit_import` (with the same arguments) fails into `(buf, cap)`,
/// NUL-terminated, e.g. "unsupported SUIT command 32 (run-sequence) at byte 97". The work is
/// done again (it is a pure function of its inputs). Returns `OTA_STATUS_INVALID_STATE` when
/// the import succeeds (there is no error to describe).
///
/// # Safety
/// As `ota_suit_import` for the inputs; `buf` must be NULL or writable for `cap` bytes;
/// `out_len` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_suit_error_message(
    envelope: *const u8,
    envelope_len: usize,
    anchor_pem: *const c_char,
    slot: *const u64,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> Status {
    guard(|| {
        out_ptr(out_len)?;
        // SAFETY: forwarded contract.
        match unsafe { run(envelope, envelope_len, anchor_pem, slot) }? {
            Ok(_) => Err(Status::InvalidState),
            // SAFETY: forwarded contract.
            Err(e) => unsafe { str_out(&e.to_string(), buf, cap, out_len) },
        }
    })
}
