#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod deploy;
mod error;
mod ingest;
mod model;
mod outbound;
#[cfg(feature = "postgres")]
mod pg;
mod record;
mod server;
mod sqlite;
mod store;
mod telemetry;

pub use deploy::DeploymentSpec;
pub use error::{Error, Result};
pub use model::{
    Artifact, DeploymentRecord, DeviceRecord, ExecutionRecord, Member, ReleaseRecord, RingTally,
};
pub use outbound::{Ingested, Outbound};
#[cfg(feature = "postgres")]
pub use pg::{PostgresStore, PostgresTx};
pub use record::SCHEMA_VERSION;
pub use server::Server;
pub use sqlite::{SqliteStore, SqliteTx};
pub use store::{Store, Tx};
pub use telemetry::REBOOT_LOOPS;
