//! The view's errors and refusals: `Copy`, no allocation, no strings to build.

use crate::limits::Limit;

/// Why [`crate::ManifestView::parse`] refused its input, and where.
///
/// `offset` is the byte offset of the offending item, as in the std decoder's `Error::Decode`
/// (`Manifest::from_cbor` refuses the same input at the same offset). A missing field is reported
/// at the offset of its map, an input over `max_cbor_bytes` at that limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("at byte {offset}: {kind}")]
pub struct ViewError {
    /// Byte offset of the item that was refused.
    pub offset: usize,
    /// What is wrong.
    pub kind: ViewErrorKind,
}

/// What is wrong with a manifest (the std decoder's `DecodeError`, without its strings).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ViewErrorKind {
    /// The input is larger than `Limits::max_cbor_bytes` (reported at that offset).
    #[error("input larger than the limit")]
    TooLarge,
    /// Nesting deeper than `Limits::max_depth`.
    #[error("nesting too deep")]
    TooDeep,
    /// A count or a length over its limit.
    #[error("{limit} is {count}, over the limit")]
    Limit {
        /// Which limit.
        limit: Limit,
        /// The count or length found.
        count: u64,
    },
    /// The input ends inside an item.
    #[error("truncated input")]
    Truncated,
    /// Bytes follow the manifest.
    #[error("{0} trailing bytes")]
    TrailingBytes(usize),
    /// A map key appears twice.
    #[error("duplicate map key")]
    DuplicateKey,
    /// Map keys are not in canonical order.
    #[error("map keys not in canonical order")]
    UnsortedKey,
    /// An integer, length or tag not in its shortest form.
    #[error("integer not in its shortest form")]
    NonShortest,
    /// An indefinite length.
    #[error("indefinite length")]
    IndefiniteLength,
    /// A break byte outside an indefinite-length item.
    #[error("unexpected break")]
    UnexpectedBreak,
    /// Additional information 28..=30.
    #[error("reserved additional information {0}")]
    Reserved(u8),
    /// A floating point value.
    #[error("floating point value")]
    Float,
    /// A simple value other than false, true, null.
    #[error("simple value {0}")]
    UnsupportedSimple(u8),
    /// The item has another type than the schema says (or a record another length).
    #[error("wrong type")]
    WrongType,
    /// A non-negative key the format does not define (a field the writer made mandatory).
    #[error("unknown mandatory field {0}")]
    UnknownField(u64),
    /// A mandatory field (this key) is absent; reported at its map.
    #[error("missing mandatory field {0}")]
    MissingField(u64),
    /// A text string is not UTF-8.
    #[error("invalid UTF-8")]
    InvalidUtf8,
    /// The format version is not 1.
    #[error("unsupported format version {0}")]
    UnsupportedFormatVersion(u64),
    /// A version or requirement that does not parse or is not in its canonical spelling.
    #[error("bad version or requirement")]
    BadVersion,
    /// A digest is not 32 bytes, or a chunk digest list not a multiple of 32.
    #[error("digest length {0}")]
    BadDigestLength(usize),
    /// An id or a name is empty, or an id longer than 64 bytes.
    #[error("bad length {0}")]
    BadLength(usize),
    /// A value outside its range (reserved layer or algorithm, more than u32, empty list...).
    #[error("value out of range")]
    OutOfRange,
    /// A default value written (rule 4 of FORMAT.md).
    #[error("not canonical")]
    NonCanonical,
}

/// Why the view's install decision refuses: which component (its index in the manifest), which
/// rule. The std plan's `Refusal` names the same rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{rule}")]
pub struct ViewRefusal {
    /// Index of the component in [`crate::ManifestView::components`], `None` for the release.
    pub component: Option<usize>,
    /// The rule.
    pub rule: ViewRule,
}

/// A rule of the install decision (the std `Rule`, without strings: the versions concerned are
/// in the view and the device state).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ViewRule {
    /// The manifest is inconsistent.
    #[error("invalid manifest: {0}")]
    Invalid(ViewProblem),
    /// The device reports the installed component at this index twice.
    #[error("installed component {index} reported twice")]
    DuplicateInstalled {
        /// Index in [`crate::DeviceView::installed`] of the second report.
        index: usize,
    },
    /// The vendor id differs.
    #[error("wrong vendor")]
    WrongVendor,
    /// The device class is not listed.
    #[error("wrong device class")]
    WrongClass,
    /// The hardware revision is not accepted.
    #[error("hardware revision not accepted")]
    WrongHardware,
    /// The release expired at `expires_at`.
    #[error("expired at {expires_at}, device time is {now}")]
    Expired {
        /// Expiry, seconds since the epoch.
        expires_at: u64,
        /// Device time.
        now: u64,
    },
    /// Anti-rollback: the sequence is not newer.
    #[error("sequence {sequence} is not newer than the accepted {accepted}")]
    SequenceNotNewer {
        /// The release's sequence.
        sequence: u64,
        /// The last accepted one.
        accepted: u64,
    },
    /// Anti-rollback: the security counter is below the device floor.
    #[error("security counter {counter} below the floor {floor}")]
    SecurityCounterBelowFloor {
        /// The release's counter.
        counter: u64,
        /// The device floor.
        floor: u64,
    },
    /// The installed version is outside the component's upgrade path.
    #[error("installed version outside the upgrade path")]
    OutsideUpgradePath,
}

/// A manifest inconsistency the view checks (the std `Problem`s about the fields it exposes).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ViewProblem {
    /// No hardware revision, exact or range.
    #[error("no accepted hardware revision")]
    NoHardware,
    /// Expiry not after issue.
    #[error("expires at {expires_at}, not after issued at {issued_at}")]
    ExpiresBeforeIssued {
        /// Issued at.
        issued_at: u64,
        /// Expires at.
        expires_at: u64,
    },
    /// Two components with the same id (the refusal names the second).
    #[error("duplicate component id")]
    DuplicateComponent,
    /// Chunk size 0.
    #[error("chunk size 0")]
    ChunkSizeZero,
    /// The chunk digests do not cover the image.
    #[error("chunk digests: {actual}, the image needs {expected}")]
    ChunkCountMismatch {
        /// Digests the image size needs.
        expected: u64,
        /// Digests present.
        actual: u64,
    },
    /// A delta source from the target image itself.
    #[error("delta source from the target image itself")]
    DeltaFromSelf,
    /// Two delta sources from the same image.
    #[error("two delta sources from the same image")]
    DuplicateDeltaSource,
    /// A patch of size 0.
    #[error("delta patch size 0")]
    EmptyPatch,
    /// A delta source whose version is outside the upgrade path.
    #[error("delta source outside the upgrade path")]
    DeltaOutsideUpgradePath,
}
