//! The JSON form of a twin document (what AWS returns for GET, without the derived delta).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::metadata::Metadata;
use crate::pointer::Pointer;
use crate::twin::Twin;

type Section = (Map<String, Value>, BTreeMap<String, Metadata>);

impl Twin {
    /// The JSON document: `{"state": {"desired", "reported"}, "metadata": {...}, "version",
    /// "timestamp", "clientToken"}`. Absent sections are left out.
    pub fn to_value(&self) -> Value {
        let mut state = Map::new();
        let mut meta = Map::new();
        if let Some(d) = &self.desired {
            state.insert("desired".into(), Value::Object(d.clone()));
            meta.insert("desired".into(), Metadata::map_to_value(&self.meta_desired));
        }
        if let Some(r) = &self.reported {
            state.insert("reported".into(), Value::Object(r.clone()));
            meta.insert(
                "reported".into(),
                Metadata::map_to_value(&self.meta_reported),
            );
        }
        let mut m = Map::new();
        m.insert("state".into(), Value::Object(state));
        m.insert("metadata".into(), Value::Object(meta));
        m.insert("version".into(), self.version.into());
        m.insert("timestamp".into(), self.timestamp.into());
        if let Some(t) = &self.client_token {
            m.insert("clientToken".into(), t.clone().into());
        }
        Value::Object(m)
    }

    /// Compact JSON text of [`Twin::to_value`].
    pub fn to_json(&self) -> String {
        self.to_value().to_string()
    }

    /// Decodes the JSON document, refusing input over [`Limits::input_bytes`].
    ///
    /// # Errors
    /// [`Error::Json`], [`Error::InvalidDocument`], [`Error::LimitExceeded`],
    /// [`Error::InvalidKey`].
    pub fn from_json(text: &[u8], limits: Limits) -> Result<Self> {
        limits.check_input(text.len())?;
        let v: Value = serde_json::from_slice(text).map_err(|e| Error::json(&e))?;
        Self::from_value(&v, limits)
    }

    /// Reads the JSON document. Strict: unknown members are refused (a `delta` in `state` is
    /// accepted and ignored, it is derived), stored state may not hold `null`, and the metadata
    /// must have exactly the shape of the state.
    ///
    /// # Errors
    /// As [`Twin::from_json`].
    pub fn from_value(v: &Value, limits: Limits) -> Result<Self> {
        let bad = |pointer: &str, reason| Error::InvalidDocument {
            pointer: pointer.into(),
            reason,
        };
        let m = v
            .as_object()
            .ok_or_else(|| bad("", "a twin document must be a JSON object"))?;
        let mut twin = Twin::new(limits);
        let mut state = None;
        let mut meta = None;
        let mut version = None;
        for (k, e) in m {
            match k.as_str() {
                "state" => state = Some(e),
                "metadata" => meta = Some(e),
                "version" => {
                    version = Some(
                        e.as_u64()
                            .ok_or_else(|| bad("/version", "must be an unsigned integer"))?,
                    );
                }
                "timestamp" => {
                    twin.timestamp = e
                        .as_u64()
                        .ok_or_else(|| bad("/timestamp", "must be an unsigned integer"))?;
                }
                "clientToken" => {
                    let t = e
                        .as_str()
                        .ok_or_else(|| bad("/clientToken", "must be a string"))?;
                    twin.limits.check_client_token(t)?;
                    twin.client_token = Some(t.to_owned());
                }
                _ => return Err(bad("", "unknown member in twin document")),
            }
        }
        twin.version = version.ok_or_else(|| bad("/version", "missing"))?;
        let state = match state {
            Some(Value::Object(s)) => s,
            Some(_) => return Err(bad("/state", "must be an object")),
            None => return Err(bad("/state", "missing")),
        };
        let empty = Map::new();
        let meta = match meta {
            Some(Value::Object(mm)) => mm,
            Some(_) => return Err(bad("/metadata", "must be an object")),
            None => &empty,
        };
        for k in state.keys() {
            if !matches!(k.as_str(), "desired" | "reported" | "delta") {
                return Err(bad(
                    "/state",
                    "only desired, reported and delta are allowed",
                ));
            }
        }
        for k in meta.keys() {
            if !state.contains_key(k) || k == "delta" {
                return Err(bad(
                    "/metadata",
                    "metadata for a section that is not in the state",
                ));
            }
        }
        let section = |name: &str| -> Result<Option<Section>> {
            let Some(s) = state.get(name) else {
                return Ok(None);
            };
            let s = s
                .as_object()
                .ok_or_else(|| bad(&format!("/state/{name}"), "a section must be an object"))?;
            // Shape limits first: the checks below recurse.
            let mut path = Pointer::from_tokens(["state", name]);
            no_nulls(s, &mut path, 1, twin.limits.max_depth)?;
            let mm = meta
                .get(name)
                .and_then(Value::as_object)
                .ok_or_else(|| bad(&format!("/metadata/{name}"), "missing or not an object"))?;
            let mut mpath = Pointer::from_tokens(["metadata", name]);
            let md = Metadata::map_from_value_for(mm, s, &mut mpath)?;
            Ok(Some((s.clone(), md)))
        };
        if let Some((s, md)) = section("desired")? {
            twin.desired = Some(s);
            twin.meta_desired = md;
        }
        if let Some((s, md)) = section("reported")? {
            twin.reported = Some(s);
            twin.meta_reported = md;
        }
        twin.limits
            .check_state(twin.desired.as_ref(), twin.reported.as_ref())?;
        Ok(twin)
    }
}

/// Stored state never holds `null` (it means delete); also bounds the depth before recursing.
pub(crate) fn no_nulls(
    m: &Map<String, Value>,
    path: &mut Pointer,
    depth: usize,
    max: usize,
) -> Result<()> {
    if depth > max {
        return Err(Error::LimitExceeded {
            limit: crate::error::Limit::Depth,
            pointer: path.to_string(),
            actual: depth,
            max,
        });
    }
    for (k, v) in m {
        path.push(k.clone());
        no_null_value(v, path, depth, max)?;
        path.pop();
    }
    Ok(())
}

fn no_null_value(v: &Value, path: &mut Pointer, depth: usize, max: usize) -> Result<()> {
    match v {
        Value::Null => Err(Error::InvalidDocument {
            pointer: path.to_string(),
            reason: "stored state may not hold null",
        }),
        Value::Object(o) => no_nulls(o, path, depth + 1, max),
        Value::Array(a) => {
            if depth + 1 > max {
                return Err(Error::LimitExceeded {
                    limit: crate::error::Limit::Depth,
                    pointer: path.to_string(),
                    actual: depth + 1,
                    max,
                });
            }
            for (i, e) in a.iter().enumerate() {
                path.push(i.to_string());
                no_null_value(e, path, depth + 1, max)?;
                path.pop();
            }
            Ok(())
        }
        _ => Ok(()),
    }
}
