//! One stream's window stage: frames from the source's supervisor become windows for inference,
//! and the stream's changes of state become status messages for the output stage, counted in
//! the run's progress and metrics on the way.

use std::sync::Arc;
use std::time::SystemTime;

use crossbeam_channel::Sender;
use prometheus_client::metrics::counter::Counter;

use super::{EncodeFailure, Windower};
use crate::flow::{EndReason, Frame, StageMessage, StatusEvent, StreamStatus, Window};
use crate::metrics::Metrics;
use crate::progress::{Progress, StreamState};
use crate::source::supervisor::StreamHandler;

/// Where the window stage hands its windows: the inference queue, which implements this.
pub trait WindowOut: Send {
    /// Queues a window (blocking or dropping the oldest, as the edge's policy says). Returns
    /// false once inference has shut down.
    fn send(&self, window: Window) -> bool;
}

/// One stream's frames into windows, and its status changes into messages.
pub struct WindowStage {
    id: Arc<str>,
    windower: Windower,
    windows: Box<dyn WindowOut>,
    output: Sender<StageMessage>,
    progress: Arc<Progress>,
    frames_decoded: Counter,
    /// Frames in a row the encoder failed on (two-stage models).
    encoder_failures: u64,
}

impl WindowStage {
    pub fn new(
        windower: Windower,
        windows: Box<dyn WindowOut>,
        output: Sender<StageMessage>,
        progress: Arc<Progress>,
    ) -> Self {
        let id = windower.stream().clone();
        progress.metrics.register_stream(&id);
        let frames_decoded = progress.metrics.frames_decoded.get_or_create(&Metrics::stream(&id)).clone();
        Self { id, windower, windows, output, progress, frames_decoded, encoder_failures: 0 }
    }

    /// Windows emitted so far (also the index of the next one).
    pub fn emitted(&self) -> u64 {
        self.windower.emitted()
    }

    /// Ends the stream: the frames already decoded still make their windows, then the stream's
    /// last status follows them (none for a live stream that was given up: its supervisor has
    /// said so already).
    pub fn end(&mut self, reason: Option<EndReason>) {
        self.flush_tail();
        if let Some(reason) = reason {
            let frames = self.frames_decoded.get();
            self.status(StreamStatus::Ended { reason, frames });
        }
    }

    fn send_status(&self, status: &StreamStatus) {
        let event = StatusEvent::new(&self.id, status, SystemTime::now(), self.windower.is_live());
        let message =
            StageMessage::Status { stream: self.id.clone(), after_windows: self.windower.emitted(), event };
        // The output stage outlives every stream thread; a failed send means it is gone.
        let _ = self.output.send(message);
    }

    fn flush_tail(&mut self) {
        if let Some(window) = self.windower.finish() {
            self.send_window(window);
        }
    }

    fn send_window(&self, window: Window) {
        self.progress.window_cut();
        self.windows.send(window);
    }

    fn record_state(&self, status: &StreamStatus) {
        let state = match status {
            // The stream's state is unchanged: frames keep coming.
            StreamStatus::TimeJump(_) => return,
            StreamStatus::Up => StreamState::Up,
            StreamStatus::Down { .. } | StreamStatus::Reconnecting { .. } => StreamState::Down,
            StreamStatus::GaveUp { .. } => StreamState::Failed,
            StreamStatus::Ended { reason: EndReason::Failed(_), .. } if !self.windower.is_live() => {
                StreamState::Failed
            }
            StreamStatus::Ended { .. } => StreamState::Ended,
        };
        self.progress.set_state(&self.id, state);
        let metrics = &self.progress.metrics;
        let label = Metrics::stream(&self.id);
        metrics.stream_up.get_or_create(&label).set(i64::from(state == StreamState::Up));
        if let StreamStatus::Reconnecting { .. } = status {
            metrics.reconnects.get_or_create(&label).inc();
        }
    }
}

impl StreamHandler for WindowStage {
    fn frames_dropped(&mut self, count: u64) {
        tracing::warn!(stream = %self.id, count, "Decoded frames never delivered on this connection (dropped by the appsink while the stream thread was behind, or still queued when the connection ended).");
        self.progress.metrics.frames_dropped.get_or_create(&Metrics::stream(&self.id)).inc_by(count);
    }

    fn frame(&mut self, frame: &Frame) {
        self.frames_decoded.inc();
        if let Some(jump) = frame.time_jump {
            // Reported between the windows before the jump and those after it.
            self.status(StreamStatus::TimeJump(jump));
        }
        match self.windower.push(frame) {
            Ok(window) => {
                if self.encoder_failures > 0 {
                    tracing::info!(stream = %self.id, failed_frames = self.encoder_failures,
                        "The encoder works again.");
                    self.encoder_failures = 0;
                }
                if let Some(window) = window {
                    self.send_window(window);
                }
            }
            Err(EncodeFailure { error, tail }) => {
                // Logged once per run of failures; the metric counts every frame.
                if self.encoder_failures == 0 {
                    tracing::error!(stream = %self.id, frame = frame.index, %error,
                        "The encoder failed on a frame; no window spans a failed frame.");
                }
                self.encoder_failures += 1;
                self.progress.metrics.encoder_failures.get_or_create(&Metrics::stream(&self.id)).inc();
                if let Some(window) = tail {
                    self.send_window(*window);
                }
            }
        }
    }

    fn status(&mut self, status: StreamStatus) {
        if let StreamStatus::Down { .. } = status {
            // A reconnection is a discontinuity: no window may span it.
            self.flush_tail();
            self.windower.reset();
        }
        self.record_state(&status);
        match &status {
            StreamStatus::Up => tracing::info!(stream = %self.id, "Stream up."),
            StreamStatus::Down { reason } => tracing::warn!(stream = %self.id, %reason, "Stream down."),
            StreamStatus::GaveUp { attempts, reason } => {
                tracing::error!(stream = %self.id, attempts, %reason, "Stream given up.");
            }
            StreamStatus::TimeJump(jump) => tracing::warn!(stream = %self.id,
                from_s = jump.from_ns as f64 / 1e9, to_s = jump.to_ns as f64 / 1e9,
                offset_s = jump.offset_ns as f64 / 1e9, "The input's timestamps jumped; stream times stay monotonic."),
            StreamStatus::Reconnecting { .. } | StreamStatus::Ended { .. } => {}
        }
        self.send_status(&status);
    }
}
