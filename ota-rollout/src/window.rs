//! Install windows and device conditions: may this device start installing now?

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

const MINUTES_PER_WEEK: u64 = 7 * 24 * 60;
const SECS_PER_WEEK: u64 = MINUTES_PER_WEEK * 60;

/// Day of the week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl Weekday {
    fn index(self) -> u64 {
        self as u64
    }
}

/// A weekly maintenance window in the device's local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// Day the window opens.
    pub day: Weekday,
    /// Local minute of that day it opens (0-1439).
    pub start_minute: u16,
    /// How long it stays open, in minutes (1 to a whole week); it may run over midnight and
    /// into the next week.
    pub duration_minutes: u32,
}

/// What the device last reported about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DeviceContext {
    /// The device's offset from UTC in minutes (-840 to +840), for its windows.
    pub utc_offset_minutes: i16,
    /// On external power.
    pub charging: bool,
    /// Battery charge, percent; `None` for mains-powered devices (always enough).
    pub battery_percent: Option<u8>,
    /// On a metered network (cellular).
    pub metered: bool,
    /// Not in use.
    pub idle: bool,
    /// When the update was first offered to this device (UTC seconds), for the deferral limit.
    pub offered_at: u64,
}

/// When and under which conditions a device may install.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstallPolicy {
    /// Maintenance windows; none means any time.
    #[serde(default)]
    pub windows: Vec<Window>,
    /// Require external power.
    #[serde(default)]
    pub require_charging: bool,
    /// Require at least this battery percentage.
    #[serde(default)]
    pub min_battery_percent: Option<u8>,
    /// Require an unmetered network.
    #[serde(default)]
    pub require_unmetered: bool,
    /// Require the device to be idle.
    #[serde(default)]
    pub require_idle: bool,
    /// For a critical update: after this many seconds since it was offered, the update goes ahead
    /// outside windows and whatever the charging, network and idle state. The battery minimum
    /// still holds: installing on an empty battery risks the device.
    #[serde(default)]
    pub max_deferral_secs: Option<u64>,
}

/// Something that keeps a device from starting now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Blocker {
    /// Outside every maintenance window.
    OutsideWindow,
    /// Not charging.
    NotCharging,
    /// Battery below the minimum.
    BatteryLow {
        /// Reported charge.
        percent: u8,
        /// Required charge.
        needed: u8,
    },
    /// On a metered network.
    Metered,
    /// In use.
    Busy,
}

/// The answer of [`InstallPolicy::may_start`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MayStart {
    /// Start now.
    Yes {
        /// True when only the deferral limit allows it.
        forced: bool,
    },
    /// Not now.
    No {
        /// Everything in the way.
        blockers: Vec<Blocker>,
        /// The earliest time (UTC seconds) the window and deferral limit could allow it, if the
        /// device's own state allows it then. `None` when only the device's state is in the way
        /// (it is not known when that changes).
        next: Option<u64>,
    },
}

impl Window {
    fn validate(&self, i: usize) -> Result<()> {
        if self.start_minute >= 1440 {
            return Err(Error::plan(
                format!("/windows/{i}/start_minute"),
                "must be < 1440",
            ));
        }
        if self.duration_minutes == 0 || u64::from(self.duration_minutes) > MINUTES_PER_WEEK {
            return Err(Error::plan(
                format!("/windows/{i}/duration_minutes"),
                "must be 1 to 10080",
            ));
        }
        Ok(())
    }

    /// Start of the window as seconds into the local week (Monday 00:00 = 0).
    fn start_in_week(&self) -> u64 {
        (self.day.index() * 1440 + u64::from(self.start_minute)) * 60
    }
}

/// Seconds into the local week (Monday 00:00 local = 0) of UTC time `now`. 1970-01-01 was a
/// Thursday, so Monday 00:00 UTC is at `-3 days`.
fn local_week_secs(now: u64, offset_minutes: i16) -> u64 {
    let offset = i128::from(offset_minutes) * 60;
    let t = i128::from(now) + offset + 3 * 86_400;
    t.rem_euclid(i128::from(SECS_PER_WEEK)) as u64
}

impl InstallPolicy {
    /// Checks window bounds.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPlan`] for a start minute past the day or a zero/over-long duration.
    pub fn validate(&self) -> Result<()> {
        for (i, w) in self.windows.iter().enumerate() {
            w.validate(i)?;
        }
        if let Some(b) = self.min_battery_percent
            && b > 100
        {
            return Err(Error::plan("/min_battery_percent", "must be <= 100"));
        }
        Ok(())
    }

    /// Seconds until the next window opens (0 when one is open now), or `None` without windows.
    fn wait_for_window(&self, now: u64, offset: i16) -> Option<u64> {
        if self.windows.is_empty() {
            return Some(0);
        }
        let t = local_week_secs(now, offset);
        self.windows
            .iter()
            .map(|w| {
                let start = w.start_in_week();
                let dur = u64::from(w.duration_minutes) * 60;
                // Seconds since the window's most recent opening (mod one week).
                let since = (t + SECS_PER_WEEK - start) % SECS_PER_WEEK;
                if since < dur {
                    0
                } else {
                    SECS_PER_WEEK - since
                }
            })
            .min()
    }

    /// Whether a device in context `ctx` may start installing at `now` (UTC seconds), and if
    /// not, why and when it next could.
    ///
    /// With `critical`, the deferral limit applies: once `ctx.offered_at + max_deferral_secs`
    /// has passed, windows, charging, network and idle state no longer hold it back.
    pub fn may_start(&self, ctx: &DeviceContext, now: u64, critical: bool) -> MayStart {
        let mut blockers = Vec::new();
        let wait = self
            .wait_for_window(now, ctx.utc_offset_minutes)
            .unwrap_or(0);
        if wait > 0 {
            blockers.push(Blocker::OutsideWindow);
        }
        if self.require_charging && !ctx.charging {
            blockers.push(Blocker::NotCharging);
        }
        let mut battery_blocks = false;
        if let (Some(needed), Some(percent)) = (self.min_battery_percent, ctx.battery_percent)
            && percent < needed
        {
            blockers.push(Blocker::BatteryLow { percent, needed });
            battery_blocks = true;
        }
        if self.require_unmetered && ctx.metered {
            blockers.push(Blocker::Metered);
        }
        if self.require_idle && !ctx.idle {
            blockers.push(Blocker::Busy);
        }
        if blockers.is_empty() {
            return MayStart::Yes { forced: false };
        }
        let deadline = match (critical, self.max_deferral_secs) {
            (true, Some(d)) => Some(ctx.offered_at.saturating_add(d)),
            _ => None,
        };
        if let Some(deadline) = deadline
            && now >= deadline
            && !battery_blocks
        {
            return MayStart::Yes { forced: true };
        }
        let only_window = blockers == [Blocker::OutsideWindow];
        let next = if only_window {
            let at = now.saturating_add(wait);
            Some(deadline.map_or(at, |d| d.min(at)))
        } else if battery_blocks {
            None
        } else {
            // Device state is in the way; only the deferral deadline is a known time.
            deadline.filter(|&d| d > now)
        };
        MayStart::No { blockers, next }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_is_thursday() {
        // 1970-01-01 00:00 UTC is Thursday 00:00: 3 days into the week.
        assert_eq!(local_week_secs(0, 0), 3 * 86_400);
        // At UTC-60 min it is Wednesday 23:00.
        assert_eq!(local_week_secs(0, -60), 3 * 86_400 - 3600);
    }
}
