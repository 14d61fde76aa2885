//! Where events go, one file (or folder) per sink, each with its configuration beside it: the
//! configuration checks itself, names its paths and secrets, and builds its own sink, so adding
//! a sink touches its own module and one line of [`SinkConfig`].

mod channel;
mod file;
mod mqtt;
mod stdout;

use std::path::PathBuf;

use enum_dispatch::enum_dispatch;
use serde::Deserialize;

pub use channel::ChannelSink;
pub use file::{FileConfig, FileSink, FlushPolicy};
pub use mqtt::{MqttConfig, MqttSink};
pub use stdout::{StdoutConfig, StdoutSink};

use super::OutputError;
use crate::flow::Event;

/// A destination for events.
pub trait Sink: Send {
    /// Writes one event; a sink that buffers must make it durable by `flush`.
    fn write(&mut self, event: &Event) -> Result<(), OutputError>;
    fn flush(&mut self) -> Result<(), OutputError>;
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
    /// Opens the sink.
    fn build(&self) -> Result<Box<dyn Sink>, OutputError>;
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

impl SinkConfig {
    /// The sinks of a pipeline file without `[[sinks]]`: stdout only.
    pub fn defaults() -> Vec<SinkConfig> {
        vec![SinkConfig::Stdout(StdoutConfig {})]
    }
}

/// Opens every configured sink.
pub fn build_sinks(configs: &[SinkConfig]) -> Result<Vec<Box<dyn Sink>>, OutputError> {
    configs.iter().map(SinkSpec::build).collect()
}
