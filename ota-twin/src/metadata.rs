//! Per-leaf metadata of a twin section: the time each leaf was last written, and its AWS JSON form.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::pointer::Pointer;

/// Per-leaf metadata: the time each leaf was last written, mirroring the shape of its section.
/// Objects are nodes; every other value (arrays included: they are replaced whole) is a leaf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Metadata {
    /// A leaf's last-updated timestamp (caller-supplied units, e.g. Unix seconds).
    Leaf(u64),
    /// An object's members.
    Node(BTreeMap<String, Metadata>),
}

impl Metadata {
    /// Metadata for `v` with every leaf at `ts`.
    pub(crate) fn stamped(v: &Value, ts: u64) -> Metadata {
        match v {
            Value::Object(m) => Metadata::Node(
                m.iter()
                    .map(|(k, e)| (k.clone(), Metadata::stamped(e, ts)))
                    .collect(),
            ),
            _ => Metadata::Leaf(ts),
        }
    }

    pub(crate) fn stamped_map(m: &Map<String, Value>, ts: u64) -> BTreeMap<String, Metadata> {
        m.iter()
            .map(|(k, e)| (k.clone(), Metadata::stamped(e, ts)))
            .collect()
    }

    /// The AWS JSON form: `{"timestamp": n}` for a leaf, an object of members for a node.
    pub fn to_value(&self) -> Value {
        match self {
            Metadata::Leaf(t) => {
                let mut m = Map::new();
                m.insert("timestamp".into(), Value::from(*t));
                Value::Object(m)
            }
            Metadata::Node(n) => {
                Value::Object(n.iter().map(|(k, e)| (k.clone(), e.to_value())).collect())
            }
        }
    }

    pub(crate) fn map_to_value(m: &BTreeMap<String, Metadata>) -> Value {
        Value::Object(m.iter().map(|(k, e)| (k.clone(), e.to_value())).collect())
    }

    /// Reads metadata for `state` from its AWS JSON form, requiring the exact shape of `state`.
    pub(crate) fn from_value_for(meta: &Value, state: &Value, path: &mut Pointer) -> Result<Self> {
        let bad = |path: &Pointer, reason| Error::InvalidDocument {
            pointer: path.to_string(),
            reason,
        };
        let m = meta
            .as_object()
            .ok_or_else(|| bad(path, "metadata must be an object"))?;
        match state {
            Value::Object(s) => Ok(Metadata::Node(Self::map_from_value_for(m, s, path)?)),
            _ => {
                let t = m
                    .get("timestamp")
                    .and_then(Value::as_u64)
                    .filter(|_| m.len() == 1)
                    .ok_or_else(|| bad(path, "leaf metadata must be {\"timestamp\": <u64>}"))?;
                Ok(Metadata::Leaf(t))
            }
        }
    }

    pub(crate) fn map_from_value_for(
        meta: &Map<String, Value>,
        state: &Map<String, Value>,
        path: &mut Pointer,
    ) -> Result<BTreeMap<String, Metadata>> {
        if meta.len() != state.len() {
            return Err(Error::InvalidDocument {
                pointer: path.to_string(),
                reason: "metadata members do not match the state",
            });
        }
        let mut out = BTreeMap::new();
        for (k, v) in state {
            path.push(k.clone());
            let mv = meta.get(k).ok_or_else(|| Error::InvalidDocument {
                pointer: path.to_string(),
                reason: "state member without metadata",
            })?;
            out.insert(k.clone(), Metadata::from_value_for(mv, v, path)?);
            path.pop();
        }
        Ok(out)
    }

    /// True when the metadata has exactly the shape of `state`.
    pub(crate) fn matches(&self, state: &Value) -> bool {
        match (self, state) {
            (Metadata::Node(n), Value::Object(s)) => map_matches(n, s),
            (Metadata::Leaf(_), v) => !v.is_object(),
            _ => false,
        }
    }
}

pub(crate) fn map_matches(n: &BTreeMap<String, Metadata>, s: &Map<String, Value>) -> bool {
    n.len() == s.len()
        && s.iter()
            .all(|(k, v)| n.get(k).is_some_and(|m| m.matches(v)))
}
