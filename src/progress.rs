//! Counters the stages update as work flows, read by the service watchdog, the status line and
//! shutdown diagnostics. Lock-free counters on the hot path; the per-stream state map changes
//! only when a stream changes state.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::metrics::Metrics;

/// What a stream is doing now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamState {
    Starting,
    Up,
    Down,
    Ended,
    Failed,
}

impl StreamState {
    pub fn as_str(self) -> &'static str {
        match self {
            StreamState::Starting => "starting",
            StreamState::Up => "up",
            StreamState::Down => "down",
            StreamState::Ended => "ended",
            StreamState::Failed => "failed",
        }
    }
}

/// Shared progress of one running pipeline.
#[derive(Debug)]
pub struct Progress {
    /// Prometheus metrics, updated by the same stages.
    pub metrics: Metrics,
    windows_cut: AtomicU64,
    windows_done: AtomicU64,
    started: AtomicBool,
    /// The output stage is flushing its sinks (the last step of a run).
    flushing: AtomicBool,
    streams: Mutex<BTreeMap<String, StreamState>>,
    /// The clock of `moved_ns`.
    born: Instant,
    /// When, after `born`, a window was last done, or work began to wait after none did.
    moved_ns: AtomicU64,
}

impl Default for Progress {
    fn default() -> Self {
        Self {
            metrics: Metrics::default(),
            windows_cut: AtomicU64::new(0),
            windows_done: AtomicU64::new(0),
            started: AtomicBool::new(false),
            flushing: AtomicBool::new(false),
            streams: Mutex::default(),
            born: Instant::now(),
            moved_ns: AtomicU64::new(0),
        }
    }
}

/// A consistent-enough reading of the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Snapshot {
    /// Windows handed to inference.
    pub windows_cut: u64,
    /// Windows classified, failed or dropped, and handed to the sinks.
    pub windows_done: u64,
}

impl Snapshot {
    /// True when work was waiting at `earlier` and none of it got done since: a stage is stuck.
    pub fn stalled_since(&self, earlier: &Snapshot) -> bool {
        earlier.windows_cut > earlier.windows_done && self.windows_done == earlier.windows_done
    }
}

impl Progress {
    pub fn window_cut(&self) {
        let waiting_before = self.windows_cut.fetch_add(1, Ordering::Relaxed);
        if waiting_before <= self.windows_done.load(Ordering::Relaxed) {
            // Nothing was waiting: a wait starts now, however long ago the last window was done.
            self.moved();
        }
    }

    pub fn window_done(&self) {
        self.windows_done.fetch_add(1, Ordering::Relaxed);
        self.moved();
    }

    fn moved(&self) {
        self.moved_ns.store(self.born.elapsed().as_nanos() as u64, Ordering::Relaxed);
    }

    /// The metrics as OpenMetrics text, `actiond_stalled_seconds` brought up to date first.
    pub fn encode_metrics(&self) -> String {
        self.metrics.stalled_seconds.set(self.stalled_for().map_or(0.0, |d| d.as_secs_f64()));
        self.metrics.encode()
    }

    /// How long windows have been waiting without one getting done: a stage is stuck when this
    /// grows (the stall the service watchdog detects). `None` while nothing waits.
    pub fn stalled_for(&self) -> Option<Duration> {
        let snapshot = self.snapshot();
        (snapshot.windows_cut > snapshot.windows_done).then(|| {
            self.born.elapsed().saturating_sub(Duration::from_nanos(self.moved_ns.load(Ordering::Relaxed)))
        })
    }

    /// Every stream has been handed to its supervisor.
    pub fn mark_started(&self) {
        self.started.store(true, Ordering::Release);
    }

    pub fn is_started(&self) -> bool {
        self.started.load(Ordering::Acquire)
    }

    pub fn set_flushing(&self, flushing: bool) {
        self.flushing.store(flushing, Ordering::Release);
    }

    pub fn is_flushing(&self) -> bool {
        self.flushing.load(Ordering::Acquire)
    }

    pub fn set_state(&self, stream: &str, state: StreamState) {
        self.streams.lock().expect("not poisoned").insert(stream.to_owned(), state);
    }

    /// Forgets a stream removed by a reload.
    pub fn remove_state(&self, stream: &str) {
        self.streams.lock().expect("not poisoned").remove(stream);
    }

    pub fn states(&self) -> BTreeMap<String, StreamState> {
        self.streams.lock().expect("not poisoned").clone()
    }

    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            windows_cut: self.windows_cut.load(Ordering::Relaxed),
            windows_done: self.windows_done.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_is_timed_from_when_work_began_to_wait() {
        let progress = Progress::default();
        assert_eq!(progress.stalled_for(), None, "nothing cut, nothing waits");
        progress.window_cut();
        progress.window_done();
        assert_eq!(progress.stalled_for(), None);
        std::thread::sleep(Duration::from_millis(30));
        // An idle spell before a window is cut is not a stall.
        progress.window_cut();
        assert!(progress.stalled_for().unwrap() < Duration::from_millis(20));
        std::thread::sleep(Duration::from_millis(30));
        assert!(progress.stalled_for().unwrap() >= Duration::from_millis(30));
        progress.window_done();
        assert_eq!(progress.stalled_for(), None);
    }

    #[test]
    fn stalled_only_when_waiting_work_does_not_move() {
        let idle = Snapshot { windows_cut: 5, windows_done: 5 };
        assert!(!idle.stalled_since(&idle), "nothing waiting is not a stall (e.g. a camera is down)");
        let waiting = Snapshot { windows_cut: 8, windows_done: 5 };
        assert!(waiting.stalled_since(&waiting));
        let moving = Snapshot { windows_done: 6, ..waiting };
        assert!(!moving.stalled_since(&waiting));
    }
}
