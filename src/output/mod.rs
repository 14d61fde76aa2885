//! The output stage: puts each stream's predictions back in window order, turns them into
//! events and writes them to the sinks.

mod event;
mod reorder;
mod stdout;

use crossbeam_channel::Receiver;

pub use event::{LabelScore, WindowEvent};
pub use reorder::Reorderer;
pub use stdout::JsonLinesSink;

use crate::infer::Prediction;

/// Why a sink could not take an event.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("writing to {sink} failed: {source}")]
    Write { sink: &'static str, source: std::io::Error },
}

/// A destination for events.
pub trait Sink: Send {
    /// Writes one event; a sink that buffers must make it durable by `flush`.
    fn write(&mut self, event: &WindowEvent) -> Result<(), OutputError>;
    fn flush(&mut self) -> Result<(), OutputError>;
}

/// Counts of what the output stage did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct OutputSummary {
    pub windows: u64,
    pub failed_windows: u64,
    pub sink_errors: u64,
}

/// Drains `predictions` until every producer is gone, writing events in window order per stream.
pub fn run_output(
    predictions: Receiver<Prediction>,
    labels: &[String],
    top_k: usize,
    sinks: &mut [Box<dyn Sink>],
) -> OutputSummary {
    let mut summary = OutputSummary::default();
    let mut reorder = Reorderer::default();
    let mut deliver = |prediction: Prediction, summary: &mut OutputSummary| match prediction.outcome {
        Ok(probabilities) => {
            let event = WindowEvent::new(&prediction.meta, &probabilities, labels, top_k);
            summary.windows += 1;
            for sink in sinks.iter_mut() {
                if let Err(e) = sink.write(&event) {
                    summary.sink_errors += 1;
                    tracing::error!(error = %e, "Sink error.");
                }
            }
        }
        Err(e) => {
            summary.failed_windows += 1;
            tracing::error!(stream = %prediction.meta.stream, window = prediction.meta.index, error = %e,
                "Window not classified.");
        }
    };
    for prediction in predictions.iter() {
        for ready in reorder.push(prediction) {
            deliver(ready, &mut summary);
        }
    }
    for leftover in reorder.drain() {
        deliver(leftover, &mut summary);
    }
    for sink in sinks.iter_mut() {
        if let Err(e) = sink.flush() {
            summary.sink_errors += 1;
            tracing::error!(error = %e, "Sink error at flush.");
        }
    }
    summary
}
