//! A window: T consecutive sampled frames of one stream in the model's layout, and where it
//! lies in its stream. The meta travels on with the window's prediction to the output stage.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use super::PooledTensor;

/// Where a window lies in its stream; travels with the window's prediction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowMeta {
    /// Which stream it came from.
    pub stream: Arc<str>,
    /// 0-based position among the stream's windows.
    pub index: u64,
    /// Decoded-frame index of the first frame.
    pub first_frame: u64,
    /// Decoded-frame index of the last real (not padded) frame.
    pub last_frame: u64,
    /// How many trailing frames are repeats of the last frame (only with `tail = "pad"`).
    pub padded: usize,
    /// Stream time of the first frame, in nanoseconds.
    pub start_ns: u64,
    /// Stream time at which the last real frame ends, in nanoseconds.
    pub end_ns: u64,
    /// Arrival times; present exactly for the windows of live streams.
    pub clock: Option<WallClock>,
}

impl WindowMeta {
    /// Whether the window comes from a live stream. Liveness travels with the data, so a stream
    /// added by a reload is known as live by every later stage without being told at start.
    pub fn is_live(&self) -> bool {
        self.clock.is_some()
    }

    /// A window of `stream` at `index` covering nothing, for tests of later stages.
    #[cfg(test)]
    pub fn placeholder(stream: &str, index: u64) -> Self {
        Self {
            stream: stream.into(),
            index,
            first_frame: 0,
            last_frame: 0,
            padded: 0,
            start_ns: 0,
            end_ns: 0,
            clock: None,
        }
    }
}

/// When a live window's frames arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WallClock {
    /// Wall-clock time of the first frame's arrival.
    pub start: SystemTime,
    /// Wall-clock time at which the last frame ends (its arrival plus its duration).
    pub end: SystemTime,
    /// Arrival of the last frame, for the event's latency.
    pub last_arrival: Instant,
}

/// A window's tensor, taken from its stream's pool and given back when dropped (after the
/// inference run), so steady-state windowing allocates nothing.
pub type WindowData = PooledTensor;

/// T consecutive sampled frames of one stream, in the model's layout, ready for inference.
#[derive(Debug)]
pub struct Window {
    pub meta: WindowMeta,
    /// The tensor, without batch dimension, in the model's layout.
    pub data: WindowData,
}
