#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Install windows and device conditions.

use ota_rollout::{Blocker, DeviceContext, InstallPolicy, MayStart, Weekday, Window};
use proptest::prelude::*;

/// 2026-11-30 00:00:00 UTC, a Monday.
const MONDAY: u64 = 1_795_996_800;

fn nightly() -> InstallPolicy {
    InstallPolicy {
        windows: vec![Window {
            day: Weekday::Monday,
            start_minute: 2 * 60,
            duration_minutes: 120,
        }],
        ..InstallPolicy::default()
    }
}

fn ctx(offset: i16) -> DeviceContext {
    DeviceContext {
        utc_offset_minutes: offset,
        charging: true,
        battery_percent: Some(80),
        metered: false,
        idle: true,
        offered_at: MONDAY,
    }
}

#[test]
fn window_in_device_local_time() {
    let p = nightly();
    // 00:30 UTC is 01:30 at UTC+1: the window (02:00-04:00 local) opens at 01:00 UTC.
    assert_eq!(
        p.may_start(&ctx(60), MONDAY + 1800, false),
        MayStart::No {
            blockers: vec![Blocker::OutsideWindow],
            next: Some(MONDAY + 3600)
        }
    );
    assert_eq!(
        p.may_start(&ctx(60), MONDAY + 3600, false),
        MayStart::Yes { forced: false }
    );
    // 03:00 UTC is 04:00 at UTC+1: closed again, next Monday.
    assert_eq!(
        p.may_start(&ctx(60), MONDAY + 3 * 3600, false),
        MayStart::No {
            blockers: vec![Blocker::OutsideWindow],
            next: Some(MONDAY + 7 * 86_400 + 3600)
        }
    );
    // At UTC-5, Monday 02:00 local is 07:00 UTC.
    assert_eq!(
        p.may_start(&ctx(-300), MONDAY + 7 * 3600 + 59, false),
        MayStart::Yes { forced: false }
    );
}

#[test]
fn window_over_midnight_and_week_end() {
    let p = InstallPolicy {
        windows: vec![Window {
            day: Weekday::Sunday,
            start_minute: 23 * 60,
            duration_minutes: 180,
        }],
        ..InstallPolicy::default()
    };
    // Monday 01:00 UTC is inside Sunday 23:00 + 3 h.
    assert_eq!(
        p.may_start(&ctx(0), MONDAY + 3600, false),
        MayStart::Yes { forced: false }
    );
    assert!(matches!(
        p.may_start(&ctx(0), MONDAY + 2 * 3600, false),
        MayStart::No { next: Some(t), .. } if t == MONDAY + 6 * 86_400 + 23 * 3600
    ));
}

#[test]
fn device_conditions_and_critical_deferral() {
    let p = InstallPolicy {
        require_charging: true,
        min_battery_percent: Some(30),
        require_unmetered: true,
        require_idle: true,
        max_deferral_secs: Some(86_400),
        ..nightly()
    };
    let mut c = ctx(0);
    c.charging = false;
    c.metered = true;
    let now = MONDAY + 2 * 3600 + 60;
    assert_eq!(
        p.may_start(&c, now, false),
        MayStart::No {
            blockers: vec![Blocker::NotCharging, Blocker::Metered],
            next: None
        }
    );
    // Critical: the deadline is a known time.
    assert_eq!(
        p.may_start(&c, now, true),
        MayStart::No {
            blockers: vec![Blocker::NotCharging, Blocker::Metered],
            next: Some(MONDAY + 86_400)
        }
    );
    // After the deadline a critical update goes ahead, outside windows too...
    assert_eq!(
        p.may_start(&c, MONDAY + 86_400 + 5, true),
        MayStart::Yes { forced: true }
    );
    // ... but never on a low battery.
    c.battery_percent = Some(10);
    assert_eq!(
        p.may_start(&c, MONDAY + 86_400 + 5, true),
        MayStart::No {
            blockers: vec![
                Blocker::OutsideWindow,
                Blocker::NotCharging,
                Blocker::BatteryLow {
                    percent: 10,
                    needed: 30
                },
                Blocker::Metered
            ],
            next: None
        }
    );
    // A mains-powered device has no battery to check.
    c.battery_percent = None;
    c.charging = true;
    c.metered = false;
    assert_eq!(p.may_start(&c, now, false), MayStart::Yes { forced: false });
}

#[test]
fn bad_windows_are_refused() {
    let mut p = nightly();
    p.windows[0].start_minute = 1440;
    assert!(p.validate().is_err());
    let mut p = nightly();
    p.windows[0].duration_minutes = 0;
    assert!(p.validate().is_err());
    assert!(nightly().validate().is_ok());
}

fn window() -> impl Strategy<Value = Window> {
    (0u8..7, 0u16..1440, 1u32..3000).prop_map(|(d, s, len)| Window {
        day: [
            Weekday::Monday,
            Weekday::Tuesday,
            Weekday::Wednesday,
            Weekday::Thursday,
            Weekday::Friday,
            Weekday::Saturday,
            Weekday::Sunday,
        ][d as usize],
        start_minute: s,
        duration_minutes: len,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// "Next" is exactly the next opening: allowed then, not allowed a second before.
    #[test]
    fn next_is_the_next_opening(
        windows in proptest::collection::vec(window(), 1..4),
        offset in -840i16..=840,
        now in 0u64..4_000_000_000,
    ) {
        let p = InstallPolicy { windows, ..InstallPolicy::default() };
        let c = ctx(offset);
        match p.may_start(&c, now, false) {
            MayStart::Yes { forced } => prop_assert!(!forced),
            MayStart::No { blockers, next } => {
                prop_assert_eq!(blockers, vec![Blocker::OutsideWindow]);
                let next = next.unwrap();
                prop_assert!(next > now && next - now <= 7 * 86_400);
                prop_assert_eq!(p.may_start(&c, next, false), MayStart::Yes { forced: false });
                let before = matches!(p.may_start(&c, next - 1, false), MayStart::No { .. });
                prop_assert!(before);
            }
        }
    }
}
