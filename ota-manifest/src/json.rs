//! The JSON form for people, and the public encode/decode entry points.

use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::model::Manifest;

impl Manifest {
    /// Encodes to canonical CBOR (FORMAT.md) with the default [`Limits`].
    ///
    /// # Errors
    /// A field the format cannot carry (empty id, reserved layer, over a limit, bad extension):
    /// [`Error::Field`], [`Error::LimitExceeded`], [`Error::TooLarge`]. Nothing is written that
    /// [`Manifest::from_cbor`] would reject.
    pub fn to_cbor(&self) -> Result<Vec<u8>> {
        self.to_cbor_with(&Limits::default())
    }

    /// [`Manifest::to_cbor`] with the given limits.
    ///
    /// # Errors
    /// As [`Manifest::to_cbor`].
    pub fn to_cbor_with(&self, limits: &Limits) -> Result<Vec<u8>> {
        crate::encode::to_cbor(self, limits)
    }

    /// Decodes canonical CBOR strictly, with the default [`Limits`]. This checks the encoding and
    /// the schema, not the release's consistency: see [`Manifest::validate`] (which
    /// [`Manifest::plan`] runs).
    ///
    /// # Errors
    /// [`Error::TooLarge`], [`Error::Decode`] (with the byte offset and field path),
    /// [`Error::TooDeep`], [`Error::LimitExceeded`].
    pub fn from_cbor(bytes: &[u8]) -> Result<Self> {
        Self::from_cbor_with(bytes, &Limits::default())
    }

    /// [`Manifest::from_cbor`] with the given limits.
    ///
    /// # Errors
    /// As [`Manifest::from_cbor`].
    pub fn from_cbor_with(bytes: &[u8], limits: &Limits) -> Result<Self> {
        crate::decode::from_cbor(bytes, limits)
    }

    /// The JSON form (pretty-printed), digests and ids in lowercase hex.
    ///
    /// # Errors
    /// As [`Manifest::to_cbor`]: the JSON form carries exactly what the CBOR form can.
    pub fn to_json(&self) -> Result<String> {
        crate::encode::check_structure(self, &Limits::default())?;
        serde_json::to_string_pretty(self).map_err(|e| json_error(&e))
    }

    /// The JSON form on one line (for machines; [`Manifest::from_json`] reads both).
    ///
    /// # Errors
    /// As [`Manifest::to_json`].
    pub fn to_json_compact(&self) -> Result<String> {
        crate::encode::check_structure(self, &Limits::default())?;
        serde_json::to_string(self).map_err(|e| json_error(&e))
    }

    /// Reads the JSON form, with the default [`Limits`]. Unknown fields are rejected.
    ///
    /// # Errors
    /// [`Error::TooLarge`], [`Error::Json`] (with line and column), and the structural errors of
    /// [`Manifest::to_cbor`].
    pub fn from_json(text: &str) -> Result<Self> {
        Self::from_json_with(text, &Limits::default())
    }

    /// [`Manifest::from_json`] with the given limits.
    ///
    /// # Errors
    /// As [`Manifest::from_json`].
    pub fn from_json_with(text: &str, limits: &Limits) -> Result<Self> {
        if text.len() > limits.max_json_bytes {
            return Err(Error::TooLarge {
                size: text.len(),
                max: limits.max_json_bytes,
            });
        }
        let m: Manifest = serde_json::from_str(text).map_err(|e| json_error(&e))?;
        // Encoding runs the structural check and the CBOR size limit: whatever JSON is accepted
        // has a canonical CBOR form.
        crate::encode::to_cbor(&m, limits)?;
        Ok(m)
    }
}

fn json_error(e: &serde_json::Error) -> Error {
    Error::Json {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    }
}
