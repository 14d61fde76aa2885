//! What a model needs from the pipeline: its input layout and size, its classes, and how frames
//! are preprocessed for it.
//!
//! Introspection reads the ONNX input and output shapes from an ONNX Runtime session, so any
//! compatible model a user brings is accepted, and anything else is refused up front with the
//! shape that was found and the shapes that are accepted.

mod introspect;
mod labels;
mod opset;
mod preprocess;

use std::path::PathBuf;

pub use introspect::{EncoderInfo, HeadInfo, ModelInfo, TensorDescription, describe_session, detect_layout};
pub use labels::load_labels;
pub use opset::{count_parameters, read_opsets};
pub use preprocess::{PreprocessSettings, Preprocessor};

/// Tensor layout of one window (the model input without its batch dimension), or of one frame
/// for an encoder (`Thwc` then means `[H,W,C]`, `Cthw` means `[C,H,W]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TensorLayout {
    /// `[T, H, W, C]`: each frame is stored interleaved and copied whole.
    Thwc,
    /// `[C, T, H, W]`: each frame is stored planar and copied plane by plane.
    Cthw,
}

impl TensorLayout {
    /// How `inspect-model` names it.
    pub fn describe(self) -> &'static str {
        match self {
            TensorLayout::Thwc => "NTHWC (Keras)",
            TensorLayout::Cthw => "NCTHW (PyTorch)",
        }
    }
}

/// Why a model, its labels or its runtime cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("model {path}: file not found")]
    NotFound { path: PathBuf },
    #[error("model {path}: {reason}")]
    Load { path: PathBuf, reason: String },
    #[error("model {path}: {reason}")]
    Unsupported { path: PathBuf, reason: String },
    #[error("labels {path}: {reason}")]
    Labels { path: PathBuf, reason: String },
    #[error("model {model} and labels {labels}: {reason}")]
    Mismatch { model: PathBuf, labels: PathBuf, reason: String },
    #[error("ONNX Runtime: {0}")]
    Runtime(String),
}
