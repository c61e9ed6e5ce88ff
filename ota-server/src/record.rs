//! The JSON text of stored records and the migrations, shared by the backends.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// One schema migration: its version and its SQL for each backend.
pub(crate) struct Migration {
    pub(crate) version: i64,
    pub(crate) sqlite: &'static str,
    // Kept without the `postgres` feature too: the migrations are one list for both backends.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) postgres: &'static str,
}

/// The migrations, oldest first. A new one is appended, never edited once released.
pub(crate) const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    sqlite: include_str!("../migrations/sqlite/0001_init.sql"),
    postgres: include_str!("../migrations/postgres/0001_init.sql"),
}];

/// The newest schema version this library knows.
pub const SCHEMA_VERSION: i64 = 1;

pub(crate) fn encode<T: Serialize>(table: &'static str, key: &str, v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::corrupt(table, key, e))
}

pub(crate) fn decode<T: DeserializeOwned>(table: &'static str, key: &str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| Error::corrupt(table, key, e))
}

/// A u64 in an SQL BIGINT: its bit pattern (report ids are random u64s).
pub(crate) fn to_i64(v: u64) -> i64 {
    v as i64
}

/// The u64 back from its bit pattern.
pub(crate) fn from_i64(v: i64) -> u64 {
    v as u64
}
