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

pub use actions::{ActionDetector, ActionEvent, ActionRules, WindowTimes};
pub use smoothing::Smoother;
