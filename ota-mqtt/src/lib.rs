#![doc = include_str!("../README.md")]

mod broker;
mod error;

pub use broker::{
    MOSQUITTO_ACL, MOSQUITTO_CONF, MOSQUITTO_TLS_CONF, Mosquitto, TlsFiles, mosquitto_binary,
};
pub use error::{Error, Result};
