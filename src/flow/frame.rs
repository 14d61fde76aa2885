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
    /// Set on the first frame after the input's own times jumped (see [`TimeJump`]).
    pub time_jump: Option<TimeJump>,
}

/// The input's timestamps jumped: a camera's clock reset, a file spliced from two recordings.
/// Stream times stay monotonic: after a jump backwards the stream goes on from where it was,
/// `offset_ns` later than the input says; a jump forwards is a gap and is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeJump {
    /// Where the stream time was going next, nanoseconds.
    pub from_ns: u64,
    /// Where the input's own time went, nanoseconds.
    pub to_ns: u64,
    /// What is added to the input's times from here on, nanoseconds.
    pub offset_ns: i64,
}
