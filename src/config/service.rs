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
    /// Serve `/healthz` and `/metrics` on this address (e.g. `127.0.0.1:9464`); off if unset.
    pub http_listen: Option<String>,
}

fn default_shutdown_timeout_s() -> f64 {
    10.0
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self { shutdown_timeout_s: default_shutdown_timeout_s(), http_listen: None }
    }
}

impl ServiceConfig {
    pub(crate) fn check(&self) -> Result<(), String> {
        super::positive_seconds("service.shutdown_timeout_s", self.shutdown_timeout_s)
    }
}
