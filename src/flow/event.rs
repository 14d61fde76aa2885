//! The events actiond writes: one per window, one per start or end of an action, and one per
//! change of a stream's state. All share one envelope: a `type` and a `stream`, then the fields
//! of that type. Each event also knows, unserialised, whether its stream is live, so a sink can
//! choose between waiting and dropping without being told the live streams at start.

use std::time::{Instant, SystemTime};

use serde::Serialize;

use super::{StatusKind, StreamStatus, WindowMeta};

/// One label and its probability.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelScore {
    pub label: String,
    pub score: f32,
}

/// Every event `type`, as a sink's `types` filter names them.
pub const EVENT_TYPES: [&str; 9] = [
    "window",
    "action_start",
    "action_end",
    "stream_up",
    "stream_down",
    "reconnecting",
    "stream_failed",
    "stream_end",
    "stream_time_jump",
];

/// Anything written to the sinks.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Event {
    Window(WindowEvent),
    Action(ActionEvent),
    Status(StatusEvent),
}

impl Event {
    /// The `type` field.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Window(e) => e.kind,
            Event::Action(e) => e.kind.as_str(),
            Event::Status(e) => e.kind.as_str(),
        }
    }

    /// Whether the event's stream is live (never serialised).
    pub fn is_live(&self) -> bool {
        match self {
            Event::Window(e) => e.live,
            Event::Action(e) => e.live,
            Event::Status(e) => e.live,
        }
    }

    /// The event as JSON (a message payload).
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("events always serialise")
    }

    /// The event as one line of JSON Lines, newline included.
    pub fn to_json_line(&self) -> Vec<u8> {
        let mut line = self.to_json();
        line.push(b'\n');
        line
    }

    /// The stream it is about.
    pub fn stream(&self) -> &str {
        match self {
            Event::Window(e) => &e.stream,
            Event::Action(e) => &e.stream,
            Event::Status(e) => &e.stream,
        }
    }
}

/// The classification of one window; one JSON object per line on stdout.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowEvent {
    /// Always `"window"`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub stream: String,
    /// 0-based window index within the stream.
    pub window: u64,
    pub first_frame: u64,
    pub last_frame: u64,
    /// Frames at the end that repeat the last frame (tail policy `pad`).
    pub padded: usize,
    /// Stream time of the first frame, seconds.
    pub start_s: f64,
    /// Stream time at which the last frame ends, seconds.
    pub end_s: f64,
    /// Live streams: wall-clock UTC time of the first frame's arrival (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_utc: Option<String>,
    /// Live streams: wall-clock UTC time at which the last frame ends.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_utc: Option<String>,
    /// Live streams: milliseconds from the last frame's arrival to this event being written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    /// Live streams: windows of this stream dropped so far because inference fell behind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dropped_windows: Option<u64>,
    /// Best label and its probability.
    pub label: String,
    pub score: f32,
    /// The best `top_k` labels, best first.
    pub top_k: Vec<LabelScore>,
    /// Best label and score after averaging over the last `events.average` windows.
    pub smoothed_label: String,
    pub smoothed_score: f32,
    /// Whether the stream is live.
    #[serde(skip)]
    pub live: bool,
}

/// Formats a wall-clock time as RFC 3339 UTC with milliseconds.
pub fn utc(time: SystemTime) -> String {
    humantime::format_rfc3339_millis(time).to_string()
}

impl WindowEvent {
    pub fn new(meta: &WindowMeta, probabilities: &[f32], labels: &[String], top_k: usize) -> Self {
        let mut order: Vec<usize> = (0..probabilities.len()).collect();
        order.sort_by(|&a, &b| probabilities[b].total_cmp(&probabilities[a]).then(a.cmp(&b)));
        let top: Vec<LabelScore> = order
            .iter()
            .take(top_k.max(1))
            .map(|&i| LabelScore { label: labels[i].clone(), score: probabilities[i] })
            .collect();
        Self {
            kind: "window",
            stream: meta.stream.to_string(),
            window: meta.index,
            first_frame: meta.first_frame,
            last_frame: meta.last_frame,
            padded: meta.padded,
            start_s: meta.start_ns as f64 / 1e9,
            end_s: meta.end_ns as f64 / 1e9,
            start_utc: meta.clock.map(|c| utc(c.start)),
            end_utc: meta.clock.map(|c| utc(c.end)),
            latency_ms: None,
            dropped_windows: None,
            label: top[0].label.clone(),
            score: top[0].score,
            smoothed_label: top[0].label.clone(),
            smoothed_score: top[0].score,
            top_k: top.into_iter().take(top_k).collect(),
            live: meta.is_live(),
        }
    }

    /// Sets the smoothed label from smoothed probabilities; returns the label's index.
    pub fn set_smoothed(&mut self, smoothed: &[f32], labels: &[String]) -> Option<usize> {
        let (i, s) = smoothed.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(&a.0)))?;
        self.smoothed_label = labels[i].clone();
        self.smoothed_score = *s;
        Some(i)
    }

    /// Stamps the latency from the last frame's arrival until now, for live windows.
    pub fn stamp_latency(&mut self, meta: &WindowMeta, now: Instant) {
        if let Some(clock) = meta.clock {
            self.latency_ms = Some(now.saturating_duration_since(clock.last_arrival).as_secs_f64() * 1e3);
        }
    }
}

/// A change in a stream's state, in the same envelope as window events.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusEvent {
    /// `stream_up`, `stream_down`, `reconnecting`, `stream_failed` (a camera given up, or a file
    /// that could not be read to its end) or `stream_end`.
    #[serde(rename = "type")]
    pub kind: StatusKind,
    pub stream: String,
    /// When it happened, RFC 3339 UTC.
    pub time_utc: String,
    /// Why the stream is down, or why the last attempt failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Reconnection attempt about to be made (1-based).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt: Option<u32>,
    /// Seconds until that attempt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay_s: Option<f64>,
    /// `stream_end`, and `stream_failed` of a file: frames the stream decoded in this run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frames: Option<u64>,
    /// `stream_time_jump`: the stream time where the stream was going next, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_s: Option<f64>,
    /// `stream_time_jump`: where the input's own timestamps went, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_s: Option<f64>,
    /// `stream_time_jump`: seconds added to the input's own times from here on (unchanged by a
    /// jump forwards; after a jump backwards, what keeps stream times monotonic).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset_s: Option<f64>,
    /// Whether the stream is live.
    #[serde(skip)]
    pub live: bool,
}

impl StatusEvent {
    pub fn new(stream: &str, status: &StreamStatus, time: SystemTime, live: bool) -> Self {
        let mut event = Self {
            kind: status.kind(),
            stream: stream.to_owned(),
            time_utc: utc(time),
            reason: None,
            attempt: None,
            delay_s: None,
            frames: None,
            from_s: None,
            to_s: None,
            offset_s: None,
            live,
        };
        match status {
            StreamStatus::Up => {}
            StreamStatus::Down { reason } => event.reason = Some(reason.to_string()),
            StreamStatus::Reconnecting { attempt, delay, reason } => {
                event.reason = Some(reason.to_string());
                event.attempt = Some(*attempt);
                event.delay_s = Some(delay.as_secs_f64());
            }
            StreamStatus::GaveUp { attempts, reason } => {
                event.reason = Some(format!("gave up after {attempts} attempts: {reason}"));
            }
            StreamStatus::Ended { reason, frames } => {
                event.reason = Some(reason.to_string());
                event.frames = Some(*frames);
            }
            StreamStatus::TimeJump(jump) => {
                event.from_s = Some(jump.from_ns as f64 / 1e9);
                event.to_s = Some(jump.to_ns as f64 / 1e9);
                event.offset_s = Some(jump.offset_ns as f64 / 1e9);
            }
        }
        event
    }
}

/// Whether an action begins or ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    ActionStart,
    ActionEnd,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::ActionStart => "action_start",
            ActionKind::ActionEnd => "action_end",
        }
    }
}

impl std::fmt::Display for ActionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The start or the end of an action, in the same envelope as the other events.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionEvent {
    /// `action_start` or `action_end`.
    #[serde(rename = "type")]
    pub kind: ActionKind,
    pub stream: String,
    /// `<stream>:<n>`, the same in an action's start and end.
    pub action_id: String,
    pub label: String,
    /// Stream time of the first window of the action.
    pub start_s: f64,
    /// Stream time at which the last window at or above `off_threshold` ends (end events).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_utc: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_utc: Option<String>,
    /// Highest and mean smoothed score over the action's windows so far.
    pub peak_score: f32,
    pub mean_score: f32,
    /// Windows in the action so far.
    pub windows: u64,
    /// Why an action ended other than by its score (`stream_end`, `stream_down`, `stream_failed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<StatusKind>,
    /// Whether the stream is live.
    #[serde(skip)]
    pub live: bool,
}

#[cfg(test)]
mod tests {
    #[test]
    fn event_types_list_every_kind() {
        use super::{ActionKind, EVENT_TYPES};
        use crate::flow::StatusKind;
        let mut kinds = vec!["window", ActionKind::ActionStart.as_str(), ActionKind::ActionEnd.as_str()];
        for status in [
            StatusKind::Up,
            StatusKind::Down,
            StatusKind::Reconnecting,
            StatusKind::Failed,
            StatusKind::Ended,
            StatusKind::TimeJump,
        ] {
            // A new status kind fails to compile here until it is listed.
            match status {
                StatusKind::Up
                | StatusKind::Down
                | StatusKind::Reconnecting
                | StatusKind::Failed
                | StatusKind::Ended
                | StatusKind::TimeJump => kinds.push(status.as_str()),
            }
        }
        assert_eq!(kinds, EVENT_TYPES);
    }

    use super::*;
    use crate::flow::FailureReason;
    use std::time::Duration;

    #[test]
    fn top_k_is_sorted_best_first() {
        let meta = WindowMeta {
            stream: "cam".into(),
            index: 4,
            first_frame: 20,
            last_frame: 29,
            padded: 0,
            start_ns: 800_000_000,
            end_ns: 1_200_000_000,
            clock: None,
        };
        let labels: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let e = WindowEvent::new(&meta, &[0.2, 0.5, 0.3], &labels, 2);
        assert_eq!(e.label, "b");
        assert_eq!(e.top_k.iter().map(|l| l.label.as_str()).collect::<Vec<_>>(), ["b", "c"]);
        assert_eq!((e.start_s, e.end_s), (0.8, 1.2));
        let json = serde_json::to_string(&Event::Window(e)).unwrap();
        assert!(!json.contains("start_utc") && !json.contains("latency_ms"), "{json}");
    }

    #[test]
    fn reconnecting_event_carries_attempt_and_delay() {
        let status = StreamStatus::Reconnecting {
            attempt: 3,
            delay: Duration::from_millis(2500),
            reason: FailureReason::Eos,
        };
        let e = StatusEvent::new("cam", &status, SystemTime::UNIX_EPOCH + Duration::from_secs(86_400), true);
        let json = serde_json::to_value(Event::Status(e)).unwrap();
        assert_eq!(json["type"], "reconnecting");
        assert_eq!(json["attempt"], 3);
        assert_eq!(json["delay_s"], 2.5);
        assert_eq!(json["time_utc"], "1970-01-02T00:00:00.000Z");
        assert_eq!(json["reason"], "end of stream");
        assert!(json.get("live").is_none(), "liveness is not serialised: {json}");
    }
}
