//! Size limits on decoded plans and selectors.

/// Limits on a decoded selector or plan ("endless data" protection).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted input, in bytes.
    pub max_bytes: usize,
    /// Deepest selector nesting (a leaf is depth 1).
    pub max_depth: usize,
    /// Most selector nodes.
    pub max_nodes: usize,
    /// Most rings in a plan.
    pub max_rings: usize,
    /// Most pinned plus excluded devices in a plan.
    pub max_overrides: usize,
    /// Longest string (salt, ids, attribute names and values), in bytes.
    pub max_string: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 1 << 20,
            max_depth: 32,
            max_nodes: 4096,
            max_rings: 16,
            max_overrides: 10_000,
            max_string: 256,
        }
    }
}
