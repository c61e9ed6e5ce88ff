//! The JSON form for people: the public JSON entry points.

use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::model::Manifest;

impl Manifest {
    /// The JSON form (pretty-printed), digests and ids in lowercase hex.
    ///
    /// # Errors
    /// As [`Manifest::to_cbor`]: the JSON form carries exactly what the CBOR form can.
    pub fn to_json(&self) -> Result<String> {
        crate::check::check_structure(self, &Limits::default())?;
        serde_json::to_string_pretty(self).map_err(|e| json_error(&e))
    }

    /// The JSON form on one line (for machines; [`Manifest::from_json`] reads both).
    ///
    /// # Errors
    /// As [`Manifest::to_json`].
    pub fn to_json_compact(&self) -> Result<String> {
        crate::check::check_structure(self, &Limits::default())?;
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
        // The structural check and the CBOR size limit (counted, nothing encoded): whatever JSON
        // is accepted has a canonical CBOR form.
        crate::check::check(&m, limits)?;
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
