//! JSON Lines appended to a file: flushed after every event or at an interval, forced to the
//! disk as `fsync` says, rotated by size or age (`<path>.1` the newest, `keep` of them), and
//! reopened after SIGHUP so logrotate's convention (rename, then HUP) works without `copytruncate`.
//!
//! A file that cannot be written (a full disk, its folder removed) loses nothing at first:
//! events wait in a bounded [`backlog`] and are retried every second; a write that fails half
//! way is cut back to the last whole line, and a file removed under us is created again when
//! its folder returns. The first failure of a burst is logged, the recovery too (with what was
//! dropped, if the backlog overflowed); every event refused meanwhile is a sink error to the
//! output stage, which counts it.

mod backlog;
mod config;

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub use config::{FileConfig, FileSettings, FlushPolicy, FsyncPolicy};

use super::Sink;
use crate::flow::Event;
use crate::output::OutputError;
use backlog::Backlog;

/// After a failed write, how long before the next attempt.
const RETRY_EVERY: Duration = Duration::from_secs(1);

/// With `flush = "interval"`, pending lines are written early once they reach this size (what
/// `BufWriter`'s buffer held).
const FLUSH_AT_BYTES: usize = 8 * 1024;

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
    file: File,
    /// Whole lines not yet written.
    pending: Backlog,
    settings: FileSettings,
    /// Bytes of whole lines in the current file.
    size: u64,
    opened: Instant,
    last_flush: Instant,
    last_sync: Instant,
    /// The reopen generation the current file belongs to.
    generation: u64,
    /// Whether a failed reopen was logged (once until one succeeds).
    reopen_failing: bool,
    /// While the file cannot be written: when to try again, and the failure being waited out.
    failing: Option<(Instant, String)>,
    /// Events dropped from the full backlog in this burst of failures.
    dropped: u64,
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
            file,
            pending: Backlog::new(settings.backlog_bytes),
            settings,
            size,
            opened: now,
            last_flush: now,
            last_sync: now,
            generation: REOPEN_GENERATION.load(Ordering::Relaxed),
            reopen_failing: false,
            failing: None,
            dropped: 0,
        })
    }

    fn io(&self, source: std::io::Error) -> OutputError {
        OutputError::File { path: self.path.clone(), source }
    }

    /// Writes the pending lines, and forces them to the disk when the policy says so (`force`:
    /// at rotation and at the end, unless the policy is `never`; it also skips the wait after a
    /// failure).
    fn flush_and_sync(&mut self, force: bool) -> Result<(), OutputError> {
        self.last_flush = Instant::now();
        self.write_pending(force)?;
        let sync = match self.settings.fsync {
            FsyncPolicy::Never => false,
            FsyncPolicy::Event => true,
            FsyncPolicy::Interval => force || self.last_sync.elapsed() >= self.settings.fsync_interval,
        };
        if sync {
            self.last_sync = Instant::now();
            self.file.sync_data().map_err(|e| self.io(e))?;
        }
        Ok(())
    }

    /// Writes every pending line, or none: a write the disk cuts short is cut back to the last
    /// whole line and kept for the next attempt (not before [`RETRY_EVERY`] unless `now`).
    fn write_pending(&mut self, now: bool) -> Result<(), OutputError> {
        if let Some((retry_at, reason)) = &self.failing
            && !now
            && Instant::now() < *retry_at
        {
            let (path, held) = (self.path.clone(), self.pending.lines());
            return Err(OutputError::Held { path, held, reason: reason.clone() });
        }
        if self.pending.is_empty() {
            return Ok(());
        }
        let written = self.reattach_if_removed().and_then(|length| {
            self.file.write_all(self.pending.as_slice()).map(|()| length).map_err(|e| {
                // Whatever part of a line reached the file goes (cut back to the length it had
                // just before, not a remembered one: the file may have been truncated since);
                // the lines stay pending. Should even that fail, the retry starts on a new line.
                if let Err(cut) = self.file.set_len(length) {
                    tracing::warn!(file = %self.path.display(), error = %cut, "A half-written event could not be cut back.");
                    self.pending.start_on_a_new_line();
                }
                self.io(e)
            })
        });
        match written {
            Ok(length) => {
                self.size = length + self.pending.len() as u64;
                self.pending.clear();
                if self.failing.take().is_some() {
                    let dropped = std::mem::take(&mut self.dropped) + self.pending.take_dropped();
                    tracing::info!(file = %self.path.display(), dropped,
                        "Event file writable again; the held events are written.");
                }
                Ok(())
            }
            Err(e) => {
                if self.failing.is_none() {
                    tracing::warn!(error = %e, backlog_bytes = self.settings.backlog_bytes,
                        "Event file not writable; events are held and retried every second.");
                }
                self.failing = Some((Instant::now() + RETRY_EVERY, e.to_string()));
                let dropped = self.pending.take_dropped();
                if dropped > 0 && self.dropped == 0 {
                    tracing::error!(file = %self.path.display(), backlog_bytes = self.settings.backlog_bytes,
                        "Events dropped: the event file could not be written and the backlog was full; \
                         the oldest go first (counted at recovery).");
                }
                self.dropped += dropped;
                Err(e)
            }
        }
    }

    /// A file removed under us (its folder deleted, or the file itself) still takes writes that
    /// nobody will read: write to a new file at the path instead, once it can be made. Returns
    /// the length of the file about to be written.
    fn reattach_if_removed(&mut self) -> Result<u64, OutputError> {
        let meta = self.file.metadata().map_err(|e| self.io(e))?;
        if meta.nlink() > 0 {
            return Ok(meta.len());
        }
        let (file, size) = open_append(&self.path)?;
        tracing::warn!(file = %self.path.display(), "The event file was removed; writing to a new one.");
        self.file = file;
        self.size = size;
        self.opened = Instant::now();
        Ok(size)
    }

    /// Replaces the file with a fresh one at `path`, after writing what is pending.
    fn reopen(&mut self) -> Result<(), OutputError> {
        self.flush_and_sync(true)?;
        let (file, size) = open_append(&self.path)?;
        self.file = file;
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
        let rotated = match self.settings.rotation {
            Some(rotation)
                if rotation.due(self.size + self.pending.len() as u64, line.len(), self.opened.elapsed()) =>
            {
                self.rotate(rotation.keep)
            }
            _ => Ok(()),
        };
        // Held even when rotation failed (the disk is full): it is retried with the next event.
        self.pending.push(&line);
        rotated?;
        let due = self.settings.flush_interval.is_none_or(|i| self.last_flush.elapsed() >= i);
        // While failing, every event tries (at most once a second) so that the output stage
        // hears the truth about each one, not an Ok for an event merely queued.
        if due || self.failing.is_some() || self.pending.len() >= FLUSH_AT_BYTES {
            self.flush_and_sync(false)
        } else {
            Ok(())
        }
    }

    fn flush(&mut self) -> Result<(), OutputError> {
        self.flush_and_sync(true)
    }
}
