//! The one error type of the crate, and the refusal an install decision returns.

use std::sync::Arc;

/// `Result` with this crate's [`enum@Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Everything that can go wrong while decoding, encoding, validating or building a manifest.
///
/// Decode errors carry the byte offset of the offending CBOR item and the path of the field
/// (`components[0].deltas[1].from_sha256`). Every limit has its own [`Limit`] value.
#[non_exhaustive]
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The whole input is larger than the configured limit; nothing was parsed.
    #[error("input is {size} bytes, the limit is {max}")]
    TooLarge {
        /// Size of the input in bytes.
        size: usize,
        /// The configured maximum.
        max: usize,
    },
    /// The CBOR input is malformed, not canonical, or does not follow the schema.
    #[error("at byte {offset} in `{field}`: {kind}")]
    Decode {
        /// Byte offset of the item that was rejected.
        offset: usize,
        /// Path of the field (`components[0].version`), empty at the top level.
        field: String,
        /// What is wrong.
        kind: DecodeError,
    },
    /// Nesting deeper than the configured depth (checked without recursion).
    #[error("at byte {offset} in `{field}`: nesting deeper than {max}")]
    TooDeep {
        /// Byte offset of the item that went too deep.
        offset: usize,
        /// Path of the field.
        field: String,
        /// The configured maximum depth.
        max: usize,
    },
    /// A count or a length is over its configured limit (checked before allocating).
    #[error("{} `{field}`: {limit} is {count}, the limit is {max}", offset.map(|o| format!("at byte {o} in")).unwrap_or_else(|| "in".into()))]
    LimitExceeded {
        /// Byte offset when decoding CBOR, `None` for JSON input or a model being encoded.
        offset: Option<usize>,
        /// Path of the field.
        field: String,
        /// Which limit.
        limit: Limit,
        /// The count or length found.
        count: u64,
        /// The configured maximum.
        max: u64,
    },
    /// The JSON text is not a manifest (syntax, unknown field, wrong type, bad hex...).
    #[error("JSON line {line} column {column}: {message}")]
    Json {
        /// 1-based line (0 when unknown).
        line: usize,
        /// 1-based column (0 when unknown).
        column: usize,
        /// What serde_json or our field checks said.
        message: String,
    },
    /// A field holds a value the schema does not allow (also for JSON input and models).
    #[error("`{field}`: {kind}")]
    Field {
        /// Path of the field.
        field: String,
        /// What is wrong.
        kind: DecodeError,
    },
    /// The manifest is well-formed but internally inconsistent.
    #[error("invalid manifest: {0}")]
    Invalid(#[from] Invalid),
    /// Reading an image for the builder helpers failed: the reader's error, kept whole (shared,
    /// so that the error stays `Clone`).
    #[error("reading the image failed: {0}")]
    Io(#[source] Arc<std::io::Error>),
}

/// Equal variants with equal fields; two [`Error::Io`] are equal when their `io::Error`s have the
/// same kind and message (`io::Error` itself has no equality).
impl PartialEq for Error {
    fn eq(&self, other: &Self) -> bool {
        use Error as E;
        match (self, other) {
            (E::TooLarge { size: a, max: b }, E::TooLarge { size: c, max: d }) => (a, b) == (c, d),
            (
                E::Decode {
                    offset: a,
                    field: b,
                    kind: c,
                },
                E::Decode {
                    offset: x,
                    field: y,
                    kind: z,
                },
            ) => (a, b, c) == (x, y, z),
            (
                E::TooDeep {
                    offset: a,
                    field: b,
                    max: c,
                },
                E::TooDeep {
                    offset: x,
                    field: y,
                    max: z,
                },
            ) => (a, b, c) == (x, y, z),
            (
                E::LimitExceeded {
                    offset: a,
                    field: b,
                    limit: c,
                    count: d,
                    max: e,
                },
                E::LimitExceeded {
                    offset: v,
                    field: w,
                    limit: x,
                    count: y,
                    max: z,
                },
            ) => (a, b, c, d, e) == (v, w, x, y, z),
            (
                E::Json {
                    line: a,
                    column: b,
                    message: c,
                },
                E::Json {
                    line: x,
                    column: y,
                    message: z,
                },
            ) => (a, b, c) == (x, y, z),
            (E::Field { field: a, kind: b }, E::Field { field: x, kind: y }) => (a, b) == (x, y),
            (E::Invalid(a), E::Invalid(b)) => a == b,
            (E::Io(a), E::Io(b)) => a.kind() == b.kind() && a.to_string() == b.to_string(),
            _ => false,
        }
    }
}

impl Eq for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(Arc::new(e))
    }
}

impl Error {
    /// Prefixes the field path with `name` (used while an error bubbles up the decoder).
    pub(crate) fn in_field(mut self, name: &str) -> Self {
        match &mut self {
            Error::Decode { field, .. }
            | Error::TooDeep { field, .. }
            | Error::LimitExceeded { field, .. }
            | Error::Field { field, .. } => {
                if field.is_empty() {
                    *field = name.to_owned();
                } else if field.starts_with('[') {
                    field.insert_str(0, name);
                } else {
                    field.insert(0, '.');
                    field.insert_str(0, name);
                }
            }
            _ => {}
        }
        self
    }
}

/// The ways CBOR input (or a field value) can be rejected.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The input ends inside an item.
    #[error("truncated input")]
    Truncated,
    /// Bytes follow the manifest.
    #[error("{0} trailing bytes after the manifest")]
    TrailingBytes(usize),
    /// A map key appears twice.
    #[error("duplicate map key")]
    DuplicateKey,
    /// Map keys are not in canonical (bytewise) order.
    #[error("map keys not in canonical order")]
    UnsortedKey,
    /// An integer, length or tag is not in its shortest form.
    #[error("integer not in its shortest form")]
    NonShortest,
    /// An indefinite-length string, array or map.
    #[error("indefinite length")]
    IndefiniteLength,
    /// A break byte (0xff) outside an indefinite-length item.
    #[error("unexpected break")]
    UnexpectedBreak,
    /// Additional information 28..=30, which RFC 8949 reserves.
    #[error("reserved additional information {0}")]
    Reserved(u8),
    /// A floating point value (the format has none).
    #[error("floating point values are not allowed")]
    Float,
    /// A simple value other than false, true, null.
    #[error("simple value {0} is not allowed")]
    UnsupportedSimple(u8),
    /// The item has another type than the schema says.
    #[error("expected {expected}, found {found}")]
    WrongType {
        /// What the schema wants.
        expected: &'static str,
        /// What the input has.
        found: &'static str,
    },
    /// A non-negative key this version does not know: a field the writer declared mandatory.
    #[error("unknown mandatory field {0}")]
    UnknownMandatoryField(u64),
    /// A mandatory field is absent.
    #[error("missing mandatory field")]
    MissingField,
    /// A text string is not UTF-8.
    #[error("invalid UTF-8")]
    InvalidUtf8,
    /// The format version is not one this library reads.
    #[error("unsupported format version {0}")]
    UnsupportedFormatVersion(u64),
    /// A version or version requirement does not parse.
    #[error("bad semver: {0}")]
    BadSemver(String),
    /// A digest is not 32 bytes (or a chunk digest list not a multiple of 32).
    #[error("digest length {0} is not a multiple of 32")]
    BadDigestLength(usize),
    /// An id is empty or too long for an id.
    #[error("bad length {0}")]
    BadLength(usize),
    /// A value is outside its range (reserved layer, u32 field too large, empty list...).
    #[error("value out of range: {0}")]
    OutOfRange(&'static str),
    /// The value has another, non-canonical spelling (see FORMAT.md rules 4 and 5).
    #[error("not canonical: {0}")]
    NonCanonical(&'static str),
    /// Bad hex in the JSON form.
    #[error("bad hex")]
    BadHex,
}

pub use crate::limits::Limit;

/// An internal inconsistency found by [`crate::Manifest::validate`]: which component, which problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {problem}", component.as_deref().map(|c| format!("component `{c}`")).unwrap_or_else(|| "release".into()))]
pub struct Invalid {
    /// The component at fault, `None` for a release-level problem.
    pub component: Option<String>,
    /// The problem.
    pub problem: Problem,
}

/// The internal inconsistencies a manifest can have.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// The release has no components.
    #[error("no components")]
    NoComponents,
    /// Two components share an id.
    #[error("duplicate component id")]
    DuplicateComponent,
    /// The dependencies form a cycle (the ids along it, first repeated at the end).
    #[error("dependency cycle {}", .0.join(" -> "))]
    DependencyCycle(Vec<String>),
    /// A component depends on a component of this release whose version does not match.
    #[error("depends on `{on}` {req} but the release ships {version}")]
    DependencyVersionMismatch {
        /// The dependency.
        on: String,
        /// The requirement.
        req: String,
        /// The version the release ships.
        version: String,
    },
    /// `expires_at` is not after `issued_at`.
    #[error("expires at {expires_at}, not after issued at {issued_at}")]
    ExpiresBeforeIssued {
        /// Issued at.
        issued_at: u64,
        /// Expires at.
        expires_at: u64,
    },
    /// The release names no hardware revision at all.
    #[error("no accepted hardware revision (exact or range)")]
    NoHardware,
    /// The release names no device class.
    #[error("no device class")]
    NoClass,
    /// The number of chunk digests does not cover the image.
    #[error("chunk digests: {actual}, the image needs {expected}")]
    ChunkCountMismatch {
        /// `ceil(size / chunk_size)`.
        expected: u64,
        /// Digests present.
        actual: u64,
    },
    /// Chunk size zero.
    #[error("chunk size 0")]
    ChunkSizeZero,
    /// A delta source whose source image is the target image.
    #[error("delta source from the target image itself")]
    DeltaFromSelf,
    /// Two delta sources apply to the same source image.
    #[error("two delta sources from the same image")]
    DuplicateDeltaSource,
    /// A delta source from a version outside the component's upgrade path (it can never be used).
    #[error("delta source from {from_version}, outside the upgrade path {upgrade_from}")]
    DeltaOutsideUpgradePath {
        /// The delta's source version.
        from_version: String,
        /// The component's upgrade path.
        upgrade_from: String,
    },
    /// A delta source with a zero-byte patch.
    #[error("delta patch size 0")]
    EmptyPatch,
    /// A component depends on itself.
    #[error("depends on itself")]
    SelfDependency,
    /// Two dependencies on the same id.
    #[error("two dependencies on `{0}`")]
    DuplicateDependency(String),
}

/// Why [`crate::Manifest::plan`] refuses to install: the component (`None`: the whole release) and
/// the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {rule}", component.as_deref().map(|c| format!("component `{c}`")).unwrap_or_else(|| "release".into()))]
pub struct Refusal {
    /// The component the rule refused, `None` when the rule is about the whole release.
    pub component: Option<String>,
    /// The rule that refused.
    pub rule: Rule,
}

/// The rules an install decision enforces.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rule {
    /// The manifest is internally inconsistent.
    #[error("invalid manifest: {0}")]
    Invalid(Problem),
    /// The device's vendor id is not the manifest's.
    #[error("wrong vendor")]
    WrongVendor,
    /// The device's class is not among the manifest's classes.
    #[error("wrong device class")]
    WrongClass,
    /// The device's hardware revision is not accepted.
    #[error("hardware revision `{revision}` is not accepted by this release")]
    WrongHardware {
        /// The device's hardware revision.
        revision: String,
    },
    /// The release has expired at the device's time.
    #[error("expired at {expires_at}, device time is {now}")]
    Expired {
        /// Expiry.
        expires_at: u64,
        /// The device's time.
        now: u64,
    },
    /// Anti-rollback: the sequence number is not newer than the last accepted one.
    #[error("downgrade: sequence {sequence} is not newer than the accepted {accepted}")]
    SequenceNotNewer {
        /// The manifest's sequence.
        sequence: u64,
        /// The device's last accepted sequence.
        accepted: u64,
    },
    /// Anti-rollback: the security counter is below the device's floor.
    #[error("downgrade: security counter {counter} is below the device floor {floor}")]
    SecurityCounterBelowFloor {
        /// The manifest's counter.
        counter: u64,
        /// The device's floor.
        floor: u64,
    },
    /// The installed version may not upgrade to this component.
    #[error("installed version {installed} is outside the upgrade path {upgrade_from}")]
    OutsideUpgradePath {
        /// The installed version.
        installed: String,
        /// The component's upgrade path.
        upgrade_from: String,
    },
    /// A dependency is neither in the release nor installed at a matching version.
    #[error("unmet dependency on `{on}` {req} (installed: {})", installed.as_deref().unwrap_or("none"))]
    UnmetDependency {
        /// The dependency's id.
        on: String,
        /// The requirement.
        req: String,
        /// What the device has, if anything.
        installed: Option<String>,
    },
    /// The device reports the same component twice.
    #[error("the device reports this component twice")]
    DuplicateInstalled,
}
