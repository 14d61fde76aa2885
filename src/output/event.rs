//! The events actiond writes: one per window, and one per change of a stream's state. All share
//! one envelope: a `type` and a `stream`, then the fields of that type.

use std::time::{Instant, SystemTime};

use serde::Serialize;

use crate::events::ActionEvent;
use crate::source::supervisor::StreamStatus;
use crate::window::WindowMeta;

/// One label and its probability.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelScore {
    pub label: String,
    pub score: f32,
}

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
            Event::Action(e) => e.kind,
            Event::Status(e) => e.kind,
        }
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
        }
    }

    /// Sets the smoothed label from smoothed probabilities.
    pub fn set_smoothed(&mut self, smoothed: &[f32], labels: &[String]) {
        if let Some((i, s)) =
            smoothed.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(&a.0)))
        {
            self.smoothed_label = labels[i].clone();
            self.smoothed_score = *s;
        }
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
    /// `stream_up`, `stream_down`, `reconnecting`, `stream_failed` or `stream_end`.
    #[serde(rename = "type")]
    pub kind: &'static str,
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
}

impl StatusEvent {
    pub fn new(stream: &str, status: &StreamStatus, time: SystemTime) -> Self {
        let mut event = Self {
            kind: "stream_up",
            stream: stream.to_owned(),
            time_utc: utc(time),
            reason: None,
            attempt: None,
            delay_s: None,
        };
        match status {
            StreamStatus::Up => {}
            StreamStatus::Down { reason } => {
                event.kind = "stream_down";
                event.reason = Some(reason.clone());
            }
            StreamStatus::Reconnecting { attempt, delay, reason } => {
                event.kind = "reconnecting";
                event.reason = Some(reason.clone());
                event.attempt = Some(*attempt);
                event.delay_s = Some(delay.as_secs_f64());
            }
            StreamStatus::GaveUp { attempts, reason } => {
                event.kind = "stream_failed";
                event.reason = Some(format!("gave up after {attempts} attempts: {reason}"));
            }
            StreamStatus::Ended { reason } => {
                event.kind = "stream_end";
                event.reason = Some(reason.clone());
            }
        }
        event
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
        let status =
            StreamStatus::Reconnecting { attempt: 3, delay: Duration::from_millis(2500), reason: "x".into() };
        let e = StatusEvent::new("cam", &status, SystemTime::UNIX_EPOCH + Duration::from_secs(86_400));
        let json = serde_json::to_value(Event::Status(e)).unwrap();
        assert_eq!(json["type"], "reconnecting");
        assert_eq!(json["attempt"], 3);
        assert_eq!(json["delay_s"], 2.5);
        assert_eq!(json["time_utc"], "1970-01-02T00:00:00.000Z");
    }
}
