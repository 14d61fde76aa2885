//! `[output]`: what each window event contains.

use serde::Deserialize;

/// Contents of the emitted window events.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputConfig {
    /// How many of the best labels each window event lists.
    #[serde(default = "default_top_k")]
    pub top_k: usize,
}

fn default_top_k() -> usize {
    3
}

impl Default for OutputConfig {
    fn default() -> Self {
        Self { top_k: default_top_k() }
    }
}

impl OutputConfig {
    pub(crate) fn check(&self) -> Result<(), String> {
        super::at_least_one("output.top_k", self.top_k)
    }
}
