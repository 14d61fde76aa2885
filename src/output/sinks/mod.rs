//! Where events go, one file (or folder) per sink, each with its configuration beside it: the
//! configuration checks itself, names its paths and secrets, and builds its own sink, so adding
//! a sink touches its own module and one line of [`SinkConfig`].

mod channel;
mod entry;
mod file;
mod mqtt;
mod stdout;

use std::path::PathBuf;

use enum_dispatch::enum_dispatch;
use serde::Deserialize;

pub use channel::ChannelSink;
pub use entry::SinkEntry;
pub use file::{FileConfig, FileSettings, FileSink, FlushPolicy, FsyncPolicy, reopen_files};
pub use mqtt::{MqttConfig, MqttSink};
pub use stdout::{StdoutConfig, StdoutSink};

use super::OutputError;
use crate::flow::Event;

/// The streams a run now has and the labels they report: what a sink that describes streams to
/// others (Home Assistant discovery) needs. Given at start and after each reload.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Roster {
    /// Stream ids, as configured.
    pub streams: Vec<String>,
    /// The model's labels.
    pub labels: Vec<String>,
    /// The labels that can start an action (those not in `events.ignore`).
    pub actions: Vec<String>,
}

/// A destination for events.
pub trait Sink: Send {
    /// Writes one event; a sink that buffers must make it durable by `flush`.
    fn write(&mut self, event: &Event) -> Result<(), OutputError>;
    /// Whether this sink is written `event` (its `types`); the others it only observes.
    fn accepts(&self, _event: &Event) -> bool {
        true
    }
    fn flush(&mut self) -> Result<(), OutputError>;
    /// The configured streams changed (or the run began). Most sinks do not care.
    fn roster(&mut self, _roster: &Roster) -> Result<(), OutputError> {
        Ok(())
    }
    /// An event this sink is not written: one its `types` leave out, or a window whose label is
    /// not reported (ignored, or under `min_score`). A sink that keeps state for others (the
    /// current label of a Home Assistant sensor) still learns from it.
    fn observe(&mut self, _event: &Event) {}
}

/// What every sink's configuration does for itself.
#[enum_dispatch]
pub trait SinkSpec {
    /// The sink's `type`, for messages.
    fn name(&self) -> &'static str;
    /// Checks what types alone cannot express; called when the file is loaded.
    fn check(&self) -> Result<(), String> {
        Ok(())
    }
    /// The configured paths, resolved against the pipeline file's folder when it is loaded.
    fn paths_mut(&mut self) -> Vec<&mut PathBuf> {
        Vec::new()
    }
    /// Reads the passwords named by environment variables, once, when the file is loaded.
    fn resolve_secrets(&mut self) -> Result<(), String> {
        Ok(())
    }
    /// Fills in defaults that must differ between two daemons on one host or broker (the MQTT
    /// client id), from `instance`: the host's and the pipeline file's names.
    fn name_instance(&mut self, _instance: &str) {}
    /// Opens the sink.
    fn build(&self) -> Result<Box<dyn Sink>, OutputError>;
}

/// `actiond-<host>-<pipeline>`, reduced to letters, digits and `-`: what names this daemon
/// among others on a broker, the same across restarts.
pub fn instance_name(pipeline: &std::path::Path) -> String {
    let host = gethostname::gethostname().to_string_lossy().into_owned();
    let stem = pipeline.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let name = format!("actiond-{host}-{stem}");
    let clean: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    clean.trim_end_matches('-').to_owned()
}

/// One `[[sinks]]` entry.
#[enum_dispatch(SinkSpec)]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum SinkConfig {
    /// JSON Lines on standard output.
    Stdout(StdoutConfig),
    /// JSON Lines appended to a file.
    File(FileConfig),
    /// An MQTT broker.
    Mqtt(MqttConfig),
}

impl SinkEntry {
    /// The sinks of a pipeline file without `[[sinks]]`: stdout only, every event.
    pub fn defaults() -> Vec<SinkEntry> {
        vec![SinkConfig::Stdout(StdoutConfig {}).into()]
    }
}

/// Opens every configured sink, each given the event types its entry names.
pub fn build_sinks(configs: &[SinkEntry]) -> Result<Vec<Box<dyn Sink>>, OutputError> {
    configs.iter().map(SinkSpec::build).collect()
}
