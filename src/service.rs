//! Running as a service: the sd_notify protocol and the shutdown deadline.
//!
//! READY=1 is sent once every stream has been handed to its supervisor; WATCHDOG=1 is sent only
//! while the stages make progress (work that was waiting got done since the last ping), so a
//! stuck inference or sink lets systemd's watchdog restart the daemon; STATUS= says how many
//! streams are up and the windows/s; STOPPING=1 at shutdown. Without `NOTIFY_SOCKET` nothing is
//! sent. After a stop request the run gets `shutdown_timeout` to finish every window already cut
//! and flush the sinks; past that, the caller is told what is stuck.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sd_notify::NotifyState;

use crate::config::PipelineConfig;
use crate::daemon::RunReport;
use crate::error::Error;
use crate::pipeline::RunningPipeline;
use crate::progress::{Progress, Snapshot, StreamState};

/// How a supervised run ended.
#[derive(Debug)]
pub enum Outcome {
    Finished(Result<RunReport, Error>),
    /// The shutdown deadline passed; what was still running.
    Stuck(String),
}

fn notify(states: &[NotifyState]) {
    // Not under systemd (no NOTIFY_SOCKET) is fine; a broken socket is worth a log line.
    if let Err(e) = sd_notify::notify(false, states) {
        tracing::debug!(error = %e, "sd_notify failed.");
    }
}

/// A line for `systemctl status`: streams up, windows/s since the last line.
fn status_line(progress: &Progress, windows_per_s: f64) -> String {
    let states = progress.states();
    let up = states.values().filter(|s| **s == StreamState::Up).count();
    let down: Vec<&str> = states
        .iter()
        .filter(|(_, s)| matches!(s, StreamState::Down | StreamState::Failed))
        .map(|(k, _)| k.as_str())
        .collect();
    let mut line = format!("{up}/{} streams up, {windows_per_s:.1} windows/s", states.len());
    if !down.is_empty() {
        line.push_str(&format!("; down: {}", down.join(", ")));
    }
    line
}

/// What has not finished, for the shutdown-deadline error.
fn stuck_report(progress: &Progress) -> String {
    let s = progress.snapshot();
    let running: Vec<String> = progress
        .states()
        .into_iter()
        .filter(|(_, st)| !matches!(st, StreamState::Ended | StreamState::Failed))
        .map(|(id, st)| format!("{id} ({})", st.as_str()))
        .collect();
    let mut report = format!(
        "streams not finished: [{}]; {} windows cut but not yet written",
        running.join(", "),
        s.windows_cut.saturating_sub(s.windows_done)
    );
    if progress.is_flushing() {
        report.push_str("; the sinks are still flushing (e.g. an MQTT sink waiting for its broker)");
    }
    report
}

/// Where to reread the configuration on SIGHUP.
pub struct Reload {
    pub requested: Arc<AtomicBool>,
    pub path: PathBuf,
}

/// Watches a running pipeline until it finishes, speaking sd_notify on the way, and reloading
/// the configuration when asked.
pub fn supervise(running: RunningPipeline, shutdown_timeout: Duration, reload: Option<Reload>) -> Outcome {
    let progress = running.progress().clone();
    let mut watchdog_usec = 0;
    let watchdog = sd_notify::watchdog_enabled(false, &mut watchdog_usec)
        .then(|| Duration::from_micros(watchdog_usec / 2).max(Duration::from_millis(100)));
    let status_every = Duration::from_secs(2);
    let mut ready = false;
    let mut stop_asked: Option<Instant> = None;
    let mut last_ping = (Instant::now(), progress.snapshot());
    let mut last_status = (Instant::now(), Snapshot::default());
    loop {
        if running.is_finished() {
            return Outcome::Finished(running.wait());
        }
        let now = Instant::now();
        if !ready && progress.is_started() {
            ready = true;
            notify(&[NotifyState::Ready, NotifyState::Status(&status_line(&progress, 0.0))]);
        }
        if let Some(interval) = watchdog
            && now.duration_since(last_ping.0) >= interval
        {
            let snapshot = progress.snapshot();
            if snapshot.stalled_since(&last_ping.1) {
                tracing::warn!(
                    waiting = snapshot.windows_cut - snapshot.windows_done,
                    "No progress since the last watchdog ping; not pinging."
                );
            } else {
                notify(&[NotifyState::Watchdog]);
            }
            last_ping = (now, snapshot);
        }
        if ready && now.duration_since(last_status.0) >= status_every {
            let snapshot = progress.snapshot();
            let rate = (snapshot.windows_done - last_status.1.windows_done) as f64
                / now.duration_since(last_status.0).as_secs_f64();
            notify(&[NotifyState::Status(&status_line(&progress, rate))]);
            last_status = (now, snapshot);
        }
        if let Some(reload) = &reload
            && reload.requested.swap(false, Ordering::Relaxed)
        {
            notify(&[NotifyState::Reloading]);
            // logrotate's convention: the event files may have been renamed; reopen them even
            // if the new configuration is rejected.
            crate::output::reopen_files();
            match PipelineConfig::load(&reload.path) {
                Ok(config) => running.reload(config),
                Err(e) => tracing::error!(error = %e, "Reload rejected; the running configuration stays."),
            }
            notify(&[NotifyState::Ready]);
        }
        if running.is_stopping() {
            let since = *stop_asked.get_or_insert_with(|| {
                notify(&[NotifyState::Stopping]);
                tracing::info!("Stopping: finishing the windows already cut.");
                now
            });
            if now.duration_since(since) >= shutdown_timeout {
                return Outcome::Stuck(stuck_report(&progress));
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
