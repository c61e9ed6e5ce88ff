//! Limits on everything a remote party controls.

/// Limits applied when decoding (CBOR or JSON) and encoding. Each overrun is its own error
/// ([`crate::Error::TooLarge`], [`crate::Error::TooDeep`], or [`crate::Error::LimitExceeded`] with
/// a distinct [`crate::Limit`]). The defaults are safe for a device; raise them for a server.
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
    /// CVE ids per component.
    pub max_cves: usize,
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
            max_cves: 64,
            max_string_bytes: 1024,
            max_depth: 16,
        }
    }
}
