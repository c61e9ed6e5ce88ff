//! The one error type of the crate.

/// What went wrong in the transport.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Starting, stopping or configuring the mosquitto harness failed.
    #[error("broker: {0}")]
    Broker(String),
    /// A device id that cannot be a topic level (empty, too long, or with `/`, `+`, `#`, `$` or NUL).
    #[error("invalid device id {id:?}: {reason}")]
    DeviceId {
        /// The refused id.
        id: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A topic that is not one of the layout's (see TOPICS.md), with the topic.
    #[error("topic {0:?} is not in the ota layout")]
    UnknownTopic(String),
    /// TLS material could not be read or used (file name or PEM problem).
    #[error("tls: {0}")]
    Tls(String),
    /// The connection to the broker failed or was refused.
    #[error("connection: {0}")]
    Connection(String),
    /// The broker refused a subscription (ACL), with the filter.
    #[error("subscription to {0:?} refused by the broker")]
    SubscribeRefused(String),
    /// A request got no answer in time.
    #[error("no answer within {0:?}")]
    Timeout(std::time::Duration),
    /// A payload is not a valid `ota-protocol` message of the topic's kind.
    #[error("protocol: {0}")]
    Protocol(#[from] ota_protocol::Error),
    /// A message of another protocol version (the `ota-protocol` user property), with its value.
    #[error("protocol version {0:?} is not spoken here")]
    ProtocolVersion(Option<String>),
    /// The broker's dynamic-security plugin refused a provisioning command, or answered
    /// something that is not its answer format, with the reason.
    #[error("provisioning: {0}")]
    Provisioning(String),
    /// The client's request queue is closed (its event loop ended).
    #[error("client closed")]
    Closed,
    /// The server answered a job execution update on `jobs/update/rejected` (the job is
    /// unknown, canceled or already terminal): the device stops the job and installs nothing
    /// more for it.
    #[error("job {job_id}: update version {version} rejected by the server")]
    JobRejected {
        /// The job.
        job_id: String,
        /// The version of the rejected update.
        version: u64,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
