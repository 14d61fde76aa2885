//! `[[sinks]]`: where events go.

use std::path::PathBuf;

use serde::Deserialize;

/// How often the file sink makes events durable.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FlushPolicy {
    /// After every event.
    Event,
    /// At most this long after an event (milliseconds), and at the end.
    Interval,
}

/// One destination of events.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum SinkConfig {
    /// JSON Lines on standard output.
    Stdout,
    /// JSON Lines appended to a file.
    File {
        path: PathBuf,
        #[serde(default = "default_flush")]
        flush: FlushPolicy,
        /// With `flush = "interval"`: milliseconds.
        #[serde(default = "default_flush_interval_ms")]
        flush_interval_ms: u64,
    },
    /// An MQTT broker.
    Mqtt(MqttConfig),
}

fn default_flush() -> FlushPolicy {
    FlushPolicy::Event
}
fn default_flush_interval_ms() -> u64 {
    1000
}
pub(super) fn default_sinks() -> Vec<SinkConfig> {
    vec![SinkConfig::Stdout]
}

/// MQTT sink settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttConfig {
    /// `mqtt://host:port` or `mqtts://host:port` (TLS).
    pub url: String,
    #[serde(default = "default_client_id")]
    pub client_id: String,
    pub user: Option<String>,
    pub password: Option<String>,
    /// Name of an environment variable holding the password.
    pub password_env: Option<String>,
    /// CA certificate (PEM) for `mqtts://`; default: the system's roots are not used, so give one.
    pub ca_file: Option<PathBuf>,
    /// 0, 1 or 2.
    #[serde(default = "default_qos")]
    pub qos: u8,
    /// Topics are `<prefix>/<stream>/window|action|status`, and `<prefix>/availability`.
    #[serde(default = "default_topic_prefix")]
    pub topic_prefix: String,
    /// Events held while the broker is slow or away; live streams drop the oldest beyond this.
    #[serde(default = "default_mqtt_buffer")]
    pub buffer: usize,
    /// Files wait for the broker (lossless) at most this long per event before dropping.
    #[serde(default = "default_lossless_wait_s")]
    pub lossless_wait_s: f64,
}

fn default_client_id() -> String {
    "actiond".into()
}
fn default_qos() -> u8 {
    1
}
fn default_topic_prefix() -> String {
    "actiond".into()
}
fn default_mqtt_buffer() -> usize {
    10_000
}
fn default_lossless_wait_s() -> f64 {
    300.0
}
