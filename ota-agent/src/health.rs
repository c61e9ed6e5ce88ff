//! The health check run during the trial, and the clock that enforces its deadline.

/// The result of a health check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// The system works: commit.
    Pass,
    /// It does not: revert (the text is for the log).
    Fail(String),
}

/// Milliseconds from a monotonic source, passed in (no hidden clocks).
pub trait Clock {
    /// Now, in milliseconds.
    fn now_ms(&self) -> u64;
}

/// A clock reading `std::time::Instant`.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock(std::time::Instant);

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock(std::time::Instant::now())
    }
}

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.0.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

/// Checks the new system during its trial. It gets the deadline (absolute, on the agent's
/// [`Clock`]); a result that comes back after it counts as a hang and reverts. A check that never
/// returns is the watchdog's to catch: the reset that follows counts as a failed trial boot.
pub trait HealthCheck {
    /// Runs the check.
    fn check(&mut self, deadline_ms: u64) -> Health;
}

impl<H: HealthCheck + ?Sized> HealthCheck for &mut H {
    fn check(&mut self, deadline_ms: u64) -> Health {
        (**self).check(deadline_ms)
    }
}
