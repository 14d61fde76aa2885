//! What the stages hand the output stage: predictions, dropped windows and status changes.

use std::sync::Arc;

use super::{StatusEvent, WindowMeta};

/// Why a model run (a window's, or an encoder's on one frame) gave no answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InferError {
    #[error("ONNX Runtime failed: {0}")]
    Run(String),
    #[error("the model returned {found} values, expected {expected}")]
    OutputWidth { found: usize, expected: usize },
    #[error("the model returned a score of {value}: this window has no label")]
    NotFinite { value: f32 },
    #[error(
        "the model returned {value}, not a probability, with output = \"probabilities\": set output = \"logits\" or \"auto\""
    )]
    NotProbability { value: f32 },
}

/// The model's answer for one window, or why there is none.
#[derive(Debug, Clone)]
pub struct Prediction {
    pub meta: WindowMeta,
    pub outcome: Result<Vec<f32>, InferError>,
}

/// What the other stages send to the output stage, which releases them in the same form, in
/// window order per stream.
#[derive(Debug, Clone)]
pub enum StageMessage {
    /// A classified (or failed) window.
    Prediction(Prediction),
    /// A live window dropped before inference because inference fell behind.
    Dropped(WindowMeta),
    /// A change of a stream's state, following the stream's first `after_windows` windows.
    Status { stream: Arc<str>, after_windows: u64, event: StatusEvent },
    /// The ids of the streams now configured: sent at start and after each reload, ahead of any
    /// event of an added stream. Sinks that describe the streams to others (Home Assistant
    /// discovery) announce added streams and withdraw removed ones.
    Roster(Vec<String>),
}

/// Where a message belongs in its stream's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// A prediction or a dropped window: its window index.
    Window(u64),
    /// A status change: after the stream's first this many windows.
    AfterWindows(u64),
}

impl StageMessage {
    /// The stream a message is about and where it belongs in that stream's order; `None` for
    /// a roster, which belongs to no stream and is released at once.
    pub fn slot(&self) -> Option<(&Arc<str>, Slot)> {
        match self {
            StageMessage::Prediction(p) => Some((&p.meta.stream, Slot::Window(p.meta.index))),
            StageMessage::Dropped(meta) => Some((&meta.stream, Slot::Window(meta.index))),
            StageMessage::Status { stream, after_windows, .. } => {
                Some((stream, Slot::AfterWindows(*after_windows)))
            }
            StageMessage::Roster(_) => None,
        }
    }

    /// Whether it stands for a window (classified, failed or dropped).
    pub fn is_window(&self) -> bool {
        matches!(self.slot(), Some((_, Slot::Window(_))))
    }
}
