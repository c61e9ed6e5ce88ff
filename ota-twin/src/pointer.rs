//! JSON Pointer (RFC 6901).

use core::fmt;

use serde_json::Value;

use crate::error::{Error, Result};

/// A parsed JSON Pointer: a list of unescaped reference tokens. The empty list is the whole document.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pointer {
    tokens: Vec<String>,
}

impl Pointer {
    /// The pointer to the whole document (`""`).
    pub fn root() -> Self {
        Pointer { tokens: Vec::new() }
    }

    /// Parses the RFC 6901 string form (`/a/b~1c/0`).
    ///
    /// # Errors
    /// [`Error::InvalidPointer`] when the text does not start with `/` (and is not empty) or
    /// holds a `~` not followed by `0` or `1`.
    pub fn parse(text: &str) -> Result<Self> {
        if text.is_empty() {
            return Ok(Self::root());
        }
        let Some(rest) = text.strip_prefix('/') else {
            return Err(Error::InvalidPointer {
                pointer: text.to_owned(),
                reason: "a non-empty pointer must start with '/'",
            });
        };
        let mut tokens = Vec::new();
        for raw in rest.split('/') {
            tokens.push(unescape(raw).ok_or_else(|| Error::InvalidPointer {
                pointer: text.to_owned(),
                reason: "'~' must be followed by '0' or '1'",
            })?);
        }
        Ok(Pointer { tokens })
    }

    /// Builds a pointer from unescaped tokens.
    pub fn from_tokens<I, S>(tokens: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Pointer {
            tokens: tokens.into_iter().map(Into::into).collect(),
        }
    }

    /// The unescaped reference tokens.
    pub fn tokens(&self) -> &[String] {
        &self.tokens
    }

    /// True for the whole-document pointer.
    pub fn is_root(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Appends one unescaped token.
    pub fn push(&mut self, token: impl Into<String>) {
        self.tokens.push(token.into());
    }

    /// Removes and returns the last token.
    pub fn pop(&mut self) -> Option<String> {
        self.tokens.pop()
    }

    /// The parent pointer and the last token, or `None` for the root.
    pub fn split_last(&self) -> Option<(&[String], &str)> {
        self.tokens
            .split_last()
            .map(|(last, parent)| (parent, last.as_str()))
    }

    /// True when `self` is a proper prefix of `other` (`/a` of `/a/b`, not of `/a`).
    pub fn is_proper_prefix_of(&self, other: &Pointer) -> bool {
        self.tokens.len() < other.tokens.len() && other.tokens.starts_with(&self.tokens)
    }

    /// Length in bytes of the escaped string form, without building it.
    pub fn escaped_len(&self) -> usize {
        self.tokens
            .iter()
            .map(|t| 1 + t.len() + t.bytes().filter(|b| *b == b'~' || *b == b'/').count())
            .sum()
    }

    /// Resolves the pointer in `doc` (read only).
    pub fn get<'a>(&self, doc: &'a Value) -> Option<&'a Value> {
        let mut cur = doc;
        for t in &self.tokens {
            cur = match cur {
                Value::Object(m) => m.get(t)?,
                Value::Array(a) => a.get(parse_index(t)?)?,
                _ => return None,
            };
        }
        Some(cur)
    }
}

/// Parses an RFC 6901 array index: `0` or `[1-9][0-9]*`, nothing else (no sign, no exponent).
pub(crate) fn parse_index(token: &str) -> Option<usize> {
    let b = token.as_bytes();
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) || (b.len() > 1 && b[0] == b'0') {
        return None;
    }
    token.parse().ok()
}

fn unescape(raw: &str) -> Option<String> {
    if !raw.contains('~') {
        return Some(raw.to_owned());
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '~' {
            match chars.next() {
                Some('0') => out.push('~'),
                Some('1') => out.push('/'),
                _ => return None,
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

pub(crate) fn write_escaped(out: &mut String, token: &str) {
    out.push('/');
    for c in token.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            c => out.push(c),
        }
    }
}

/// Formats tokens as a pointer string.
pub(crate) fn format_tokens(tokens: &[String]) -> String {
    let mut s = String::new();
    for t in tokens {
        write_escaped(&mut s, t);
    }
    s
}

impl fmt::Display for Pointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_tokens(&self.tokens))
    }
}

impl core::str::FromStr for Pointer {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Pointer::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// RFC 6901 section 5: every pointer of the example resolves to the documented value.
    #[test]
    fn rfc6901_section5() {
        let doc = json!({
            "foo": ["bar", "baz"], "": 0, "a/b": 1, "c%d": 2, "e^f": 3,
            "g|h": 4, "i\\j": 5, "k\"l": 6, " ": 7, "m~n": 8
        });
        let cases: &[(&str, Value)] = &[
            ("", doc.clone()),
            ("/foo", json!(["bar", "baz"])),
            ("/foo/0", json!("bar")),
            ("/", json!(0)),
            ("/a~1b", json!(1)),
            ("/c%d", json!(2)),
            ("/e^f", json!(3)),
            ("/g|h", json!(4)),
            ("/i\\j", json!(5)),
            ("/k\"l", json!(6)),
            ("/ ", json!(7)),
            ("/m~0n", json!(8)),
        ];
        for (p, want) in cases {
            let ptr = Pointer::parse(p).unwrap();
            assert_eq!(ptr.get(&doc), Some(want), "{p}");
            assert_eq!(ptr.to_string(), *p);
            assert_eq!(ptr.escaped_len(), p.len());
        }
    }

    #[test]
    fn rejects_bad_pointers_and_indices() {
        assert!(Pointer::parse("foo").is_err());
        assert!(Pointer::parse("/a~2").is_err());
        assert!(Pointer::parse("/a~").is_err());
        assert_eq!(parse_index("01"), None);
        assert_eq!(parse_index("-1"), None);
        assert_eq!(parse_index("1e0"), None);
        assert_eq!(parse_index("+1"), None);
        assert_eq!(parse_index("99999999999999999999999"), None);
        assert_eq!(parse_index("10"), Some(10));
        assert_eq!(parse_index("0"), Some(0));
    }
}
