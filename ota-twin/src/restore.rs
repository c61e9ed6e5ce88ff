//! Restoring a twin onto replacement hardware.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::diff::diff;
use crate::error::{Error, Result};
use crate::merge::apply_merge_patch;
use crate::metadata::Metadata;
use crate::patch::Patch;
use crate::pointer::Pointer;
use crate::twin::Twin;

/// The result of [`Twin::restore_onto`].
#[derive(Debug, Clone, PartialEq)]
pub struct Restore {
    /// The desired state minus the hardware-bound members.
    pub snapshot: Map<String, Value>,
    /// The twin of the replacement device: `desired` = the snapshot (with its timestamps),
    /// `reported` = what the fresh device reported, version above the old twin's.
    pub twin: Twin,
    /// The JSON Patch that turns the fresh device's reported state into one with no delta
    /// against the snapshot; the device applies it and reports the result. Members the snapshot
    /// does not name (hardware-bound ones, members only the device has) are not touched.
    pub patch: Patch,
}

impl Twin {
    /// Restores this twin's configuration onto a replacement device.
    ///
    /// `hardware_bound` are pointers into `desired` (`/serial`, `/sensor/calibration`) that
    /// belong to the old hardware and must not be carried over. `fresh_reported` is what the
    /// new device reported on first contact; `timestamp` stamps its metadata.
    ///
    /// The new twin's version is this twin's version + 1, so versions keep increasing across
    /// the hardware swap (a stale update naming an old version is still a conflict).
    ///
    /// # Errors
    /// [`Error::InvalidUpdate`] for a root pointer, [`Error::VersionOverflow`], and the
    /// limit errors of [`Limits::check_state`](crate::Limits::check_state) for the new twin.
    pub fn restore_onto(
        &self,
        hardware_bound: &[Pointer],
        fresh_reported: &Map<String, Value>,
        timestamp: u64,
    ) -> Result<Restore> {
        let mut snapshot = self.desired.clone().unwrap_or_default();
        let mut meta = self.meta_desired.clone();
        for p in hardware_bound {
            let Some((parent, last)) = p.split_last() else {
                return Err(Error::InvalidUpdate {
                    pointer: String::new(),
                    reason: "a hardware-bound pointer cannot be the whole state",
                });
            };
            remove_at(&mut snapshot, &mut meta, parent, last);
        }
        let version = self.version.checked_add(1).ok_or(Error::VersionOverflow)?;
        // Where the device must end up: its own report, overridden by the snapshot.
        let from = Value::Object(fresh_reported.clone());
        let mut target = from.clone();
        apply_merge_patch(&mut target, &Value::Object(snapshot.clone()));
        let patch = diff(&from, &target);

        let mut twin = Twin::new(self.limits.clone());
        twin.desired = Some(snapshot.clone());
        twin.meta_desired = meta;
        twin.reported = Some(fresh_reported.clone());
        twin.meta_reported = Metadata::stamped_map(fresh_reported, timestamp);
        twin.version = version;
        twin.timestamp = timestamp;
        twin.limits
            .check_state(twin.desired.as_ref(), twin.reported.as_ref())?;
        Ok(Restore {
            snapshot,
            twin,
            patch,
        })
    }
}

/// Removes the member at `parent/last` (objects only: hardware-bound keys are object members)
/// from the state and its metadata; a pointer that names nothing is ignored.
fn remove_at(
    state: &mut Map<String, Value>,
    meta: &mut BTreeMap<String, Metadata>,
    parent: &[String],
    last: &str,
) {
    let mut s = state;
    let mut m = meta;
    for t in parent {
        let (Some(Value::Object(ns)), Some(Metadata::Node(nm))) = (s.get_mut(t), m.get_mut(t))
        else {
            return;
        };
        s = ns;
        m = nm;
    }
    s.remove(last);
    m.remove(last);
}
