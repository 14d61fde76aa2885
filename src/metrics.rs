//! Prometheus metrics of a running pipeline, kept with `prometheus-client` and exposed as
//! OpenMetrics text by the HTTP listener (`http`).
//!
//! Handles are cheap clones of atomics, so the hot paths (a frame, a window) pay one atomic add.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StreamLabel {
    pub stream: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueueLabel {
    pub queue: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EventLabel {
    pub r#type: &'static str,
}

/// A sink by its position in the pipeline's `[[sinks]]`, from 0.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SinkLabel {
    pub sink: String,
}

/// Every metric actiond exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    pub frames_decoded: Family<StreamLabel, Counter>,
    pub frames_dropped: Family<StreamLabel, Counter>,
    pub windows_inferred: Family<StreamLabel, Counter>,
    pub encoder_failures: Family<StreamLabel, Counter>,
    pub windows_dropped: Family<StreamLabel, Counter>,
    pub reconnects: Family<StreamLabel, Counter>,
    pub stream_up: Family<StreamLabel, Gauge>,
    pub queue_depth: Family<QueueLabel, Gauge>,
    pub events_written: Family<EventLabel, Counter>,
    pub sink_errors: Family<SinkLabel, Counter>,
    /// Set when scraped (`Progress::encode_metrics`).
    pub stalled_seconds: Gauge<f64, AtomicU64>,
    pub inference_seconds: Histogram,
    pub latency_seconds: Histogram,
}

/// Registers `metric` under `name` and returns the handle the stages update.
fn registered<M>(registry: &mut Registry, name: &str, help: &str, metric: M) -> M
where
    M: prometheus_client::registry::Metric + Clone,
{
    registry.register(name, help, metric.clone());
    metric
}

impl Default for Metrics {
    fn default() -> Self {
        let mut r = Registry::with_prefix("actiond");
        let reg = &mut r;
        Self {
            frames_decoded: registered(reg, "frames_decoded", "Frames decoded per stream", Family::default()),
            frames_dropped: registered(
                reg,
                "frames_dropped",
                "Live frames decoded but never delivered (stream thread behind), counted per connection",
                Family::default(),
            ),
            windows_inferred: registered(
                reg,
                "windows_inferred",
                "Windows classified per stream",
                Family::default(),
            ),
            encoder_failures: registered(
                reg,
                "encoder_failures",
                "Frames a two-stage model's encoder failed on (no window spans them)",
                Family::default(),
            ),
            windows_dropped: registered(
                reg,
                "windows_dropped",
                "Live windows dropped before inference because it fell behind",
                Family::default(),
            ),
            reconnects: registered(reg, "reconnects", "Reconnection attempts per stream", Family::default()),
            stream_up: registered(reg, "stream_up", "1 while the stream delivers frames", Family::default()),
            queue_depth: registered(reg, "queue_depth", "Windows waiting for a worker", Family::default()),
            events_written: registered(
                reg,
                "events_written",
                "Events handed to the sinks, by type",
                Family::default(),
            ),
            sink_errors: registered(
                reg,
                "sink_errors",
                "Events (or flushes) a sink refused, by its position in [[sinks]]: a full disk, a broker away",
                Family::default(),
            ),
            stalled_seconds: registered(
                reg,
                "stalled_seconds",
                "Seconds windows have waited for inference and the sinks with none done (0 while work moves)",
                Gauge::default(),
            ),
            // 0.5 ms .. ~4 s
            inference_seconds: registered(
                reg,
                "inference_seconds",
                "Time of one ONNX Runtime run (one window)",
                Histogram::new(exponential_buckets(0.0005, 2.0, 14)),
            ),
            // 1 ms .. ~16 s
            latency_seconds: registered(
                reg,
                "latency_seconds",
                "Live windows: last frame's arrival to the event being written",
                Histogram::new(exponential_buckets(0.001, 2.0, 15)),
            ),
            registry: r,
        }
    }
}

impl Metrics {
    pub fn stream(id: &str) -> StreamLabel {
        StreamLabel { stream: id.to_owned() }
    }

    /// Creates every per-stream series of `id` at zero, so a dashboard shows 0 rather than "no
    /// data", and `increase()` in an alert rule sees the first drop or reconnect of a stream.
    pub fn register_stream(&self, id: &str) {
        let label = Self::stream(id);
        for counter in [
            &self.frames_decoded,
            &self.frames_dropped,
            &self.windows_inferred,
            &self.encoder_failures,
            &self.windows_dropped,
            &self.reconnects,
        ] {
            drop(counter.get_or_create(&label));
        }
        drop(self.stream_up.get_or_create(&label));
    }

    /// The metrics as OpenMetrics text.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry).expect("writing to a String");
        text
    }
}
