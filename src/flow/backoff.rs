//! How long to wait before reconnecting, the same rule for cameras and for the MQTT broker:
//! exponential backoff with a cap, and jitter so that what one network blip dropped together
//! does not come back in lockstep. [`BackoffConfig`] is its shape in a pipeline file, shared by
//! a stream's `[streams.reconnect]` and an MQTT sink's `[sinks.reconnect]`.

use std::time::Duration;

use serde::Deserialize;

/// Exponential backoff between reconnection attempts.
#[derive(Debug, Clone, PartialEq)]
pub struct ReconnectPolicy {
    pub initial: Duration,
    pub factor: f64,
    pub max: Duration,
    /// Failed attempts in a row after which the stream is given up.
    pub max_attempts: Option<u32>,
    /// Each delay varies at random within ± this fraction of itself.
    pub jitter: f64,
}

impl ReconnectPolicy {
    /// Delay before attempt `attempt` (1-based), before jitter.
    pub fn delay(&self, attempt: u32) -> Duration {
        let factor = self.factor.powi(attempt.saturating_sub(1).min(64) as i32);
        self.initial.mul_f64(factor).min(self.max)
    }

    /// The delay before attempt `attempt` moved by the jitter: `unit` (uniform in [0, 1)) picks
    /// where within ± `jitter` of it.
    pub fn jittered(&self, attempt: u32, unit: f64) -> Duration {
        self.delay(attempt).mul_f64(1.0 + self.jitter * (2.0 * unit.clamp(0.0, 1.0) - 1.0))
    }

    /// The delay before attempt `attempt`, jittered at random.
    pub fn draw(&self, attempt: u32) -> Duration {
        self.jittered(attempt, fastrand::f64())
    }
}

/// How reconnection attempts are spaced.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackoffConfig {
    /// Delay before the first reconnection attempt, seconds.
    #[serde(default = "default_initial_delay_s")]
    pub initial_delay_s: f64,
    /// Each further attempt waits this many times longer...
    #[serde(default = "default_backoff_factor")]
    pub factor: f64,
    /// ...up to this many seconds.
    #[serde(default = "default_max_delay_s")]
    pub max_delay_s: f64,
    /// Each delay is drawn at random within ± this fraction of itself, so that what one network
    /// blip dropped together does not reconnect in the same instant; 0 turns it off.
    #[serde(default = "default_jitter")]
    pub jitter: f64,
}

pub(crate) fn default_initial_delay_s() -> f64 {
    1.0
}
pub(crate) fn default_backoff_factor() -> f64 {
    2.0
}
pub(crate) fn default_max_delay_s() -> f64 {
    30.0
}
pub(crate) fn default_jitter() -> f64 {
    0.2
}

impl Default for BackoffConfig {
    fn default() -> Self {
        Self {
            initial_delay_s: default_initial_delay_s(),
            factor: default_backoff_factor(),
            max_delay_s: default_max_delay_s(),
            jitter: default_jitter(),
        }
    }
}

impl BackoffConfig {
    /// Checks the values; `table` names them in messages (`reconnect`).
    pub fn check(&self, table: &str) -> Result<(), String> {
        for (key, value) in [("initial_delay_s", self.initial_delay_s), ("max_delay_s", self.max_delay_s)] {
            if !(value.is_finite() && value > 0.0) {
                return Err(format!("`{table}.{key}` must be a positive number of seconds"));
            }
        }
        if !(self.factor.is_finite() && self.factor >= 1.0) {
            return Err(format!("`{table}.factor` must be at least 1"));
        }
        if !(0.0..1.0).contains(&self.jitter) {
            return Err(format!("`{table}.jitter` must be at least 0 and below 1"));
        }
        Ok(())
    }

    /// The policy, giving up after `max_attempts` failures in a row (never: `None`).
    pub fn policy(&self, max_attempts: Option<u32>) -> ReconnectPolicy {
        ReconnectPolicy {
            initial: Duration::from_secs_f64(self.initial_delay_s),
            factor: self.factor,
            max: Duration::from_secs_f64(self.max_delay_s),
            max_attempts,
            jitter: self.jitter,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_by_the_factor_up_to_the_maximum() {
        let p = ReconnectPolicy {
            initial: Duration::from_millis(500),
            factor: 2.0,
            max: Duration::from_secs(3),
            max_attempts: None,
            jitter: 0.2,
        };
        let delays: Vec<u128> = (1..=6).map(|a| p.delay(a).as_millis()).collect();
        assert_eq!(delays, [500, 1000, 2000, 3000, 3000, 3000]);
        assert_eq!(p.delay(10_000), Duration::from_secs(3));
    }

    #[test]
    fn jitter_spreads_each_delay_within_its_fraction() {
        let p = ReconnectPolicy {
            initial: Duration::from_secs(1),
            factor: 2.0,
            max: Duration::from_secs(30),
            max_attempts: None,
            jitter: 0.2,
        };
        assert_eq!(p.jittered(2, 0.0), Duration::from_millis(1600));
        assert_eq!(p.jittered(2, 0.5), Duration::from_secs(2));
        assert_eq!(p.jittered(2, 1.0), Duration::from_millis(2400));
        let none = ReconnectPolicy { jitter: 0.0, ..p.clone() };
        assert_eq!(none.jittered(3, 0.9), Duration::from_secs(4));
        // Cameras dropped together spread out: 100 draws of one attempt are not all alike.
        let draws: std::collections::BTreeSet<u128> =
            (0..100).map(|_| p.jittered(1, fastrand::f64()).as_millis()).collect();
        assert!(draws.len() > 50, "{draws:?}");
        assert!(draws.iter().all(|ms| (800..=1200).contains(ms)), "{draws:?}");
    }
}
