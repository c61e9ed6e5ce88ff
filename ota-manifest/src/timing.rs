//! When to install, from the release's dates and the device's deferral policy (feature updates
//! may wait within the policy; security updates not past their deadline) and what the release
//! says about the support period. No allocation: `Manifest::schedule` (std) and
//! `ManifestView::schedule` (no_std) share [`timing`], so both answer alike.

/// Seconds in a day (the maintenance window repeats daily, in UTC).
const DAY: u64 = 86_400;

/// How long a device is willing to postpone updates (its user's or operator's choice). The
/// default postpones nothing: `Manifest::schedule` (and `ManifestView::schedule`) then say
/// [`Timing::Now`] for every release, as the install decision alone always meant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeferralPolicy {
    /// How long after a release's `issued_at` the device may postpone a feature-only release, in
    /// seconds (`14 * 86_400`: two weeks).
    pub feature_deferral: u64,
    /// How long after `issued_at` it may postpone a security release, in seconds; the manifest's
    /// `max_security_deferral` caps it.
    pub security_deferral: u64,
    /// A daily maintenance window: a postponed release installs when the window opens (and never
    /// later than its deadline).
    pub window: Option<Window>,
}

/// A daily window in UTC: `[start, start + length)` seconds after midnight, possibly across
/// midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Start, seconds after 00:00 UTC (below 86 400).
    pub start: u32,
    /// Length in seconds (1 to 86 400; 0 is a window that never opens).
    pub length: u32,
}

impl Window {
    /// Whether `now` (Unix seconds) is inside the window.
    #[must_use]
    pub fn contains(&self, now: u64) -> bool {
        let into = (now % DAY + DAY - u64::from(self.start) % DAY) % DAY;
        into < u64::from(self.length).min(DAY)
    }

    /// The first second at or after `now` at which the window opens, `None` if it never does.
    #[must_use]
    pub fn next_start(&self, now: u64) -> Option<u64> {
        if self.length == 0 {
            return None;
        }
        let start = u64::from(self.start) % DAY;
        let today = (now - now % DAY).saturating_add(start);
        Some(if today >= now {
            today
        } else {
            today.saturating_add(DAY)
        })
    }
}

/// How urgent a release is for the device, from the components it would change (those not
/// skipped).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Urgency {
    /// At least one changed component is a security update, or is unclassified (a manifest that
    /// does not say is never postponed longer than a security update).
    Security,
    /// Every changed component is a feature update (or nothing changes).
    Feature,
}

/// Whether to install now or wait.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    /// Install now, for this reason.
    Now(Due),
    /// The device may wait until `until` (Unix seconds) and ask again then; `until` is never past
    /// the deadline.
    Wait {
        /// When to ask again.
        until: u64,
    },
}

/// Why a release is due now.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// The policy (or, for a security release, the manifest) allows no postponing.
    NotDeferrable,
    /// The deadline has come: `now >= deadline`.
    Deadline,
    /// The maintenance window is open.
    WindowOpen,
}

/// What the release says about the support period of the device's class at the device's time.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    /// The release states no support end.
    Unstated,
    /// Supported until `ends_at` (exclusive).
    Until {
        /// the release's `support_ends_at`.
        ends_at: u64,
    },
    /// The support period ended at `ended_at`: the vendor no longer promises security updates for
    /// this device class. The release is still planned (it may be the vendor's last fix); the
    /// device should tell its user that it is out of support.
    Ended {
        /// the release's `support_ends_at`.
        ended_at: u64,
    },
}

/// The deadline, timing and support of a release for a device at `now` (the rules of
/// `Manifest::schedule`): the allowed deferral is `policy.feature_deferral` for a feature
/// release and, for a security release, `policy.security_deferral` capped by
/// `max_security_deferral`; the deadline is `issued_at` plus it (saturating). A deferral of 0 is
/// [`Due::NotDeferrable`]; at or after the deadline [`Due::Deadline`]; inside the window
/// [`Due::WindowOpen`]; otherwise [`Timing::Wait`] until the window's next opening or the
/// deadline, whichever comes first.
pub(crate) fn timing(
    issued_at: u64,
    max_security_deferral: Option<u64>,
    support_ends_at: Option<u64>,
    urgency: Urgency,
    now: u64,
    policy: &DeferralPolicy,
) -> (u64, Timing, Support) {
    let allowed = match urgency {
        Urgency::Feature => policy.feature_deferral,
        Urgency::Security => max_security_deferral.map_or(policy.security_deferral, |m| {
            m.min(policy.security_deferral)
        }),
    };
    let deadline = issued_at.saturating_add(allowed);
    let timing = if allowed == 0 {
        Timing::Now(Due::NotDeferrable)
    } else if now >= deadline {
        Timing::Now(Due::Deadline)
    } else {
        match policy.window {
            Some(w) if w.contains(now) => Timing::Now(Due::WindowOpen),
            Some(w) => Timing::Wait {
                until: w.next_start(now).map_or(deadline, |s| s.min(deadline)),
            },
            None => Timing::Wait { until: deadline },
        }
    };
    let support = match support_ends_at {
        None => Support::Unstated,
        Some(ended_at) if now >= ended_at => Support::Ended { ended_at },
        Some(ends_at) => Support::Until { ends_at },
    };
    (deadline, timing, support)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_contains_and_next_start_across_midnight() {
        // 23:00 to 01:00 UTC.
        let w = Window {
            start: 23 * 3600,
            length: 2 * 3600,
        };
        let day = 20_000 * DAY;
        assert!(!w.contains(day + 23 * 3600 - 1));
        assert!(w.contains(day + 23 * 3600));
        assert!(w.contains(day + DAY + 3600 - 1));
        assert!(!w.contains(day + DAY + 3600));
        assert_eq!(w.next_start(day), Some(day + 23 * 3600));
        assert_eq!(w.next_start(day + 23 * 3600), Some(day + 23 * 3600));
        assert_eq!(
            w.next_start(day + 23 * 3600 + 1),
            Some(day + DAY + 23 * 3600)
        );
        let never = Window {
            start: 0,
            length: 0,
        };
        assert!(!never.contains(day));
        assert_eq!(never.next_start(day), None);
        let always = Window {
            start: 5,
            length: 86_400,
        };
        assert!(always.contains(day) && always.contains(day + 4));
    }
}
