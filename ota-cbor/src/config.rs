//! What the reader accepts beyond the rules it always enforces, and its limits.

/// Which floats the reader accepts. Whatever the choice, a float must be in the narrowest of
/// half, single and double precision that holds its value exactly (RFC 8949 §4.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Floats {
    /// No floats at all (manifests, COSE envelopes, trust roots).
    Refuse,
    /// Finite floats only: NaN and the infinities are refused (JSON values).
    Finite,
    /// Every float, NaN only as `0xf97e00` and the infinities as half precision.
    Any,
}

/// Which tags the reader accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tags {
    /// No tag at all.
    Refuse,
    /// Only these tag numbers.
    Only(&'static [u64]),
    /// Every tag (the caller decides what each means).
    Any,
}

impl Tags {
    /// True if `tag` is accepted.
    pub fn allows(&self, tag: u64) -> bool {
        match self {
            Tags::Refuse => false,
            // A plain loop: `contains` on integers compares eight at a time, 128 B of code on a
            // Cortex-M for lists of a handful of tags.
            Tags::Only(list) => {
                for t in *list {
                    if *t == tag {
                        return true;
                    }
                }
                false
            }
            Tags::Any => true,
        }
    }
}

/// Whether map keys must come in the deterministic order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOrder {
    /// Keys strictly increasing in the bytewise order of their encodings, so no duplicates
    /// (RFC 8949 §4.2.1). The default.
    Deterministic,
    /// Any order: RFC 8949 §4.1 preferred serialization only, for input from encoders that do not
    /// sort (COSE headers from other implementations). Duplicates are then the caller's to find.
    Unchecked,
}

/// Rules and limits of a [`Reader`](crate::Reader).
///
/// Always enforced, whatever the configuration: shortest heads, definite lengths, UTF-8 text,
/// no unassigned simple values, every declared length within the bytes left.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Which floats are accepted.
    pub floats: Floats,
    /// Which tags are accepted.
    pub tags: Tags,
    /// Whether map keys must be sorted.
    pub key_order: KeyOrder,
    /// Whether the simple value `undefined` is accepted.
    pub undefined: bool,
    /// How many containers (arrays, maps, tags) may enclose one another.
    pub max_depth: usize,
    /// The largest count of an array or map (entries), checked before anything is read.
    pub max_items: usize,
    /// The longest byte or text string, checked before anything is read.
    pub max_len: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self::DETERMINISTIC
    }
}

impl Config {
    /// Core deterministic encoding with the safe choices: no floats, no tags, no `undefined`,
    /// sorted keys, 16 levels of nesting; counts and lengths bounded by the input only.
    pub const DETERMINISTIC: Config = Config {
        floats: Floats::Refuse,
        tags: Tags::Refuse,
        key_order: KeyOrder::Deterministic,
        undefined: false,
        max_depth: 16,
        max_items: usize::MAX,
        max_len: usize::MAX,
    };

    /// The same with another float rule.
    #[must_use]
    pub const fn floats(mut self, floats: Floats) -> Self {
        self.floats = floats;
        self
    }

    /// The same with another tag rule.
    #[must_use]
    pub const fn tags(mut self, tags: Tags) -> Self {
        self.tags = tags;
        self
    }

    /// The same with another key-order rule.
    #[must_use]
    pub const fn key_order(mut self, key_order: KeyOrder) -> Self {
        self.key_order = key_order;
        self
    }

    /// The same, accepting `undefined` or not.
    #[must_use]
    pub const fn undefined(mut self, allowed: bool) -> Self {
        self.undefined = allowed;
        self
    }

    /// The same with another depth limit.
    #[must_use]
    pub const fn max_depth(mut self, max_depth: usize) -> Self {
        self.max_depth = max_depth;
        self
    }

    /// The same with another count limit.
    #[must_use]
    pub const fn max_items(mut self, max_items: usize) -> Self {
        self.max_items = max_items;
        self
    }

    /// The same with another string length limit.
    #[must_use]
    pub const fn max_len(mut self, max_len: usize) -> Self {
        self.max_len = max_len;
        self
    }
}
