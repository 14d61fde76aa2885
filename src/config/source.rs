//! `[source]`: decoding options shared by every stream.

use serde::{Deserialize, Serialize};

/// How a decoded picture is fitted to the model's H×W.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ResizeMode {
    /// Scale each axis independently (the aspect ratio changes).
    #[default]
    Stretch,
    /// Keep the aspect ratio and fill the rest with black borders.
    Letterbox,
}

/// Decoding options.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// How frames are fitted to the model size.
    #[serde(default)]
    pub resize: ResizeMode,
    /// Threads of libav's software decoders (`avdec_*` `max-threads`); 0 lets libav choose
    /// (one per core). One thread (the default) costs 10–20 % less CPU per frame than frame
    /// threading and, beside inference, ran as fast end to end (BENCHMARKS.md); more threads
    /// decode one stream faster when nothing else needs the cores.
    #[serde(default = "default_decoder_threads")]
    pub decoder_threads: u32,
}

fn default_decoder_threads() -> u32 {
    1
}

impl Default for SourceConfig {
    fn default() -> Self {
        Self { resize: ResizeMode::default(), decoder_threads: default_decoder_threads() }
    }
}
