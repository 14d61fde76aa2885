//! JSON Lines appended to a file, made durable after every event or at an interval.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::{Sink, SinkSpec};
use crate::flow::Event;
use crate::output::OutputError;

/// How often the file sink makes events durable.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FlushPolicy {
    /// After every event.
    Event,
    /// At most this long after an event (milliseconds), and at the end.
    Interval,
}

/// `type = "file"`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// The file events are appended to (created if missing); relative to the pipeline file.
    pub path: PathBuf,
    /// When written events are flushed to the file.
    #[serde(default = "default_flush")]
    pub flush: FlushPolicy,
    /// With `flush = "interval"`: milliseconds.
    #[serde(default = "default_flush_interval_ms")]
    pub flush_interval_ms: u64,
}

fn default_flush() -> FlushPolicy {
    FlushPolicy::Event
}
fn default_flush_interval_ms() -> u64 {
    1000
}

impl SinkSpec for FileConfig {
    fn name(&self) -> &'static str {
        "file"
    }

    fn paths_mut(&mut self) -> Vec<&mut PathBuf> {
        vec![&mut self.path]
    }

    fn build(&self) -> Result<Box<dyn Sink>, OutputError> {
        let interval =
            (self.flush == FlushPolicy::Interval).then(|| Duration::from_millis(self.flush_interval_ms));
        Ok(Box::new(FileSink::open(&self.path, interval)?))
    }
}

/// Appends events to a file.
pub struct FileSink {
    path: PathBuf,
    writer: BufWriter<File>,
    /// `None`: flush after every event.
    interval: Option<Duration>,
    last_flush: Instant,
}

impl FileSink {
    /// Opens (creating if needed) `path` for appending.
    pub fn open(path: &Path, interval: Option<Duration>) -> Result<Self, OutputError> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| OutputError::Open { path: path.to_owned(), source })?;
        Ok(Self { path: path.to_owned(), writer: BufWriter::new(file), interval, last_flush: Instant::now() })
    }

    fn io(&self, source: std::io::Error) -> OutputError {
        OutputError::File { path: self.path.clone(), source }
    }
}

impl Sink for FileSink {
    fn write(&mut self, event: &Event) -> Result<(), OutputError> {
        self.writer.write_all(&event.to_json_line()).map_err(|e| self.io(e))?;
        let due = self.interval.is_none_or(|i| self.last_flush.elapsed() >= i);
        if due { self.flush() } else { Ok(()) }
    }

    fn flush(&mut self) -> Result<(), OutputError> {
        self.last_flush = Instant::now();
        self.writer.flush().map_err(|e| self.io(e))
    }
}
