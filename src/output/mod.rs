//! The output stage: puts each stream's predictions back in window order ([`Reorderer`]), turns
//! them into events ([`writer`]: smoothing, actions) and writes them to the [`sinks`].

mod reorder;
pub mod sinks;
mod writer;

use std::collections::HashMap;

use crossbeam_channel::Receiver;

pub use reorder::Reorderer;
pub use sinks::{ChannelSink, Roster, Sink, SinkConfig, SinkEntry, build_sinks, reopen_files};

use crate::events::EventRules;
use crate::flow::StageMessage;
use crate::progress::Progress;
use writer::Writer;

/// Why a sink could not take an event.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("writing to {sink} failed: {source}")]
    Write { sink: &'static str, source: std::io::Error },
    #[error("cannot open event file {path}: {source}")]
    Open { path: std::path::PathBuf, source: std::io::Error },
    #[error("writing event file {path} failed: {source}")]
    File { path: std::path::PathBuf, source: std::io::Error },
    #[error("event file {path} still not writable ({reason}): {held} events held")]
    Held { path: std::path::PathBuf, held: usize, reason: String },
    #[error("MQTT {url}: {reason}")]
    Mqtt { url: String, reason: String },
    #[error("the event channel's receiver is gone")]
    ChannelClosed,
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

/// What the output stage needs besides the messages; made by the plan.
#[derive(Debug, Clone)]
pub struct OutputSettings {
    pub labels: Vec<String>,
    pub rules: EventRules,
}

/// Drains `messages` until every producer is gone, writing events in window order per stream.
pub fn run_output(
    messages: Receiver<StageMessage>,
    settings: &OutputSettings,
    progress: &Progress,
    sinks: &mut [Box<dyn Sink>],
) -> OutputSummary {
    let mut writer = Writer::new(settings, &progress.metrics, sinks);
    let mut reorder = Reorderer::default();
    for message in messages.iter() {
        for item in reorder.push(message) {
            let is_window = item.is_window();
            writer.deliver(item);
            if is_window {
                progress.window_done();
            }
        }
    }
    reorder.drain().into_iter().for_each(|item| writer.deliver(item));
    progress.set_flushing(true);
    writer.flush()
}
