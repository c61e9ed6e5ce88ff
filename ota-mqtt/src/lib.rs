#![doc = include_str!("../README.md")]

mod access;
mod admin;
mod agent;
mod broker;
mod device;
mod error;
mod inbox;
mod link;
mod seen;
mod server;
mod tls;
mod topics;
mod typed;

pub use access::{ADMIN_ROLE, Access, Acl, SERVER_ROLE, device_role};
pub use admin::{Admin, DYNSEC_CONTROL, DYNSEC_RESPONSE};
#[cfg(feature = "agent")]
pub use agent::{AgentInstaller, Download, wire_outcome, wire_reason, wire_refusal, wire_stage};
pub use agent::{Attempt, Installer, unverified};
pub use broker::{
    DYNSEC_PLUGIN_FILE, MOSQUITTO_CONF, MOSQUITTO_TLS_CONF, Mosquitto, TlsFiles, dynsec_plugin,
    mosquitto_binary, mosquitto_missing_for_tests,
};
pub use device::Device;
pub use error::{Error, Result};
pub use link::{ConnectOptions, Message};
pub use seen::Seen;
pub use server::Server;
pub use tls::TlsIdentity;
pub use topics::{
    DeviceId, MAX_DEVICE_ID_LEN, PREFIX, PROTOCOL_PROPERTY, PROTOCOL_VERSION, TopicKind, Topics,
    parse_topic, shared_filter,
};
pub use typed::{Ingest, Ingested, execution_correlation};
