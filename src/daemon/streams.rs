//! The running streams of a pipeline: one thread each, running the source's supervisor with
//! the stream's window stage as its handler.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use crossbeam_channel::Sender;

use super::{StreamError, StreamReport};
use crate::error::Error;
use crate::flow::{EndReason, StageMessage};
use crate::infer::WindowQueues;
use crate::plan::{Plan, StreamPlan};
use crate::progress::{Progress, StreamState};
use crate::source::supervisor::Supervisor;
use crate::window::{WindowStage, Windower};

/// The running streams, which a reload can change.
pub(super) struct StreamSet<'a> {
    pub(super) plan: Arc<Plan>,
    queues: &'a WindowQueues,
    output: Sender<StageMessage>,
    pub(super) progress: Arc<Progress>,
    pub(super) running: BTreeMap<String, RunningStream>,
    /// Next window index per stream id, so a restarted stream keeps counting.
    next_index: HashMap<String, u64>,
    reports: Vec<StreamReport>,
}

pub(super) struct RunningStream {
    pub(super) plan: StreamPlan,
    stop: Arc<AtomicBool>,
    handle: JoinHandle<StreamReport>,
}

impl<'a> StreamSet<'a> {
    pub fn new(
        plan: Arc<Plan>,
        queues: &'a WindowQueues,
        output: Sender<StageMessage>,
        progress: Arc<Progress>,
    ) -> Self {
        Self {
            plan,
            queues,
            output,
            progress,
            running: BTreeMap::new(),
            next_index: HashMap::new(),
            reports: Vec::new(),
        }
    }

    /// Tells the output stage which streams are now configured (at start, and on reload before
    /// any added stream starts).
    pub fn announce(&self, streams: Vec<String>) {
        // The output stage outlives every sender; a failed send means it is already gone.
        let _ = self.output.send(StageMessage::Roster(streams));
    }

    pub fn spawn(&mut self, stream: StreamPlan) -> Result<(), Error> {
        self.progress.set_state(&stream.id, StreamState::Starting);
        let stop = Arc::new(AtomicBool::new(false));
        let first_index = self.next_index.get(&stream.id).copied().unwrap_or(0);
        let handle = self
            .spawn_thread(stream.clone(), stop.clone(), first_index)
            .inspect_err(|_| self.progress.set_state(&stream.id, StreamState::Failed))?;
        self.running.insert(stream.id.clone(), RunningStream { plan: stream, stop, handle });
        Ok(())
    }

    fn spawn_thread(
        &self,
        stream: StreamPlan,
        stop: Arc<AtomicBool>,
        first_index: u64,
    ) -> Result<JoinHandle<StreamReport>, Error> {
        let features = self.plan.frame_features()?;
        let windower = Windower::new(stream.id.as_str().into(), self.plan.geometry, features, stream.live)
            .with_first_index(first_index);
        let windows = Box::new(self.queues.sender(stream.live, self.output.clone()));
        let mut stage = WindowStage::new(windower, windows, self.output.clone(), self.progress.clone());
        std::thread::Builder::new()
            .name(format!("stream-{}", stream.id))
            .spawn(move || {
                let StreamPlan { id, live, location, options, policy, .. } = stream;
                let supervisor = Supervisor { location, options, policy };
                tracing::info!(stream = %id, input = %supervisor.location.display(), live,
                    decoder_threads = supervisor.options.decoder_threads, "Stream started.");
                let result = supervisor.run(&stop, &mut stage);
                let reason = match &result {
                    Ok(summary) if summary.stopped => Some(EndReason::Stopped),
                    Ok(_) => Some(EndReason::EndOfInput),
                    // A live stream that failed was given up, which its supervisor already said.
                    Err(_) if live => None,
                    Err(e) => Some(EndReason::Failed(e.failure())),
                };
                stage.end(reason);
                let windows = stage.emitted();
                let (frames, error) = match result {
                    Ok(summary) => {
                        tracing::info!(stream = %id, frames = summary.frames, windows, stopped = summary.stopped,
                            "Stream finished.");
                        (summary.frames, None)
                    }
                    Err(e) => {
                        tracing::error!(stream = %id, error = %e, "Stream failed.");
                        (0, Some(StreamError::Source(e)))
                    }
                };
                StreamReport { id, frames, windows, error }
            })
            .map_err(|e| Error::Runtime(format!("cannot start a stream thread: {e}")))
    }

    fn finish(&mut self, id: &str, stream: RunningStream) {
        let report = stream.handle.join().unwrap_or_else(|_| {
            self.progress.set_state(id, StreamState::Failed);
            StreamReport {
                id: id.to_owned(),
                frames: 0,
                windows: self.next_index.get(id).copied().unwrap_or(0),
                error: Some(StreamError::Panicked),
            }
        });
        self.next_index.insert(id.to_owned(), report.windows);
        self.reports.push(report);
    }

    /// Collects the reports of the streams that have ended.
    pub fn reap_finished(&mut self) {
        let done: Vec<String> =
            self.running.iter().filter(|(_, s)| s.handle.is_finished()).map(|(id, _)| id.clone()).collect();
        for id in done {
            let stream = self.running.remove(&id).expect("listed above");
            self.finish(&id, stream);
        }
    }

    /// Stops one stream and waits for its end.
    pub fn stop_stream(&mut self, id: &str) {
        if let Some(stream) = self.running.remove(id) {
            stream.stop.store(true, Ordering::Relaxed);
            self.finish(id, stream);
        }
    }

    /// Asks every stream to stop.
    pub fn stop_all(&self) {
        self.running.values().for_each(|s| s.stop.store(true, Ordering::Relaxed));
    }

    pub fn is_empty(&self) -> bool {
        self.running.is_empty()
    }

    pub fn into_reports(self) -> Vec<StreamReport> {
        self.reports
    }
}
