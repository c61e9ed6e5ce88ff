//! The crate's error type.

/// Everything that can go wrong in this crate.
///
/// Every error leaves the value it came from unchanged: plans are validated before they are
/// returned, and `Rollout::handle` checks an event completely before it changes anything.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input is larger than the decoder accepts.
    #[error("input is {actual} bytes, the limit is {limit}")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
        /// The size of the input.
        actual: usize,
    },
    /// A selector is nested deeper than the limit.
    #[error("selector at {path} is nested deeper than {limit} levels")]
    TooDeep {
        /// The configured depth limit.
        limit: usize,
        /// Where the limit was exceeded.
        path: String,
    },
    /// A selector has more nodes than the limit.
    #[error("selector has more than {limit} nodes")]
    TooManyNodes {
        /// The configured node limit.
        limit: usize,
    },
    /// The JSON is malformed or does not have the expected shape.
    #[error("JSON error at line {line}, column {column}: {message}")]
    Json {
        /// 1-based line of the error (0 when unknown).
        line: usize,
        /// 1-based column of the error (0 when unknown).
        column: usize,
        /// What the JSON decoder said.
        message: String,
    },
    /// A field of the plan has a value the engine cannot work with.
    #[error("invalid plan: {field}: {reason}")]
    InvalidPlan {
        /// JSON-pointer-like path of the field, e.g. `/rings/1/share`.
        field: String,
        /// Why the value is refused.
        reason: String,
    },
    /// The same device id appears twice in a fleet list.
    #[error("device id {id:?} appears more than once in the fleet")]
    DuplicateDevice {
        /// The repeated id.
        id: String,
    },
    /// The ring sizes given to a rollout do not fit its plan.
    #[error("the plan has {plan} rings but {given} ring sizes were given")]
    RingCountMismatch {
        /// Rings in the plan.
        plan: usize,
        /// Sizes given.
        given: usize,
    },
    /// `now` is earlier than the time of the previous event.
    #[error("time went backwards: last event at {last}, this one at {now}")]
    TimeWentBackwards {
        /// Time of the previous event.
        last: u64,
        /// Time given now.
        now: u64,
    },
    /// The rollout is aborted or complete and takes no more events.
    #[error("the rollout is {status} and takes no more events")]
    Finished {
        /// `aborted` or `completed`.
        status: &'static str,
    },
    /// A report names a device that is not in the rollout.
    #[error("no device {index} in ring {ring}")]
    UnknownDevice {
        /// Ring index given.
        ring: usize,
        /// Device index given.
        index: u64,
    },
    /// A report names a device that was never started.
    #[error("device {index} of ring {ring} was not started")]
    NotStarted {
        /// Ring index.
        ring: usize,
        /// Device index.
        index: u64,
    },
    /// A device reported twice.
    #[error("device {index} of ring {ring} already reported")]
    DuplicateReport {
        /// Ring index.
        ring: usize,
        /// Device index.
        index: u64,
    },
    /// The event does not apply in the current state (for example `Resume` while running).
    #[error("event {event} does not apply while the rollout is {status}")]
    InvalidEvent {
        /// The event's name.
        event: &'static str,
        /// The current status's name.
        status: &'static str,
    },
    /// A telemetry observation a health check cannot use (bad hours, counts or values, a
    /// metric no check watches). Nothing was counted.
    #[error("telemetry from device {device:?}: {field}: {reason}")]
    InvalidObservation {
        /// The reporting device (at most 64 characters of its id).
        device: String,
        /// The field refused, e.g. `hours` or `readings/crashes/events`.
        field: String,
        /// Why.
        reason: String,
    },
    /// Telemetry for a ring that does not exist or has not opened yet.
    #[error("ring {ring} is not open")]
    RingNotOpen {
        /// The ring given.
        ring: usize,
    },
    /// A time computation left the range of `u64` seconds.
    #[error("time {0} is out of range")]
    TimeOutOfRange(u64),
}

/// The crate's result type.
pub type Result<T> = core::result::Result<T, Error>;

impl Error {
    pub(crate) fn plan(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidPlan {
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn json(e: &serde_json::Error) -> Self {
        Error::Json {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        }
    }
}
