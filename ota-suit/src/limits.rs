//! Limits on everything an envelope's author controls, checked before anything is allocated.

/// Limits on sizes and counts. [`Limits::default`] fits the examples of the draft with room to
/// spare; every overrun is its own error ([`Error::TooLarge`](crate::Error),
/// `TooMany`, `TooLong`, `TooDeep`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest envelope in bytes (64 KiB).
    pub max_envelope: usize,
    /// Most components (16).
    pub max_components: usize,
    /// Most elements in one component identifier (8).
    pub max_id_elements: usize,
    /// Longest element of a component identifier, and longest vendor or class id (64 bytes).
    pub max_id_len: usize,
    /// Most commands in one sequence (64).
    pub max_commands: usize,
    /// Most alternatives in one try-each (8).
    pub max_try_each: usize,
    /// Deepest nesting of try-each (2).
    pub max_try_each_depth: usize,
    /// Most COSE_Sign1 in the authentication wrapper (4).
    pub max_signatures: usize,
    /// Longest URI (1024 bytes).
    pub max_uri: usize,
    /// Deepest CBOR nesting (16).
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_envelope: 64 * 1024,
            max_components: 16,
            max_id_elements: 8,
            max_id_len: 64,
            max_commands: 64,
            max_try_each: 8,
            max_try_each_depth: 2,
            max_signatures: 4,
            max_uri: 1024,
            max_depth: 16,
        }
    }
}
