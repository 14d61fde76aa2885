//! The output stage: puts each stream's predictions back in window order, turns them into
//! events and writes them to the sinks.

mod channel;
mod event;
mod file;
mod mqtt;
mod reorder;
mod stdout;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;

pub use channel::ChannelSink;
pub use event::{Event, LabelScore, StatusEvent, WindowEvent, utc};
pub use file::FileSink;
pub use mqtt::MqttSink;
pub use reorder::{Released, Reorderer};
pub use stdout::JsonLinesSink;

use crate::config::{EventMode, EventsConfig, FlushPolicy, SinkConfig};
use crate::events::{ActionDetector, ActionRules, Smoother, WindowTimes};
use crate::infer::Prediction;
use crate::metrics::{EventLabel, Metrics};
use crate::progress::Progress;
use crate::window::WindowMeta;
use prometheus_client::metrics::counter::Counter;

/// Why a sink could not take an event.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("writing to {sink} failed: {source}")]
    Write { sink: &'static str, source: std::io::Error },
    #[error("cannot open event file {path}: {source}")]
    Open { path: std::path::PathBuf, source: std::io::Error },
    #[error("writing event file {path} failed: {source}")]
    File { path: std::path::PathBuf, source: std::io::Error },
    #[error("MQTT {url}: {reason}")]
    Mqtt { url: String, reason: String },
    #[error("the event channel's receiver is gone")]
    ChannelClosed,
}

/// Builds the configured sinks.
pub fn build_sinks(
    configs: &[SinkConfig],
    live_streams: &[String],
) -> Result<Vec<Box<dyn Sink>>, OutputError> {
    let _ = live_streams;
    configs
        .iter()
        .map(|config| -> Result<Box<dyn Sink>, OutputError> {
            Ok(match config {
                SinkConfig::Stdout => Box::new(JsonLinesSink::stdout()),
                SinkConfig::File { path, flush, flush_interval_ms } => {
                    let interval =
                        (*flush == FlushPolicy::Interval).then(|| Duration::from_millis(*flush_interval_ms));
                    Box::new(FileSink::open(path, interval)?)
                }
                SinkConfig::Mqtt(m) => Box::new(MqttSink::start(m, live_streams)?),
            })
        })
        .collect()
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

/// What the output stage needs besides the messages.
#[derive(Debug, Clone)]
pub struct OutputSettings {
    pub labels: Vec<String>,
    pub top_k: usize,
    pub events: EventsConfig,
}

/// Smoothing and action state of one stream, and its metric handles.
struct StreamEvents {
    smoother: Smoother,
    detector: ActionDetector,
    windows_inferred: Counter,
    windows_dropped: Counter,
}

/// Turns released items into events and writes them to every sink.
struct Writer<'a> {
    settings: &'a OutputSettings,
    metrics: &'a Metrics,
    ignored: Vec<bool>,
    streams: HashMap<String, StreamEvents>,
    sinks: &'a mut [Box<dyn Sink>],
    summary: OutputSummary,
}

impl<'a> Writer<'a> {
    fn new(settings: &'a OutputSettings, metrics: &'a Metrics, sinks: &'a mut [Box<dyn Sink>]) -> Self {
        let ignored = settings.labels.iter().map(|l| settings.events.ignore.contains(l)).collect();
        Self { settings, metrics, ignored, streams: HashMap::new(), sinks, summary: OutputSummary::default() }
    }

    fn stream(&mut self, id: &str) -> &mut StreamEvents {
        if !self.streams.contains_key(id) {
            let ev = &self.settings.events;
            let rules = ActionRules {
                on_threshold: ev.on_threshold,
                off_threshold: ev.off_threshold,
                min_windows: ev.min_windows,
                ignored: self.ignored.clone(),
            };
            let label = Metrics::stream(id);
            let state = StreamEvents {
                smoother: Smoother::new(ev.average),
                detector: ActionDetector::new(id, &self.settings.labels, rules),
                windows_inferred: self.metrics.windows_inferred.get_or_create(&label).clone(),
                windows_dropped: self.metrics.windows_dropped.get_or_create(&label).clone(),
            };
            self.streams.insert(id.to_owned(), state);
        }
        self.streams.get_mut(id).expect("inserted above")
    }

    fn wants(&self, mode: EventMode) -> bool {
        self.settings.events.modes.contains(&mode)
    }

    fn deliver(&mut self, item: Released) {
        match item {
            Released::Prediction(Prediction { meta, outcome: Ok(probabilities) }) => {
                self.window(&meta, &probabilities);
            }
            Released::Prediction(Prediction { meta, outcome: Err(e) }) => {
                self.summary.failed_windows += 1;
                tracing::error!(stream = %meta.stream, window = meta.index, error = %e, "Window not classified.");
            }
            Released::Dropped(meta) => {
                *self.summary.dropped_windows.entry(meta.stream.to_string()).or_default() += 1;
                self.stream(&meta.stream).windows_dropped.inc();
            }
            Released::Status(status) => {
                if matches!(status.kind, "stream_down" | "stream_end" | "stream_failed") {
                    let reason = status.kind;
                    let state = self.stream(&status.stream);
                    state.smoother.reset();
                    let ended = state.detector.close_all(reason);
                    if self.wants(EventMode::Actions) {
                        ended.into_iter().for_each(|a| self.write(Event::Action(a)));
                    }
                }
                self.summary.status_events += 1;
                self.write(Event::Status(status));
            }
        }
    }

    fn window(&mut self, meta: &WindowMeta, probabilities: &[f32]) {
        let settings = self.settings;
        let mut event = WindowEvent::new(meta, probabilities, &settings.labels, settings.top_k);
        if meta.clock.is_some() {
            event.dropped_windows =
                Some(self.summary.dropped_windows.get(&*meta.stream).copied().unwrap_or(0));
        }
        self.summary.windows += 1;
        let times = WindowTimes {
            window: meta.index,
            start_s: event.start_s,
            end_s: event.end_s,
            start_utc: event.start_utc.clone(),
            end_utc: event.end_utc.clone(),
        };
        let state = self.stream(&meta.stream);
        state.windows_inferred.inc();
        let smoothed = state.smoother.push(probabilities);
        let actions = state.detector.on_window(&times, &smoothed);
        event.set_smoothed(&smoothed, &settings.labels);
        let reported = !settings.events.ignore.contains(&event.smoothed_label)
            && event.smoothed_score >= settings.events.min_score;
        event.stamp_latency(meta, Instant::now());
        if let Some(ms) = event.latency_ms {
            self.metrics.latency_seconds.observe(ms / 1e3);
        }
        if self.wants(EventMode::Windows) && reported {
            self.write(Event::Window(event));
        }
        if self.wants(EventMode::Actions) {
            actions.into_iter().for_each(|a| self.write(Event::Action(a)));
        }
    }

    fn write(&mut self, event: Event) {
        self.metrics.events_written.get_or_create(&EventLabel { r#type: event.kind() }).inc();
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
    settings: &OutputSettings,
    progress: &Progress,
    sinks: &mut [Box<dyn Sink>],
) -> OutputSummary {
    let mut writer = Writer::new(settings, &progress.metrics, sinks);
    let mut reorder = Reorderer::default();
    for message in messages.iter() {
        let ready = match message {
            StageMessage::Prediction(p) => reorder.push(Released::Prediction(p)),
            StageMessage::Dropped(meta) => reorder.push(Released::Dropped(meta)),
            StageMessage::Status { stream, after_windows, event } => {
                reorder.push_status(&stream, after_windows, event)
            }
        };
        for item in ready {
            let is_window = matches!(item, Released::Prediction(_) | Released::Dropped(_));
            writer.deliver(item);
            if is_window {
                progress.window_done();
            }
        }
    }
    reorder.drain().into_iter().for_each(|item| writer.deliver(item));
    progress.set_flushing(true);
    for sink in writer.sinks.iter_mut() {
        if let Err(e) = sink.flush() {
            writer.summary.sink_errors += 1;
            tracing::error!(error = %e, "Sink error at flush.");
        }
    }
    writer.summary
}
