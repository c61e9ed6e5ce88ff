//! The errors of the fleet side.

use thiserror::Error;

/// What went wrong. Storage errors keep the backend's message as text (the backend's error
/// types stay out of the public API) and name the operation that failed.
#[non_exhaustive]
#[derive(Debug, Error)]
pub enum Error {
    /// The database refused or failed an operation.
    #[error("storage: {op}: {detail}")]
    Storage {
        /// The operation (`insert report`, `lock deployment`...).
        op: &'static str,
        /// The backend's message.
        detail: String,
    },
    /// Another instance changed the same rows at the same time (PostgreSQL deadlock or
    /// serialization failure): the transaction was rolled back and may be retried.
    #[error("storage conflict: {op}: {detail}")]
    Conflict {
        /// The operation.
        op: &'static str,
        /// The backend's message.
        detail: String,
    },
    /// A stored value does not decode: the database was changed behind the server's back.
    #[error("corrupt record in {table} ({key}): {detail}")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// The row's key.
        key: String,
        /// What did not decode.
        detail: String,
    },
    /// The database's schema is newer than this library knows.
    #[error("schema version {found} is newer than this library's {known}")]
    SchemaTooNew {
        /// The version in the database.
        found: i64,
        /// The newest this library knows.
        known: i64,
    },
    /// No such release.
    #[error("unknown release {0:?}")]
    UnknownRelease(String),
    /// No such deployment.
    #[error("unknown deployment {0:?}")]
    UnknownDeployment(String),
    /// The id is taken.
    #[error("{what} {id:?} exists already")]
    Exists {
        /// `release` or `deployment`.
        what: &'static str,
        /// The id.
        id: String,
    },
    /// The release envelope does not verify against the trust root.
    #[error("release {release:?} does not verify: {source}")]
    Unverified {
        /// The release id.
        release: String,
        /// What the verifier said.
        source: ota_verify::Error,
    },
    /// The signed manifest does not decode.
    #[error("release {release:?}: manifest: {source}")]
    Manifest {
        /// The release id.
        release: String,
        /// What the decoder said.
        source: ota_manifest::Error,
    },
    /// An artifact names a component the manifest does not have.
    #[error("release {release:?}: artifacts[{index}]: no component {component:?} in the manifest")]
    UnknownComponent {
        /// The release id.
        release: String,
        /// The artifact's index.
        index: usize,
        /// Its component id.
        component: String,
    },
    /// The rollout refused a plan or an event.
    #[error("deployment {deployment:?}: rollout: {source}")]
    Rollout {
        /// The deployment id.
        deployment: String,
        /// What `ota-rollout` said.
        source: ota_rollout::Error,
    },
    /// A twin update was refused.
    #[error("twin of {device:?}: {source}")]
    Twin {
        /// The device.
        device: String,
        /// What `ota-twin` said.
        source: ota_twin::Error,
    },
    /// A protocol value was refused (a deployment id that is no job id...).
    #[error("{field}: {source}")]
    Protocol {
        /// The field.
        field: &'static str,
        /// What `ota-protocol` said.
        source: ota_protocol::Error,
    },
    /// The operation does not apply in the deployment's state.
    #[error("deployment {deployment:?}: {what}")]
    InvalidState {
        /// The deployment id.
        deployment: String,
        /// Why not.
        what: String,
    },
}

/// The result type of this crate.
pub type Result<T> = core::result::Result<T, Error>;

impl Error {
    /// True for [`Error::Conflict`]: retrying the whole operation is safe.
    pub fn is_conflict(&self) -> bool {
        matches!(self, Error::Conflict { .. })
    }

    pub(crate) fn corrupt(
        table: &'static str,
        key: impl Into<String>,
        detail: impl ToString,
    ) -> Self {
        Error::Corrupt {
            table,
            key: key.into(),
            detail: detail.to_string(),
        }
    }
}
