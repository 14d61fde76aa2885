//! `[events]`: smoothing and action detection settings.

use serde::Deserialize;

use super::one;

/// Which events are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventMode {
    /// One event per window.
    Windows,
    /// `action_start` / `action_end` events.
    Actions,
}

/// Scores over time and action detection.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsConfig {
    /// Which events to write: `["windows"]`, `["actions"]` or both.
    #[serde(default = "default_modes")]
    pub modes: Vec<EventMode>,
    /// Moving average over this many windows (1 = none).
    #[serde(default = "one")]
    pub average: usize,
    /// Window events whose best smoothed score is below this are not written.
    #[serde(default)]
    pub min_score: f32,
    /// Labels that are never actions and never reported in window events (e.g. `still`).
    #[serde(default)]
    pub ignore: Vec<String>,
    /// An action starts when its smoothed score stays at or above this...
    #[serde(default = "default_on_threshold")]
    pub on_threshold: f32,
    /// ...for this many windows in a row,
    #[serde(default = "default_min_windows")]
    pub min_windows: usize,
    /// and ends when it falls below this (or the stream ends or goes down).
    #[serde(default = "default_off_threshold")]
    pub off_threshold: f32,
}

fn default_modes() -> Vec<EventMode> {
    vec![EventMode::Windows]
}
fn default_on_threshold() -> f32 {
    0.6
}
fn default_off_threshold() -> f32 {
    0.4
}
fn default_min_windows() -> usize {
    2
}

impl Default for EventsConfig {
    fn default() -> Self {
        Self {
            modes: default_modes(),
            average: 1,
            min_score: 0.0,
            ignore: Vec::new(),
            on_threshold: default_on_threshold(),
            min_windows: default_min_windows(),
            off_threshold: default_off_threshold(),
        }
    }
}

impl EventsConfig {
    pub(crate) fn check(&self) -> Result<(), String> {
        if self.modes.is_empty() {
            return Err("`events.modes`: name at least one of \"windows\", \"actions\"".into());
        }
        super::at_least_one("events.average", self.average)?;
        super::at_least_one("events.min_windows", self.min_windows)?;
        let (on, off) = (self.on_threshold, self.off_threshold);
        if !(0.0..=1.0).contains(&off) || !(off..=1.0).contains(&on) {
            return Err("`events`: need 0 <= off_threshold <= on_threshold <= 1".into());
        }
        Ok(())
    }
}
