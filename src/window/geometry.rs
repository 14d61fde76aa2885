//! Window length, stride, sampling and tail policy, and how many windows a stream yields.

use crate::config::TailPolicy;

/// Window size, spacing, sampling and end-of-stream policy, already validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowGeometry {
    /// Frames per window (T).
    pub length: usize,
    /// Sampled frames between the starts of consecutive windows.
    pub stride: usize,
    /// Keep every k-th decoded frame.
    pub frame_step: usize,
    /// What happens to trailing frames that do not fill a window.
    pub tail: TailPolicy,
}

impl WindowGeometry {
    /// Number of windows a stream of `decoded` frames yields.
    pub fn window_count(&self, decoded: u64) -> u64 {
        let sampled = decoded.div_ceil(self.frame_step as u64);
        let (t, s) = (self.length as u64, self.stride as u64);
        let full = if sampled >= t { (sampled - t) / s + 1 } else { 0 };
        let next_start = full * s;
        let covered_to = if full == 0 { 0 } else { (full - 1) * s + t };
        let has_tail = sampled > covered_to && next_start < sampled;
        full + u64::from(self.tail == TailPolicy::Pad && has_tail)
    }
}
