//! The per-frame encoder of a two-stage model: one frame's pixels to one embedding.
//!
//! Each stream owns one, on its own thread, so frames are encoded in order as they arrive and
//! the ring can hold embeddings instead of pixels. A window then costs one small head run
//! instead of T encoder passes (10× less work at stride 1 for T = 10).

use std::sync::Arc;

use ort::session::Session;
use ort::value::TensorRef;

use super::InferError;
use crate::model::{EncoderInfo, Preprocessor};
use crate::window::TensorLayout;

/// An encoder session with its preprocessing and a reusable input buffer.
pub struct FrameEncoder {
    session: Session,
    input_name: String,
    /// `[1,H,W,3]` or `[1,3,H,W]`.
    shape: Vec<i64>,
    layout: TensorLayout,
    preprocessor: Arc<Preprocessor>,
    pixels: Vec<f32>,
    dim: usize,
}

impl FrameEncoder {
    /// `height` and `width` are the frame size the pipeline decodes to.
    pub fn new(
        session: Session,
        info: &EncoderInfo,
        preprocessor: Arc<Preprocessor>,
        height: u32,
        width: u32,
    ) -> Self {
        let (h, w) = (i64::from(height), i64::from(width));
        let shape = match info.layout {
            TensorLayout::Thwc => vec![1, h, w, 3],
            TensorLayout::Cthw => vec![1, 3, h, w],
        };
        Self {
            session,
            input_name: info.input.name.clone(),
            shape,
            layout: info.layout,
            pixels: vec![0.0; preprocessor.frame_len()],
            preprocessor,
            dim: info.dim,
        }
    }

    /// Length of one embedding.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Encodes one packed RGB frame into `out` (`dim` values).
    pub fn encode(&mut self, rgb: &[u8], out: &mut [f32]) -> Result<(), InferError> {
        self.preprocessor.convert(self.layout, rgb, &mut self.pixels);
        let run = |e: ort::Error| InferError::Run(e.to_string());
        let input =
            TensorRef::from_array_view((self.shape.as_slice(), self.pixels.as_slice())).map_err(run)?;
        let outputs = self.session.run(ort::inputs![self.input_name.as_str() => input]).map_err(run)?;
        let (_, embedding) = outputs[0].try_extract_tensor::<f32>().map_err(run)?;
        if embedding.len() != self.dim {
            return Err(InferError::OutputWidth { found: embedding.len(), expected: self.dim });
        }
        out.copy_from_slice(embedding);
        Ok(())
    }
}
