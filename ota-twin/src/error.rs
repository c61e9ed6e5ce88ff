//! The one error type of the crate.

use core::fmt;

/// A size or shape limit, named in [`Error::LimitExceeded`].
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Compact JSON size of `desired` and `reported` together (AWS: 8 KB).
    StateBytes,
    /// Compact JSON size of one section (Azure: 32 KB per section).
    SectionBytes,
    /// Nesting depth of a section (AWS: 6, Azure: 10).
    Depth,
    /// Length of an object key in bytes (Azure: 1 KB).
    KeyBytes,
    /// Length of a string value in bytes (Azure: 4 KB).
    StringBytes,
    /// Length of the client token in bytes (AWS: 64).
    ClientTokenBytes,
    /// Size of an encoded document or patch handed to a decoder.
    InputBytes,
    /// Number of operations in one JSON Patch.
    PatchOperations,
    /// Compact JSON bytes that the `copy` operations of one JSON Patch add to a document.
    PatchCopyBytes,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Limit::StateBytes => "state size (desired + reported)",
            Limit::SectionBytes => "section size",
            Limit::Depth => "nesting depth",
            Limit::KeyBytes => "key length",
            Limit::StringBytes => "string length",
            Limit::ClientTokenBytes => "client token length",
            Limit::InputBytes => "input size",
            Limit::PatchOperations => "patch operation count",
            Limit::PatchCopyBytes => "patch copy size",
        })
    }
}

/// Why one JSON Patch operation could not be applied.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchFailure {
    /// The target (or `from`) location does not exist.
    NotFound,
    /// The parent of the target location does not exist.
    ParentNotFound,
    /// A reference token addressed into a value that is neither object nor array.
    NotAContainer,
    /// An array reference token is not `0` or `[1-9][0-9]*` (or `-` where allowed).
    BadArrayIndex,
    /// An array index is past the end of the array.
    IndexOutOfBounds,
    /// A `test` operation found a different value.
    TestFailed,
    /// `move` into a child of the value being moved.
    MoveIntoChild,
    /// The document root cannot be removed.
    RemoveRoot,
}

impl fmt::Display for PatchFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PatchFailure::NotFound => "no value at this location",
            PatchFailure::ParentNotFound => "the parent of this location does not exist",
            PatchFailure::NotAContainer => "a reference token addresses into a scalar",
            PatchFailure::BadArrayIndex => "not a valid array index",
            PatchFailure::IndexOutOfBounds => "array index out of bounds",
            PatchFailure::TestFailed => "test found a different value",
            PatchFailure::MoveIntoChild => "cannot move a value into one of its children",
            PatchFailure::RemoveRoot => "cannot remove the document root",
        })
    }
}

/// Everything that can go wrong in this crate.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A JSON Pointer (RFC 6901) that does not parse.
    #[error("invalid JSON pointer {pointer:?}: {reason}")]
    InvalidPointer {
        /// The pointer text as given.
        pointer: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A JSON Patch document that is not well formed (missing member, unknown op...).
    #[error("JSON patch operation {index} is malformed: {reason}")]
    MalformedPatch {
        /// Index of the operation in the patch (0 when the patch itself is not an array).
        index: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A JSON Patch operation that could not be applied; the document was left untouched.
    #[error("JSON patch operation {index} ({op}) failed at {pointer:?}: {reason}")]
    PatchFailed {
        /// Index of the failing operation in the patch.
        index: usize,
        /// The operation name (`add`, `remove`...).
        op: &'static str,
        /// The pointer that could not be resolved (`path`, or `from` for move/copy sources).
        pointer: String,
        /// Why.
        reason: PatchFailure,
    },
    /// Applying a JSON Patch operation would pass a limit; checked before the operation
    /// allocates, and the document was left untouched.
    #[error(
        "JSON patch operation {index} ({op}) at {pointer:?}: {limit} limit exceeded: {actual} > {max}"
    )]
    PatchLimitExceeded {
        /// Index of the operation in the patch.
        index: usize,
        /// The operation name (`copy`).
        op: &'static str,
        /// The pointer of the value that would pass the limit (`from` for a copy).
        pointer: String,
        /// Which limit.
        limit: Limit,
        /// The total so far with this operation (a lower bound once it is past `max`).
        actual: usize,
        /// The limit.
        max: usize,
    },
    /// A JSON Merge Patch cannot express this change: the target holds `null` at this location.
    #[error("a merge patch cannot set {pointer:?} to null (null means delete in RFC 7396)")]
    NullNotExpressible {
        /// Where the null is in the target document.
        pointer: String,
    },
    /// The update named an expected version that is not the current one (AWS answers 409).
    #[error("version conflict: the update expects version {expected}, the twin is at {current}")]
    VersionConflict {
        /// The version the update expected.
        expected: u64,
        /// The twin's current version.
        current: u64,
    },
    /// The version counter cannot be increased any more.
    #[error("version counter overflow")]
    VersionOverflow,
    /// An update document that breaks the shadow rules.
    #[error("invalid update at {pointer:?}: {reason}")]
    InvalidUpdate {
        /// Where in the update document.
        pointer: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A twin document that does not have the expected shape.
    #[error("invalid twin document at {pointer:?}: {reason}")]
    InvalidDocument {
        /// Where in the document.
        pointer: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// An object key that the limit profile forbids.
    #[error("invalid key at {pointer:?}: {reason}")]
    InvalidKey {
        /// The pointer of the offending member.
        pointer: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// A limit of the selected profile was exceeded.
    #[error("{limit} limit exceeded at {pointer:?}: {actual} > {max}")]
    LimitExceeded {
        /// Which limit.
        limit: Limit,
        /// Where (a section name or a JSON pointer).
        pointer: String,
        /// The measured value (for sizes and depths, possibly a lower bound).
        actual: usize,
        /// The limit.
        max: usize,
    },
    /// JSON text that does not parse.
    #[error("JSON syntax error at line {line}, column {column}: {message}")]
    Json {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// CBOR bytes that the strict reader refuses.
    #[error("CBOR decode error at byte {offset}{}: {reason}", in_pointer(pointer))]
    Cbor {
        /// Byte offset of the offending item.
        offset: usize,
        /// JSON pointer of the offending value (`/state/desired/net/ssid`, `/3/value` in a
        /// patch), empty at the top level.
        pointer: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// CBOR nesting deeper than the reader's recursion limit.
    #[error("CBOR nesting deeper than {max} at byte {offset}")]
    CborTooDeep {
        /// Byte offset where the limit was hit.
        offset: usize,
        /// The recursion limit.
        max: usize,
    },
}

/// The crate's result type.
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// " (at /a/b)" for a non-empty pointer.
fn in_pointer(pointer: &str) -> String {
    if pointer.is_empty() {
        String::new()
    } else {
        format!(" (at {pointer})")
    }
}

impl Error {
    pub(crate) fn json(e: &serde_json::Error) -> Self {
        Error::Json {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        }
    }
}
