//! The JSON form for people and tools: `{"v": 1, "<kind>": {...}}`.
//!
//! The version is read first (so a message of another version is refused as such, whatever its
//! body), then the body with unknown fields refused, then the structural checks shared with the
//! CBOR encoder. The whole text is bounded by [`Limits::max_json_bytes`] before parsing, which
//! bounds what serde allocates; counts and lengths are checked after the parse.

use serde::de::IgnoredAny;
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

use crate::check;
use crate::error::{Error, Expected, Result};
use crate::execution::JobExecution;
use crate::job::JobDocument;
use crate::limits::Limits;
use crate::message::{Message, MessageKind, PROTOCOL_VERSION};
use crate::report::DeviceReport;

fn json_error(e: &serde_json::Error) -> Error {
    Error::Json {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    }
}

/// `{"v": 1, "<kind>": body}`.
struct Wrapped<'a, T>(MessageKind, &'a T);

impl<T: Serialize> Serialize for Wrapped<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("v", &PROTOCOL_VERSION)?;
        m.serialize_entry(self.0.as_str(), self.1)?;
        m.end()
    }
}

fn write<T: Serialize>(kind: MessageKind, body: &T) -> Result<String> {
    serde_json::to_string_pretty(&Wrapped(kind, body)).map_err(|e| json_error(&e))
}

/// The version and which body keys are present; other fields are ignored here and refused by
/// the second, strict parse.
#[derive(Deserialize)]
struct Probe {
    v: u64,
    job: Option<IgnoredAny>,
    execution: Option<IgnoredAny>,
    report: Option<IgnoredAny>,
}

fn probe(text: &str, limits: &Limits) -> Result<MessageKind> {
    if text.len() > limits.max_json_bytes {
        return Err(Error::TooLarge {
            size: text.len(),
            max: limits.max_json_bytes,
        });
    }
    let p: Probe = serde_json::from_str(text).map_err(|e| json_error(&e))?;
    if p.v != u64::from(PROTOCOL_VERSION) {
        return Err(Error::UnsupportedVersion {
            found: p.v,
            supported: PROTOCOL_VERSION,
        });
    }
    match (p.job.is_some(), p.execution.is_some(), p.report.is_some()) {
        (true, false, false) => Ok(MessageKind::Job),
        (false, true, false) => Ok(MessageKind::Execution),
        (false, false, true) => Ok(MessageKind::Report),
        _ => Err(Error::WrongMessage {
            expected: Expected::Any,
            found: None,
        }),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JobIn {
    #[serde(rename = "v")]
    _v: u64,
    job: JobDocument,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExecutionIn {
    #[serde(rename = "v")]
    _v: u64,
    execution: JobExecution,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportIn {
    #[serde(rename = "v")]
    _v: u64,
    report: DeviceReport,
}

fn expect(kind: MessageKind, found: MessageKind) -> Result<()> {
    if kind == found {
        Ok(())
    } else {
        Err(Error::WrongMessage {
            expected: Expected::Kind(kind),
            found: Some(found),
        })
    }
}

fn read_job(text: &str, limits: &Limits) -> Result<JobDocument> {
    let m: JobIn = serde_json::from_str(text).map_err(|e| json_error(&e))?;
    check::job(&m.job, limits).map_err(|e| e.in_field("job"))?;
    Ok(m.job)
}

fn read_execution(text: &str, limits: &Limits) -> Result<JobExecution> {
    let m: ExecutionIn = serde_json::from_str(text).map_err(|e| json_error(&e))?;
    check::execution(&m.execution, limits).map_err(|e| e.in_field("execution"))?;
    Ok(m.execution)
}

fn read_report(text: &str, limits: &Limits) -> Result<DeviceReport> {
    let m: ReportIn = serde_json::from_str(text).map_err(|e| json_error(&e))?;
    check::report(&m.report, limits).map_err(|e| e.in_field("report"))?;
    Ok(m.report)
}

macro_rules! json_api {
    ($ty:ty, $kind:expr, $check:path, $read:ident) => {
        impl $ty {
            /// The JSON form (pretty-printed), `{"v": 1, "<kind>": {...}}`.
            ///
            /// # Errors
            /// The structural errors ([`Error::Decode`], [`Error::LimitExceeded`], without
            /// offset) under the default [`Limits`]: the JSON form carries exactly what the
            /// CBOR form can.
            pub fn to_json(&self) -> Result<String> {
                self.to_json_with(&Limits::default())
            }

            /// [`Self::to_json`] under the given limits.
            ///
            /// # Errors
            /// As [`Self::to_json`].
            pub fn to_json_with(&self, limits: &Limits) -> Result<String> {
                $check(self, limits).map_err(|e| e.in_field($kind.as_str()))?;
                write($kind, self)
            }

            /// Reads the JSON form under the default [`Limits`]. Unknown fields are refused.
            ///
            /// # Errors
            /// [`Error::TooLarge`], [`Error::Json`] (line and column),
            /// [`Error::UnsupportedVersion`], [`Error::WrongMessage`], and the structural
            /// errors with the field's path.
            pub fn from_json(text: &str) -> Result<Self> {
                Self::from_json_with(text, &Limits::default())
            }

            /// [`Self::from_json`] under the given limits.
            ///
            /// # Errors
            /// As [`Self::from_json`].
            pub fn from_json_with(text: &str, limits: &Limits) -> Result<Self> {
                expect($kind, probe(text, limits)?)?;
                $read(text, limits)
            }
        }
    };
}

json_api!(JobDocument, MessageKind::Job, check::job, read_job);
json_api!(
    JobExecution,
    MessageKind::Execution,
    check::execution,
    read_execution
);
json_api!(
    DeviceReport,
    MessageKind::Report,
    check::report,
    read_report
);

impl Message {
    /// The JSON form of the message.
    ///
    /// # Errors
    /// As [`JobDocument::to_json`].
    pub fn to_json(&self) -> Result<String> {
        match self {
            Message::Job(m) => m.to_json(),
            Message::Execution(m) => m.to_json(),
            Message::Report(m) => m.to_json(),
        }
    }

    /// Reads any message in JSON form under the given limits.
    ///
    /// # Errors
    /// As [`JobDocument::from_json`].
    pub fn from_json_with(text: &str, limits: &Limits) -> Result<Self> {
        Ok(match probe(text, limits)? {
            MessageKind::Job => Message::Job(read_job(text, limits)?),
            MessageKind::Execution => Message::Execution(read_execution(text, limits)?),
            MessageKind::Report => Message::Report(read_report(text, limits)?),
        })
    }

    /// [`Message::from_json_with`] under the default limits.
    ///
    /// # Errors
    /// As [`JobDocument::from_json`].
    pub fn from_json(text: &str) -> Result<Self> {
        Self::from_json_with(text, &Limits::default())
    }
}
