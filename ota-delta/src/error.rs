//! The one error type of the crate.

/// Result with [`Error`].
pub type Result<T> = core::result::Result<T, Error>;

/// Everything that can go wrong while making, checking or applying a patch.
///
/// Offsets are byte offsets in the patch stream unless the variant says otherwise.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The patch does not start with the expected magic bytes.
    #[error("not a {expected} patch (bad magic)")]
    BadMagic {
        /// The format that was expected ("native" or "BSDIFF40").
        expected: &'static str,
    },
    /// A format version this build does not understand.
    #[error("unsupported format version {0}")]
    UnsupportedVersion(u16),
    /// A header or frame field holds a value the format does not allow.
    #[error("invalid field `{field}` at byte {offset}: {reason}")]
    InvalidField {
        /// Name of the field, as in FORMAT.md.
        field: &'static str,
        /// Byte offset of the structure holding the field.
        offset: u64,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A declared size exceeds a configured [`Limits`](crate::Limits) value.
    #[error("limit exceeded: `{what}` is {value}, the limit is {limit}")]
    LimitExceeded {
        /// Which limit.
        what: &'static str,
        /// The declared value.
        value: u64,
        /// The configured limit.
        limit: u64,
    },
    /// The patch ended before a structure was complete.
    #[error("patch truncated at byte {offset}")]
    Truncated {
        /// Where the patch ended.
        offset: u64,
    },
    /// Bytes follow the last frame.
    #[error("trailing data after the last frame at byte {offset}")]
    TrailingData {
        /// Offset of the first trailing byte.
        offset: u64,
    },
    /// The header's own check value does not match: the header is corrupt.
    #[error("header check value mismatch")]
    HeaderCorrupt,
    /// The source does not have the size the patch was made for.
    #[error("source size is {actual}, the patch expects {expected}")]
    SourceSizeMismatch {
        /// Size named in the patch header.
        expected: u64,
        /// Size of the source given.
        actual: u64,
    },
    /// The source's SHA-256 differs from the one in the patch header.
    #[error("source SHA-256 does not match the patch")]
    SourceDigestMismatch,
    /// A frame's check value does not match what was decoded: the frame is corrupt.
    #[error("frame {index} (at byte {offset}) is corrupt: check value mismatch")]
    FrameCorrupt {
        /// Frame index.
        index: u32,
        /// Byte offset of the frame header.
        offset: u64,
    },
    /// A frame's content is malformed (bad control data, bad compressed stream).
    #[error("frame {index} (at byte {offset}) is malformed: {reason}")]
    FrameMalformed {
        /// Frame index.
        index: u32,
        /// Byte offset of the frame header.
        offset: u64,
        /// What is wrong.
        reason: &'static str,
    },
    /// The finished target's SHA-256 differs from the header's.
    #[error("target SHA-256 does not match the patch")]
    TargetDigestMismatch,
    /// On resume, the target bytes read back from storage are not the ones the cursor vouches
    /// for: fewer than its target offset, or changed since they were written.
    #[error(
        "stored target differs from what was written (checked up to byte {offset} of the target)"
    )]
    StoredTargetMismatch {
        /// Target offset the stored bytes were checked up to (the cursor's `target_offset`,
        /// or where the stored bytes ended).
        offset: u64,
    },
    /// A resume cursor is corrupt or belongs to another patch.
    #[error("resume cursor rejected: {0}")]
    BadCursor(&'static str),
    /// A classic BSDIFF40 patch is malformed.
    #[error("BSDIFF40 patch malformed: {0}")]
    ClassicMalformed(&'static str),
    /// The storage callback of the MCU apply failed ([`McuStorage`](crate::McuStorage)).
    #[error("storage {op} failed at byte {offset} (code {code})")]
    Storage {
        /// "source read", "target read" or "target write".
        op: &'static str,
        /// Offset in the source or target of the failed access.
        offset: u64,
        /// The device's own code, passed through.
        code: i32,
    },
    /// A buffer given to the MCU apply is smaller than the patch needs.
    #[error("buffer `{what}` is {have} bytes, the patch needs {need}")]
    BufferTooSmall {
        /// Which buffer.
        what: &'static str,
        /// Its length.
        have: u64,
        /// What the patch header asks for.
        need: u64,
    },
    /// The MCU apply failed earlier; resume from the last cursor.
    #[error("apply already failed; resume from the last cursor")]
    Aborted,
    /// The compression library failed (an internal error, not bad input).
    #[cfg(feature = "std")]
    #[error("compressor failure: {0}")]
    Codec(std::string::String),
    /// Reading the patch or the source, or writing the target failed.
    #[cfg(feature = "std")]
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}
