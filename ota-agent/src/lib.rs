#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod agent;
mod boot;
mod crc;
mod delta;
mod error;
mod fetch;
mod flash;
mod health;
#[cfg(feature = "http")]
mod http;
mod install;
mod outcome;
mod record;
mod release;
pub mod sim;
mod store;
mod uboot;

pub use agent::{Agent, Config, Env, Progress};
pub use boot::BootControl;
pub use crc::crc32;
pub use error::{Error, Result};
pub use fetch::{Fetch, FetchError, FileFetch, Resource};
pub use flash::{Flash, FlashStore, Geometry};
pub use health::{Clock, Health, HealthCheck, SystemClock};
#[cfg(feature = "http")]
pub use http::HttpFetch;
#[cfg(unix)]
pub use install::DirSwapInstaller;
pub use install::{FileSlots, Installer, SlotDevice, SlotInstaller};
pub use outcome::{
    Outcome, Reason, Stage, State, lwm2m_fw_result, lwm2m_fw_state, lwm2m_sw_result, lwm2m_sw_state,
};
pub use record::{Floor, Target};
pub use release::{Rejected, Release};
pub use store::{FRAME_OVERHEAD, FileStore, MAX_RECORD, Store};
pub use uboot::{EnvLayout, UbootEnv};

/// Entry points for the fuzz targets in `fuzz/`; not part of the API.
#[doc(hidden)]
pub mod fuzzing {
    /// Decodes a lifecycle record (STATES.md, "Record format") and encodes it again.
    ///
    /// # Errors
    /// The decode error, or an encode error (which would be a defect).
    pub fn record_reencode(bytes: &[u8]) -> crate::Result<Vec<u8>> {
        crate::record::Record::decode(bytes)?.encode()
    }
}

#[cfg(test)]
mod tests {
    fn send_sync<T: Send + Sync>() {}

    #[test]
    fn public_types_are_send_and_sync() {
        send_sync::<crate::Error>();
        send_sync::<crate::Release>();
        send_sync::<crate::Outcome>();
        send_sync::<crate::FileStore>();
        send_sync::<crate::FlashStore<crate::sim::SimFlash>>();
        send_sync::<crate::sim::SimBoot>();
        send_sync::<crate::sim::SimSlots>();
        send_sync::<crate::UbootEnv>();
        send_sync::<crate::FileFetch>();
        send_sync::<crate::Agent<crate::FileStore, crate::UbootEnv>>();
        #[cfg(feature = "http")]
        send_sync::<crate::HttpFetch>();
    }
}
