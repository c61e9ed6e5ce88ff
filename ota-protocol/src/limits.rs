//! Limits on everything a remote party controls.

/// Limits applied when decoding (CBOR or JSON) and checked when encoding. Each overrun is its own
/// error ([`crate::Error::TooLarge`], or [`crate::Error::LimitExceeded`] with a distinct
/// [`crate::Limit`]). The defaults are safe for a device; raise them for a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Total size of a CBOR message (an inline envelope included).
    pub max_cbor_bytes: usize,
    /// Total size of a JSON message.
    pub max_json_bytes: usize,
    /// Size of an inline signed envelope.
    pub max_envelope_bytes: usize,
    /// Component sources in a job document.
    pub max_components: usize,
    /// Delta sources per component.
    pub max_deltas: usize,
    /// Installed components in a report.
    pub max_installed: usize,
    /// Health metrics in a report.
    pub max_metrics: usize,
    /// Bytes of an id, a name, a version string or a metric name.
    pub max_text_bytes: usize,
    /// Bytes of a URI.
    pub max_uri_bytes: usize,
    /// Bytes of a free-text detail.
    pub max_detail_bytes: usize,
}

/// The longest job id (AWS IoT Jobs: 64).
pub const MAX_JOB_ID_BYTES: usize = 64;

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_cbor_bytes: 128 * 1024,
            max_json_bytes: 256 * 1024,
            max_envelope_bytes: 96 * 1024,
            max_components: 64,
            max_deltas: 16,
            max_installed: 64,
            max_metrics: 64,
            max_text_bytes: 128,
            max_uri_bytes: 1024,
            max_detail_bytes: 256,
        }
    }
}
