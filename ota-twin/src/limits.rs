//! Size and shape limits, as selectable profiles.

use serde_json::{Map, Value};

use crate::error::{Error, Limit, Result};
use crate::pointer::Pointer;
use crate::size::value_len_capped;

/// Rules for object keys.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRules {
    /// Any string is a key.
    Any,
    /// Azure IoT Hub device twin rules: no control characters (C0 and C1), no `.`, `$` or space.
    Azure,
}

/// Limits on twin state. Pick a profile ([`Limits::aws`], [`Limits::azure`]) or start from
/// [`Limits::custom`] and change fields.
///
/// Sizes are bytes of compact JSON (no whitespace), metadata excluded, as AWS counts them.
/// Depth counts container levels inside a section: `{"a": 1}` is depth 1,
/// `{"a": {"b": 1}}` depth 2, `{"a": [1]}` depth 2.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Most bytes of `desired` and `reported` together.
    pub state_bytes: Option<usize>,
    /// Most bytes of each section.
    pub section_bytes: Option<usize>,
    /// Deepest nesting inside a section.
    pub max_depth: usize,
    /// Key rules.
    pub key_rules: KeyRules,
    /// Longest key, in bytes.
    pub key_bytes: Option<usize>,
    /// Longest string value, in bytes.
    pub string_bytes: Option<usize>,
    /// Longest client token, in bytes.
    pub client_token_bytes: usize,
    /// Largest encoded document, update or patch handed to a decoder.
    pub input_bytes: usize,
    /// Most operations in one JSON Patch handed to a decoder.
    pub patch_operations: usize,
    /// Most compact JSON bytes that the `copy` operations of one JSON Patch may add to a
    /// document, checked before each copy allocates. A copy is the one operation whose cost is
    /// not bounded by the patch's own size: each copy of the root into itself doubles the
    /// document, so 40 copies in 1.4 KB would ask for 2^40 values. `add`, `replace` and `move`
    /// values come from the patch or the document and are not counted.
    pub patch_copy_bytes: usize,
}

impl Limits {
    /// AWS IoT Device Shadow: 8 KB for desired + reported, 6 levels, 64-byte client token,
    /// 128 KB request payload.
    pub fn aws() -> Self {
        Limits {
            state_bytes: Some(8 * 1024),
            section_bytes: None,
            max_depth: 6,
            key_rules: KeyRules::Any,
            key_bytes: None,
            string_bytes: None,
            client_token_bytes: 64,
            input_bytes: 128 * 1024,
            patch_operations: 1024,
            patch_copy_bytes: 128 * 1024,
        }
    }

    /// Azure IoT Hub device twin: 32 KB per section, 10 levels, keys up to 1 KB without control
    /// characters, `.`, `$` or space, string values up to 4 KB.
    pub fn azure() -> Self {
        Limits {
            state_bytes: None,
            section_bytes: Some(32 * 1024),
            max_depth: 10,
            key_rules: KeyRules::Azure,
            key_bytes: Some(1024),
            string_bytes: Some(4 * 1024),
            client_token_bytes: 128,
            input_bytes: 256 * 1024,
            patch_operations: 1024,
            patch_copy_bytes: 256 * 1024,
        }
    }

    /// A starting point for custom limits: 1 MiB per section, 32 levels, 16 MiB inputs, 1 MiB
    /// added by a patch's copies (the limit [`apply_patch`](crate::apply_patch) uses). The
    /// limits are never off: every size a remote party controls stays bounded.
    pub fn custom() -> Self {
        Limits {
            state_bytes: None,
            section_bytes: Some(1024 * 1024),
            max_depth: 32,
            key_rules: KeyRules::Any,
            key_bytes: None,
            string_bytes: None,
            client_token_bytes: 256,
            input_bytes: 16 * 1024 * 1024,
            patch_operations: 1 << 20,
            patch_copy_bytes: 1024 * 1024,
        }
    }

    /// Refuses input larger than [`Limits::input_bytes`].
    ///
    /// # Errors
    /// [`Error::LimitExceeded`] with [`Limit::InputBytes`].
    pub fn check_input(&self, len: usize) -> Result<()> {
        if len > self.input_bytes {
            return Err(Error::LimitExceeded {
                limit: Limit::InputBytes,
                pointer: String::new(),
                actual: len,
                max: self.input_bytes,
            });
        }
        Ok(())
    }

    /// Checks a client token.
    ///
    /// # Errors
    /// [`Error::LimitExceeded`] with [`Limit::ClientTokenBytes`].
    pub fn check_client_token(&self, token: &str) -> Result<()> {
        if token.len() > self.client_token_bytes {
            return Err(Error::LimitExceeded {
                limit: Limit::ClientTokenBytes,
                pointer: "/clientToken".into(),
                actual: token.len(),
                max: self.client_token_bytes,
            });
        }
        Ok(())
    }

    /// Checks the two sections of a twin against every limit of the profile.
    ///
    /// # Errors
    /// [`Error::LimitExceeded`] naming the limit and where, or [`Error::InvalidKey`].
    pub fn check_state(
        &self,
        desired: Option<&Map<String, Value>>,
        reported: Option<&Map<String, Value>>,
    ) -> Result<()> {
        let mut total = 0usize;
        for (name, section) in [("desired", desired), ("reported", reported)] {
            let Some(m) = section else { continue };
            let mut path = Pointer::root();
            path.push(name);
            self.check_tree(m, &mut path, 1)?;
            let cap = [
                self.section_bytes,
                self.state_bytes.map(|s| s - total.min(s)),
            ]
            .into_iter()
            .flatten()
            .min();
            let len = object_len(m, cap)?;
            if let Some(max) = self.section_bytes
                && len > max
            {
                return Err(over(Limit::SectionBytes, name, len, max));
            }
            total += len;
            if let Some(max) = self.state_bytes
                && total > max
            {
                return Err(over(Limit::StateBytes, "desired+reported", total, max));
            }
        }
        Ok(())
    }

    fn check_tree(&self, m: &Map<String, Value>, path: &mut Pointer, depth: usize) -> Result<()> {
        if depth > self.max_depth {
            return Err(Error::LimitExceeded {
                limit: Limit::Depth,
                pointer: path.to_string(),
                actual: depth,
                max: self.max_depth,
            });
        }
        for (k, v) in m {
            path.push(k.clone());
            self.check_key(k, path)?;
            self.check_value(v, path, depth)?;
            path.pop();
        }
        Ok(())
    }

    fn check_value(&self, v: &Value, path: &mut Pointer, depth: usize) -> Result<()> {
        match v {
            Value::Object(m) => self.check_tree(m, path, depth + 1),
            Value::Array(a) => {
                if depth + 1 > self.max_depth {
                    return Err(Error::LimitExceeded {
                        limit: Limit::Depth,
                        pointer: path.to_string(),
                        actual: depth + 1,
                        max: self.max_depth,
                    });
                }
                for (i, e) in a.iter().enumerate() {
                    path.push(i.to_string());
                    self.check_value(e, path, depth + 1)?;
                    path.pop();
                }
                Ok(())
            }
            Value::String(s) => match self.string_bytes {
                Some(max) if s.len() > max => Err(Error::LimitExceeded {
                    limit: Limit::StringBytes,
                    pointer: path.to_string(),
                    actual: s.len(),
                    max,
                }),
                _ => Ok(()),
            },
            _ => Ok(()),
        }
    }

    fn check_key(&self, k: &str, path: &Pointer) -> Result<()> {
        if let Some(max) = self.key_bytes
            && k.len() > max
        {
            return Err(Error::LimitExceeded {
                limit: Limit::KeyBytes,
                pointer: path.to_string(),
                actual: k.len(),
                max,
            });
        }
        if self.key_rules == KeyRules::Azure {
            let bad = |reason| Error::InvalidKey {
                pointer: path.to_string(),
                reason,
            };
            if k.is_empty() {
                return Err(bad("empty key"));
            }
            for c in k.chars() {
                if c.is_control() {
                    return Err(bad("control character (C0/C1) in key"));
                }
                if matches!(c, '.' | '$' | ' ') {
                    return Err(bad("'.', '$' or space in key"));
                }
            }
        }
        Ok(())
    }
}

fn over(limit: Limit, pointer: &str, actual: usize, max: usize) -> Error {
    Error::LimitExceeded {
        limit,
        pointer: pointer.into(),
        actual,
        max,
    }
}

/// Compact JSON length of an object; with a cap, counting stops just past it (the returned
/// length is then a lower bound above the cap).
fn object_len(m: &Map<String, Value>, cap: Option<usize>) -> Result<usize> {
    Ok(match cap {
        Some(c) => value_len_capped(m, c).unwrap_or(c.saturating_add(1)),
        None => crate::size::value_len(m),
    })
}
