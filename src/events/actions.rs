//! Action start/end detection with hysteresis over smoothed scores.

use crate::flow::{ActionEvent, ActionKind, StatusKind};

/// Where a window lies in time (stream time, and wall clock for live streams).
#[derive(Debug, Clone, PartialEq)]
pub struct WindowTimes {
    pub start_s: f64,
    pub end_s: f64,
    pub start_utc: Option<String>,
    pub end_utc: Option<String>,
    /// Whether the stream is live (carried into the action events).
    pub live: bool,
}

/// Thresholds of the detector.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionRules {
    pub on_threshold: f32,
    pub off_threshold: f32,
    pub min_windows: usize,
    /// Per label: never an action (e.g. `still`).
    pub ignored: Vec<bool>,
}

#[derive(Debug, Clone)]
struct Run {
    first: WindowTimes,
    last: WindowTimes,
    windows: u64,
    peak: f32,
    sum: f64,
}

impl Run {
    fn new(times: &WindowTimes, score: f32) -> Self {
        Self { first: times.clone(), last: times.clone(), windows: 1, peak: score, sum: f64::from(score) }
    }

    fn extend(&mut self, times: &WindowTimes, score: f32) {
        self.last = times.clone();
        self.windows += 1;
        self.peak = self.peak.max(score);
        self.sum += f64::from(score);
    }
}

#[derive(Debug, Clone)]
enum LabelState {
    Idle,
    /// Above `on_threshold` for fewer than `min_windows` windows.
    Rising(Run),
    Active {
        id: String,
        run: Run,
    },
}

/// Per-stream action detector.
#[derive(Debug, Clone)]
pub struct ActionDetector {
    stream: String,
    labels: Vec<String>,
    rules: ActionRules,
    states: Vec<LabelState>,
    next_id: u64,
}

impl ActionDetector {
    pub fn new(stream: &str, labels: &[String], rules: ActionRules) -> Self {
        Self {
            stream: stream.to_owned(),
            labels: labels.to_vec(),
            states: vec![LabelState::Idle; labels.len()],
            rules,
            next_id: 0,
        }
    }

    fn event(&self, kind: ActionKind, id: &str, label: usize, run: &Run, end: bool) -> ActionEvent {
        ActionEvent {
            kind,
            stream: self.stream.clone(),
            action_id: id.to_owned(),
            label: self.labels[label].clone(),
            start_s: run.first.start_s,
            end_s: end.then_some(run.last.end_s),
            start_utc: run.first.start_utc.clone(),
            end_utc: if end { run.last.end_utc.clone() } else { None },
            peak_score: run.peak,
            mean_score: (run.sum / run.windows as f64) as f32,
            windows: run.windows,
            reason: None,
            live: run.last.live,
        }
    }

    /// Takes one window's smoothed scores; returns the actions that start or end with it.
    pub fn on_window(&mut self, times: &WindowTimes, scores: &[f32]) -> Vec<ActionEvent> {
        let mut events = Vec::new();
        for (label, &score) in scores.iter().enumerate().take(self.states.len()) {
            if self.rules.ignored[label] {
                continue;
            }
            let state = std::mem::replace(&mut self.states[label], LabelState::Idle);
            self.states[label] = match state {
                LabelState::Active { id, mut run } if score >= self.rules.off_threshold => {
                    run.extend(times, score);
                    LabelState::Active { id, run }
                }
                LabelState::Active { id, run } => {
                    events.push(self.event(ActionKind::ActionEnd, &id, label, &run, true));
                    LabelState::Idle
                }
                _ if score < self.rules.on_threshold => LabelState::Idle,
                LabelState::Rising(mut run) => {
                    run.extend(times, score);
                    self.start_if_long_enough(label, run, &mut events)
                }
                LabelState::Idle => self.start_if_long_enough(label, Run::new(times, score), &mut events),
            };
        }
        events
    }

    fn start_if_long_enough(&mut self, label: usize, run: Run, events: &mut Vec<ActionEvent>) -> LabelState {
        if (run.windows as usize) < self.rules.min_windows {
            return LabelState::Rising(run);
        }
        let id = format!("{}:{}", self.stream, self.next_id);
        self.next_id += 1;
        events.push(self.event(ActionKind::ActionStart, &id, label, &run, false));
        LabelState::Active { id, run }
    }

    /// Ends every active action (stream ended or went down) and forgets rising ones.
    pub fn close_all(&mut self, reason: StatusKind, live: bool) -> Vec<ActionEvent> {
        let mut events = Vec::new();
        for label in 0..self.states.len() {
            if let LabelState::Active { id, run } =
                std::mem::replace(&mut self.states[label], LabelState::Idle)
            {
                let mut event = self.event(ActionKind::ActionEnd, &id, label, &run, true);
                event.reason = Some(reason);
                event.live = live;
                events.push(event);
            }
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn times(w: u64) -> WindowTimes {
        WindowTimes { start_s: w as f64, end_s: w as f64 + 2.0, start_utc: None, end_utc: None, live: false }
    }

    fn detector(min_windows: usize) -> ActionDetector {
        let labels = ["still", "wave"].map(String::from).to_vec();
        let rules =
            ActionRules { on_threshold: 0.6, off_threshold: 0.4, min_windows, ignored: vec![true, false] };
        ActionDetector::new("cam", &labels, rules)
    }

    fn run(d: &mut ActionDetector, wave: &[f32]) -> Vec<(u64, &'static str, f64, Option<f64>)> {
        wave.iter()
            .enumerate()
            .flat_map(|(w, &s)| {
                d.on_window(&times(w as u64), &[1.0 - s, s]).into_iter().map(move |e| (w as u64, e))
            })
            .map(|(w, e)| (w, e.kind.as_str(), e.start_s, e.end_s))
            .collect()
    }

    #[test]
    fn starts_after_min_windows_and_ends_below_off_with_hysteresis() {
        let mut d = detector(2);
        // 0.5 is between the thresholds: it neither starts nor ends an action.
        let events = run(&mut d, &[0.5, 0.7, 0.8, 0.5, 0.45, 0.3, 0.5]);
        assert_eq!(events, [(2, "action_start", 1.0, None), (5, "action_end", 1.0, Some(6.0))]);
    }

    #[test]
    fn blips_shorter_than_min_windows_are_not_actions() {
        let mut d = detector(3);
        assert!(run(&mut d, &[0.9, 0.9, 0.1, 0.9, 0.2]).is_empty());
    }

    #[test]
    fn ignored_labels_never_start_actions() {
        let mut d = detector(1);
        let events: Vec<_> = (0..4).flat_map(|w| d.on_window(&times(w), &[1.0, 0.0])).collect();
        assert!(events.is_empty());
    }

    #[test]
    fn close_all_ends_active_actions_with_a_reason() {
        let mut d = detector(1);
        let start = d.on_window(&times(0), &[0.1, 0.9]);
        assert_eq!(start[0].action_id, "cam:0");
        let end = d.close_all(StatusKind::Down, true);
        assert_eq!(end.len(), 1);
        assert_eq!(end[0].action_id, "cam:0");
        assert_eq!(end[0].reason, Some(StatusKind::Down));
        assert!(end[0].live, "liveness comes from the status that closed it");
        assert_eq!((end[0].peak_score, end[0].windows), (0.9, 1));
        assert!(d.close_all(StatusKind::Ended, true).is_empty());
    }
}
