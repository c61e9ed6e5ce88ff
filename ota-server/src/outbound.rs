//! What the server asks the transport to send, and what it did with a message.

use ota_protocol::{JobDocument, JobExecution, MessageKind, TransitionError};

/// A message for one device. The transport encodes it (`ota-protocol` CBOR or JSON) and picks
/// the topic: `jobs/notify` for a job, the execution's topic for a service-side status change,
/// `twin/desired` for the desired state.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Outbound {
    /// A job queued for the device.
    Job {
        /// The device.
        device: String,
        /// The job document.
        job: JobDocument,
    },
    /// The service changed the device's execution (TIMED_OUT, CANCELED).
    Execution {
        /// The device.
        device: String,
        /// The execution's new state.
        execution: JobExecution,
    },
    /// The part of the device's desired twin the server changed, and the twin's new version.
    Desired {
        /// The device.
        device: String,
        /// The partial desired state merged in.
        desired: ota_twin::serde_json::Value,
        /// The twin's version after the change.
        version: u64,
    },
}

impl Outbound {
    /// The device it is for.
    pub fn device(&self) -> &str {
        match self {
            Outbound::Job { device, .. }
            | Outbound::Execution { device, .. }
            | Outbound::Desired { device, .. } => device,
        }
    }
}

/// What the server did with a message from a device. A transport answers `accepted` when
/// [`Ingested::accepted`] (the device stops re-sending), `rejected` otherwise.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Ingested {
    /// A report seen for the first time: the device's inventory is updated.
    Report {
        /// Messages to send (jobs for a device seen for the first time that joins a running
        /// deployment).
        out: Vec<Outbound>,
    },
    /// A report whose id was recorded before (a redelivery): nothing changed.
    DuplicateReport,
    /// An execution update that advanced the execution.
    Execution {
        /// The execution's new state.
        execution: JobExecution,
        /// Messages to send (jobs of devices a promotion started, cancellations of an abort).
        out: Vec<Outbound>,
    },
    /// The same update again (also an older version redelivered late): nothing changed.
    DuplicateExecution,
    /// An update the execution's state refuses (wrong version, illegal transition, terminal).
    Refused(TransitionError),
    /// An update for a job the device has no execution of.
    UnknownJob(String),
    /// A message a device does not send (a job document).
    Unexpected(MessageKind),
    /// A reported twin update that was applied: the twin's new version.
    Twin {
        /// The twin's version.
        version: u64,
    },
    /// A twin update from a device that touches `desired` (the server's section).
    TwinRefused,
}

impl Ingested {
    /// True when the device's message was taken (applied now or before).
    pub fn accepted(&self) -> bool {
        matches!(
            self,
            Ingested::Report { .. }
                | Ingested::DuplicateReport
                | Ingested::Execution { .. }
                | Ingested::DuplicateExecution
                | Ingested::Twin { .. }
        )
    }

    /// The messages to send because of it.
    pub fn outbound(&self) -> &[Outbound] {
        match self {
            Ingested::Report { out } | Ingested::Execution { out, .. } => out,
            _ => &[],
        }
    }
}
