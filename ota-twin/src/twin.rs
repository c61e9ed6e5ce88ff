//! The twin document: desired and reported state, metadata, version, client token; applying
//! updates; the delta and its converse views.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::metadata::Metadata;
use crate::patch::json_equal;
use crate::pointer::Pointer;
use crate::update::{SectionUpdate, Update, merged};

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
