//! The job document: what the fleet side asks one device to install, where to fetch it, and
//! when it may install.

use serde::{Deserialize, Serialize};

use crate::ids::{JobId, Sha256};

/// A job for one device (or a group): the signed release, where to fetch its images, and the
/// install policy. The document itself is not signed: everything that decides what is installed
/// is in the signed envelope, which the device verifies; a broker that alters the document can
/// only point at other bytes, which then fail verification, or delay the install.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobDocument {
    /// The job's id (also the MQTT topic level of its execution).
    pub job_id: JobId,
    /// The rollout the job belongs to.
    pub rollout: String,
    /// The ring of that rollout (index, as `ota-rollout` numbers them).
    pub ring: u32,
    /// The signed release envelope, inline or where to fetch it.
    pub release: ReleaseSource,
    /// Where to fetch each component's image and deltas. A component not listed is fetched from
    /// the URIs in its manifest entry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<ComponentSources>,
    /// When the device may install.
    #[serde(default)]
    pub policy: InstallPolicy,
}

/// The signed release envelope (`ota-verify`'s COSE envelope around an `ota-manifest`
/// manifest), carried inline or fetched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ReleaseSource {
    /// The envelope's bytes (base64 in JSON).
    #[serde(rename = "envelope", with = "crate::base64::serde_bytes")]
    Inline(Vec<u8>),
    /// Where to fetch the envelope, with its size and digest, so the device bounds the download
    /// and the job names exactly one envelope.
    #[serde(rename = "fetch")]
    Remote(Location),
}

/// A resource to fetch: its URI, size and SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Location {
    /// Where.
    pub uri: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its SHA-256.
    pub sha256: Sha256,
}

/// Where to fetch one component: its full image and its deltas. Sizes and digests are in the
/// signed manifest and are not repeated here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentSources {
    /// The component id (as in the manifest).
    pub component: String,
    /// The full image's URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full: Option<String>,
    /// The deltas, each keyed by the SHA-256 of the image it applies to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deltas: Vec<DeltaLocation>,
}

/// Where to fetch the delta from one source image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeltaLocation {
    /// SHA-256 of the installed image the delta applies to.
    pub from_sha256: Sha256,
    /// The delta's URI.
    pub uri: String,
}

/// When a device may install. Time is passed in ([`InstallPolicy::readiness`]): the policy has no
/// clock of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstallPolicy {
    /// Install only while charging (or on mains power).
    #[serde(default)]
    pub require_charging: bool,
    /// Install only inside this daily window (UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Window>,
    /// From this time on (seconds since the epoch) the window and the charging condition no
    /// longer hold the install back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<u64>,
    /// From this time on the device must not start the job (it reports REJECTED, rule
    /// `job_expired`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
}

/// A daily window in minutes after midnight UTC: `start_minute <= t < end_minute`, or, when
/// `start_minute > end_minute`, across midnight. Both below 1440 and different (a window of the
/// whole day is no window).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// First minute of the window.
    pub start_minute: u16,
    /// First minute after it.
    pub end_minute: u16,
}

/// Minutes in a day.
pub const MINUTES_PER_DAY: u16 = 1440;

impl Window {
    /// True if the minutes are in range and differ.
    #[must_use]
    pub fn is_valid(&self) -> bool {
        self.start_minute < MINUTES_PER_DAY
            && self.end_minute < MINUTES_PER_DAY
            && self.start_minute != self.end_minute
    }

    /// True if `now` (seconds since the epoch) falls in the window.
    #[must_use]
    pub fn contains(&self, now: u64) -> bool {
        let minute = ((now / 60) % u64::from(MINUTES_PER_DAY)) as u16;
        if self.start_minute < self.end_minute {
            self.start_minute <= minute && minute < self.end_minute
        } else {
            minute >= self.start_minute || minute < self.end_minute
        }
    }
}

/// What [`InstallPolicy::readiness`] says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// Install now.
    Install,
    /// Not now: outside the window or not charging.
    Wait,
    /// The job has expired: do not start it.
    Expired,
}

impl InstallPolicy {
    /// Whether a device may install at `now` (seconds since the epoch, UTC), charging or not.
    /// Expiry wins over everything; a passed deadline wins over the window and charging.
    #[must_use]
    pub fn readiness(&self, now: u64, charging: bool) -> Readiness {
        if self.expires_at.is_some_and(|e| now >= e) {
            return Readiness::Expired;
        }
        if self.deadline.is_some_and(|d| now >= d) {
            return Readiness::Install;
        }
        if self.require_charging && !charging {
            return Readiness::Wait;
        }
        match self.window {
            Some(w) if !w.contains(now) => Readiness::Wait,
            _ => Readiness::Install,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = 86_400;

    #[test]
    fn window_inside_and_across_midnight() {
        let night = Window {
            start_minute: 22 * 60,
            end_minute: 4 * 60,
        };
        let day = Window {
            start_minute: 9 * 60,
            end_minute: 17 * 60,
        };
        let at = |h: u64, m: u64| 20 * DAY + h * 3600 + m * 60;
        assert!(night.contains(at(23, 0)));
        assert!(night.contains(at(0, 0)));
        assert!(night.contains(at(3, 59)));
        assert!(!night.contains(at(4, 0)));
        assert!(!night.contains(at(12, 0)));
        assert!(night.contains(at(22, 0)));
        assert!(day.contains(at(9, 0)));
        assert!(!day.contains(at(17, 0)));
        assert!(!day.contains(at(8, 59)));
        assert!(
            !Window {
                start_minute: 5,
                end_minute: 5
            }
            .is_valid()
        );
        assert!(
            !Window {
                start_minute: 1440,
                end_minute: 5
            }
            .is_valid()
        );
    }

    #[test]
    fn readiness_order_expiry_deadline_charging_window() {
        let p = InstallPolicy {
            require_charging: true,
            window: Some(Window {
                start_minute: 120,
                end_minute: 240,
            }),
            deadline: Some(10 * DAY),
            expires_at: Some(20 * DAY),
        };
        let in_window = DAY + 150 * 60;
        let outside = DAY + 600 * 60;
        assert_eq!(p.readiness(in_window, true), Readiness::Install);
        assert_eq!(p.readiness(in_window, false), Readiness::Wait);
        assert_eq!(p.readiness(outside, true), Readiness::Wait);
        // Past the deadline neither the window nor charging holds it back.
        assert_eq!(p.readiness(10 * DAY + 600 * 60, false), Readiness::Install);
        assert_eq!(p.readiness(20 * DAY, true), Readiness::Expired);
        assert_eq!(
            InstallPolicy::default().readiness(0, false),
            Readiness::Install
        );
    }
}
