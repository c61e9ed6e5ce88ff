#![doc = include_str!("../README.md")]

mod error;
mod token;
mod uri;

pub use error::{Error, Result};
pub use token::{MODULE_ENV, Pkcs11Signer};
pub use uri::{Pin, Pkcs11Uri};
