//! The window stage: cuts one stream's frames into overlapping windows of T frames.
//!
//! Sampling (`frame_step`) happens before the ring, and each kept frame is converted from u8 to
//! the model's f32 representation exactly once, when it enters the ring; a window is then a
//! plain copy of T converted frames into the model's tensor layout. This keeps the per-window
//! cost at a memcpy however much the windows overlap. [`WindowStage`] is one stream's stage: it
//! takes what the source's supervisor delivers and hands windows to inference and status
//! changes to the output stage, through an edge it only knows as [`WindowOut`].

mod features;
mod geometry;
mod ring;
mod stage;

pub use features::{EncodeFailure, FrameEncoder, FrameFeatures};
pub use geometry::WindowGeometry;
pub use ring::Windower;
pub use stage::{WindowOut, WindowStage};
