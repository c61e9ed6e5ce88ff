//! Rate limiting, with AWS IoT Jobs' `exponentialRate` semantics.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// At most so many devices started per minute.
///
/// Maps to AWS IoT Jobs' `jobExecutionsRolloutConfig`: `base_per_minute` is
/// `exponentialRate.baseRatePerMinute` (or `maximumPerMinute` without `exponential`),
/// `maximum_per_minute` caps the growing rate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Devices per minute at the start (AWS: 1-1000).
    pub base_per_minute: u32,
    /// Upper bound of the rate (AWS `maximumPerMinute`, 1-1000); unbounded when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_per_minute: Option<u32>,
    /// How the rate grows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exponential: Option<Exponential>,
}

/// AWS `exponentialRate`: the rate is multiplied by `increment_factor` each time the criterion
/// count passes another multiple of its threshold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exponential {
    /// Factor applied at each increase (AWS: 1.1-5, one decimal).
    pub increment_factor: f64,
    /// What triggers an increase.
    pub criteria: RateIncreaseCriteria,
}

/// AWS `rateIncreaseCriteria`: one of the two counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RateIncreaseCriteria {
    /// `numberOfNotifiedThings`: every this many devices started.
    NumberOfNotifiedThings(u64),
    /// `numberOfSucceededThings`: every this many devices succeeded.
    NumberOfSucceededThings(u64),
}

impl RateLimit {
    /// A constant rate.
    pub fn per_minute(rate: u32) -> Self {
        RateLimit {
            base_per_minute: rate,
            maximum_per_minute: None,
            exponential: None,
        }
    }

    /// Checks the parameters.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPlan`]: a zero rate, a maximum below the base, a factor outside
    /// `[1.1, 5]` (AWS's range), a zero criterion count.
    pub fn validate(&self, field: &str) -> Result<()> {
        if self.base_per_minute == 0 {
            return Err(Error::plan(
                format!("{field}/base_per_minute"),
                "must be >= 1",
            ));
        }
        if let Some(max) = self.maximum_per_minute
            && max < self.base_per_minute
        {
            return Err(Error::plan(
                format!("{field}/maximum_per_minute"),
                "must be >= base_per_minute",
            ));
        }
        if let Some(e) = &self.exponential {
            let f = e.increment_factor;
            if !(f.is_finite() && (1.1..=5.0).contains(&f)) {
                return Err(Error::plan(
                    format!("{field}/exponential/increment_factor"),
                    "must be in [1.1, 5]",
                ));
            }
            let (RateIncreaseCriteria::NumberOfNotifiedThings(n)
            | RateIncreaseCriteria::NumberOfSucceededThings(n)) = e.criteria;
            if n == 0 {
                return Err(Error::plan(
                    format!("{field}/exponential/criteria"),
                    "must be >= 1",
                ));
            }
        }
        Ok(())
    }

    /// The rate in force after `notified` devices were started and `succeeded` succeeded:
    /// `floor(base * factor^k)`, capped, where `k` is how many times the criterion count has
    /// passed a multiple of its threshold.
    pub fn current_per_minute(&self, notified: u64, succeeded: u64) -> u64 {
        let base = u64::from(self.base_per_minute);
        let cap = self.maximum_per_minute.map_or(u64::MAX, u64::from);
        let Some(e) = &self.exponential else {
            return base.min(cap);
        };
        let steps = match e.criteria {
            RateIncreaseCriteria::NumberOfNotifiedThings(n) => notified / n.max(1),
            RateIncreaseCriteria::NumberOfSucceededThings(n) => succeeded / n.max(1),
        };
        // Multiply step by step so the result is exact for small k and stops at the cap.
        let mut rate = base as f64;
        for _ in 0..steps.min(1024) {
            rate *= e.increment_factor;
            if rate >= cap as f64 || rate >= 1e18 {
                return cap.min(1_000_000_000_000_000_000);
            }
        }
        (rate.floor() as u64).min(cap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponential_grows_per_criterion_multiple() {
        let r = RateLimit {
            base_per_minute: 10,
            maximum_per_minute: Some(100),
            exponential: Some(Exponential {
                increment_factor: 2.0,
                criteria: RateIncreaseCriteria::NumberOfNotifiedThings(50),
            }),
        };
        assert_eq!(r.current_per_minute(0, 0), 10);
        assert_eq!(r.current_per_minute(49, 0), 10);
        assert_eq!(r.current_per_minute(50, 0), 20);
        assert_eq!(r.current_per_minute(149, 0), 40);
        assert_eq!(r.current_per_minute(150, 0), 80);
        assert_eq!(r.current_per_minute(200, 0), 100);
        assert_eq!(r.current_per_minute(u64::MAX, 0), 100);
        let s = RateLimit {
            exponential: Some(Exponential {
                increment_factor: 1.5,
                criteria: RateIncreaseCriteria::NumberOfSucceededThings(10),
            }),
            maximum_per_minute: None,
            ..r
        };
        assert_eq!(s.current_per_minute(1000, 9), 10);
        assert_eq!(s.current_per_minute(0, 10), 15);
        assert_eq!(s.current_per_minute(0, 20), 22);
    }
}
