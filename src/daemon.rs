//! Wiring the stages together for one run: a thread per stream (decode → window), the
//! inference pool, and the output stage, joined by bounded channels.
//!
//! Shutdown follows the data: when the stop flag is set (SIGINT/SIGTERM) or the inputs end, the
//! stream threads emit their last windows and drop their senders; the workers drain the window
//! channel and exit; the output stage writes every prediction it received and flushes the sinks.
//! No window that was cut is lost.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::thread::JoinHandle;

use crossbeam_channel::{Sender, bounded};
use ort::session::Session;

use crate::error::Error;
use crate::infer::{InferencePool, runtime};
use crate::output::{OutputSummary, Sink, run_output};
use crate::plan::Plan;
use crate::source::{SourceError, VideoSource, location_of};
use crate::window::{Window, Windower};

/// How one stream's run ended.
#[derive(Debug)]
pub struct StreamReport {
    pub id: String,
    pub frames: u64,
    pub windows: u64,
    pub error: Option<SourceError>,
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

/// Runs every stream of `plan` to its end (or until `stop`), writing events to `sinks`.
pub fn run(
    plan: Plan,
    first_session: Session,
    stop: Arc<AtomicBool>,
    mut sinks: Vec<Box<dyn Sink>>,
) -> Result<RunReport, Error> {
    let inference = &plan.config.inference;
    let env = runtime::environment(inference.onnxruntime.as_deref())?;
    let mut sessions = vec![first_session];
    for _ in 1..inference.workers {
        sessions.push(runtime::open_session(&env, &plan.config.model.path, inference.intra_threads)?);
    }
    let (window_tx, window_rx) = bounded::<Window>(inference.queue);
    let (prediction_tx, prediction_rx) = bounded(inference.queue * 4);
    let pool = InferencePool::start(sessions, plan.io.clone(), window_rx, prediction_tx)
        .map_err(|e| Error::Runtime(format!("cannot start inference workers: {e}")))?;

    let labels = plan.labels.clone();
    let top_k = plan.config.output.top_k;
    let output = std::thread::Builder::new()
        .name("output".into())
        .spawn(move || run_output(prediction_rx, &labels, top_k, &mut sinks))
        .map_err(|e| Error::Runtime(format!("cannot start the output stage: {e}")))?;

    let plan = Arc::new(plan);
    let streams: Vec<_> = plan
        .config
        .streams
        .iter()
        .map(|s| spawn_stream(plan.clone(), s.id.clone(), s.uri.clone(), window_tx.clone(), stop.clone()))
        .collect::<Result<_, _>>()?;
    drop(window_tx);

    let reports: Vec<StreamReport> = streams
        .into_iter()
        .map(|(id, handle)| {
            handle.join().unwrap_or_else(|_| StreamReport {
                id,
                frames: 0,
                windows: 0,
                error: Some(SourceError::Decode {
                    input: String::new(),
                    reason: "stream thread panicked".into(),
                }),
            })
        })
        .collect();
    pool.join();
    let output = output.join().map_err(|_| Error::Runtime("the output stage panicked".into()))?;
    Ok(RunReport { streams: reports, output })
}

type StreamThread = (String, JoinHandle<StreamReport>);

fn spawn_stream(
    plan: Arc<Plan>,
    id: String,
    uri: String,
    windows: Sender<Window>,
    stop: Arc<AtomicBool>,
) -> Result<StreamThread, Error> {
    let thread_id = id.clone();
    let handle = std::thread::Builder::new()
        .name(format!("stream-{id}"))
        .spawn(move || {
            let mut windower = Windower::new(
                id.as_str().into(),
                plan.geometry,
                plan.model.layout,
                plan.preprocessor.clone(),
            );
            let mut send = |window: Window| {
                // The receiver only disappears if every worker died; the run is over then.
                let _ = windows.send(window);
            };
            let location = location_of(&uri);
            tracing::info!(stream = %id, input = %location.display(), "Stream started.");
            let result = VideoSource::new(location, plan.frame_format).and_then(|source| {
                source.run(&stop, |frame| windower.push(&frame).into_iter().for_each(&mut send))
            });
            // Whatever happened, the frames already decoded still make their windows.
            windower.finish().into_iter().for_each(&mut send);
            let (frames, error) = match result {
                Ok(summary) => {
                    tracing::info!(stream = %id, frames = summary.frames, windows = windower.emitted(),
                        stopped = summary.stopped, "Stream finished.");
                    (summary.frames, None)
                }
                Err(e) => {
                    tracing::error!(stream = %id, error = %e, "Stream failed.");
                    (0, Some(e))
                }
            };
            StreamReport { id, frames, windows: windower.emitted(), error }
        })
        .map_err(|e| Error::Runtime(format!("cannot start a stream thread: {e}")))?;
    Ok((thread_id, handle))
}
