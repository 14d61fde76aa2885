//! What the ring holds per sampled frame: converted pixels, or an encoder's embedding.

use std::sync::Arc;

use crate::flow::{InferError, Window};
use crate::model::{Preprocessor, TensorLayout};

/// A frame the encoder failed on. It is a discontinuity, like a reconnection: the ring was
/// emptied, and `tail` is the padded window of the frames before it if the tail policy asks for
/// one.
#[derive(Debug)]
pub struct EncodeFailure {
    pub error: InferError,
    pub tail: Option<Box<Window>>,
}

/// One frame's pixels to one embedding: the per-frame encoder of a two-stage model. The window
/// stage owns this trait and the inference stage implements it, so windowing never calls up
/// into a later stage's types.
pub trait FrameEncoder: Send {
    /// Length of one embedding (D).
    fn dim(&self) -> usize;
    /// Encodes one packed RGB frame into `out` (`dim` values).
    fn encode(&mut self, rgb: &[u8], out: &mut [f32]) -> Result<(), InferError>;
}

/// What a sampled frame becomes in the ring.
pub enum FrameFeatures {
    /// The model's input values, converted from u8 once, in the window's layout.
    Pixels { preprocessor: Arc<Preprocessor>, layout: TensorLayout },
    /// The embedding of a two-stage model's encoder: the window is a `[T,D]` sequence.
    Embeddings(Box<dyn FrameEncoder>),
}

impl FrameFeatures {
    /// Values one frame occupies in the ring.
    pub(super) fn len(&self) -> usize {
        match self {
            FrameFeatures::Pixels { preprocessor, .. } => preprocessor.frame_len(),
            FrameFeatures::Embeddings(encoder) => encoder.dim(),
        }
    }

    pub(super) fn convert(&mut self, rgb: &[u8], out: &mut [f32]) -> Result<(), InferError> {
        match self {
            FrameFeatures::Pixels { preprocessor, layout } => preprocessor.convert(*layout, rgb, out),
            FrameFeatures::Embeddings(encoder) => encoder.encode(rgb, out)?,
        }
        Ok(())
    }

    /// Planes per frame when the window is channel-major (`[C,T,H,W]`), else `None`.
    pub(super) fn planes(&self) -> Option<usize> {
        match self {
            FrameFeatures::Pixels { preprocessor, layout: TensorLayout::Cthw } => {
                Some(preprocessor.channels())
            }
            _ => None,
        }
    }
}
