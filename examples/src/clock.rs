//! A simulated clock: UTC seconds since the Unix epoch, advanced by the simulation, never read
//! from the machine (the demo is deterministic).

/// Seconds per minute, hour, day.
pub const MINUTE: u64 = 60;
/// Seconds per hour.
pub const HOUR: u64 = 3600;
/// Seconds per day.
pub const DAY: u64 = 86_400;

/// 2026-03-02 00:00:00 UTC, a Monday: the moment the simulated fleet starts.
pub const START: u64 = 1_772_409_600;

/// The simulated time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SimClock {
    now: u64,
}

impl Default for SimClock {
    fn default() -> Self {
        SimClock { now: START }
    }
}

impl SimClock {
    /// A clock at a given UTC second.
    pub fn at(now: u64) -> Self {
        SimClock { now }
    }

    /// The current UTC second.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Moves the clock forward.
    pub fn advance(&mut self, secs: u64) {
        self.now = self.now.saturating_add(secs);
    }

    /// Seconds since [`START`].
    pub fn elapsed(&self) -> u64 {
        self.now.saturating_sub(START)
    }
}

/// The local second of the day (0..86400) for a UTC second and an offset in minutes.
pub fn local_second_of_day(utc: u64, utc_offset_minutes: i32) -> u64 {
    let local = i128::from(utc) + i128::from(utc_offset_minutes) * 60;
    local.rem_euclid(i128::from(DAY)) as u64
}

/// Formats a UTC second as `YYYY-MM-DD HH:MM UTC` (proleptic Gregorian calendar).
pub fn format_utc(utc: u64) -> String {
    let days = (utc / DAY) as i64;
    let sod = utc % DAY;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        sod / HOUR,
        (sod % HOUR) / MINUTE
    )
}

/// Formats a duration since the start as `+1d 04:30`.
pub fn format_elapsed(secs: u64) -> String {
    let d = secs / DAY;
    let h = (secs % DAY) / HOUR;
    let m = (secs % HOUR) / MINUTE;
    format!("+{d}d {h:02}:{m:02}")
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 to (year, month, day).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_is_a_monday_at_midnight() {
        assert_eq!(format_utc(START), "2026-03-02 00:00 UTC");
        // 1970-01-01 was a Thursday (day 0); Monday is day 4 of that week cycle.
        assert_eq!((START / DAY + 3) % 7, 0);
        assert_eq!(format_utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_utc(951_782_400), "2000-02-29 00:00 UTC");
    }

    #[test]
    fn local_time_wraps_both_ways() {
        assert_eq!(local_second_of_day(START, -300), DAY - 5 * HOUR);
        assert_eq!(local_second_of_day(START + HOUR, 330), HOUR + 330 * 60);
        assert_eq!(format_elapsed(DAY + 4 * HOUR + 30 * MINUTE), "+1d 04:30");
    }
}
