//! A stream's changes of state, typed: what happened ([`StatusKind`]) and why
//! ([`FailureReason`], kept as gst-plugins-rs' fallbacksrc keeps its `RetryReason`), so later
//! stages branch on variants, never on strings.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use super::frame::TimeJump;

/// Why a stream stopped delivering frames.
#[derive(Debug, Clone, PartialEq)]
pub enum FailureReason {
    /// The input is a local file that does not exist.
    NotFound,
    /// GStreamer reported an error, or the pipeline could not be built (credentials redacted).
    Error(String),
    /// A live stream reached its end of stream.
    Eos,
    /// No frame arrived for this many seconds.
    Stalled { seconds: f64 },
}

impl fmt::Display for FailureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailureReason::NotFound => f.write_str("file not found"),
            FailureReason::Error(message) => f.write_str(message),
            FailureReason::Eos => f.write_str("end of stream"),
            FailureReason::Stalled { seconds } => write!(f, "no frame for {seconds:.1} s"),
        }
    }
}

/// Why a stream ended for good.
#[derive(Debug, Clone, PartialEq)]
pub enum EndReason {
    /// A file was read to its end.
    EndOfInput,
    /// A stop was asked for (signal, reload, library call).
    Stopped,
    /// A file could not be read on.
    Failed(FailureReason),
}

impl fmt::Display for EndReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndReason::EndOfInput => f.write_str("end of input"),
            EndReason::Stopped => f.write_str("stopped"),
            EndReason::Failed(reason) => reason.fmt(f),
        }
    }
}

/// A change in a stream's state.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamStatus {
    /// Frames are arriving (first frame of a connection).
    Up,
    /// The stream stopped delivering frames.
    Down { reason: FailureReason },
    /// Waiting `delay` before reconnection attempt `attempt`.
    Reconnecting { attempt: u32, delay: Duration, reason: FailureReason },
    /// `max_attempts` failed in a row; the stream is not retried any more.
    GaveUp { attempts: u32, reason: FailureReason },
    /// The input ended (a file at its end) or was stopped after `frames` decoded frames;
    /// nothing more will come.
    Ended { reason: EndReason, frames: u64 },
    /// The input's timestamps jumped by more than [`TimeJump`]'s reporting threshold; frames
    /// go on (no discontinuity in windows), stream times stay monotonic.
    TimeJump(TimeJump),
}

impl StreamStatus {
    pub fn kind(&self) -> StatusKind {
        match self {
            StreamStatus::Up => StatusKind::Up,
            StreamStatus::Down { .. } => StatusKind::Down,
            StreamStatus::Reconnecting { .. } => StatusKind::Reconnecting,
            // A file that cannot be read to its end failed, as a camera given up did: consumers
            // tell it from a normal end by the type, not by parsing the reason.
            StreamStatus::GaveUp { .. } | StreamStatus::Ended { reason: EndReason::Failed(_), .. } => {
                StatusKind::Failed
            }
            StreamStatus::Ended { .. } => StatusKind::Ended,
            StreamStatus::TimeJump(_) => StatusKind::TimeJump,
        }
    }
}

/// The kind of a status change; its `type` in events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum StatusKind {
    #[serde(rename = "stream_up")]
    Up,
    #[serde(rename = "stream_down")]
    Down,
    #[serde(rename = "reconnecting")]
    Reconnecting,
    #[serde(rename = "stream_failed")]
    Failed,
    #[serde(rename = "stream_end")]
    Ended,
    #[serde(rename = "stream_time_jump")]
    TimeJump,
}

impl StatusKind {
    /// The event `type`.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusKind::Up => "stream_up",
            StatusKind::Down => "stream_down",
            StatusKind::Reconnecting => "reconnecting",
            StatusKind::Failed => "stream_failed",
            StatusKind::Ended => "stream_end",
            StatusKind::TimeJump => "stream_time_jump",
        }
    }

    /// Whether frames stop here: a discontinuity that ends the stream's actions and smoothing.
    pub fn interrupts(self) -> bool {
        matches!(self, StatusKind::Down | StatusKind::Failed | StatusKind::Ended)
    }
}

impl fmt::Display for StatusKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_fails_ends_as_failed_not_as_ended() {
        let failed = StreamStatus::Ended { reason: EndReason::Failed(FailureReason::Eos), frames: 3 };
        assert_eq!(failed.kind(), StatusKind::Failed);
        assert_eq!(
            StreamStatus::Ended { reason: EndReason::EndOfInput, frames: 3 }.kind(),
            StatusKind::Ended
        );
    }

    #[test]
    fn kinds_serialise_as_their_event_type() {
        for kind in [
            StatusKind::Up,
            StatusKind::Down,
            StatusKind::Reconnecting,
            StatusKind::Failed,
            StatusKind::Ended,
        ] {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
    }
}
