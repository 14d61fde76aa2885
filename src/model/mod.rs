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
pub use opset::read_opsets;
pub use preprocess::{PreprocessSettings, Preprocessor};

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
