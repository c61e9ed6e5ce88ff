//! Status codes: every C function that can fail returns one (`ota_version`,
//! `ota_status_message` and the `*_free` functions cannot, and do not).
//!
//! The numbers are part of the ABI: never renumber a variant, only add new ones. Each area of the
//! family has its own range so that a number alone says where it came from, and its own name
//! prefix: 0-99 general (no prefix), 100-199 manifest (`Manifest*`, and `Refused*` for the install
//! refusals), 200-299 verify (`Verify*`), 300-399 delta (`Delta*`), 400-499 rollout
//! (`Rollout*`), 500-599 twin (`Twin*`), 600-699 agent (`Agent*`), 700-799 SUIT (`Suit*`). A deleted variant's number goes into [`RETIRED`] and is
//! never given to another variant: a C program built against an older header may still test for
//! it.

use core::ffi::{CStr, c_char};

/// The result of every `ota_*` function that can fail. `OTA_STATUS_OK` (0) is success.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Status {
    /// Success.
    Ok = 0,
    /// A required pointer argument was NULL.
    NullArgument = 1,
    /// The library panicked internally; the call had no effect. Please report it.
    Panic = 2,
    /// A caller-owned output buffer was too small; the needed size was written to the length
    /// out-parameter.
    BufferTooSmall = 3,
    /// A string argument was not valid UTF-8.
    InvalidUtf8 = 4,
    /// An argument was outside its allowed range (an unknown enum value, a zero size, ...).
    InvalidArgument = 5,
    /// A caller-supplied callback reported a failure.
    CallbackFailed = 6,
    /// Reading or writing through the operating system failed.
    Io = 7,
    /// An index (component, step, ring) is past the end.
    IndexOutOfRange = 8,
    /// The handle cannot do this now (finished, or unusable after an earlier error).
    InvalidState = 9,
    /// Asked for a refusal message, but the decision is not a refusal.
    NotRefused = 10,
    /// The manifest bytes are not a well-formed canonical CBOR or JSON manifest.
    ManifestMalformed = 100,
    /// The manifest is larger or deeper than the decoder's limits.
    ManifestLimitExceeded = 101,
    /// The manifest decodes but is internally inconsistent (validation failed).
    ManifestInvalid = 102,
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
    /// Install refused: a dependency is not met.
    RefusedDependency = 118,
    /// Install refused: the device reports the same component twice.
    RefusedDuplicateInstalled = 119,
    /// Install refused by a rule this version of the C API does not name.
    RefusedOther = 198,
    /// Another manifest error (I/O, a future error kind).
    ManifestOther = 199,
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
    /// A chunk index is outside the chunk table.
    VerifyChunkIndex = 215,
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
    /// The reconstructed target's SHA-256 is not the one in the patch header.
    DeltaTargetMismatch = 306,
    /// The resume cursor is corrupt or belongs to another patch.
    DeltaBadCursor = 307,
    /// Another delta error (a future error kind).
    DeltaOther = 399,
    /// The rollout plan or install policy JSON is malformed, invalid or over a limit.
    RolloutPlanInvalid = 400,
    /// The device is in no ring yet (the plan's ring shares add up to less than the whole fleet
    /// and its position is beyond them).
    RolloutNotYet = 401,
    /// The plan excludes the device.
    RolloutExcluded = 402,
    /// The plan's eligibility selector refuses the device.
    RolloutIneligible = 403,
    /// Another rollout error (a future error kind).
    RolloutOther = 499,
    /// A JSON argument is not valid JSON.
    TwinJson = 500,
    /// A twin state document is not a JSON object.
    TwinNotObject = 501,
    /// The JSON Patch is not a well-formed patch document.
    TwinPatchMalformed = 502,
    /// An operation of the JSON Patch failed (test failed, path not found...); the document is unchanged.
    TwinPatchFailed = 503,
    /// A twin input is above a size, depth or count limit.
    TwinLimitExceeded = 504,
    /// Another twin error (a future error kind).
    TwinOther = 599,
    /// The release was refused (signature, decoding or the install rules); the agent recorded
    /// it as failed (verify or decide), `ota_agent_last_error` has the detail.
    AgentRejected = 600,
    /// A callback reported an interruption (a power-cut equivalent): nothing past the last
    /// persisted state happened; the agent reloaded it, call again.
    AgentInterrupted = 601,
    /// The agent's store holds data that is not a valid lifecycle record.
    AgentStoreCorrupt = 602,
    /// The boot control has no bootable slot.
    AgentNoBootableSlot = 603,
    /// The agent is in use: called from inside one of its own callbacks, or from two threads.
    AgentBusy = 604,
    /// Another agent error (a future error kind).
    AgentOther = 699,
    /// The SUIT envelope is not well-formed or not deterministic CBOR, or misses a member.
    SuitMalformed = 700,
    /// The SUIT envelope uses a command, parameter, member or algorithm this library does not
    /// support (`ota_suit_error_message` names it).
    SuitUnsupported = 701,
    /// The SUIT envelope is above a decoding limit.
    SuitLimitExceeded = 702,
    /// No valid signature by the trust anchor (bad signature, or none of its algorithm).
    SuitBadSignature = 703,
    /// The manifest or a severed member does not match its digest.
    SuitDigestMismatch = 704,
    /// The trust anchor is not a usable P-256 or Ed25519 public key (PEM SPKI).
    SuitInvalidAnchor = 705,
    /// The verified manifest cannot be said as an ota manifest (see ota-suit's README).
    SuitUnmappable = 706,
    /// Another SUIT error (a future error kind).
    SuitOther = 799,
}

/// Numbers of deleted variants, with the name each had: never assign them again (a test fails if a
/// live variant uses one). Empty so far: no variant has been deleted since the first release of
/// the C API.
pub(crate) const RETIRED: &[(u32, &str)] = &[];

/// Every status, in number order (for `from_u32` and the tests).
pub(crate) const ALL: &[Status] = &[
    Status::Ok,
    Status::NullArgument,
    Status::Panic,
    Status::BufferTooSmall,
    Status::InvalidUtf8,
    Status::InvalidArgument,
    Status::CallbackFailed,
    Status::Io,
    Status::IndexOutOfRange,
    Status::InvalidState,
    Status::NotRefused,
    Status::ManifestMalformed,
    Status::ManifestLimitExceeded,
    Status::ManifestInvalid,
    Status::RefusedInvalid,
    Status::RefusedWrongVendor,
    Status::RefusedWrongClass,
    Status::RefusedWrongHardware,
    Status::RefusedExpired,
    Status::RefusedSequence,
    Status::RefusedSecurityCounter,
    Status::RefusedUpgradePath,
    Status::RefusedDependency,
    Status::RefusedDuplicateInstalled,
    Status::RefusedOther,
    Status::ManifestOther,
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
    Status::VerifyChunkIndex,
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
    Status::RolloutPlanInvalid,
    Status::RolloutNotYet,
    Status::RolloutExcluded,
    Status::RolloutIneligible,
    Status::RolloutOther,
    Status::TwinJson,
    Status::TwinNotObject,
    Status::TwinPatchMalformed,
    Status::TwinPatchFailed,
    Status::TwinLimitExceeded,
    Status::TwinOther,
    Status::AgentRejected,
    Status::AgentInterrupted,
    Status::AgentStoreCorrupt,
    Status::AgentNoBootableSlot,
    Status::AgentBusy,
    Status::AgentOther,
    Status::SuitMalformed,
    Status::SuitUnsupported,
    Status::SuitLimitExceeded,
    Status::SuitBadSignature,
    Status::SuitDigestMismatch,
    Status::SuitInvalidAnchor,
    Status::SuitUnmappable,
    Status::SuitOther,
];

impl Status {
    /// A static, human-readable description of the status.
    pub const fn message(self) -> &'static CStr {
        match self {
            Status::Ok => c"success",
            Status::NullArgument => c"a required pointer argument was NULL",
            Status::Panic => {
                c"internal error (panic caught at the C boundary); the call had no effect"
            }
            Status::BufferTooSmall => {
                c"the output buffer is too small; the needed size was returned"
            }
            Status::InvalidUtf8 => c"a string argument is not valid UTF-8",
            Status::InvalidArgument => c"an argument is outside its allowed range",
            Status::CallbackFailed => c"a caller-supplied callback reported a failure",
            Status::Io => c"an operating-system read or write failed",
            Status::IndexOutOfRange => c"an index is past the end",
            Status::InvalidState => c"the handle cannot do this now (finished, or failed earlier)",
            Status::NotRefused => c"the decision is not a refusal; there is no refusal message",
            Status::ManifestMalformed => {
                c"malformed manifest (not canonical CBOR or valid manifest JSON)"
            }
            Status::ManifestLimitExceeded => c"manifest exceeds a size, count or depth limit",
            Status::ManifestInvalid => c"manifest is internally inconsistent",
            Status::RefusedInvalid => c"install refused: the manifest is invalid",
            Status::RefusedWrongVendor => c"install refused: wrong vendor",
            Status::RefusedWrongClass => c"install refused: wrong device class",
            Status::RefusedWrongHardware => c"install refused: hardware revision not accepted",
            Status::RefusedExpired => c"install refused: the release has expired",
            Status::RefusedSequence => {
                c"install refused: downgrade (sequence not newer than the accepted one)"
            }
            Status::RefusedSecurityCounter => {
                c"install refused: security counter below the device floor"
            }
            Status::RefusedUpgradePath => {
                c"install refused: installed version outside the upgrade path"
            }
            Status::RefusedDependency => c"install refused: unmet dependency",
            Status::RefusedDuplicateInstalled => {
                c"install refused: the device reports a component twice"
            }
            Status::RefusedOther => c"install refused by another rule",
            Status::ManifestOther => c"other manifest error",
            Status::VerifyBadSignature => c"bad signature",
            Status::VerifyBelowThreshold => c"signature threshold not met",
            Status::VerifyUnknownKey => c"no signature by a trusted key (unknown or revoked key)",
            Status::VerifyExpired => c"expired",
            Status::VerifyRollback => c"rollback refused: not newer than the last accepted",
            Status::VerifyDigestMismatch => c"SHA-256 digest mismatch",
            Status::VerifySizeExceeded => c"size exceeded: more bytes than expected",
            Status::VerifyMalformed => c"malformed envelope or trust root",
            Status::VerifySizeMismatch => c"size mismatch: the data ended early",
            Status::VerifyUnsupportedAlgorithm => c"unsupported signature algorithm",
            Status::VerifyNotNextVersion => c"trust root rotation skipped a version",
            Status::VerifyInvalidTrustRoot => c"invalid trust root",
            Status::VerifyWrongContentType => c"wrong content type for this document",
            Status::VerifyPayloadMismatch => {
                c"payload missing or given twice (attached and detached)"
            }
            Status::VerifyLimitExceeded => c"signed input exceeds a verifier limit",
            Status::VerifyChunkIndex => c"chunk index out of range",
            Status::VerifyInvalidKey => c"invalid key",
            Status::VerifyOther => c"other verification error",
            Status::DeltaBadMagic => c"not a native delta patch (bad magic)",
            Status::DeltaUnsupportedVersion => c"unsupported delta patch version",
            Status::DeltaCorrupt => c"corrupt delta patch (header or frame)",
            Status::DeltaTruncated => c"delta patch truncated",
            Status::DeltaLimitExceeded => c"delta patch exceeds an apply limit",
            Status::DeltaSourceMismatch => c"the source is not the one the patch was made from",
            Status::DeltaTargetMismatch => c"reconstructed target digest mismatch",
            Status::DeltaBadCursor => c"bad resume cursor",
            Status::DeltaOther => c"other delta error",
            Status::RolloutPlanInvalid => c"invalid rollout plan or install policy",
            Status::RolloutNotYet => c"device not in any ring yet",
            Status::RolloutExcluded => c"device excluded by the plan",
            Status::RolloutIneligible => c"device not eligible for the plan",
            Status::RolloutOther => c"other rollout error",
            Status::TwinJson => c"invalid JSON",
            Status::TwinNotObject => c"twin state is not a JSON object",
            Status::TwinPatchMalformed => c"malformed JSON Patch",
            Status::TwinPatchFailed => c"JSON Patch operation failed; document unchanged",
            Status::TwinLimitExceeded => c"twin input exceeds a limit",
            Status::TwinOther => c"other twin error",
            Status::AgentRejected => c"release refused by the agent (signature or install rules)",
            Status::AgentInterrupted => {
                c"a callback was interrupted (power-cut equivalent); call again to continue"
            }
            Status::AgentStoreCorrupt => c"the agent's store holds no valid lifecycle record",
            Status::AgentNoBootableSlot => c"the boot control has no bootable slot",
            Status::AgentBusy => c"the agent is in use (re-entrant or concurrent call)",
            Status::AgentOther => c"other agent error",
            Status::SuitMalformed => c"malformed SUIT envelope",
            Status::SuitUnsupported => c"unsupported SUIT command, parameter or algorithm",
            Status::SuitLimitExceeded => c"SUIT envelope exceeds a decoding limit",
            Status::SuitBadSignature => c"no valid SUIT signature by the trust anchor",
            Status::SuitDigestMismatch => c"SUIT manifest or severed member digest mismatch",
            Status::SuitInvalidAnchor => c"invalid SUIT trust anchor",
            Status::SuitUnmappable => c"SUIT manifest cannot be mapped to an ota manifest",
            Status::SuitOther => c"other SUIT error",
        }
    }

    /// The status for a raw number, if the number is one this library defines.
    pub const fn from_u32(value: u32) -> Option<Status> {
        let mut i = 0;
        while i < ALL.len() {
            if ALL[i] as u32 == value {
                return Some(ALL[i]);
            }
            i += 1;
        }
        None
    }
}

/// A static, NUL-terminated description of `status`. Unknown numbers give "unknown status",
/// retired ones (statuses an older version returned) "retired status".
///
/// The returned string lives for the whole program; never free it. Never returns NULL.
#[unsafe(no_mangle)]
pub extern "C" fn ota_status_message(status: u32) -> *const c_char {
    match Status::from_u32(status) {
        Some(s) => s.message().as_ptr(),
        None if RETIRED.iter().any(|&(n, _)| n == status) => {
            c"retired status (no longer returned by this library)".as_ptr()
        }
        None => c"unknown status".as_ptr(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip_and_are_stable() {
        // The ABI numbers, written out: changing one of these is a breaking change.
        let expected = [
            (Status::Ok, 0),
            (Status::NullArgument, 1),
            (Status::Panic, 2),
            (Status::BufferTooSmall, 3),
            (Status::InvalidUtf8, 4),
            (Status::InvalidArgument, 5),
            (Status::CallbackFailed, 6),
            (Status::Io, 7),
            (Status::IndexOutOfRange, 8),
            (Status::InvalidState, 9),
            (Status::NotRefused, 10),
            (Status::ManifestMalformed, 100),
            (Status::ManifestLimitExceeded, 101),
            (Status::ManifestInvalid, 102),
            (Status::RefusedInvalid, 110),
            (Status::RefusedWrongVendor, 111),
            (Status::RefusedWrongClass, 112),
            (Status::RefusedWrongHardware, 113),
            (Status::RefusedExpired, 114),
            (Status::RefusedSequence, 115),
            (Status::RefusedSecurityCounter, 116),
            (Status::RefusedUpgradePath, 117),
            (Status::RefusedDependency, 118),
            (Status::RefusedDuplicateInstalled, 119),
            (Status::RefusedOther, 198),
            (Status::ManifestOther, 199),
            (Status::VerifyBadSignature, 200),
            (Status::VerifyBelowThreshold, 201),
            (Status::VerifyUnknownKey, 202),
            (Status::VerifyExpired, 203),
            (Status::VerifyRollback, 204),
            (Status::VerifyDigestMismatch, 205),
            (Status::VerifySizeExceeded, 206),
            (Status::VerifyMalformed, 207),
            (Status::VerifySizeMismatch, 208),
            (Status::VerifyUnsupportedAlgorithm, 209),
            (Status::VerifyNotNextVersion, 210),
            (Status::VerifyInvalidTrustRoot, 211),
            (Status::VerifyWrongContentType, 212),
            (Status::VerifyPayloadMismatch, 213),
            (Status::VerifyLimitExceeded, 214),
            (Status::VerifyChunkIndex, 215),
            (Status::VerifyInvalidKey, 216),
            (Status::VerifyOther, 299),
            (Status::DeltaBadMagic, 300),
            (Status::DeltaUnsupportedVersion, 301),
            (Status::DeltaCorrupt, 302),
            (Status::DeltaTruncated, 303),
            (Status::DeltaLimitExceeded, 304),
            (Status::DeltaSourceMismatch, 305),
            (Status::DeltaTargetMismatch, 306),
            (Status::DeltaBadCursor, 307),
            (Status::DeltaOther, 399),
            (Status::RolloutPlanInvalid, 400),
            (Status::RolloutNotYet, 401),
            (Status::RolloutExcluded, 402),
            (Status::RolloutIneligible, 403),
            (Status::RolloutOther, 499),
            (Status::TwinJson, 500),
            (Status::TwinNotObject, 501),
            (Status::TwinPatchMalformed, 502),
            (Status::TwinPatchFailed, 503),
            (Status::TwinLimitExceeded, 504),
            (Status::TwinOther, 599),
            (Status::AgentRejected, 600),
            (Status::AgentInterrupted, 601),
            (Status::AgentStoreCorrupt, 602),
            (Status::AgentNoBootableSlot, 603),
            (Status::AgentBusy, 604),
            (Status::AgentOther, 699),
            (Status::SuitMalformed, 700),
            (Status::SuitUnsupported, 701),
            (Status::SuitLimitExceeded, 702),
            (Status::SuitBadSignature, 703),
            (Status::SuitDigestMismatch, 704),
            (Status::SuitInvalidAnchor, 705),
            (Status::SuitUnmappable, 706),
            (Status::SuitOther, 799),
        ];
        assert_eq!(expected.len(), ALL.len());
        for (status, number) in expected {
            assert_eq!(status as u32, number);
            assert_eq!(Status::from_u32(number), Some(status));
        }
        assert_eq!(Status::from_u32(99_999), None);
    }

    /// The range an area's name prefix promises; `None` for a name without an area prefix.
    fn area_of(name: &str) -> Option<core::ops::Range<u32>> {
        [
            ("Manifest", 100..200),
            ("Refused", 100..200),
            ("Verify", 200..300),
            ("Delta", 300..400),
            ("Rollout", 400..500),
            ("Twin", 500..600),
            ("Agent", 600..700),
            ("Suit", 700..800),
        ]
        .into_iter()
        .find(|(prefix, _)| name.starts_with(prefix))
        .map(|(_, range)| range)
    }

    #[test]
    fn numbers_sit_in_their_area_ranges() {
        // Both ways: a prefixed name sits in its area's range, and a number outside the general
        // range carries its area's prefix (so `Malformed = 207` would fail: no `Verify`).
        for s in ALL {
            let n = *s as u32;
            let name = format!("{s:?}");
            let range = area_of(&name).unwrap_or(0..100);
            assert!(range.contains(&n), "{name} = {n} is outside its area");
        }
    }

    /// The live statuses that use a retired number or a retired name.
    fn reused(live: &[Status], retired: &[(u32, &str)]) -> Vec<String> {
        live.iter()
            .filter(|s| {
                let name = format!("{s:?}");
                retired
                    .iter()
                    .any(|&(n, old)| **s as u32 == n || name == old)
            })
            .map(|s| format!("{s:?} = {}", *s as u32))
            .collect()
    }

    #[test]
    fn retired_numbers_are_never_reused() {
        assert_eq!(reused(ALL, RETIRED), Vec::<String>::new());
        for &(n, name) in RETIRED {
            assert_eq!(Status::from_u32(n), None, "retired {name} = {n} is live");
            assert!(area_of(name).unwrap_or(0..100).contains(&n), "{name} = {n}");
        }
        // The check itself catches a reuse, by number or by name.
        assert_eq!(
            reused(ALL, &[(207, "Gone"), (1, "Other")]),
            ["NullArgument = 1", "VerifyMalformed = 207"]
        );
        assert_eq!(reused(ALL, &[(999, "TwinOther")]), ["TwinOther = 599"]);
    }

    #[test]
    fn every_message_is_distinct_and_unknown_is_handled() {
        let mut seen = std::collections::HashSet::new();
        for n in 0..1000 {
            if let Some(s) = Status::from_u32(n) {
                assert!(
                    seen.insert(s.message().to_bytes()),
                    "duplicate message for {n}"
                );
            }
        }
        assert_eq!(seen.len(), ALL.len());
        // SAFETY: ota_status_message always returns a static NUL-terminated string.
        let unknown = unsafe { CStr::from_ptr(ota_status_message(12_345)) };
        assert_eq!(unknown.to_bytes(), b"unknown status");
    }
}
