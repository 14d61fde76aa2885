//! One decoded frame, as the source hands it to the window stage.

use std::time::{Instant, SystemTime};

/// A decoded frame at the model's size, RGB, rows packed (no stride padding).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// 0-based position among the stream's decoded frames.
    pub index: u64,
    /// Presentation time in stream time, nanoseconds.
    pub pts_ns: u64,
    /// How long the frame is shown, nanoseconds.
    pub duration_ns: u64,
    /// `height × width × 3` bytes.
    pub pixels: Vec<u8>,
    /// When the frame reached actiond (for latency).
    pub arrival: Instant,
    /// Wall-clock time at arrival (for the UTC times of live streams).
    pub wall: SystemTime,
}
