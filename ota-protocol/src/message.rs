//! The three messages as one type, for a receiver that takes whatever arrives.

use core::fmt;

use crate::execution::JobExecution;
use crate::job::JobDocument;
use crate::report::DeviceReport;

/// The protocol version this library writes and reads (CBOR key 0, JSON `"v"`).
pub const PROTOCOL_VERSION: u32 = 1;

/// Which message a CBOR or JSON text holds (CBOR key 1; the body's key in JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// A [`JobDocument`] (code 1, JSON `"job"`).
    Job,
    /// A [`JobExecution`] (code 2, JSON `"execution"`).
    Execution,
    /// A [`DeviceReport`] (code 3, JSON `"report"`).
    Report,
}

impl MessageKind {
    /// Every kind, in code order.
    pub const ALL: [MessageKind; 3] = [
        MessageKind::Job,
        MessageKind::Execution,
        MessageKind::Report,
    ];

    /// The wire code (CBOR key 1).
    #[must_use]
    pub fn code(self) -> u8 {
        match self {
            MessageKind::Job => 1,
            MessageKind::Execution => 2,
            MessageKind::Report => 3,
        }
    }

    /// The kind of a wire code.
    #[must_use]
    pub fn from_code(code: u64) -> Option<MessageKind> {
        MessageKind::ALL
            .into_iter()
            .find(|k| u64::from(k.code()) == code)
    }

    /// The JSON key of the body (and the kind's name).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Job => "job",
            MessageKind::Execution => "execution",
            MessageKind::Report => "report",
        }
    }
}

impl fmt::Display for MessageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Any message.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A job document.
    Job(JobDocument),
    /// A job execution.
    Execution(JobExecution),
    /// A device report.
    Report(DeviceReport),
}

impl Message {
    /// Its kind.
    #[must_use]
    pub fn kind(&self) -> MessageKind {
        match self {
            Message::Job(_) => MessageKind::Job,
            Message::Execution(_) => MessageKind::Execution,
            Message::Report(_) => MessageKind::Report,
        }
    }
}
