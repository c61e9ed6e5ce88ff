//! Update requests with AWS IoT Device Shadow semantics: their JSON form, their checks, and how
//! a section update merges into a section and its metadata.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::metadata::Metadata;
use crate::pointer::Pointer;

/// What an update does to one section.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum SectionUpdate {
    /// The update does not name the section.
    #[default]
    Unchanged,
    /// `null`: the section is removed.
    Remove,
    /// A partial document deep-merged into the section (`null` members delete).
    Merge(Map<String, Value>),
}

/// An update request, as AWS IoT Device Shadow takes it:
/// `{"state": {"desired": {...}, "reported": {...}}, "version": n, "clientToken": "..."}`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Update {
    /// Change to `desired`.
    pub desired: SectionUpdate,
    /// Change to `reported`.
    pub reported: SectionUpdate,
    /// The version the sender expects the twin to be at; a mismatch is a conflict.
    pub version: Option<u64>,
    /// Echoed in the outcome so a client can match responses with requests.
    pub client_token: Option<String>,
}

impl Update {
    /// An update that merges `partial` into `desired`.
    pub fn desired(partial: Value) -> Result<Self> {
        Ok(Update {
            desired: section_from(&partial, "/state/desired")?,
            ..Update::default()
        })
    }

    /// An update that merges `partial` into `reported`.
    pub fn reported(partial: Value) -> Result<Self> {
        Ok(Update {
            reported: section_from(&partial, "/state/reported")?,
            ..Update::default()
        })
    }

    /// Sets the expected version.
    pub fn expect_version(mut self, version: u64) -> Self {
        self.version = Some(version);
        self
    }

    /// Sets the client token.
    pub fn with_client_token(mut self, token: impl Into<String>) -> Self {
        self.client_token = Some(token.into());
        self
    }

    /// Parses the AWS JSON request form, refusing input over [`Limits::input_bytes`].
    ///
    /// # Errors
    /// [`Error::Json`], [`Error::InvalidUpdate`], [`Error::LimitExceeded`].
    pub fn from_json(text: &[u8], limits: &Limits) -> Result<Self> {
        limits.check_input(text.len())?;
        let v: Value = serde_json::from_slice(text).map_err(|e| Error::json(&e))?;
        Self::from_value(&v)
    }

    /// Reads the AWS JSON request form. Unknown members are refused (`delta` and `metadata`
    /// are not writable).
    ///
    /// # Errors
    /// [`Error::InvalidUpdate`] naming the offending member.
    pub fn from_value(v: &Value) -> Result<Self> {
        let bad = |pointer: &str, reason| Error::InvalidUpdate {
            pointer: pointer.into(),
            reason,
        };
        let m = v
            .as_object()
            .ok_or_else(|| bad("", "an update must be a JSON object"))?;
        let mut u = Update::default();
        for (k, e) in m {
            match k.as_str() {
                "state" => {
                    let s = e
                        .as_object()
                        .ok_or_else(|| bad("/state", "`state` must be an object"))?;
                    for (sk, se) in s {
                        match sk.as_str() {
                            "desired" => u.desired = section_from(se, "/state/desired")?,
                            "reported" => u.reported = section_from(se, "/state/reported")?,
                            _ => {
                                return Err(bad(
                                    "/state",
                                    "only `desired` and `reported` can be updated",
                                ));
                            }
                        }
                    }
                }
                "version" => {
                    u.version =
                        Some(e.as_u64().ok_or_else(|| {
                            bad("/version", "`version` must be an unsigned integer")
                        })?);
                }
                "clientToken" => {
                    u.client_token = Some(
                        e.as_str()
                            .ok_or_else(|| bad("/clientToken", "`clientToken` must be a string"))?
                            .to_owned(),
                    );
                }
                _ => return Err(bad("", "unknown member in update")),
            }
        }
        Ok(u)
    }

    /// The AWS JSON request form.
    pub fn to_value(&self) -> Value {
        let mut state = Map::new();
        for (name, s) in [("desired", &self.desired), ("reported", &self.reported)] {
            match s {
                SectionUpdate::Unchanged => {}
                SectionUpdate::Remove => {
                    state.insert(name.into(), Value::Null);
                }
                SectionUpdate::Merge(m) => {
                    state.insert(name.into(), Value::Object(m.clone()));
                }
            }
        }
        let mut m = Map::new();
        m.insert("state".into(), Value::Object(state));
        if let Some(v) = self.version {
            m.insert("version".into(), v.into());
        }
        if let Some(t) = &self.client_token {
            m.insert("clientToken".into(), t.clone().into());
        }
        Value::Object(m)
    }
}

fn section_from(v: &Value, pointer: &str) -> Result<SectionUpdate> {
    match v {
        Value::Null => Ok(SectionUpdate::Remove),
        Value::Object(m) => {
            let mut path = Pointer::parse(pointer)?;
            // Parsed JSON is at most 128 deep (serde_json's recursion limit).
            check_update_values(m, &mut path, 1, usize::MAX)?;
            Ok(SectionUpdate::Merge(m.clone()))
        }
        _ => Err(Error::InvalidUpdate {
            pointer: pointer.into(),
            reason: "a section must be an object or null",
        }),
    }
}

/// Arrays are stored whole and may not hold `null` (at any depth inside them). Nesting past
/// `max_depth` is refused before anything recurses further.
fn check_update_values(
    m: &Map<String, Value>,
    path: &mut Pointer,
    depth: usize,
    max_depth: usize,
) -> Result<()> {
    if depth > max_depth {
        return Err(Error::LimitExceeded {
            limit: crate::error::Limit::Depth,
            pointer: path.to_string(),
            actual: depth,
            max: max_depth,
        });
    }
    for (k, v) in m {
        path.push(k.clone());
        match v {
            Value::Object(o) => check_update_values(o, path, depth + 1, max_depth)?,
            Value::Array(_) => check_no_null(v, path, depth + 1, max_depth)?,
            _ => {}
        }
        path.pop();
    }
    Ok(())
}

fn check_no_null(v: &Value, path: &mut Pointer, depth: usize, max_depth: usize) -> Result<()> {
    if depth > max_depth {
        return Err(Error::LimitExceeded {
            limit: crate::error::Limit::Depth,
            pointer: path.to_string(),
            actual: depth,
            max: max_depth,
        });
    }
    let each = |token: String, e: &Value, path: &mut Pointer| -> Result<()> {
        path.push(token);
        match e {
            Value::Null => {
                return Err(Error::InvalidUpdate {
                    pointer: path.to_string(),
                    reason: "arrays may not contain null",
                });
            }
            Value::Array(_) | Value::Object(_) => check_no_null(e, path, depth + 1, max_depth)?,
            _ => {}
        }
        path.pop();
        Ok(())
    };
    match v {
        Value::Array(a) => {
            for (i, e) in a.iter().enumerate() {
                each(i.to_string(), e, path)?;
            }
        }
        Value::Object(o) => {
            for (k, e) in o {
                each(k.clone(), e, path)?;
            }
        }
        _ => {}
    }
    Ok(())
}

type Section = (Option<Map<String, Value>>, BTreeMap<String, Metadata>);

pub(crate) fn merged(
    limits: &Limits,
    state: &Option<Map<String, Value>>,
    meta: &BTreeMap<String, Metadata>,
    update: &SectionUpdate,
    ts: u64,
    pointer: &str,
) -> Result<Section> {
    match update {
        SectionUpdate::Unchanged => Ok((state.clone(), meta.clone())),
        SectionUpdate::Remove => Ok((None, BTreeMap::new())),
        SectionUpdate::Merge(patch) => {
            // Re-checked here: the fields of `Update` are public.
            let mut path = Pointer::parse(pointer)?;
            check_update_values(patch, &mut path, 1, limits.max_depth)?;
            let mut s = state.clone().unwrap_or_default();
            let mut m = meta.clone();
            merge_into(&mut s, &mut m, patch, ts);
            Ok((Some(s), m))
        }
    }
}

fn merge_into(
    target: &mut Map<String, Value>,
    meta: &mut BTreeMap<String, Metadata>,
    patch: &Map<String, Value>,
    ts: u64,
) {
    for (k, v) in patch {
        match v {
            Value::Null => {
                target.remove(k);
                meta.remove(k);
            }
            Value::Object(p) => {
                let t = target
                    .entry(k.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if !t.is_object() {
                    *t = Value::Object(Map::new());
                }
                let mm = meta
                    .entry(k.clone())
                    .or_insert_with(|| Metadata::Node(BTreeMap::new()));
                if !matches!(mm, Metadata::Node(_)) {
                    *mm = Metadata::Node(BTreeMap::new());
                }
                if let (Value::Object(tm), Metadata::Node(mn)) = (t, mm) {
                    merge_into(tm, mn, p, ts);
                }
            }
            _ => {
                target.insert(k.clone(), v.clone());
                meta.insert(k.clone(), Metadata::Leaf(ts));
            }
        }
    }
}
