//! The per-frame encoder of a two-stage model: one frame's pixels to one embedding.
//!
//! Each stream owns one, on its own thread, so frames are encoded in order as they arrive and
//! the ring can hold embeddings instead of pixels. A window then costs one small head run
//! instead of T encoder passes (10× less work at stride 1 for T = 10).

use std::sync::Arc;

use ort::session::Session;

use super::run_once;
use crate::flow::InferError;
use crate::model::{EncoderInfo, Preprocessor, TensorLayout};
use crate::window::FrameEncoder;

/// An encoder session with its preprocessing and a reusable input buffer.
pub struct OnnxEncoder {
    session: Session,
    input_name: String,
    /// `[1,H,W,3]` or `[1,3,H,W]`.
    shape: Vec<i64>,
    layout: TensorLayout,
    preprocessor: Arc<Preprocessor>,
    pixels: Vec<f32>,
    dim: usize,
}

impl OnnxEncoder {
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
}

impl FrameEncoder for OnnxEncoder {
    fn dim(&self) -> usize {
        self.dim
    }

    fn encode(&mut self, rgb: &[u8], out: &mut [f32]) -> Result<(), InferError> {
        self.preprocessor.convert(self.layout, rgb, &mut self.pixels);
        run_once(&mut self.session, &self.input_name, &self.shape, &self.pixels, out)
    }
}
