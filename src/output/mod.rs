//! The output stage: puts each stream's predictions back in window order, turns them into
//! events and writes them to the sinks.

mod event;
mod reorder;
mod stdout;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::Receiver;

pub use event::{Event, LabelScore, StatusEvent, WindowEvent, utc};
pub use reorder::{Released, Reorderer};
pub use stdout::JsonLinesSink;

use crate::infer::Prediction;
use crate::window::WindowMeta;

/// Why a sink could not take an event.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("writing to {sink} failed: {source}")]
    Write { sink: &'static str, source: std::io::Error },
}

/// A destination for events.
pub trait Sink: Send {
    /// Writes one event; a sink that buffers must make it durable by `flush`.
    fn write(&mut self, event: &Event) -> Result<(), OutputError>;
    fn flush(&mut self) -> Result<(), OutputError>;
}

/// What the other stages send to the output stage.
#[derive(Debug, Clone)]
pub enum StageMessage {
    /// A classified (or failed) window.
    Prediction(Prediction),
    /// A live window dropped before inference because inference fell behind.
    Dropped(WindowMeta),
    /// A change of a stream's state, following the stream's first `after_windows` windows.
    Status { stream: Arc<str>, after_windows: u64, event: StatusEvent },
}

/// Counts of what the output stage did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct OutputSummary {
    pub windows: u64,
    pub failed_windows: u64,
    pub dropped_windows: HashMap<String, u64>,
    pub status_events: u64,
    pub sink_errors: u64,
}

/// Turns released items into events and writes them to every sink.
struct Writer<'a> {
    labels: &'a [String],
    top_k: usize,
    sinks: &'a mut [Box<dyn Sink>],
    summary: OutputSummary,
}

impl Writer<'_> {
    fn deliver(&mut self, item: Released) {
        let event = match item {
            Released::Prediction(Prediction { meta, outcome: Ok(probabilities) }) => {
                let mut event = WindowEvent::new(&meta, &probabilities, self.labels, self.top_k);
                if meta.clock.is_some() {
                    event.dropped_windows =
                        Some(self.summary.dropped_windows.get(&*meta.stream).copied().unwrap_or(0));
                }
                event.stamp_latency(&meta, Instant::now());
                self.summary.windows += 1;
                Event::Window(event)
            }
            Released::Prediction(Prediction { meta, outcome: Err(e) }) => {
                self.summary.failed_windows += 1;
                tracing::error!(stream = %meta.stream, window = meta.index, error = %e, "Window not classified.");
                return;
            }
            Released::Dropped(meta) => {
                *self.summary.dropped_windows.entry(meta.stream.to_string()).or_default() += 1;
                return;
            }
            Released::Status(status) => {
                self.summary.status_events += 1;
                Event::Status(status)
            }
        };
        for sink in self.sinks.iter_mut() {
            if let Err(e) = sink.write(&event) {
                self.summary.sink_errors += 1;
                tracing::error!(error = %e, "Sink error.");
            }
        }
    }
}

/// Drains `messages` until every producer is gone, writing events in window order per stream.
pub fn run_output(
    messages: Receiver<StageMessage>,
    labels: &[String],
    top_k: usize,
    sinks: &mut [Box<dyn Sink>],
) -> OutputSummary {
    let mut writer = Writer { labels, top_k, sinks, summary: OutputSummary::default() };
    let mut reorder = Reorderer::default();
    for message in messages.iter() {
        let ready = match message {
            StageMessage::Prediction(p) => reorder.push(Released::Prediction(p)),
            StageMessage::Dropped(meta) => reorder.push(Released::Dropped(meta)),
            StageMessage::Status { stream, after_windows, event } => {
                reorder.push_status(&stream, after_windows, event)
            }
        };
        ready.into_iter().for_each(|item| writer.deliver(item));
    }
    reorder.drain().into_iter().for_each(|item| writer.deliver(item));
    for sink in writer.sinks.iter_mut() {
        if let Err(e) = sink.flush() {
            writer.summary.sink_errors += 1;
            tracing::error!(error = %e, "Sink error at flush.");
        }
    }
    writer.summary
}
