//! The stage vocabulary: the types that cross stage borders, named once, below every stage.
//!
//! Data flows one way: `source` decodes [`Frame`]s and reports [`StreamStatus`] changes; `window`
//! cuts frames into [`Window`]s; `infer` turns windows into [`Prediction`]s; `output` receives
//! [`StageMessage`]s, restores each stream's order and writes [`Event`]s to the sinks. Every
//! stage imports this module; this module imports no stage, so no stage has to reach into
//! another to learn what it is handed.

pub mod backoff;
mod drop_oldest;
mod event;
mod frame;
mod message;
mod status;
mod tensor;
mod window;

pub use backoff::{BackoffConfig, ReconnectPolicy};
pub use drop_oldest::DropOldest;
pub use event::{ActionEvent, ActionKind, EVENT_TYPES, Event, LabelScore, StatusEvent, WindowEvent, utc};
pub use frame::{Frame, TimeJump};
pub use message::{InferError, Prediction, Slot, StageMessage};
pub use status::{EndReason, FailureReason, StatusKind, StreamStatus};
pub use tensor::{PooledTensor, TensorPool};
pub use window::{WallClock, Window, WindowData, WindowMeta};
