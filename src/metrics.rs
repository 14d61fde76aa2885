//! Prometheus metrics of a running pipeline, kept with `prometheus-client` and exposed in the
//! text format by the [`crate::http`] listener.
//!
//! Handles are cheap clones of atomics, so the hot paths (a frame, a window) pay one atomic add.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

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

/// Every metric actiond exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    pub frames_decoded: Family<StreamLabel, Counter>,
    pub frames_dropped: Family<StreamLabel, Counter>,
    pub windows_inferred: Family<StreamLabel, Counter>,
    pub windows_dropped: Family<StreamLabel, Counter>,
    pub reconnects: Family<StreamLabel, Counter>,
    pub stream_up: Family<StreamLabel, Gauge>,
    pub queue_depth: Family<QueueLabel, Gauge>,
    pub events_written: Family<EventLabel, Counter>,
    pub inference_seconds: Histogram,
    pub latency_seconds: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("actiond");
        let metrics = Self {
            registry: Registry::default(),
            frames_decoded: Family::default(),
            frames_dropped: Family::default(),
            windows_inferred: Family::default(),
            windows_dropped: Family::default(),
            reconnects: Family::default(),
            stream_up: Family::default(),
            queue_depth: Family::default(),
            events_written: Family::default(),
            // 0.5 ms .. ~4 s
            inference_seconds: Histogram::new(exponential_buckets(0.0005, 2.0, 14)),
            // 1 ms .. ~16 s
            latency_seconds: Histogram::new(exponential_buckets(0.001, 2.0, 15)),
        };
        registry.register("frames_decoded", "Frames decoded per stream", metrics.frames_decoded.clone());
        registry.register(
            "windows_inferred",
            "Windows classified per stream",
            metrics.windows_inferred.clone(),
        );
        registry.register(
            "windows_dropped",
            "Live windows dropped before inference because it fell behind",
            metrics.windows_dropped.clone(),
        );
        registry.register("reconnects", "Reconnection attempts per stream", metrics.reconnects.clone());
        registry.register("stream_up", "1 while the stream delivers frames", metrics.stream_up.clone());
        registry.register("queue_depth", "Windows waiting for a worker", metrics.queue_depth.clone());
        registry.register(
            "events_written",
            "Events handed to the sinks, by type",
            metrics.events_written.clone(),
        );
        registry.register(
            "inference_seconds",
            "Time of one ONNX Runtime run (one window)",
            metrics.inference_seconds.clone(),
        );
        registry.register(
            "latency_seconds",
            "Live windows: last frame's arrival to the event being written",
            metrics.latency_seconds.clone(),
        );
        Self { registry, ..metrics }
    }
}

impl Metrics {
    pub fn stream(id: &str) -> StreamLabel {
        StreamLabel { stream: id.to_owned() }
    }

    /// The metrics in the Prometheus text exposition format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry).expect("writing to a String");
        text
    }
}
