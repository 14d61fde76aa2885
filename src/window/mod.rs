//! Cuts one stream's frames into overlapping windows of T frames.
//!
//! Sampling (`frame_step`) happens before the ring, and each kept frame is converted from u8 to
//! the model's f32 representation exactly once, when it enters the ring; a window is then a
//! plain copy of T converted frames into the model's tensor layout. This keeps the per-window
//! cost at a memcpy however much the windows overlap.

mod pool;
mod ring;

pub use pool::{PooledTensor, TensorPool};
pub use ring::{
    EncodeFailure, FrameFeatures, WallClock, Window, WindowData, WindowGeometry, WindowMeta, Windower,
};

/// Tensor layout of one window (the model input without its batch dimension).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TensorLayout {
    /// `[T, H, W, C]`: each frame is stored interleaved and copied whole.
    Thwc,
    /// `[C, T, H, W]`: each frame is stored planar and copied plane by plane.
    Cthw,
}
