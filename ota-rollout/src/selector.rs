//! The eligibility selector language: which devices may get a release at all.

use std::collections::{BTreeMap, BTreeSet};

use semver::{Version, VersionReq};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::limits::Limits;

/// Device attributes: hardware revision, region, firmware version, ...
pub type Attributes = BTreeMap<String, String>;

/// An eligibility rule over device attributes: which devices may get a release at all.
///
/// A [`Selector`] is a small tree over device attributes (string key/value pairs). In JSON:
///
/// ```json
/// {"all": [
///   {"equals": {"attr": "model", "value": "gw-200"}},
///   {"in": {"attr": "region", "values": ["eu", "us"]}},
///   {"version": {"attr": "firmware", "req": ">=2.1.0, <3"}},
///   {"not": {"exists": {"attr": "lab"}}}
/// ]}
/// ```
///
/// `all: []` is true and `any: []` is false. A device that does not match gets an
/// [`Ineligible`] naming the first failing node (as a path such as `/all/2/version`) and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum Selector {
    /// The attribute is present and equal to `value`.
    Equals {
        /// Attribute name.
        attr: String,
        /// Required value.
        value: String,
    },
    /// The attribute is present and one of `values`.
    In {
        /// Attribute name.
        attr: String,
        /// Allowed values.
        values: BTreeSet<String>,
    },
    /// The attribute is a semantic version matching `req` (semver crate syntax, e.g. `>=1.2, <2`).
    Version {
        /// Attribute name.
        attr: String,
        /// The version requirement.
        req: VersionReq,
    },
    /// The attribute is present (any value).
    Exists {
        /// Attribute name.
        attr: String,
    },
    /// Every sub-selector matches (true when empty).
    All(Vec<Selector>),
    /// At least one sub-selector matches (false when empty).
    Any(Vec<Selector>),
    /// The sub-selector does not match.
    Not(Box<Selector>),
}

/// Why a device is not eligible: the first failing node and what it found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ineligible {
    /// Path of the failing node, e.g. `/all/1/in`.
    pub path: String,
    /// What did not match.
    pub mismatch: Mismatch,
}

/// What a failing selector node found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Mismatch {
    /// The attribute is missing.
    Missing {
        /// Attribute name.
        attr: String,
    },
    /// The attribute has another value.
    NotEqual {
        /// Attribute name.
        attr: String,
        /// Value required.
        expected: String,
        /// Value found.
        actual: String,
    },
    /// The attribute's value is not in the set.
    NotInSet {
        /// Attribute name.
        attr: String,
        /// Value found.
        actual: String,
    },
    /// The attribute is not a semantic version.
    NotAVersion {
        /// Attribute name.
        attr: String,
        /// Value found.
        actual: String,
    },
    /// The version is outside the range.
    VersionOutOfRange {
        /// Attribute name.
        attr: String,
        /// Version found.
        actual: String,
        /// The requirement.
        req: String,
    },
    /// A `not` whose inner selector matched.
    NegationMatched,
    /// An `any` of which no alternative matched; the first alternative's reason is kept.
    NoAlternative {
        /// Number of alternatives tried.
        tried: usize,
        /// Why the first alternative failed (`None` for an empty `any`).
        first: Option<Box<Ineligible>>,
    },
}

impl core::fmt::Display for Ineligible {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match &self.mismatch {
            Mismatch::Missing { attr } => write!(f, "{}: attribute {attr:?} is missing", self.path),
            Mismatch::NotEqual {
                attr,
                expected,
                actual,
            } => write!(f, "{}: {attr} is {actual:?}, not {expected:?}", self.path),
            Mismatch::NotInSet { attr, actual } => {
                write!(f, "{}: {attr} {actual:?} is not in the set", self.path)
            }
            Mismatch::NotAVersion { attr, actual } => {
                write!(
                    f,
                    "{}: {attr} {actual:?} is not a semantic version",
                    self.path
                )
            }
            Mismatch::VersionOutOfRange { attr, actual, req } => {
                write!(f, "{}: {attr} {actual} does not match {req}", self.path)
            }
            Mismatch::NegationMatched => write!(f, "{}: the negated selector matched", self.path),
            Mismatch::NoAlternative { tried, first } => match first {
                Some(first) => write!(
                    f,
                    "{}: none of {tried} alternatives matched (first: {first})",
                    self.path
                ),
                None => write!(f, "{}: empty `any` never matches", self.path),
            },
        }
    }
}

impl Selector {
    /// Decodes a selector from JSON, within `limits`.
    ///
    /// # Errors
    ///
    /// [`Error::TooLarge`], [`Error::Json`] (malformed or wrong shape, bad version requirement,
    /// or nesting beyond the JSON decoder's own limit of 128), [`Error::TooDeep`],
    /// [`Error::TooManyNodes`], [`Error::InvalidPlan`] for over-long strings.
    pub fn from_json(bytes: &[u8], limits: &Limits) -> Result<Selector> {
        if bytes.len() > limits.max_bytes {
            return Err(Error::TooLarge {
                limit: limits.max_bytes,
                actual: bytes.len(),
            });
        }
        let selector: Selector = serde_json::from_slice(bytes).map_err(|e| Error::json(&e))?;
        selector.validate(limits, "")?;
        Ok(selector)
    }

    /// Encodes the selector as JSON.
    pub fn to_json(&self) -> String {
        // Serialising these types cannot fail: every map key is a string.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Checks depth, node count and string lengths. `base` prefixes error paths.
    pub(crate) fn validate(&self, limits: &Limits, base: &str) -> Result<()> {
        let mut nodes = 0usize;
        let mut path = String::from(base);
        self.validate_at(limits, &mut path, 1, &mut nodes)
    }

    fn validate_at(
        &self,
        limits: &Limits,
        path: &mut String,
        depth: usize,
        nodes: &mut usize,
    ) -> Result<()> {
        *nodes += 1;
        if *nodes > limits.max_nodes {
            return Err(Error::TooManyNodes {
                limit: limits.max_nodes,
            });
        }
        if depth > limits.max_depth {
            return Err(Error::TooDeep {
                limit: limits.max_depth,
                path: path.clone(),
            });
        }
        let check = |s: &str, what: &str, path: &str| -> Result<()> {
            if s.len() > limits.max_string {
                Err(Error::plan(
                    format!("{path}/{what}"),
                    format!("longer than {} bytes", limits.max_string),
                ))
            } else {
                Ok(())
            }
        };
        let len = path.len();
        let result = match self {
            Selector::Equals { attr, value } => {
                path.push_str("/equals");
                check(attr, "attr", path).and_then(|()| check(value, "value", path))
            }
            Selector::In { attr, values } => {
                path.push_str("/in");
                let mut r = check(attr, "attr", path);
                for v in values {
                    r = r.and_then(|()| check(v, "values", path));
                }
                r
            }
            Selector::Version { attr, .. } => {
                path.push_str("/version");
                check(attr, "attr", path)
            }
            Selector::Exists { attr } => {
                path.push_str("/exists");
                check(attr, "attr", path)
            }
            Selector::All(items) | Selector::Any(items) => {
                path.push_str(if matches!(self, Selector::All(_)) {
                    "/all"
                } else {
                    "/any"
                });
                let mut r = Ok(());
                for (i, item) in items.iter().enumerate() {
                    let l = path.len();
                    path.push_str(&format!("/{i}"));
                    r = item.validate_at(limits, path, depth + 1, nodes);
                    path.truncate(l);
                    if r.is_err() {
                        break;
                    }
                }
                r
            }
            Selector::Not(inner) => {
                path.push_str("/not");
                inner.validate_at(limits, path, depth + 1, nodes)
            }
        };
        path.truncate(len);
        result
    }

    /// Whether a device with these attributes matches.
    pub fn matches(&self, attrs: &Attributes) -> bool {
        match self {
            Selector::Equals { attr, value } => attrs.get(attr) == Some(value),
            Selector::In { attr, values } => attrs.get(attr).is_some_and(|v| values.contains(v)),
            Selector::Version { attr, req } => attrs
                .get(attr)
                .and_then(|v| Version::parse(v).ok())
                .is_some_and(|v| req.matches(&v)),
            Selector::Exists { attr } => attrs.contains_key(attr),
            Selector::All(items) => items.iter().all(|s| s.matches(attrs)),
            Selector::Any(items) => items.iter().any(|s| s.matches(attrs)),
            Selector::Not(inner) => !inner.matches(attrs),
        }
    }

    /// `Ok(())` when the device matches, else why not.
    ///
    /// # Errors
    ///
    /// The [`Ineligible`] reason of the first failing node.
    pub fn explain(&self, attrs: &Attributes) -> core::result::Result<(), Ineligible> {
        self.explain_at(attrs, &mut String::new())
    }

    fn explain_at(
        &self,
        attrs: &Attributes,
        path: &mut String,
    ) -> core::result::Result<(), Ineligible> {
        let len = path.len();
        let fail = |path: &String, mismatch| {
            Err(Ineligible {
                path: path.clone(),
                mismatch,
            })
        };
        let result = match self {
            Selector::Equals { attr, value } => {
                path.push_str("/equals");
                match attrs.get(attr) {
                    None => fail(path, Mismatch::Missing { attr: attr.clone() }),
                    Some(v) if v == value => Ok(()),
                    Some(v) => fail(
                        path,
                        Mismatch::NotEqual {
                            attr: attr.clone(),
                            expected: value.clone(),
                            actual: v.clone(),
                        },
                    ),
                }
            }
            Selector::In { attr, values } => {
                path.push_str("/in");
                match attrs.get(attr) {
                    None => fail(path, Mismatch::Missing { attr: attr.clone() }),
                    Some(v) if values.contains(v) => Ok(()),
                    Some(v) => fail(
                        path,
                        Mismatch::NotInSet {
                            attr: attr.clone(),
                            actual: v.clone(),
                        },
                    ),
                }
            }
            Selector::Version { attr, req } => {
                path.push_str("/version");
                match attrs.get(attr) {
                    None => fail(path, Mismatch::Missing { attr: attr.clone() }),
                    Some(v) => match Version::parse(v) {
                        Err(_) => fail(
                            path,
                            Mismatch::NotAVersion {
                                attr: attr.clone(),
                                actual: v.clone(),
                            },
                        ),
                        Ok(ver) if req.matches(&ver) => Ok(()),
                        Ok(_) => fail(
                            path,
                            Mismatch::VersionOutOfRange {
                                attr: attr.clone(),
                                actual: v.clone(),
                                req: req.to_string(),
                            },
                        ),
                    },
                }
            }
            Selector::Exists { attr } => {
                path.push_str("/exists");
                if attrs.contains_key(attr) {
                    Ok(())
                } else {
                    fail(path, Mismatch::Missing { attr: attr.clone() })
                }
            }
            Selector::All(items) => {
                path.push_str("/all");
                let mut r = Ok(());
                for (i, item) in items.iter().enumerate() {
                    let l = path.len();
                    path.push_str(&format!("/{i}"));
                    r = item.explain_at(attrs, path);
                    path.truncate(l);
                    if r.is_err() {
                        break;
                    }
                }
                r
            }
            Selector::Any(items) => {
                path.push_str("/any");
                let mut first = None;
                let mut matched = false;
                for (i, item) in items.iter().enumerate() {
                    let l = path.len();
                    path.push_str(&format!("/{i}"));
                    let r = item.explain_at(attrs, path);
                    path.truncate(l);
                    match r {
                        Ok(()) => {
                            matched = true;
                            break;
                        }
                        Err(e) => {
                            if first.is_none() {
                                first = Some(Box::new(e));
                            }
                        }
                    }
                }
                if matched {
                    Ok(())
                } else {
                    fail(
                        path,
                        Mismatch::NoAlternative {
                            tried: items.len(),
                            first,
                        },
                    )
                }
            }
            Selector::Not(inner) => {
                path.push_str("/not");
                if inner.matches(attrs) {
                    fail(path, Mismatch::NegationMatched)
                } else {
                    Ok(())
                }
            }
        };
        path.truncate(len);
        result
    }
}
