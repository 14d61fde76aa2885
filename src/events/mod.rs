//! From per-window probabilities to what people watching a camera want: scores smoothed over
//! time, and actions with a start and an end.
//!
//! Per stream, a [`Smoother`] averages the last `average` probability vectors (MMAction2's
//! `average-size`), and an [`ActionDetector`] turns the smoothed scores into actions with
//! hysteresis: an action starts when a label's smoothed score stays at or above `on_threshold`
//! for `min_windows` windows, and ends when it falls below `off_threshold` or the stream ends or
//! goes down. Both reset at a discontinuity (a reconnection).

mod actions;
mod smoothing;

pub use actions::{ActionDetector, ActionRules, WindowTimes};
pub use smoothing::Smoother;

/// How windows become events, made once by the plan from `[events]`, `[output]` and the labels.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRules {
    /// Write one event per window.
    pub windows: bool,
    /// Write `action_start`/`action_end` events.
    pub actions: bool,
    /// Moving average over this many windows.
    pub average: usize,
    /// Window events whose best smoothed score is below this are not written.
    pub min_score: f32,
    /// How many of the best labels each window event lists.
    pub top_k: usize,
    /// Action thresholds, and per label whether it is ignored (never an action, never reported).
    pub detection: ActionRules,
}
