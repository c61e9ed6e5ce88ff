//! The wire schema (FORMAT.md): the integer keys of the release and component maps, and where
//! extension values sit in the document. Shared by the encoder, the decoder and the checks.

/// Field keys of the release map (FORMAT.md).
pub(crate) mod key {
    pub const FORMAT: u64 = 0;
    pub const NAME: u64 = 1;
    pub const VERSION: u64 = 2;
    pub const SEQUENCE: u64 = 3;
    pub const SECURITY_COUNTER: u64 = 4;
    pub const ISSUED_AT: u64 = 5;
    pub const EXPIRES_AT: u64 = 6;
    pub const NOTES_URI: u64 = 7;
    pub const VENDOR: u64 = 8;
    pub const CLASSES: u64 = 9;
    pub const HARDWARE: u64 = 10;
    pub const HARDWARE_RANGES: u64 = 11;
    pub const COMPONENTS: u64 = 12;
}

/// Field keys of the component map (FORMAT.md).
pub(crate) mod ckey {
    pub const ID: u64 = 0;
    pub const LAYER: u64 = 1;
    pub const VERSION: u64 = 2;
    pub const UPGRADE_FROM: u64 = 3;
    pub const SIZE: u64 = 4;
    pub const SHA256: u64 = 5;
    pub const CHUNK_SIZE: u64 = 6;
    pub const CHUNK_SHA256: u64 = 7;
    pub const DELTAS: u64 = 8;
    pub const DEPENDENCIES: u64 = 9;
    pub const ORDER: u64 = 10;
    pub const SBOM: u64 = 11;
    pub const URIS: u64 = 12;
    pub const IMAGE: u64 = 13;
}

/// Depth of the values of top-level extensions (the release map is depth 1).
pub(crate) const RELEASE_EXT_DEPTH: usize = 2;
/// Depth of component extension values: release map, components array, component map, value.
pub(crate) const COMPONENT_EXT_DEPTH: usize = 4;

/// The longest vendor or device class id the format allows (bytes).
pub const MAX_ID_BYTES: usize = 64;
