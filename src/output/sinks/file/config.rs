//! `type = "file"`: where events are appended, when they are made durable, and how the file is
//! rotated.

use std::path::PathBuf;
use std::time::Duration;

use bytesize::ByteSize;
use serde::Deserialize;

use super::FileSink;
use crate::output::OutputError;
use crate::output::sinks::{Sink, SinkSpec};

/// How often written events are handed to the operating system.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FlushPolicy {
    /// After every event.
    Event,
    /// At most this long after an event (milliseconds), and at the end.
    Interval,
}

/// How often the file is forced to the disk (`fdatasync`): what survives a power cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FsyncPolicy {
    /// Never: events survive a crash of actiond (they are in the kernel), not of the machine.
    Never,
    /// At a flush at most every `fsync_interval_ms`, at rotation and at the end.
    Interval,
    /// After every event (which is then flushed at once, whatever `flush` says).
    Event,
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
    #[serde(default = "default_interval_ms")]
    pub flush_interval_ms: u64,
    /// When the file is forced to the disk.
    #[serde(default = "default_fsync")]
    pub fsync: FsyncPolicy,
    /// With `fsync = "interval"`: milliseconds.
    #[serde(default = "default_interval_ms")]
    pub fsync_interval_ms: u64,
    /// Rotate before the file would grow past this size (`"100 MiB"`, or bytes).
    pub rotate_size: Option<ByteSize>,
    /// Rotate when the file has been written for this long (seconds).
    pub rotate_every_s: Option<f64>,
    /// Rotated files kept (`<path>.1` the newest … `<path>.<keep>`); older ones are deleted.
    #[serde(default = "default_keep")]
    pub keep: usize,
    /// While the file cannot be written (a full disk, its folder removed), events wait in
    /// memory up to this size (`"16 MiB"`, or bytes) and are retried every second; beyond it
    /// the oldest are dropped, counted and logged.
    #[serde(default = "default_backlog")]
    pub backlog: ByteSize,
}

fn default_flush() -> FlushPolicy {
    FlushPolicy::Event
}
fn default_fsync() -> FsyncPolicy {
    FsyncPolicy::Never
}
fn default_interval_ms() -> u64 {
    1000
}
fn default_keep() -> usize {
    5
}
fn default_backlog() -> ByteSize {
    ByteSize::mib(16)
}

/// The smallest `backlog`: twice the bytes written at once with `flush = "interval"`.
const MIN_BACKLOG: ByteSize = ByteSize::kib(16);

/// When to start a new file.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rotation {
    pub max_bytes: Option<u64>,
    pub max_age: Option<Duration>,
    pub keep: usize,
}

impl Rotation {
    /// Whether a file of `size` bytes, written for `age`, must rotate before taking `next` more.
    pub fn due(&self, size: u64, next: usize, age: Duration) -> bool {
        size > 0
            && (self.max_bytes.is_some_and(|m| size + next as u64 > m)
                || self.max_age.is_some_and(|m| age >= m))
    }
}

/// What a file sink runs with, made from its configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FileSettings {
    /// `None`: flush after every event.
    pub flush_interval: Option<Duration>,
    pub fsync: FsyncPolicy,
    pub fsync_interval: Duration,
    pub rotation: Option<Rotation>,
    /// Bytes of events held while the file cannot be written.
    pub backlog_bytes: usize,
}

impl FileConfig {
    pub fn settings(&self) -> FileSettings {
        let rotating = self.rotate_size.is_some() || self.rotate_every_s.is_some();
        FileSettings {
            flush_interval: (self.flush == FlushPolicy::Interval && self.fsync != FsyncPolicy::Event)
                .then(|| Duration::from_millis(self.flush_interval_ms)),
            fsync: self.fsync,
            fsync_interval: Duration::from_millis(self.fsync_interval_ms),
            rotation: rotating.then(|| Rotation {
                max_bytes: self.rotate_size.map(|s| s.as_u64()),
                max_age: self.rotate_every_s.map(Duration::from_secs_f64),
                keep: self.keep,
            }),
            backlog_bytes: usize::try_from(self.backlog.as_u64()).unwrap_or(usize::MAX),
        }
    }
}

impl SinkSpec for FileConfig {
    fn name(&self) -> &'static str {
        "file"
    }

    fn check(&self) -> Result<(), String> {
        if self.rotate_size.is_some_and(|s| s.as_u64() == 0) {
            return Err("`rotate_size`: must be more than 0 bytes".into());
        }
        if let Some(every) = self.rotate_every_s
            && !(every.is_finite() && every > 0.0)
        {
            return Err("`rotate_every_s`: must be a number of seconds above 0".into());
        }
        if self.keep == 0 {
            return Err("`keep`: at least 1 rotated file is kept".into());
        }
        if self.backlog.as_u64() < MIN_BACKLOG.as_u64() {
            return Err(format!(
                "`backlog`: at least {MIN_BACKLOG} (twice what is written at once); {} would drop events in good times",
                self.backlog
            ));
        }
        if self.path.file_name().is_none() {
            return Err(format!("`path` {} names no file", self.path.display()));
        }
        Ok(())
    }

    fn paths_mut(&mut self) -> Vec<&mut PathBuf> {
        vec![&mut self.path]
    }

    fn build(&self) -> Result<Box<dyn Sink>, OutputError> {
        Ok(Box::new(FileSink::open(&self.path, self.settings())?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_is_due_by_size_or_age_but_never_for_an_empty_file() {
        let r = Rotation { max_bytes: Some(100), max_age: Some(Duration::from_secs(60)), keep: 2 };
        assert!(!r.due(0, 500, Duration::from_secs(3600)), "an empty file takes even a long line");
        assert!(!r.due(90, 10, Duration::from_secs(1)));
        assert!(r.due(90, 11, Duration::from_secs(1)));
        assert!(r.due(10, 1, Duration::from_secs(60)));
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        let config: FileConfig = toml::from_str("path = \"e.jsonl\"\nrotate_size = \"1 MiB\"").unwrap();
        assert_eq!(config.settings().rotation.unwrap().max_bytes, Some(1 << 20));
        let config: FileConfig = toml::from_str("path = \"e.jsonl\"\nrotate_size = 4096").unwrap();
        assert_eq!(config.settings().rotation.unwrap().max_bytes, Some(4096));
    }
}
