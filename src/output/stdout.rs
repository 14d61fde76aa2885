//! JSON Lines on standard output, one event per line, flushed per event so that a consumer
//! reading a pipe sees each event at once and a crash loses nothing already produced.

use std::io::Write;

use super::{Event, OutputError, Sink};

/// Writes events as JSON Lines to any writer (stdout in the daemon).
pub struct JsonLinesSink<W: Write + Send> {
    name: &'static str,
    writer: W,
}

impl JsonLinesSink<std::io::Stdout> {
    pub fn stdout() -> Self {
        Self { name: "stdout", writer: std::io::stdout() }
    }
}

impl<W: Write + Send> JsonLinesSink<W> {
    pub fn new(name: &'static str, writer: W) -> Self {
        Self { name, writer }
    }

    pub fn into_inner(self) -> W {
        self.writer
    }
}

impl<W: Write + Send> Sink for JsonLinesSink<W> {
    fn write(&mut self, event: &Event) -> Result<(), OutputError> {
        let mut line = serde_json::to_vec(event).expect("events always serialise");
        line.push(b'\n');
        self.writer
            .write_all(&line)
            .and_then(|()| self.writer.flush())
            .map_err(|source| OutputError::Write { sink: self.name, source })
    }

    fn flush(&mut self) -> Result<(), OutputError> {
        self.writer.flush().map_err(|source| OutputError::Write { sink: self.name, source })
    }
}
