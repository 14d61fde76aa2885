//! Released messages into events: per stream, smoothing and action detection, then every sink.

use std::collections::HashMap;
use std::time::Instant;

use prometheus_client::metrics::counter::Counter;

use super::OutputError;
use super::{OutputSettings, OutputSummary, Roster, Sink};
use crate::events::{ActionDetector, Smoother, WindowTimes};
use crate::flow::{Event, Prediction, StageMessage, StatusEvent, WindowEvent, WindowMeta};
use crate::metrics::{EventLabel, Metrics, SinkLabel};

/// Smoothing and action state of one stream, and its metric handles.
struct StreamEvents {
    smoother: Smoother,
    detector: ActionDetector,
    windows_inferred: Counter,
    windows_dropped: Counter,
}

/// Turns released items into events and writes them to every sink.
pub(super) struct Writer<'a> {
    settings: &'a OutputSettings,
    metrics: &'a Metrics,
    streams: HashMap<String, StreamEvents>,
    sinks: &'a mut [Box<dyn Sink>],
    /// Per sink: events refused in a row (its failure is logged once per burst).
    refused: Vec<u64>,
    summary: OutputSummary,
}

impl<'a> Writer<'a> {
    pub fn new(settings: &'a OutputSettings, metrics: &'a Metrics, sinks: &'a mut [Box<dyn Sink>]) -> Self {
        let refused = vec![0; sinks.len()];
        Self { settings, metrics, streams: HashMap::new(), sinks, refused, summary: OutputSummary::default() }
    }

    fn stream(&mut self, id: &str) -> &mut StreamEvents {
        if !self.streams.contains_key(id) {
            let rules = &self.settings.rules;
            let label = Metrics::stream(id);
            let state = StreamEvents {
                smoother: Smoother::new(rules.average),
                detector: ActionDetector::new(id, &self.settings.labels, rules.detection.clone()),
                windows_inferred: self.metrics.windows_inferred.get_or_create(&label).clone(),
                windows_dropped: self.metrics.windows_dropped.get_or_create(&label).clone(),
            };
            self.streams.insert(id.to_owned(), state);
        }
        self.streams.get_mut(id).expect("inserted above")
    }

    pub fn deliver(&mut self, item: StageMessage) {
        match item {
            StageMessage::Prediction(Prediction { meta, outcome: Ok(probabilities) }) => {
                self.window(&meta, &probabilities);
            }
            StageMessage::Prediction(Prediction { meta, outcome: Err(e) }) => {
                self.summary.failed_windows += 1;
                tracing::error!(stream = %meta.stream, window = meta.index, error = %e, "Window not classified.");
            }
            StageMessage::Dropped(meta) => {
                *self.summary.dropped_windows.entry(meta.stream.to_string()).or_default() += 1;
                self.stream(&meta.stream).windows_dropped.inc();
            }
            StageMessage::Status { event, .. } => self.status(event),
            StageMessage::Roster(streams) => self.roster(streams),
        }
    }

    fn roster(&mut self, streams: Vec<String>) {
        let labels = &self.settings.labels;
        let ignored = &self.settings.rules.detection.ignored;
        let actions = labels.iter().zip(ignored).filter(|(_, i)| !**i).map(|(l, _)| l.clone()).collect();
        let roster = Roster { streams, labels: labels.clone(), actions };
        for i in 0..self.sinks.len() {
            let result = self.sinks[i].roster(&roster);
            self.account(i, result);
        }
    }

    fn status(&mut self, status: StatusEvent) {
        if status.kind.interrupts() {
            let state = self.stream(&status.stream);
            state.smoother.reset();
            let ended = state.detector.close_all(status.kind, status.live);
            if self.settings.rules.actions {
                ended.into_iter().for_each(|a| self.write(Event::Action(a)));
            }
        }
        self.summary.status_events += 1;
        self.write(Event::Status(status));
    }

    fn window(&mut self, meta: &WindowMeta, probabilities: &[f32]) {
        let settings = self.settings;
        let rules = &settings.rules;
        let mut event = WindowEvent::new(meta, probabilities, &settings.labels, rules.top_k);
        if meta.is_live() {
            event.dropped_windows =
                Some(self.summary.dropped_windows.get(&*meta.stream).copied().unwrap_or(0));
        }
        self.summary.windows += 1;
        let times = WindowTimes {
            start_s: event.start_s,
            end_s: event.end_s,
            start_utc: event.start_utc.clone(),
            end_utc: event.end_utc.clone(),
            live: meta.is_live(),
        };
        let state = self.stream(&meta.stream);
        state.windows_inferred.inc();
        let smoothed = state.smoother.push(probabilities);
        let actions = state.detector.on_window(&times, &smoothed);
        let best = event.set_smoothed(&smoothed, &settings.labels);
        let ignored = best.is_some_and(|i| rules.detection.ignored[i]);
        let reported = !ignored && event.smoothed_score >= rules.min_score;
        event.stamp_latency(meta, Instant::now());
        if let Some(ms) = event.latency_ms {
            self.metrics.latency_seconds.observe(ms / 1e3);
        }
        if rules.windows && reported {
            self.write(Event::Window(event));
        } else {
            let event = Event::Window(event);
            self.sinks.iter_mut().for_each(|sink| sink.observe(&event));
        }
        if rules.actions {
            actions.into_iter().for_each(|a| self.write(Event::Action(a)));
        }
    }

    fn write(&mut self, event: Event) {
        self.metrics.events_written.get_or_create(&EventLabel { r#type: event.kind() }).inc();
        for i in 0..self.sinks.len() {
            // Only a real write tells whether a failing sink works again.
            if self.sinks[i].accepts(&event) {
                let result = self.sinks[i].write(&event);
                self.account(i, result);
            } else {
                self.sinks[i].observe(&event);
            }
        }
    }

    /// Counts a sink's refusal (metric `actiond_sink_errors_total`, the run's summary) and logs
    /// the first of a burst, and the recovery after it: a full disk is one error line, not one
    /// per event.
    fn account(&mut self, sink: usize, result: Result<(), OutputError>) {
        match result {
            Ok(()) if self.refused[sink] > 0 => {
                tracing::info!(sink, refused = self.refused[sink], "Sink works again.");
                self.refused[sink] = 0;
            }
            Ok(()) => {}
            Err(e) => {
                if self.refused[sink] == 0 {
                    tracing::error!(sink, error = %e, "Sink error; more are counted, not logged, until it works again.");
                }
                self.refused[sink] += 1;
                self.summary.sink_errors += 1;
                self.metrics.sink_errors.get_or_create(&SinkLabel { sink: sink.to_string() }).inc();
            }
        }
    }

    /// Flushes every sink and returns what the stage did.
    pub fn flush(mut self) -> OutputSummary {
        for i in 0..self.sinks.len() {
            if let Err(e) = self.sinks[i].flush() {
                // Logged whatever the burst: this is the last chance, what the sink held is lost.
                tracing::error!(sink = i, error = %e, "Sink error at the end: what it held is lost.");
                self.summary.sink_errors += 1;
                self.metrics.sink_errors.get_or_create(&SinkLabel { sink: i.to_string() }).inc();
            }
        }
        self.summary
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{ActionRules, EventRules};
    use crate::flow::{StatusEvent, StreamStatus};

    /// A sink whose disk is full, written only status events of one kind.
    struct Full {
        writes: usize,
    }

    impl Sink for Full {
        fn write(&mut self, _: &Event) -> Result<(), OutputError> {
            self.writes += 1;
            Err(OutputError::Write { sink: "full", source: std::io::Error::other("no space") })
        }
        fn flush(&mut self) -> Result<(), OutputError> {
            Ok(())
        }
        fn accepts(&self, event: &Event) -> bool {
            event.kind() == "stream_down"
        }
    }

    #[test]
    fn an_event_a_sink_is_not_given_is_no_sign_of_recovery() {
        // Defect pinned (review): a sink's `types` filter answered Ok for every event it
        // skipped, so a failing sink "worked again" between its own events, and each of its
        // failures was logged anew instead of once per burst.
        let detection =
            ActionRules { on_threshold: 0.5, off_threshold: 0.4, min_windows: 1, ignored: vec![false] };
        let rules =
            EventRules { windows: true, actions: false, average: 1, min_score: 0.0, top_k: 1, detection };
        let settings = OutputSettings { labels: vec!["a".into()], rules };
        let metrics = Metrics::default();
        let mut sinks: Vec<Box<dyn Sink>> = vec![Box::new(Full { writes: 0 })];
        let mut writer = Writer::new(&settings, &metrics, &mut sinks);
        let status = |s: &StreamStatus| StageMessage::Status {
            stream: "cam".into(),
            after_windows: 0,
            event: StatusEvent::new("cam", s, std::time::SystemTime::now(), true),
        };
        let down = StreamStatus::Down { reason: crate::flow::FailureReason::Eos };
        for _ in 0..3 {
            writer.deliver(status(&down));
            writer.deliver(status(&StreamStatus::Up));
        }
        assert_eq!(writer.refused[0], 3, "three refusals in one burst, not three bursts");
        assert_eq!(writer.flush().sink_errors, 3);
    }
}
