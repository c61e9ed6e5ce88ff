//! The numbers of the SUIT format (IANA SUIT registries, draft-ietf-suit-manifest) and their
//! names, in one place for the decoder, the mapping and the errors.

/// The CBOR tag of a SUIT envelope.
pub const TAG_ENVELOPE: u64 = 107;
/// The CBOR tag of a COSE_Sign1.
pub const TAG_SIGN1: u64 = 18;
/// COSE algorithm id of SHA-256.
pub const ALG_SHA256: i64 = -16;
/// COSE algorithm id of ES256.
pub const ALG_ES256: i64 = -7;
/// COSE algorithm id of ESP256 (ECDSA P-256 with SHA-256, fully specified, RFC 9864): what the
/// libcsuit examples use.
pub const ALG_ESP256: i64 = -9;
/// COSE algorithm id of EdDSA.
pub const ALG_EDDSA: i64 = -8;
/// COSE algorithm id of Ed25519 (fully specified).
pub const ALG_ED25519: i64 = -19;

// Envelope members.
pub(crate) const ENV_AUTH: i64 = 2;
pub(crate) const ENV_MANIFEST: i64 = 3;

// Manifest members.
pub(crate) const MAN_VERSION: i64 = 1;
pub(crate) const MAN_SEQUENCE: i64 = 2;
pub(crate) const MAN_COMMON: i64 = 3;
pub(crate) const MAN_REFERENCE_URI: i64 = 4;
pub(crate) const MAN_VALIDATE: i64 = 7;
pub(crate) const MAN_LOAD: i64 = 8;
pub(crate) const MAN_INVOKE: i64 = 9;
pub(crate) const MAN_PAYLOAD_FETCH: i64 = 16;
pub(crate) const MAN_INSTALL: i64 = 20;
pub(crate) const MAN_TEXT: i64 = 23;

// Common members.
pub(crate) const COMMON_COMPONENTS: i64 = 2;
pub(crate) const COMMON_SHARED_SEQUENCE: i64 = 4;

// Commands.
pub(crate) const CMD_VENDOR_ID: i64 = 1;
pub(crate) const CMD_CLASS_ID: i64 = 2;
pub(crate) const CMD_IMAGE_MATCH: i64 = 3;
pub(crate) const CMD_COMPONENT_SLOT: i64 = 5;
pub(crate) const CMD_SET_COMPONENT_INDEX: i64 = 12;
pub(crate) const CMD_TRY_EACH: i64 = 15;
pub(crate) const CMD_SET_PARAMETERS: i64 = 19;
pub(crate) const CMD_OVERRIDE_PARAMETERS: i64 = 20;
pub(crate) const CMD_FETCH: i64 = 21;
pub(crate) const CMD_COPY: i64 = 22;
pub(crate) const CMD_INVOKE: i64 = 23;

// Parameters.
pub(crate) const PARAM_VENDOR_ID: i64 = 1;
pub(crate) const PARAM_CLASS_ID: i64 = 2;
pub(crate) const PARAM_IMAGE_DIGEST: i64 = 3;
pub(crate) const PARAM_COMPONENT_SLOT: i64 = 5;
pub(crate) const PARAM_IMAGE_SIZE: i64 = 14;
pub(crate) const PARAM_URI: i64 = 21;
pub(crate) const PARAM_SOURCE_COMPONENT: i64 = 22;

/// The registered name of a command number (IANA "SUIT Commands": draft-ietf-suit-manifest,
/// -trust-domains and -update-management), `"unknown"` for numbers none of them assigns.
#[must_use]
pub fn command_name(number: i64) -> &'static str {
    match number {
        1 => "condition-vendor-identifier",
        2 => "condition-class-identifier",
        3 => "condition-image-match",
        4 => "condition-use-before",
        5 => "condition-component-slot",
        6 => "condition-check-content",
        7 => "condition-dependency-integrity",
        8 => "condition-is-dependency",
        11 => "directive-process-dependency",
        12 => "directive-set-component-index",
        14 => "condition-abort",
        15 => "directive-try-each",
        18 => "directive-write",
        19 => "directive-set-parameters",
        20 => "directive-override-parameters",
        21 => "directive-fetch",
        22 => "directive-copy",
        23 => "directive-invoke",
        24 => "condition-device-identifier",
        25 => "condition-image-not-match",
        26 => "condition-minimum-battery",
        27 => "condition-update-authorized",
        28 => "condition-version",
        29 => "directive-wait",
        31 => "directive-swap",
        32 => "directive-run-sequence",
        33 => "directive-unlink",
        _ => "unknown",
    }
}

/// The registered name of a parameter number (IANA "SUIT Parameters"), `"unknown"` for numbers
/// not assigned.
#[must_use]
pub fn parameter_name(number: i64) -> &'static str {
    match number {
        1 => "vendor-id",
        2 => "class-id",
        3 => "image-digest",
        4 => "use-before",
        5 => "component-slot",
        12 => "strict-order",
        13 => "soft-failure",
        14 => "image-size",
        18 => "content",
        19 => "encryption-info",
        21 => "uri",
        22 => "source-component",
        23 => "invoke-args",
        24 => "device-id",
        26 => "minimum-battery",
        27 => "update-priority",
        28 => "version",
        29 => "wait-info",
        _ => "unknown",
    }
}

/// The draft's name of a manifest member.
pub(crate) fn manifest_key_name(key: i64) -> &'static str {
    match key {
        1 => "manifest-version",
        2 => "manifest-sequence-number",
        3 => "common",
        4 => "reference-uri",
        5 => "manifest-component-id",
        7 => "validate",
        8 => "load",
        9 => "invoke",
        16 => "payload-fetch",
        20 => "install",
        23 => "text",
        _ => "unknown",
    }
}
