//! `[model]`: which ONNX files, their labels, and how frames are preprocessed for them.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Tensor layout of a model's video input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LayoutChoice {
    /// Detect from the input shape.
    #[default]
    Auto,
    /// `[N, T, H, W, C]`, as Keras exports.
    Nthwc,
    /// `[N, C, T, H, W]`, as PyTorch video models use.
    Ncthw,
}

/// Order of the colour channels the model expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ChannelOrder {
    #[default]
    Rgb,
    Bgr,
}

/// What the model's output vector holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum OutputKind {
    /// Apply softmax unless the vector already is a probability distribution.
    #[default]
    Auto,
    /// Use the values as they are.
    Probabilities,
    /// Always apply softmax.
    Logits,
}

/// The model head and its preprocessing.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// ONNX file of the whole model (`[N,T,H,W,C]` or `[N,C,T,H,W]` → `[N,classes]`).
    /// Give either this or `encoder` and `head`.
    pub path: Option<PathBuf>,
    /// Two-stage form: per-frame encoder (`[N,H,W,C]` or `[N,C,H,W]` → `[N,D]`). The ring then
    /// holds embeddings, so each frame is encoded once however much the windows overlap.
    pub encoder: Option<PathBuf>,
    /// Two-stage form: temporal head over T embeddings (`[N,T,D]` → `[N,classes]`).
    pub head: Option<PathBuf>,
    /// Text file with one class label per line, in output order.
    pub labels: PathBuf,
    /// Input layout; `auto` detects `[N,T,H,W,C]` or `[N,C,T,H,W]` from the shape. For a
    /// two-stage model it is the encoder's: `nthwc` for `[N,H,W,C]`, `ncthw` for `[N,C,H,W]`.
    #[serde(default)]
    pub layout: LayoutChoice,
    /// Multiplier applied to each 0–255 pixel value before mean/std.
    #[serde(default = "default_scale")]
    pub scale: f32,
    /// Per-channel mean subtracted after scaling (in the model's channel order).
    #[serde(default = "default_mean")]
    pub mean: [f32; 3],
    /// Per-channel standard deviation divided by after the mean (in the model's channel order).
    #[serde(default = "default_std")]
    pub std: [f32; 3],
    /// Channel order of the model input.
    #[serde(default)]
    pub channel_order: ChannelOrder,
    /// Whether the output is probabilities or logits.
    #[serde(default)]
    pub output: OutputKind,
    /// Frame height, required only when the model's height is dynamic.
    pub height: Option<u32>,
    /// Frame width, required only when the model's width is dynamic.
    pub width: Option<u32>,
}

/// The ONNX files of a model, in one of its two forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelFiles {
    /// One model from window to classes.
    Whole(PathBuf),
    /// A per-frame encoder and a temporal head over its embeddings.
    TwoStage { encoder: PathBuf, head: PathBuf },
}

impl ModelFiles {
    /// The file whose output is the class vector.
    pub fn classifier(&self) -> &Path {
        match self {
            ModelFiles::Whole(path) => path,
            ModelFiles::TwoStage { head, .. } => head,
        }
    }
}

impl ModelConfig {
    /// Which form the model is given in; exactly one must be configured.
    pub fn files(&self) -> Result<ModelFiles, String> {
        match (&self.path, &self.encoder, &self.head) {
            (Some(path), None, None) => Ok(ModelFiles::Whole(path.clone())),
            (None, Some(encoder), Some(head)) => {
                Ok(ModelFiles::TwoStage { encoder: encoder.clone(), head: head.clone() })
            }
            (Some(_), _, _) => Err("`model`: give either `path` (a whole model) or `encoder` and `head` \
                 (a two-stage model), not both"
                .into()),
            (None, None, None) => Err("`model`: set `path` (a whole model) or `encoder` and `head` \
                 (a two-stage model)"
                .into()),
            (None, _, _) => Err("`model`: a two-stage model needs both `encoder` and `head`".into()),
        }
    }
}

fn default_scale() -> f32 {
    1.0 / 255.0
}
fn default_mean() -> [f32; 3] {
    [0.0; 3]
}
fn default_std() -> [f32; 3] {
    [1.0; 3]
}

impl ModelConfig {
    pub(crate) fn check(&self) -> Result<(), String> {
        self.files()?;
        if !(self.scale.is_finite() && self.scale != 0.0) {
            return Err("`model.scale`: must be a finite non-zero number".into());
        }
        if self.std.iter().any(|s| !(s.is_finite() && *s != 0.0)) {
            return Err("`model.std`: every entry must be a finite non-zero number".into());
        }
        Ok(())
    }

    /// The configured paths, for resolving against the pipeline file's folder.
    pub(crate) fn paths_mut(&mut self) -> impl Iterator<Item = &mut PathBuf> {
        [&mut self.path, &mut self.encoder, &mut self.head]
            .into_iter()
            .flatten()
            .chain(std::iter::once(&mut self.labels))
    }
}
