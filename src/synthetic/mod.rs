//! The synthetic action set the shipped heads are trained on, rendered as real video files.
//!
//! `actiond-dev synth-video` writes a timeline of action segments (2–4 s each) with its ground
//! truth, so the demo and the end-to-end tests run on encoded video whose labels are known. The
//! scene rules mirror `models/synth.py` (the training set of `models/train.py`): lengths are in 64×64 model pixels and
//! scale per axis with the output size, so motion per model frame is the same at any resolution.

mod encode;
mod render;
mod scene;
mod timeline;

pub use encode::{Codec, EncodeError, write_video};
pub use render::render_frame;
pub use scene::{Action, Scene};
pub use timeline::{Segment, Timeline};
