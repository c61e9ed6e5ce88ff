//! Errors.

/// What went wrong talking to a token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The `pkcs11:` URI is malformed or uses an attribute this crate does not support.
    #[error("pkcs11 URI at byte {offset}: {reason}")]
    Uri {
        /// Byte offset in the URI.
        offset: usize,
        /// What is wrong there.
        reason: String,
    },
    /// The PIN could not be had.
    #[error("{reason}")]
    Pin {
        /// Why.
        reason: String,
    },
    /// No PKCS#11 module was named (no `module-path` in the URI and none given).
    #[error("no PKCS#11 module: give module-path in the URI or set {env}")]
    NoModule {
        /// The environment variable consulted.
        env: &'static str,
    },
    /// The PKCS#11 library failed a call (the module's return value, as cryptoki names it).
    #[error("{during}: {source}")]
    Pkcs11 {
        /// What this crate was doing.
        during: &'static str,
        /// The library's error.
        #[source]
        source: cryptoki::error::Error,
    },
    /// No token, or more than one, matches the URI.
    #[error("{count} tokens match the URI (exactly one must)")]
    Token {
        /// How many matched.
        count: usize,
    },
    /// No key, or more than one, matches the URI.
    #[error("{count} {what} objects match the URI (exactly one must)")]
    Object {
        /// `private key` or `public key`.
        what: &'static str,
        /// How many matched.
        count: usize,
    },
    /// `generate` found a key with the URI's label or id already on the token.
    #[error("{count} objects with that label or id are already on the token")]
    Exists {
        /// How many.
        count: usize,
    },
    /// The key on the token is not a usable Ed25519 key, or the token answered with something
    /// that is not an Ed25519 signature or public key.
    #[error("{reason}")]
    NotEd25519 {
        /// Why.
        reason: String,
    },
}

/// This crate's result.
pub type Result<T, E = Error> = core::result::Result<T, E>;

pub(crate) fn p11(during: &'static str) -> impl FnOnce(cryptoki::error::Error) -> Error {
    move |source| Error::Pkcs11 { during, source }
}
