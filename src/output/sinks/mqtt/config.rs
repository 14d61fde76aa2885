//! `type = "mqtt"`: the broker, credentials, topics and buffering of the MQTT sink.

use std::path::PathBuf;

use serde::Deserialize;

use super::MqttSink;
use crate::flow::BackoffConfig;
use crate::output::OutputError;
use crate::output::sinks::{Sink, SinkSpec};
use crate::secret::Secret;

/// MQTT sink settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttConfig {
    /// `mqtt://host:port` or `mqtts://host:port` (TLS).
    pub url: String,
    /// The client id; with `clean_session = false` the broker keeps this client's session.
    /// Default: `actiond-<host>-<pipeline file name>`, the same across restarts and different
    /// for two daemons (`actiond@a`, `actiond@b`) on one broker, which would otherwise take
    /// turns kicking each other off.
    pub client_id: Option<String>,
    pub user: Option<String>,
    /// Password; prefer `password_env` so it stays out of the file.
    pub password: Option<String>,
    /// Name of an environment variable holding the password.
    pub password_env: Option<String>,
    /// CA certificate (PEM) for `mqtts://`; without it the system's root certificates are
    /// trusted (`SSL_CERT_FILE` names another bundle).
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
    /// How reconnection attempts to the broker are spaced: the same rule, keys and defaults as a
    /// stream's `[streams.reconnect]` (1 s doubling to 30 s, ± 20 % jitter).
    #[serde(default)]
    pub reconnect: BackoffConfig,
    /// Home Assistant MQTT discovery: a device per stream with a connectivity sensor, the
    /// current label and a binary sensor per action label (see the README).
    #[serde(default)]
    pub discovery: bool,
    /// Where Home Assistant listens for discovery configs.
    #[serde(default = "default_discovery_prefix")]
    pub discovery_prefix: String,
    /// The password, resolved from `password` or `password_env` by the plan.
    #[serde(skip)]
    pub resolved_password: Option<Secret>,
}

fn default_qos() -> u8 {
    1
}
fn default_topic_prefix() -> String {
    "actiond".into()
}
fn default_discovery_prefix() -> String {
    "homeassistant".into()
}
fn default_mqtt_buffer() -> usize {
    10_000
}
fn default_lossless_wait_s() -> f64 {
    300.0
}

/// Where the broker is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Endpoint {
    pub tls: bool,
    pub host: String,
    pub port: u16,
}

impl Endpoint {
    /// `mqtt://host[:port]` or `mqtts://host[:port]`.
    pub fn parse(url: &str) -> Result<Self, String> {
        let (tls, rest) = if let Some(r) = url.strip_prefix("mqtts://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("mqtt://") {
            (false, r)
        } else {
            return Err(format!("`url`: {url} is not mqtt://host:port or mqtts://host:port"));
        };
        let authority = rest.trim_end_matches('/');
        if authority.contains('@') {
            return Err(format!(
                "`url`: expected a host in {url} (give credentials as `user` and `password_env`)"
            ));
        }
        let default_port = if tls { 8883 } else { 1883 };
        let port_of = |p: &str| p.parse::<u16>().map_err(|_| format!("`url`: bad port `{p}` in {url}"));
        let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
            // An IPv6 address: mqtt://[::1]:1883.
            let (host, after) =
                bracketed.split_once(']').ok_or_else(|| format!("`url`: unclosed `[` in {url}"))?;
            match after.strip_prefix(':') {
                Some(p) => (host, port_of(p)?),
                None if after.is_empty() => (host, default_port),
                None => return Err(format!("`url`: expected `:port` after `]` in {url}")),
            }
        } else if authority.matches(':').count() > 1 {
            return Err(format!(
                "`url`: write an IPv6 address in brackets, e.g. mqtt://[::1]:1883 (got {url})"
            ));
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, port_of(p)?),
                None => (authority, default_port),
            }
        };
        if host.is_empty() || host.contains('@') {
            return Err(format!(
                "`url`: expected a host in {url} (give credentials as `user` and `password_env`)"
            ));
        }
        Ok(Self { tls, host: host.to_owned(), port })
    }
}

impl SinkSpec for MqttConfig {
    fn name(&self) -> &'static str {
        "mqtt"
    }

    fn check(&self) -> Result<(), String> {
        if self.qos > 2 {
            return Err("`qos`: must be 0, 1 or 2".into());
        }
        let endpoint = Endpoint::parse(&self.url)?;
        match &self.ca_file {
            Some(path) if endpoint.tls => {
                std::fs::metadata(path).map_err(|e| format!("`ca_file` {}: {e}", path.display()))?;
            }
            _ => {}
        }
        self.reconnect.check("reconnect")?;
        if self.discovery_prefix.trim_matches('/').is_empty() || self.discovery_prefix.contains(['+', '#']) {
            return Err("`discovery_prefix`: must be a topic without `+` or `#`".into());
        }
        if !(self.lossless_wait_s.is_finite() && self.lossless_wait_s >= 0.0) {
            return Err("`lossless_wait_s`: must be a number of seconds, 0 or more".into());
        }
        Ok(())
    }

    fn paths_mut(&mut self) -> Vec<&mut PathBuf> {
        self.ca_file.iter_mut().collect()
    }

    fn resolve_secrets(&mut self) -> Result<(), String> {
        self.resolved_password = Secret::resolve(self.password.as_deref(), self.password_env.as_deref())?;
        Ok(())
    }

    fn name_instance(&mut self, instance: &str) {
        self.client_id.get_or_insert_with(|| instance.to_owned());
    }

    fn build(&self) -> Result<Box<dyn Sink>, OutputError> {
        Ok(Box::new(MqttSink::start(self)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(tls: bool, host: &str, port: u16) -> Endpoint {
        Endpoint { tls, host: host.into(), port }
    }

    #[test]
    fn urls_and_default_ports() {
        assert_eq!(Endpoint::parse("mqtt://127.0.0.1:1884"), Ok(endpoint(false, "127.0.0.1", 1884)));
        assert_eq!(Endpoint::parse("mqtts://broker.local"), Ok(endpoint(true, "broker.local", 8883)));
        assert!(Endpoint::parse("tcp://x").is_err());
        assert!(Endpoint::parse("mqtt://u:p@host:1883").is_err());
        assert!(Endpoint::parse("mqtt://host:port").unwrap_err().contains("bad port"));
        assert!(Endpoint::parse("mqtt://u:p@host:1883").unwrap_err().contains("credentials"));
    }

    #[test]
    fn a_bad_reconnect_table_is_refused_naming_the_key() {
        let text = "url = \"mqtt://127.0.0.1\"\n[reconnect]\njitter = 1.5\n";
        let config: MqttConfig = toml::from_str(text).unwrap();
        assert!(config.check().unwrap_err().contains("`reconnect.jitter`"));
        let text = "url = \"mqtt://127.0.0.1\"\n[reconnect]\nmax_attempts = 3\n";
        assert!(toml::from_str::<MqttConfig>(text).is_err(), "a sink never gives up the broker");
    }

    #[test]
    fn ipv6_broker_addresses_parse_in_brackets() {
        // Defect pinned: `mqtt://[::1]:1883` was split at its last colon into host `[::1]`.
        assert_eq!(Endpoint::parse("mqtt://[::1]:1884"), Ok(endpoint(false, "::1", 1884)));
        assert_eq!(Endpoint::parse("mqtts://[fd00::5]"), Ok(endpoint(true, "fd00::5", 8883)));
        assert!(Endpoint::parse("mqtt://::1:1883").unwrap_err().contains("brackets"));
        assert!(Endpoint::parse("mqtt://[::1:1883").unwrap_err().contains("unclosed"));
    }
}
