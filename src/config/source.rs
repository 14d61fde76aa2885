//! `[source]`: decoding options shared by every stream.

use serde::{Deserialize, Serialize};

use super::AutoOr;

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
    /// Threads of libav's software decoders per stream (`avdec_*` `max-threads`): `"auto"` (the
    /// default), a number, or 0 for libav's choice (one per core). `"auto"` gives a live stream
    /// one thread (libav threads a live stream by slices, and a camera's frame is one slice) and
    /// a file the cores left over by inference, shared among the streams, at most 8; on two cores
    /// that is one, which was as fast end to end as frame threading at 10–20 % less CPU per frame
    /// (BENCHMARKS.md, "Thread settings").
    #[serde(default)]
    pub decoder_threads: AutoOr,
    /// Which video decoder GStreamer plugs: `"auto"`, `"software"` or an element's name.
    #[serde(default)]
    pub decoder: DecoderChoice,
}

/// `source.decoder`: which video decoder decodes every stream.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(from = "String", into = "String")]
pub enum DecoderChoice {
    /// A hardware decoder (VA-API `vah264dec`, NVIDIA `nvh264dec`, V4L2, …) when GStreamer has
    /// one for the stream and it starts; libav otherwise.
    #[default]
    Auto,
    /// Never a hardware decoder.
    Software,
    /// This GStreamer element and no other (e.g. `"avdec_h264"`, `"nvh264dec"`).
    Element(String),
}

impl From<String> for DecoderChoice {
    fn from(text: String) -> Self {
        match text.as_str() {
            "auto" => Self::Auto,
            "software" => Self::Software,
            _ => Self::Element(text),
        }
    }
}

impl From<DecoderChoice> for String {
    fn from(choice: DecoderChoice) -> Self {
        match choice {
            DecoderChoice::Auto => "auto".into(),
            DecoderChoice::Software => "software".into(),
            DecoderChoice::Element(name) => name,
        }
    }
}

impl SourceConfig {
    pub(super) fn check(&self) -> Result<(), String> {
        match &self.decoder {
            DecoderChoice::Element(name) if name.trim().is_empty() => {
                Err("`source.decoder`: give \"auto\", \"software\" or a GStreamer element's name".into())
            }
            _ => Ok(()),
        }
    }
}

impl Default for SourceConfig {
    fn default() -> Self {
        Self {
            resize: ResizeMode::default(),
            decoder_threads: AutoOr::Auto,
            decoder: DecoderChoice::default(),
        }
    }
}
