//! JSON Lines on standard output, one event per line, flushed per event so that a consumer
//! reading a pipe sees each event at once and a crash loses nothing already produced.

use std::io::Write;

use serde::Deserialize;

use super::{Sink, SinkSpec};
use crate::flow::Event;
use crate::output::OutputError;

/// `type = "stdout"`: no settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StdoutConfig {}

impl SinkSpec for StdoutConfig {
    fn name(&self) -> &'static str {
        "stdout"
    }

    fn build(&self) -> Result<Box<dyn Sink>, OutputError> {
        Ok(Box::new(StdoutSink { writer: std::io::stdout() }))
    }
}

/// Writes events as JSON Lines to standard output.
pub struct StdoutSink {
    writer: std::io::Stdout,
}

impl Sink for StdoutSink {
    fn write(&mut self, event: &Event) -> Result<(), OutputError> {
        let mut out = self.writer.lock();
        out.write_all(&event.to_json_line())
            .and_then(|()| out.flush())
            .map_err(|source| OutputError::Write { sink: "stdout", source })
    }

    fn flush(&mut self) -> Result<(), OutputError> {
        self.writer.flush().map_err(|source| OutputError::Write { sink: "stdout", source })
    }
}
