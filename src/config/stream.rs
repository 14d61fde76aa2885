//! `[[streams]]`: the inputs, with their RTSP and reconnection options.

use serde::Deserialize;

use super::{positive_seconds, uri_scheme};
use crate::flow::BackoffConfig;
use crate::flow::backoff::{
    default_backoff_factor, default_initial_delay_s, default_jitter, default_max_delay_s,
};
use crate::secret::Secret;

/// One input.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamConfig {
    /// Name used in every event of this stream.
    pub id: String,
    /// A path or a URI (`file://`, `rtsp://`, `rtsps://`, `http(s)://`).
    pub uri: String,
    /// Treat the input as live (reconnect, never block the decoder, drop the oldest windows when
    /// inference falls behind). Default: network URIs are live, files are not.
    pub live: Option<bool>,
    /// RTSP connection options (ignored for other inputs).
    #[serde(default)]
    pub rtsp: RtspConfig,
    /// Reconnection policy of a live input.
    #[serde(default)]
    pub reconnect: ReconnectConfig,
}

impl StreamConfig {
    /// Whether this stream is handled as a live source.
    pub fn is_live(&self) -> bool {
        self.live.unwrap_or_else(|| uri_scheme(&self.uri).is_some_and(|s| s != "file"))
    }

    pub(crate) fn check(&self) -> Result<(), String> {
        if self.id.is_empty() {
            return Err("`streams.id`: must not be empty".into());
        }
        let r = &self.reconnect;
        let durations = [
            ("reconnect.stall_timeout_s", r.stall_timeout_s),
            ("rtsp.connect_timeout_s", self.rtsp.connect_timeout_s),
        ];
        for (key, value) in durations {
            positive_seconds(key, value).map_err(|e| format!("stream \"{}\": {e}", self.id))?;
        }
        r.backoff().check("reconnect").map_err(|e| format!("stream \"{}\": {e}", self.id))?;
        Ok(())
    }
}

/// Lower transport for RTSP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum RtspTransport {
    /// Try UDP, fall back to TCP (GStreamer's default order).
    #[default]
    Auto,
    /// RTP interleaved in the RTSP TCP connection: works through NAT and firewalls.
    Tcp,
    /// RTP over UDP.
    Udp,
}

/// RTSP connection options.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RtspConfig {
    #[serde(default)]
    pub transport: RtspTransport,
    /// Jitter-buffer latency, milliseconds.
    #[serde(default = "default_latency_ms")]
    pub latency_ms: u32,
    /// Give up a connection attempt after this many seconds.
    #[serde(default = "default_connect_timeout_s")]
    pub connect_timeout_s: f64,
    /// User name, if the camera asks for one (may also be given in the URI).
    pub user: Option<String>,
    /// Password; prefer `password_env` so it stays out of the file.
    pub password: Option<String>,
    /// Name of an environment variable holding the password.
    pub password_env: Option<String>,
    /// The password, resolved from `password` or `password_env` by the plan.
    #[serde(skip)]
    pub resolved_password: Option<Secret>,
}

impl RtspConfig {
    pub(crate) fn resolve_secret(&mut self) -> Result<(), String> {
        self.resolved_password = Secret::resolve(self.password.as_deref(), self.password_env.as_deref())?;
        Ok(())
    }
}

fn default_latency_ms() -> u32 {
    200
}
fn default_connect_timeout_s() -> f64 {
    10.0
}

impl Default for RtspConfig {
    fn default() -> Self {
        Self {
            transport: RtspTransport::Auto,
            latency_ms: default_latency_ms(),
            connect_timeout_s: default_connect_timeout_s(),
            user: None,
            password: None,
            password_env: None,
            resolved_password: None,
        }
    }
}

/// When and how often a live input is reconnected.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReconnectConfig {
    /// Seconds without a frame after which a live input counts as down.
    #[serde(default = "default_stall_timeout_s")]
    pub stall_timeout_s: f64,
    /// Delay before the first reconnection attempt, seconds.
    #[serde(default = "default_initial_delay_s")]
    pub initial_delay_s: f64,
    /// Each further attempt waits this many times longer...
    #[serde(default = "default_backoff_factor")]
    pub factor: f64,
    /// ...up to this many seconds.
    #[serde(default = "default_max_delay_s")]
    pub max_delay_s: f64,
    /// Give up after this many failed attempts in a row (default: never).
    pub max_attempts: Option<u32>,
    /// Each delay is drawn at random within ± this fraction of itself, so that cameras dropped
    /// together by one network blip do not all reconnect in the same instant; 0 turns it off.
    #[serde(default = "default_jitter")]
    pub jitter: f64,
}

fn default_stall_timeout_s() -> f64 {
    20.0
}

impl ReconnectConfig {
    /// The spacing of attempts, as MQTT sinks configure it too.
    pub fn backoff(&self) -> BackoffConfig {
        BackoffConfig {
            initial_delay_s: self.initial_delay_s,
            factor: self.factor,
            max_delay_s: self.max_delay_s,
            jitter: self.jitter,
        }
    }
}

impl Default for ReconnectConfig {
    fn default() -> Self {
        Self {
            stall_timeout_s: default_stall_timeout_s(),
            initial_delay_s: default_initial_delay_s(),
            factor: default_backoff_factor(),
            max_delay_s: default_max_delay_s(),
            max_attempts: None,
            jitter: default_jitter(),
        }
    }
}
