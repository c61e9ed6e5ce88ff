//! The twin document: desired and reported state, metadata, version, client token; updates with
//! AWS IoT Device Shadow semantics; the delta and its converse views.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::patch::json_equal;
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

/// What an accepted update answers (AWS `/update/accepted`, plus the delta to publish).
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    /// The twin's version after the update.
    pub version: u64,
    /// The client token of the update, echoed.
    pub client_token: Option<String>,
    /// The delta after the update, when the update touched `desired` and a delta remains
    /// (AWS publishes `/update/delta` then).
    pub delta: Option<Map<String, Value>>,
}

/// A device twin (AWS: shadow).
#[derive(Debug, Clone, PartialEq)]
pub struct Twin {
    pub(crate) desired: Option<Map<String, Value>>,
    pub(crate) reported: Option<Map<String, Value>>,
    pub(crate) meta_desired: BTreeMap<String, Metadata>,
    pub(crate) meta_reported: BTreeMap<String, Metadata>,
    pub(crate) version: u64,
    pub(crate) timestamp: u64,
    pub(crate) client_token: Option<String>,
    pub(crate) limits: Limits,
}

impl Twin {
    /// An empty twin at version 0 under the given limits.
    pub fn new(limits: Limits) -> Self {
        Twin {
            desired: None,
            reported: None,
            meta_desired: BTreeMap::new(),
            meta_reported: BTreeMap::new(),
            version: 0,
            timestamp: 0,
            client_token: None,
            limits,
        }
    }

    /// The version: 0 for a new twin, +1 for every accepted update.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Timestamp of the last accepted update.
    pub fn timestamp(&self) -> u64 {
        self.timestamp
    }

    /// The desired section, if any.
    pub fn desired(&self) -> Option<&Map<String, Value>> {
        self.desired.as_ref()
    }

    /// The reported section, if any.
    pub fn reported(&self) -> Option<&Map<String, Value>> {
        self.reported.as_ref()
    }

    /// The client token of the last accepted update that carried one.
    pub fn client_token(&self) -> Option<&str> {
        self.client_token.as_deref()
    }

    /// The limits this twin enforces.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Metadata of the desired section.
    pub fn desired_metadata(&self) -> &BTreeMap<String, Metadata> {
        &self.meta_desired
    }

    /// Metadata of the reported section.
    pub fn reported_metadata(&self) -> &BTreeMap<String, Metadata> {
        &self.meta_reported
    }

    /// The last-updated timestamp of the leaf at `pointer` (`/desired/...` or `/reported/...`).
    pub fn timestamp_of(&self, pointer: &Pointer) -> Option<u64> {
        let (first, rest) = pointer.tokens().split_first()?;
        let mut cur = match first.as_str() {
            "desired" => &self.meta_desired,
            "reported" => &self.meta_reported,
            _ => return None,
        };
        let (last, mid) = rest.split_last()?;
        for t in mid {
            match cur.get(t)? {
                Metadata::Node(n) => cur = n,
                Metadata::Leaf(_) => return None,
            }
        }
        match cur.get(last)? {
            Metadata::Leaf(t) => Some(*t),
            Metadata::Node(_) => None,
        }
    }

    /// Applies an update with AWS shadow semantics, all or nothing: partial documents deep-merge
    /// into their section, `null` members delete, a `null` section removes the section, arrays
    /// are replaced whole. Leaves written get `timestamp` in the metadata. The version goes up
    /// by one.
    ///
    /// # Errors
    /// [`Error::VersionConflict`] when `update.version` is not the current version,
    /// [`Error::LimitExceeded`] / [`Error::InvalidKey`] when the result breaks the limits,
    /// [`Error::InvalidUpdate`], [`Error::VersionOverflow`]. The twin is unchanged on error.
    pub fn apply_update(&mut self, update: &Update, timestamp: u64) -> Result<Accepted> {
        if let Some(expected) = update.version
            && expected != self.version
        {
            return Err(Error::VersionConflict {
                expected,
                current: self.version,
            });
        }
        if let Some(t) = &update.client_token {
            self.limits.check_client_token(t)?;
        }
        let version = self.version.checked_add(1).ok_or(Error::VersionOverflow)?;
        let (desired, meta_d) = merged(
            &self.limits,
            &self.desired,
            &self.meta_desired,
            &update.desired,
            timestamp,
            "/state/desired",
        )?;
        let (reported, meta_r) = merged(
            &self.limits,
            &self.reported,
            &self.meta_reported,
            &update.reported,
            timestamp,
            "/state/reported",
        )?;
        self.limits
            .check_state(desired.as_ref(), reported.as_ref())?;
        self.desired = desired;
        self.reported = reported;
        self.meta_desired = meta_d;
        self.meta_reported = meta_r;
        self.version = version;
        self.timestamp = timestamp;
        if update.client_token.is_some() {
            self.client_token.clone_from(&update.client_token);
        }
        let delta = match update.desired {
            SectionUpdate::Merge(_) => self.delta(),
            _ => None,
        };
        Ok(Accepted {
            version,
            client_token: update.client_token.clone(),
            delta,
        })
    }

    /// The delta, as AWS computes it: the members of `desired` that differ from `reported`.
    /// Members only in `reported` are left out, members only in `desired` are in, nested
    /// objects give only their differing leaves, arrays are compared whole. Numbers compare by
    /// value (`1` equals `1.0`). `None` when there is no difference (or no `desired`).
    pub fn delta(&self) -> Option<Map<String, Value>> {
        let d = delta(self.desired.as_ref()?, self.reported.as_ref());
        (!d.is_empty()).then_some(d)
    }

    /// The converse of [`Twin::delta`], for an operator: the members of `reported` that differ
    /// from `desired`, including those `desired` does not mention.
    pub fn reported_delta(&self) -> Option<Map<String, Value>> {
        let d = delta(self.reported.as_ref()?, self.desired.as_ref());
        (!d.is_empty()).then_some(d)
    }

    /// The unreported view: leaves of `desired` that the device has not reported at all (as
    /// opposed to reported with another value, which [`Twin::delta`] also shows).
    pub fn unreported(&self) -> Option<Map<String, Value>> {
        let empty = Map::new();
        let d = unreported(
            self.desired.as_ref()?,
            self.reported.as_ref().unwrap_or(&empty),
        );
        (!d.is_empty()).then_some(d)
    }
}

/// The delta of `desired` against `reported` (see [`Twin::delta`]).
pub fn delta(
    desired: &Map<String, Value>,
    reported: Option<&Map<String, Value>>,
) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, d) in desired {
        match reported.and_then(|r| r.get(k)) {
            None => {
                out.insert(k.clone(), d.clone());
            }
            Some(r) => match (d, r) {
                (Value::Object(dm), Value::Object(rm)) => {
                    let sub = delta(dm, Some(rm));
                    if !sub.is_empty() {
                        out.insert(k.clone(), Value::Object(sub));
                    }
                }
                _ if json_equal(d, r) => {}
                _ => {
                    out.insert(k.clone(), d.clone());
                }
            },
        }
    }
    out
}

fn unreported(desired: &Map<String, Value>, reported: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, d) in desired {
        match (d, reported.get(k)) {
            (_, None) => {
                out.insert(k.clone(), d.clone());
            }
            (Value::Object(dm), Some(Value::Object(rm))) => {
                let sub = unreported(dm, rm);
                if !sub.is_empty() {
                    out.insert(k.clone(), Value::Object(sub));
                }
            }
            _ => {}
        }
    }
    out
}

type Section = (Option<Map<String, Value>>, BTreeMap<String, Metadata>);

fn merged(
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
