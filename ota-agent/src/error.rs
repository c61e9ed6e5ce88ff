//! The crate's error type.

use ota_manifest::Slot;

/// Errors of the persistence, boot-control and install layers.
///
/// Failures of an *update* (a bad image, a failed health check) are not errors: they are
/// [`crate::Outcome`]s, persisted and reported. An `Error` means the agent could not make
/// progress now (the power went, the store is unreadable); calling the agent again after a
/// reboot continues from the last persisted state.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The (simulated) power was cut during or before this write: nothing after it happened.
    #[error("power lost")]
    PowerLost,
    /// A persisted record does not decode.
    #[error("record field `{field}` at byte {offset}: {reason}")]
    Record {
        /// The field, as in STATES.md.
        field: &'static str,
        /// Byte offset of the field in the record.
        offset: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// The store holds data but no copy passes its CRC: the lifecycle state is lost.
    #[error("store `{what}`: no record passes its CRC")]
    StoreCorrupt {
        /// Which store (path or flash range).
        what: String,
    },
    /// A flash operation outside the device or against its rules.
    #[error("flash {op} at address {addr:#x}: {reason}")]
    Flash {
        /// `read`, `erase` or `program`.
        op: &'static str,
        /// The address.
        addr: u64,
        /// What is wrong.
        reason: &'static str,
    },
    /// A file operation failed.
    #[error("{op} `{path}`: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The path.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The U-Boot environment is unusable.
    #[error("U-Boot environment: {reason}")]
    UbootEnv {
        /// What is wrong (bad CRC in both copies, a missing variable, a bad value).
        reason: String,
    },
    /// The boot control has no bootable slot: the device would not start.
    #[error("no bootable slot")]
    NoBootableSlot,
    /// A slot index or range outside the device.
    #[error("slot {slot:?}: {reason}")]
    Slot {
        /// The slot.
        slot: Slot,
        /// What is wrong.
        reason: &'static str,
    },
    /// The call is not allowed in the persisted state.
    #[error("not allowed in state {state}: {what}")]
    WrongState {
        /// The current state's name.
        state: &'static str,
        /// What was asked.
        what: &'static str,
    },
    /// No installer takes a component the record names.
    #[error("no installer for component `{component}`")]
    NoInstaller {
        /// The component id.
        component: String,
    },
    /// A release does not fit the record (too many components, an id too long).
    #[error("release does not fit the record: {reason}")]
    TooLarge {
        /// What is too large.
        reason: &'static str,
    },
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

pub(crate) fn io(op: &'static str, path: &std::path::Path, source: std::io::Error) -> Error {
    Error::Io {
        op,
        path: path.display().to_string(),
        source,
    }
}
