//! Wiring the stages together for one run: a thread per stream (supervised decode → window
//! stage), the inference pool, and the output stage, joined by bounded channels.
//!
//! Shutdown follows the data: when the stop flag is set (SIGINT/SIGTERM) or the inputs end, the
//! stream threads emit their last windows and drop their senders; the workers drain the window
//! queues and exit; the output stage writes every prediction it received and flushes the sinks.
//! No window that was cut is lost.

mod reload;
mod streams;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossbeam_channel::{Receiver, bounded};
use ort::session::Session;

use crate::config::PipelineConfig;
use crate::error::Error;
use crate::infer::{InferencePool, WindowQueues};
use crate::output::{OutputSummary, Sink, run_output};
use crate::plan::Plan;
use crate::progress::Progress;
use crate::source::SourceError;
use streams::StreamSet;

/// Why a stream's run failed.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("the stream's thread panicked")]
    Panicked,
}

/// How one stream's run ended.
#[derive(Debug)]
pub struct StreamReport {
    pub id: String,
    pub frames: u64,
    pub windows: u64,
    pub error: Option<StreamError>,
}

/// How the whole run ended.
#[derive(Debug)]
pub struct RunReport {
    pub streams: Vec<StreamReport>,
    pub output: OutputSummary,
}

impl RunReport {
    /// Streams that failed, by id.
    pub fn failed(&self) -> Vec<&str> {
        self.streams.iter().filter(|s| s.error.is_some()).map(|s| s.id.as_str()).collect()
    }
}

/// A request to a running pipeline.
#[derive(Debug, Clone)]
pub enum Control {
    /// Apply a new configuration's `[[streams]]`: start added streams, stop removed ones,
    /// restart changed ones, leave the others running. Anything else must be unchanged.
    Reload(PipelineConfig),
}

/// Runs every stream of `plan` to its end (or until `stop`), writing events to `sinks`.
pub fn run(
    plan: Plan,
    first_session: Session,
    stop: Arc<AtomicBool>,
    progress: Arc<Progress>,
    control: Receiver<Control>,
    mut sinks: Vec<Box<dyn Sink>>,
) -> Result<RunReport, Error> {
    let inference = &plan.inference;
    let sessions = plan.worker_sessions(first_session)?;
    let queues = WindowQueues::new(inference.queue, inference.live_queue);
    let (output_tx, output_rx) = bounded(inference.queue * 4 + 64);
    let pool = InferencePool::start(sessions, plan.io.clone(), &queues, output_tx.clone(), progress.clone())
        .map_err(|e| Error::Runtime(format!("cannot start inference workers: {e}")))?;

    let settings = plan.output.clone();
    let output_progress = progress.clone();
    let output = std::thread::Builder::new()
        .name("output".into())
        .spawn(move || run_output(output_rx, &settings, &output_progress, &mut sinks))
        .map_err(|e| Error::Runtime(format!("cannot start the output stage: {e}")))?;

    let plan = Arc::new(plan);
    let mut set = StreamSet::new(plan.clone(), &queues, output_tx.clone(), progress.clone());
    set.announce(plan.streams.iter().map(|s| s.id.clone()).collect());
    for stream in &plan.streams {
        set.spawn(stream.clone())?;
    }
    progress.mark_started();
    loop {
        if stop.load(Ordering::Relaxed) {
            set.stop_all();
        }
        set.reap_finished();
        if set.is_empty() {
            break;
        }
        if let Ok(Control::Reload(config)) = control.recv_timeout(Duration::from_millis(50))
            && !stop.load(Ordering::Relaxed)
        {
            set.reload(&config);
        }
    }
    let reports = set.into_reports();
    drop(queues);
    drop(output_tx);
    pool.join();
    let output = output.join().map_err(|_| Error::Runtime("the output stage panicked".into()))?;
    Ok(RunReport { streams: reports, output })
}
