//! Keeps one input running: reconnects a live input after an error, an end of stream or a
//! stall, with exponential backoff, and reports each change of state.
//!
//! Settings (the policy) are fixed at start; the only state is the attempt counter and the
//! frame offset, so that frame indices keep growing across reconnections. Every wait checks the
//! stop flag, so a stream that is down can always be stopped at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::{SourceError, SourceLocation, SourceOptions, SourceSummary, VideoSource};
use crate::flow::{Frame, ReconnectPolicy, StreamStatus};

/// Receives what a supervised stream produces.
pub trait StreamHandler {
    fn frame(&mut self, frame: &Frame);
    fn status(&mut self, status: StreamStatus);
    /// A live connection ended with `count` decoded frames that were never delivered (the
    /// appsink keeps only the newest when the stream thread falls behind).
    fn frames_dropped(&mut self, count: u64);
}

/// Runs one input, reconnecting it if it is live.
pub struct Supervisor {
    pub location: SourceLocation,
    pub options: SourceOptions,
    pub policy: ReconnectPolicy,
}

impl Supervisor {
    /// Runs until a file ends, `stop` is set, or a live stream is given up.
    pub fn run(
        &self,
        stop: &AtomicBool,
        handler: &mut impl StreamHandler,
    ) -> Result<SourceSummary, SourceError> {
        let mut offset = 0u64;
        let mut attempt = 0u32;
        loop {
            let mut frames = 0u64;
            let mut up = false;
            let mut arrived = None;
            let result = VideoSource::new(self.location.clone(), self.options.clone()).and_then(|source| {
                arrived = Some(source.arrived());
                source.run(stop, |frame| {
                    if !up {
                        up = true;
                        handler.status(StreamStatus::Up);
                    }
                    frame.index += offset;
                    frames += 1;
                    handler.frame(frame);
                })
            });
            offset += frames;
            let stopped = matches!(result, Ok(SourceSummary { stopped: true, .. }));
            let lost = undelivered(arrived.map_or(0, |a| a.load(Ordering::Relaxed)), frames, stopped);
            if self.options.live && lost > 0 {
                handler.frames_dropped(lost);
            }
            let error = match result {
                Ok(summary) => return Ok(SourceSummary { frames: offset, stopped: summary.stopped }),
                Err(e) if !self.options.live => return Err(e),
                Err(e) => e,
            };
            let reason = error.failure();
            if up || attempt == 0 {
                handler.status(StreamStatus::Down { reason: reason.clone() });
            }
            if up {
                attempt = 0;
            }
            attempt += 1;
            if self.policy.max_attempts.is_some_and(|max| attempt > max) {
                handler.status(StreamStatus::GaveUp { attempts: attempt - 1, reason });
                return Err(error);
            }
            let delay = self.policy.draw(attempt);
            tracing::warn!(input = %self.location.display(), attempt, delay_s = delay.as_secs_f64(), reason = %reason,
                "Reconnecting.");
            handler.status(StreamStatus::Reconnecting { attempt, delay, reason });
            if sleep_unless_stopped(delay, stop) {
                return Ok(SourceSummary { frames: offset, stopped: true });
            }
        }
    }
}

/// Frames of one connection that reached the appsink but not the stream thread: dropped by the
/// appsink while the thread was behind, or still queued when the connection ended. At a stop
/// up to the appsink's queue is still waiting there; only frames beyond it were dropped.
fn undelivered(arrived: u64, delivered: u64, stopped: bool) -> u64 {
    let lost = arrived.saturating_sub(delivered);
    if stopped { lost.saturating_sub(super::LIVE_QUEUED_FRAMES) } else { lost }
}

/// Sleeps for `delay`, waking early if `stop` is set; returns whether it was.
fn sleep_unless_stopped(delay: Duration, stop: &AtomicBool) -> bool {
    let end = Instant::now() + delay;
    while Instant::now() < end {
        if stop.load(Ordering::Relaxed) {
            return true;
        }
        std::thread::sleep((end - Instant::now()).min(Duration::from_millis(50)));
    }
    stop.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_still_queued_at_a_stop_are_not_drops() {
        // Regression: every clean stop of a live stream warned of "decoded frames never
        // delivered" and counted the few frames waiting in the appsink as dropped.
        assert_eq!(undelivered(100, 97, true), 0);
        assert_eq!(undelivered(100, 90, true), 6, "drops beyond the queue are still counted");
        assert_eq!(undelivered(100, 97, false), 3, "a lost connection loses what was queued");
        assert_eq!(undelivered(5, 7, false), 0);
    }

    #[test]
    fn stop_interrupts_a_backoff_wait() {
        let stop = AtomicBool::new(true);
        let start = Instant::now();
        assert!(sleep_unless_stopped(Duration::from_secs(30), &stop));
        assert!(start.elapsed() < Duration::from_millis(200));
    }
}
