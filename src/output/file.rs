//! JSON Lines appended to a file, made durable after every event or at an interval.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{Event, OutputError, Sink};

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
        let mut line = serde_json::to_vec(event).expect("events always serialise");
        line.push(b'\n');
        self.writer.write_all(&line).map_err(|e| self.io(e))?;
        let due = self.interval.is_none_or(|i| self.last_flush.elapsed() >= i);
        if due { self.flush() } else { Ok(()) }
    }

    fn flush(&mut self) -> Result<(), OutputError> {
        self.last_flush = Instant::now();
        self.writer.flush().map_err(|e| self.io(e))
    }
}
