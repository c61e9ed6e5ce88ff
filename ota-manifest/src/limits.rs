//! Limits on everything a remote party controls (no_std: the borrowed view uses them too).

use core::fmt;

/// Limits applied when decoding (CBOR or JSON, or in place with [`crate::ManifestView`]) and
/// encoding. Each overrun is its own error (`Error::TooLarge`, `Error::TooDeep`, or
/// `Error::LimitExceeded` with a distinct [`crate::Limit`]; the view's
/// [`crate::ViewErrorKind`] has the same three). The defaults are safe for a device; raise them
/// for a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Total size of the CBOR encoding.
    pub max_cbor_bytes: usize,
    /// Total size of the JSON text.
    pub max_json_bytes: usize,
    /// Components per release.
    pub max_components: usize,
    /// Chunk digests per component.
    pub max_chunks: usize,
    /// Delta sources per component.
    pub max_deltas: usize,
    /// Dependencies per component.
    pub max_dependencies: usize,
    /// Accepted hardware revisions, exact and ranges (each list).
    pub max_hardware: usize,
    /// Device class ids.
    pub max_classes: usize,
    /// Download URIs per component.
    pub max_uris: usize,
    /// Extension fields per map.
    pub max_extensions: usize,
    /// Bytes per text string.
    pub max_string_bytes: usize,
    /// Nesting depth of the whole document (the top-level map is depth 1).
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_cbor_bytes: 64 * 1024,
            max_json_bytes: 256 * 1024,
            max_components: 64,
            max_chunks: 65_536,
            max_deltas: 16,
            max_dependencies: 32,
            max_hardware: 64,
            max_classes: 64,
            max_uris: 8,
            max_extensions: 16,
            max_string_bytes: 1024,
            max_depth: 16,
        }
    }
}

/// Which configured limit was exceeded (see [`crate::Limits`]).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Number of components.
    Components,
    /// Number of chunks of one component.
    Chunks,
    /// Number of delta sources of one component.
    DeltaSources,
    /// Number of dependencies of one component.
    Dependencies,
    /// Number of accepted hardware revisions (exact or ranges).
    HardwareRevisions,
    /// Number of device class ids.
    Classes,
    /// Number of download URIs of one component.
    Uris,
    /// Number of extensions in one map.
    Extensions,
    /// Bytes in one text string.
    StringBytes,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Limit::Components => "number of components",
            Limit::Chunks => "number of chunks",
            Limit::DeltaSources => "number of delta sources",
            Limit::Dependencies => "number of dependencies",
            Limit::HardwareRevisions => "number of hardware revisions",
            Limit::Classes => "number of device classes",
            Limit::Uris => "number of URIs",
            Limit::Extensions => "number of extensions",
            Limit::StringBytes => "text length",
        };
        f.write_str(s)
    }
}
