#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod base64;
mod cbor;
mod check;
mod decode;
mod dedup;
mod encode;
mod error;
mod execution;
mod ids;
mod job;
mod json;
mod limits;
mod message;
mod refusal;
mod report;
mod schema;
mod status;
mod version_report;

pub use dedup::{Delivery, ReportDedup};
pub use error::{DecodeError, Error, Expected, Limit, Result, TransitionError};
pub use execution::{Actor, Applied, JobExecution, check_transition};
pub use ids::{JobId, Sha256};
pub use job::{
    ComponentSources, DeltaLocation, InstallPolicy, JobDocument, Location, MINUTES_PER_DAY,
    Readiness, ReleaseSource, Window,
};
pub use limits::{Limits, MAX_JOB_ID_BYTES};
pub use message::{Message, MessageKind, PROTOCOL_VERSION};
pub use refusal::{Refusal, RefusalRule};
pub use report::{DeviceReport, InstalledComponent, Slot};
pub use status::{Progress, Reason, Stage, Status, StatusKind};
pub use version_report::{
    CONTENT_TYPE_VERSION_REPORT, ComponentVersion, MAX_NONCE_BYTES, ReportError,
    VERSION_REPORT_FORMAT, VersionReport,
};
#[cfg(feature = "signed")]
pub use version_report::{ReportCheck, verify_version_report};
