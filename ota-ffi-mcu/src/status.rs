//! Status codes: every C function that can fail returns one (`ota_mcu_status_message` cannot).
//!
//! The numbers are those of `ota.h` (ota-ffi): a status here has the same number and the same
//! meaning as the `OTA_STATUS_*` of the same name, so code that handles one handles the other
//! (`tests/header.rs` compares the two headers). This library has only the statuses its functions
//! can return. Numbers never change; a deleted one is never reused.

use core::ffi::{CStr, c_char};

/// The result of every `ota_mcu_*` function that can fail. `OTA_MCU_STATUS_OK` (0) is success.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Status {
    /// Success.
    Ok = 0,
    /// A required pointer argument was NULL.
    NullArgument = 1,
    /// A caller-owned output buffer was too small.
    BufferTooSmall = 3,
    /// A string argument was not valid UTF-8.
    InvalidUtf8 = 4,
    /// An argument was outside its allowed range.
    InvalidArgument = 5,
    /// A caller-supplied callback reported a failure.
    CallbackFailed = 6,
    /// An index (component, chunk, step) is past the end.
    IndexOutOfRange = 8,
    /// The caller's state (a trust root or verifier storage) was not made by this library, or
    /// is spent.
    InvalidState = 9,
    /// The manifest bytes are not a well-formed canonical CBOR manifest.
    ManifestMalformed = 100,
    /// The manifest is larger or deeper than the decoder's limits.
    ManifestLimitExceeded = 101,
    /// Install refused: the manifest is internally inconsistent.
    RefusedInvalid = 110,
    /// Install refused: the device's vendor is not the manifest's.
    RefusedWrongVendor = 111,
    /// Install refused: the device's class is not among the manifest's.
    RefusedWrongClass = 112,
    /// Install refused: the device's hardware revision is not accepted.
    RefusedWrongHardware = 113,
    /// Install refused: the release expired at the device's time.
    RefusedExpired = 114,
    /// Install refused: anti-rollback, the sequence is not newer than the last accepted one.
    RefusedSequence = 115,
    /// Install refused: anti-rollback, the security counter is below the device's floor.
    RefusedSecurityCounter = 116,
    /// Install refused: an installed version is outside a component's upgrade path.
    RefusedUpgradePath = 117,
    /// Install refused: the device reports the same component twice.
    RefusedDuplicateInstalled = 119,
    /// Install refused by a rule this version of the C API does not name.
    RefusedOther = 198,
    /// A signature by a trusted key did not verify (opaque on purpose).
    VerifyBadSignature = 200,
    /// Fewer distinct trusted keys signed than the threshold asks for.
    VerifyBelowThreshold = 201,
    /// No signature came from a key trusted for this role (unknown, revoked or rotated out).
    VerifyUnknownKey = 202,
    /// The trust root or the release has expired at the caller's time.
    VerifyExpired = 203,
    /// The sequence number or root version is not newer than the last accepted one.
    VerifyRollback = 204,
    /// The SHA-256 of the data is not the expected one.
    VerifyDigestMismatch = 205,
    /// More bytes arrived than the expected size; the extra bytes were refused.
    VerifySizeExceeded = 206,
    /// The bytes are not a well-formed envelope or trust root.
    VerifyMalformed = 207,
    /// The data ended before the expected size.
    VerifySizeMismatch = 208,
    /// The signature algorithm is not EdDSA/Ed25519.
    VerifyUnsupportedAlgorithm = 209,
    /// A trust-root rotation skipped a version.
    VerifyNotNextVersion = 210,
    /// A trust root breaks a structural rule.
    VerifyInvalidTrustRoot = 211,
    /// A trust root was given where a release was expected, or the reverse.
    VerifyWrongContentType = 212,
    /// A detached payload is missing, or was given for an attached one.
    VerifyPayloadMismatch = 213,
    /// A count or depth in the signed input is above the verifier's limits.
    VerifyLimitExceeded = 214,
    /// A key could not be used.
    VerifyInvalidKey = 216,
    /// Another verification error (a future error kind).
    VerifyOther = 299,
    /// The patch does not start with the native magic.
    DeltaBadMagic = 300,
    /// The patch format version is not supported.
    DeltaUnsupportedVersion = 301,
    /// The patch header or a frame is corrupt or malformed.
    DeltaCorrupt = 302,
    /// The patch stream ended early.
    DeltaTruncated = 303,
    /// A size in the patch header is above the apply limits.
    DeltaLimitExceeded = 304,
    /// The source's size or SHA-256 is not the one the patch was made from.
    DeltaSourceMismatch = 305,
    /// The reconstructed (or stored) target's SHA-256 is not the expected one.
    DeltaTargetMismatch = 306,
    /// The resume cursor is corrupt or belongs to another patch.
    DeltaBadCursor = 307,
    /// Another delta error (a future error kind).
    DeltaOther = 399,
}

/// Every status, in number order (for the tests).
#[cfg(test)]
pub(crate) const ALL: &[Status] = &[
    Status::Ok,
    Status::NullArgument,
    Status::BufferTooSmall,
    Status::InvalidUtf8,
    Status::InvalidArgument,
    Status::CallbackFailed,
    Status::IndexOutOfRange,
    Status::InvalidState,
    Status::ManifestMalformed,
    Status::ManifestLimitExceeded,
    Status::RefusedInvalid,
    Status::RefusedWrongVendor,
    Status::RefusedWrongClass,
    Status::RefusedWrongHardware,
    Status::RefusedExpired,
    Status::RefusedSequence,
    Status::RefusedSecurityCounter,
    Status::RefusedUpgradePath,
    Status::RefusedDuplicateInstalled,
    Status::RefusedOther,
    Status::VerifyBadSignature,
    Status::VerifyBelowThreshold,
    Status::VerifyUnknownKey,
    Status::VerifyExpired,
    Status::VerifyRollback,
    Status::VerifyDigestMismatch,
    Status::VerifySizeExceeded,
    Status::VerifyMalformed,
    Status::VerifySizeMismatch,
    Status::VerifyUnsupportedAlgorithm,
    Status::VerifyNotNextVersion,
    Status::VerifyInvalidTrustRoot,
    Status::VerifyWrongContentType,
    Status::VerifyPayloadMismatch,
    Status::VerifyLimitExceeded,
    Status::VerifyInvalidKey,
    Status::VerifyOther,
    Status::DeltaBadMagic,
    Status::DeltaUnsupportedVersion,
    Status::DeltaCorrupt,
    Status::DeltaTruncated,
    Status::DeltaLimitExceeded,
    Status::DeltaSourceMismatch,
    Status::DeltaTargetMismatch,
    Status::DeltaBadCursor,
    Status::DeltaOther,
];

impl Status {
    /// A static, human-readable description of the status (short: it costs flash).
    pub const fn message(self) -> &'static CStr {
        match self {
            Status::Ok => c"success",
            Status::NullArgument => c"NULL argument",
            Status::BufferTooSmall => c"buffer too small",
            Status::InvalidUtf8 => c"string not valid UTF-8",
            Status::InvalidArgument => c"invalid argument",
            Status::CallbackFailed => c"a callback reported a failure",
            Status::IndexOutOfRange => c"index past the end",
            Status::ManifestMalformed => c"malformed manifest (not canonical CBOR)",
            Status::ManifestLimitExceeded => c"manifest exceeds a size, count or depth limit",
            Status::RefusedInvalid => c"install refused: the manifest is invalid",
            Status::RefusedWrongVendor => c"install refused: wrong vendor",
            Status::RefusedWrongClass => c"install refused: wrong device class",
            Status::RefusedWrongHardware => c"install refused: hardware revision not accepted",
            Status::RefusedExpired => c"install refused: the release has expired",
            Status::RefusedSequence => c"install refused: sequence not newer",
            Status::RefusedSecurityCounter => c"install refused: security counter below floor",
            Status::RefusedUpgradePath => c"install refused: outside the upgrade path",
            Status::RefusedDuplicateInstalled => c"install refused: a component reported twice",
            Status::RefusedOther => c"install refused by another rule",
            Status::InvalidState => c"state not initialised by this library, or spent",
            Status::VerifyBadSignature => c"bad signature",
            Status::VerifyBelowThreshold => c"signature threshold not met",
            Status::VerifyUnknownKey => c"no signature by a trusted key",
            Status::VerifyExpired => c"expired",
            Status::VerifyRollback => c"rollback refused",
            Status::VerifyDigestMismatch => c"SHA-256 digest mismatch",
            Status::VerifySizeExceeded => c"size exceeded",
            Status::VerifyMalformed => c"malformed envelope or trust root",
            Status::VerifySizeMismatch => c"size mismatch: the data ended early",
            Status::VerifyUnsupportedAlgorithm => c"unsupported signature algorithm",
            Status::VerifyNotNextVersion => c"trust root rotation skipped a version",
            Status::VerifyInvalidTrustRoot => c"invalid trust root",
            Status::VerifyWrongContentType => c"wrong content type",
            Status::VerifyPayloadMismatch => c"payload missing or given twice",
            Status::VerifyLimitExceeded => c"signed input exceeds a verifier limit",
            Status::VerifyInvalidKey => c"invalid key",
            Status::VerifyOther => c"other verification error",
            Status::DeltaBadMagic => c"not a native delta patch (bad magic)",
            Status::DeltaUnsupportedVersion => c"unsupported delta patch version",
            Status::DeltaCorrupt => c"corrupt delta patch (header or frame)",
            Status::DeltaTruncated => c"delta patch truncated",
            Status::DeltaLimitExceeded => c"delta patch exceeds an apply limit or the buffers",
            Status::DeltaSourceMismatch => c"the source is not the one the patch was made from",
            Status::DeltaTargetMismatch => c"target digest mismatch",
            Status::DeltaBadCursor => c"bad resume cursor",
            Status::DeltaOther => c"other delta error",
        }
    }
}

/// A static, NUL-terminated description of `status`; never NULL, never to be freed. A number
/// that is no status gives "unknown status".
#[unsafe(no_mangle)]
pub extern "C" fn ota_mcu_status_message(status: u32) -> *const c_char {
    from_u32(status)
        .map_or(c"unknown status", Status::message)
        .as_ptr()
}

fn from_u32(n: u32) -> Option<Status> {
    // A match rather than a table search: the compiler lays it out compactly for a small MCU.
    Some(match n {
        0 => Status::Ok,
        1 => Status::NullArgument,
        3 => Status::BufferTooSmall,
        4 => Status::InvalidUtf8,
        5 => Status::InvalidArgument,
        6 => Status::CallbackFailed,
        8 => Status::IndexOutOfRange,
        9 => Status::InvalidState,
        100 => Status::ManifestMalformed,
        101 => Status::ManifestLimitExceeded,
        110 => Status::RefusedInvalid,
        111 => Status::RefusedWrongVendor,
        112 => Status::RefusedWrongClass,
        113 => Status::RefusedWrongHardware,
        114 => Status::RefusedExpired,
        115 => Status::RefusedSequence,
        116 => Status::RefusedSecurityCounter,
        117 => Status::RefusedUpgradePath,
        119 => Status::RefusedDuplicateInstalled,
        198 => Status::RefusedOther,
        200 => Status::VerifyBadSignature,
        201 => Status::VerifyBelowThreshold,
        202 => Status::VerifyUnknownKey,
        203 => Status::VerifyExpired,
        204 => Status::VerifyRollback,
        205 => Status::VerifyDigestMismatch,
        206 => Status::VerifySizeExceeded,
        207 => Status::VerifyMalformed,
        208 => Status::VerifySizeMismatch,
        209 => Status::VerifyUnsupportedAlgorithm,
        210 => Status::VerifyNotNextVersion,
        211 => Status::VerifyInvalidTrustRoot,
        212 => Status::VerifyWrongContentType,
        213 => Status::VerifyPayloadMismatch,
        214 => Status::VerifyLimitExceeded,
        216 => Status::VerifyInvalidKey,
        299 => Status::VerifyOther,
        300 => Status::DeltaBadMagic,
        301 => Status::DeltaUnsupportedVersion,
        302 => Status::DeltaCorrupt,
        303 => Status::DeltaTruncated,
        304 => Status::DeltaLimitExceeded,
        305 => Status::DeltaSourceMismatch,
        306 => Status::DeltaTargetMismatch,
        307 => Status::DeltaBadCursor,
        399 => Status::DeltaOther,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_u32_round_trips_every_status_and_nothing_else() {
        for s in ALL {
            assert_eq!(from_u32(*s as u32), Some(*s));
        }
        let known = (0..1000).filter(|n| from_u32(*n).is_some()).count();
        assert_eq!(known, ALL.len());
        assert!(ALL.windows(2).all(|w| (w[0] as u32) < (w[1] as u32)));
    }

    #[test]
    fn every_status_has_its_own_message() {
        let mut seen = std::collections::BTreeSet::new();
        for s in ALL {
            assert!(
                seen.insert(s.message().to_bytes()),
                "{s:?} repeats a message"
            );
        }
        // SAFETY: ota_mcu_status_message returns a static NUL-terminated string.
        let unknown = unsafe { CStr::from_ptr(ota_mcu_status_message(4242)) };
        assert_eq!(unknown, c"unknown status");
    }
}
