//! JSON Lines appended to a file: flushed after every event or at an interval, forced to the
//! disk as `fsync` says, rotated by size or age (`<path>.1` the newest, `keep` of them), and
//! reopened after SIGHUP so logrotate's convention (rename, then HUP) works without `copytruncate`.

mod config;

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

pub use config::{FileConfig, FileSettings, FlushPolicy, FsyncPolicy};

use super::Sink;
use crate::flow::Event;
use crate::output::OutputError;

/// Bumped by [`reopen_files`]; a file sink that sees it change reopens its path.
static REOPEN_GENERATION: AtomicU64 = AtomicU64::new(0);

/// Asks every file sink to reopen its file before its next event (SIGHUP: the file may have been
/// renamed by logrotate). Signals are process-wide, so this is too.
pub fn reopen_files() {
    REOPEN_GENERATION.fetch_add(1, Ordering::Relaxed);
}

/// Appends events to a file.
pub struct FileSink {
    path: PathBuf,
    writer: BufWriter<File>,
    settings: FileSettings,
    /// Bytes in the current file.
    size: u64,
    opened: Instant,
    last_flush: Instant,
    last_sync: Instant,
    /// The reopen generation the current file belongs to.
    generation: u64,
    /// Whether a failed reopen was logged (once until one succeeds).
    reopen_failing: bool,
}

fn open_append(path: &Path) -> Result<(File, u64), OutputError> {
    let open_error = |source| OutputError::Open { path: path.to_owned(), source };
    let file = OpenOptions::new().create(true).append(true).open(path).map_err(open_error)?;
    let size = file.metadata().map_err(open_error)?.len();
    Ok((file, size))
}

/// `<path>.<n>`.
fn numbered(path: &Path, n: usize) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

impl FileSink {
    /// Opens (creating if needed) `path` for appending.
    pub fn open(path: &Path, settings: FileSettings) -> Result<Self, OutputError> {
        let (file, size) = open_append(path)?;
        let now = Instant::now();
        Ok(Self {
            path: path.to_owned(),
            writer: BufWriter::new(file),
            settings,
            size,
            opened: now,
            last_flush: now,
            last_sync: now,
            generation: REOPEN_GENERATION.load(Ordering::Relaxed),
            reopen_failing: false,
        })
    }

    fn io(&self, source: std::io::Error) -> OutputError {
        OutputError::File { path: self.path.clone(), source }
    }

    /// Hands buffered events to the kernel, and forces them to the disk when the policy says so
    /// (`force`: at rotation and at the end, unless the policy is `never`).
    fn flush_and_sync(&mut self, force: bool) -> Result<(), OutputError> {
        self.last_flush = Instant::now();
        self.writer.flush().map_err(|e| self.io(e))?;
        let sync = match self.settings.fsync {
            FsyncPolicy::Never => false,
            FsyncPolicy::Event => true,
            FsyncPolicy::Interval => force || self.last_sync.elapsed() >= self.settings.fsync_interval,
        };
        if sync {
            self.last_sync = Instant::now();
            self.writer.get_ref().sync_data().map_err(|e| self.io(e))?;
        }
        Ok(())
    }

    /// Replaces the writer with a fresh file at `path`, after flushing the old one.
    fn reopen(&mut self) -> Result<(), OutputError> {
        self.flush_and_sync(true)?;
        let (file, size) = open_append(&self.path)?;
        self.writer = BufWriter::new(file);
        self.size = size;
        self.opened = Instant::now();
        Ok(())
    }

    /// After SIGHUP: reopens the path. Should that fail (its folder gone), events keep going to
    /// the open file, nothing is lost, and the next event tries again.
    fn reopen_if_asked(&mut self) {
        let generation = REOPEN_GENERATION.load(Ordering::Relaxed);
        if generation == self.generation {
            return;
        }
        match self.reopen() {
            Ok(()) => {
                self.generation = generation;
                self.reopen_failing = false;
                tracing::info!(file = %self.path.display(), "Event file reopened.");
            }
            Err(e) => {
                if !self.reopen_failing {
                    tracing::warn!(error = %e, "Event file not reopened; writing to the open one.");
                }
                self.reopen_failing = true;
            }
        }
    }

    /// `<path>` becomes `<path>.1`, `<path>.1` becomes `<path>.2`, … up to `keep`.
    fn rotate(&mut self, keep: usize) -> Result<(), OutputError> {
        self.flush_and_sync(true)?;
        for n in (1..keep).rev() {
            match std::fs::rename(numbered(&self.path, n), numbered(&self.path, n + 1)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(self.io(e)),
                _ => {}
            }
        }
        std::fs::rename(&self.path, numbered(&self.path, 1)).map_err(|e| self.io(e))?;
        self.reopen()
    }
}

impl Sink for FileSink {
    fn write(&mut self, event: &Event) -> Result<(), OutputError> {
        self.reopen_if_asked();
        let line = event.to_json_line();
        if let Some(rotation) = self.settings.rotation
            && rotation.due(self.size, line.len(), self.opened.elapsed())
        {
            self.rotate(rotation.keep)?;
        }
        self.writer.write_all(&line).map_err(|e| self.io(e))?;
        self.size += line.len() as u64;
        let due = self.settings.flush_interval.is_none_or(|i| self.last_flush.elapsed() >= i);
        if due { self.flush_and_sync(false) } else { Ok(()) }
    }

    fn flush(&mut self) -> Result<(), OutputError> {
        self.flush_and_sync(true)
    }
}
