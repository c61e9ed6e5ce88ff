//! The one error type of the crate.

use core::fmt;

use crate::execution::Actor;
use crate::message::MessageKind;
use crate::status::StatusKind;

/// `Result` with this crate's [`enum@Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Everything that can go wrong while decoding, encoding or checking a message, or applying a
/// job execution update.
///
/// Decode errors carry the byte offset of the offending CBOR item (`None` for JSON input and for
/// a value checked before encoding) and the path of the field (`job.images[0].deltas[1].uri`).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The whole input is larger than the configured limit; nothing was parsed.
    #[error("input is {size} bytes, the limit is {max}")]
    TooLarge {
        /// Size of the input in bytes.
        size: usize,
        /// The configured maximum.
        max: usize,
    },
    /// The message is written for a protocol version this library does not speak.
    #[error("protocol version {found} is not supported (this library speaks {supported})")]
    UnsupportedVersion {
        /// The version in the message.
        found: u64,
        /// The version this library reads and writes.
        supported: u32,
    },
    /// The message is of another kind than the caller asked for (a report where a job was
    /// expected), or of an unknown kind.
    #[error("expected a {expected} message, found {}", found.map_or_else(|| "an unknown kind".to_owned(), |k| format!("a {k} message")))]
    WrongMessage {
        /// What the caller asked for (`None`: any kind).
        expected: Expected,
        /// What the message says it is, if known.
        found: Option<MessageKind>,
    },
    /// The input is malformed, not canonical, or does not follow the schema.
    #[error("{}`{path}`: {kind}", at(*offset))]
    Decode {
        /// Byte offset of the CBOR item that was rejected; `None` for JSON or a model.
        offset: Option<usize>,
        /// Path of the field (`job.images[0].component`), empty at the top level.
        path: String,
        /// What is wrong.
        kind: DecodeError,
    },
    /// A count or a length is over its configured limit (checked before allocating).
    #[error("{}`{path}`: {limit} is {count}, the limit is {max}", at(*offset))]
    LimitExceeded {
        /// Byte offset of the CBOR item; `None` for JSON or a model.
        offset: Option<usize>,
        /// Path of the field.
        path: String,
        /// Which limit.
        limit: Limit,
        /// The count or length found.
        count: u64,
        /// The configured maximum.
        max: u64,
    },
    /// The JSON text is not a message (syntax, unknown field, wrong type).
    #[error("JSON line {line} column {column}: {message}")]
    Json {
        /// 1-based line (0 when unknown).
        line: usize,
        /// 1-based column (0 when unknown).
        column: usize,
        /// What serde_json said.
        message: String,
    },
    /// A job execution update that may not be applied (see [`crate::check_transition`]).
    #[error("job execution update refused: {0}")]
    Transition(#[from] TransitionError),
    /// A signed version report refused by [`crate::verify_version_report`] (signature, key,
    /// device, replay, nonce).
    #[error("version report refused: {0}")]
    Report(crate::version_report::ReportError),
}

fn at(offset: Option<usize>) -> String {
    offset.map_or_else(|| "in ".to_owned(), |o| format!("at byte {o} in "))
}

/// What [`Error::WrongMessage`] expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// One kind.
    Kind(MessageKind),
    /// Any known kind.
    Any,
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expected::Kind(k) => write!(f, "{k}"),
            Expected::Any => f.write_str("known"),
        }
    }
}

impl Error {
    /// Prefixes the path with `name` (used while an error bubbles up a decoder).
    #[must_use]
    pub(crate) fn in_field(mut self, name: &str) -> Self {
        if let Error::Decode { path, .. } | Error::LimitExceeded { path, .. } = &mut self {
            if path.is_empty() {
                *path = name.to_owned();
            } else if path.starts_with('[') {
                path.insert_str(0, name);
            } else {
                path.insert(0, '.');
                path.insert_str(0, name);
            }
        }
        self
    }

    /// Prefixes the path with an array index.
    #[must_use]
    pub(crate) fn in_index(mut self, i: usize) -> Self {
        if let Error::Decode { path, .. } | Error::LimitExceeded { path, .. } = &mut self {
            let seg = format!("[{i}]");
            if path.is_empty() || path.starts_with('[') {
                path.insert_str(0, &seg);
            } else {
                path.insert(0, '.');
                path.insert_str(0, &seg);
            }
        }
        self
    }

    /// A decode error without offset (JSON, models).
    pub(crate) fn field(kind: DecodeError) -> Self {
        Error::Decode {
            offset: None,
            path: String::new(),
            kind,
        }
    }

    /// A limit error without offset (JSON, models).
    pub(crate) fn limit(limit: Limit, count: usize, max: usize) -> Self {
        Error::LimitExceeded {
            offset: None,
            path: String::new(),
            limit,
            count: count as u64,
            max: max as u64,
        }
    }

    /// The byte offset, for CBOR decode errors.
    #[must_use]
    pub fn offset(&self) -> Option<usize> {
        match self {
            Error::Decode { offset, .. } | Error::LimitExceeded { offset, .. } => *offset,
            _ => None,
        }
    }

    /// The field path, for decode and limit errors (empty otherwise).
    #[must_use]
    pub fn path(&self) -> &str {
        match self {
            Error::Decode { path, .. } | Error::LimitExceeded { path, .. } => path,
            _ => "",
        }
    }
}

/// The ways input (or a field value) can be rejected.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The input ends inside an item, or a declared length runs past its end.
    #[error("unexpected end of input")]
    Truncated,
    /// Bytes follow the message.
    #[error("{0} trailing bytes")]
    TrailingBytes(usize),
    /// Not the deterministic encoding (RFC 8949 §4.2.1): non-shortest head or float,
    /// indefinite length, keys out of order or repeated.
    #[error("not canonical CBOR: {0}")]
    NonCanonical(&'static str),
    /// Another CBOR type than the schema says.
    #[error("expected {expected}, found {found}")]
    WrongType {
        /// What the schema expects.
        expected: &'static str,
        /// What was found.
        found: &'static str,
    },
    /// Malformed CBOR of another kind (reserved values, a stray break, invalid UTF-8, a tag).
    #[error("malformed CBOR: {0}")]
    Malformed(&'static str),
    /// Containers nested deeper than the schema allows.
    #[error("nesting deeper than the schema allows")]
    TooDeep,
    /// A mandatory field is absent.
    #[error("missing field `{0}`")]
    MissingField(&'static str),
    /// A map key the schema does not define (version 1 has no extension keys).
    #[error("unknown key {0}")]
    UnknownKey(i64),
    /// A field that the message's status does not carry (a progress on a FAILED execution).
    #[error("field `{field}` is not allowed with status {status}")]
    NotForStatus {
        /// The field.
        field: &'static str,
        /// The status.
        status: StatusKind,
    },
    /// A code outside its table (status, stage, reason, refusal rule, slot).
    #[error("unknown {what} code {code}")]
    UnknownCode {
        /// Which table.
        what: &'static str,
        /// The code found.
        code: u64,
    },
    /// An integer too large for its field.
    #[error("{0} out of range")]
    OutOfRange(&'static str),
    /// A list written empty: optional lists are omitted when empty, so an empty one is a second
    /// encoding of the same message.
    #[error("empty list (omit the field instead)")]
    EmptyList,
    /// A text or byte string that must not be empty is empty.
    #[error("empty where a value is required")]
    Empty,
    /// A job id that is not 1 to 64 characters of `A-Z a-z 0-9 _ -` (it goes into MQTT topics).
    #[error("job id must be 1 to 64 characters of A-Z, a-z, 0-9, `_` and `-`")]
    BadJobId,
    /// A digest that is not 32 bytes (CBOR) or 64 hex digits (JSON).
    #[error("a SHA-256 digest is 32 bytes (64 hex digits)")]
    BadDigest,
    /// Base64 that is not the canonical RFC 4648 §4 form (padding, alphabet, trailing bits).
    #[error("not canonical base64 (RFC 4648 §4, padded)")]
    BadBase64,
    /// A number that must be finite is NaN or infinite.
    #[error("not a finite number")]
    NonFinite,
    /// Progress with more done than the total.
    #[error("progress done {done} is above the total {total}")]
    ProgressOverTotal {
        /// Bytes (or units) done.
        done: u64,
        /// The total.
        total: u64,
    },
    /// An install window whose minute is not in 0..1440, or that is empty (start = end).
    #[error("install window minutes must be in 0..1440 and differ")]
    BadWindow,
    /// A component named twice (sources of a job, installed components of a report).
    #[error("component `{0}` appears twice")]
    DuplicateComponent(String),
    /// Two delta sources for one source digest.
    #[error("two deltas from the same source digest")]
    DuplicateDelta,
    /// A health metric named twice (JSON; CBOR reports it as [`DecodeError::NonCanonical`]).
    #[error("metric `{0}` appears twice")]
    DuplicateMetric(String),
    /// A component source with neither a full image nor a delta.
    #[error("a component source needs a full image or a delta")]
    NoSource,
    /// A failure reason that is not a failure: refusals travel as REJECTED with their rule.
    #[error("reason `refused` is not a failure: report REJECTED with the refusal rule")]
    RefusedIsNotAFailure,
}

/// A size or count limit, named in [`Error::LimitExceeded`].
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Bytes of an inline signed envelope.
    EnvelopeBytes,
    /// Component sources in a job document.
    Components,
    /// Delta sources per component.
    Deltas,
    /// Installed components in a report.
    Installed,
    /// Health metrics in a report.
    Metrics,
    /// Bytes of an id, a name, a version or a metric name.
    TextBytes,
    /// Bytes of a URI.
    UriBytes,
    /// Bytes of a free-text detail (failure detail, refusal detail).
    DetailBytes,
    /// Bytes of a version report's nonce.
    NonceBytes,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Limit::EnvelopeBytes => "inline envelope size",
            Limit::Components => "component source count",
            Limit::Deltas => "delta source count",
            Limit::Installed => "installed component count",
            Limit::Metrics => "health metric count",
            Limit::TextBytes => "text length",
            Limit::UriBytes => "URI length",
            Limit::DetailBytes => "detail length",
            Limit::NonceBytes => "nonce length",
        })
    }
}

/// Why [`crate::JobExecution::apply`] or [`crate::check_transition`] refused an update.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// The update names another job.
    #[error("the update is for job `{found}`, not `{expected}`")]
    WrongJob {
        /// The execution's job.
        expected: String,
        /// The update's job.
        found: String,
    },
    /// The update names another execution number (a newer or older run of the job).
    #[error("the update is for execution {found}, not {expected}")]
    WrongExecution {
        /// The execution's number.
        expected: u64,
        /// The update's number.
        found: u64,
    },
    /// The update is not based on the current version (AWS: `VersionMismatch`). An update
    /// with an older version is a stale redelivery or a writer that must fetch the current
    /// state first.
    #[error(
        "version conflict: the execution is at version {current}, the update brings {proposed}"
    )]
    VersionConflict {
        /// The execution's version.
        current: u64,
        /// The update's version (legal: `current + 1`, or `current` for an exact redelivery).
        proposed: u64,
    },
    /// The execution is in a terminal status; nothing follows it.
    #[error("{from} is terminal")]
    Terminal {
        /// The terminal status.
        from: StatusKind,
    },
    /// No such transition in the job execution state machine.
    #[error("{} cannot go to {to}", from.map_or("no execution", StatusKind::as_str))]
    Illegal {
        /// The current status (`None`: no execution yet).
        from: Option<StatusKind>,
        /// The status asked for.
        to: StatusKind,
    },
    /// The transition exists but is not this party's to make (a device cannot cancel).
    #[error("{to} is set by the {}, not the {actor}", actor.other())]
    NotYours {
        /// The status asked for.
        to: StatusKind,
        /// Who asked.
        actor: Actor,
    },
}
