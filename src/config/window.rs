//! `[window]`: how frames are cut into overlapping windows.

use serde::{Deserialize, Serialize};

/// What to do with the frames at the end of a stream that do not fill a whole window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum TailPolicy {
    /// Emit no window for them.
    #[default]
    Drop,
    /// Emit one last window at the next stride position, padded by repeating the last frame.
    Pad,
}

/// Window geometry.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowConfig {
    /// Frames per window; defaults to the model's T.
    pub length: Option<usize>,
    /// Frames between the starts of consecutive windows; defaults to length / 2.
    pub stride: Option<usize>,
    /// Use every k-th decoded frame (1 = all).
    #[serde(default = "super::one")]
    pub frame_step: usize,
    /// End-of-stream handling of frames that do not fill a window.
    #[serde(default)]
    pub tail: TailPolicy,
}

impl Default for WindowConfig {
    fn default() -> Self {
        Self { length: None, stride: None, frame_step: 1, tail: TailPolicy::Drop }
    }
}

impl WindowConfig {
    pub(crate) fn check(&self) -> Result<(), String> {
        super::at_least_one("window.length", self.length.unwrap_or(1))?;
        super::at_least_one("window.stride", self.stride.unwrap_or(1))?;
        super::at_least_one("window.frame_step", self.frame_step)
    }
}
