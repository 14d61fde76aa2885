//! `[service]`: behaviour as a long-running service.

use serde::Deserialize;

/// Service behaviour.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    /// After SIGTERM/SIGINT, seconds allowed to finish the windows already cut and flush the
    /// sinks; past that actiond exits non-zero naming what was stuck.
    #[serde(default = "default_shutdown_timeout_s")]
    pub shutdown_timeout_s: f64,
    /// Serve `/healthz`, `/readyz` and `/metrics` on this address (e.g. `127.0.0.1:9464`); off
    /// if unset.
    pub http_listen: Option<String>,
    /// Seconds windows may wait for inference and the sinks with none done before `/healthz`
    /// answers 503 (a stuck stage; under systemd the watchdog sees the same stall).
    #[serde(default = "default_stall_timeout_s")]
    pub stall_timeout_s: f64,
}

fn default_shutdown_timeout_s() -> f64 {
    10.0
}

fn default_stall_timeout_s() -> f64 {
    30.0
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            shutdown_timeout_s: default_shutdown_timeout_s(),
            http_listen: None,
            stall_timeout_s: default_stall_timeout_s(),
        }
    }
}

impl ServiceConfig {
    pub(crate) fn check(&self) -> Result<(), String> {
        super::positive_seconds("service.shutdown_timeout_s", self.shutdown_timeout_s)?;
        super::positive_seconds("service.stall_timeout_s", self.stall_timeout_s)
    }
}
