//! The inference worker pool: N threads, each owning one ONNX Runtime session.
//!
//! `Session::run` takes `&mut self`, so sessions are not shared: each worker owns one and takes
//! windows from the queues of [`queue`]: one shared by the files, one per live stream, served
//! fairly. Workers finish out of order; the output
//! stage puts each stream's predictions back in window order.

mod encoder;
pub mod queue;
pub mod runtime;
mod scores;

use std::thread::JoinHandle;

use crossbeam_channel::Sender;
use ort::session::Session;
use ort::value::TensorRef;

use std::sync::Arc;

use crate::config::OutputKind;
use crate::flow::{InferError, Prediction, StageMessage};
use crate::metrics::QueueLabel;
use crate::progress::Progress;

pub use encoder::OnnxEncoder;
pub use queue::{QueueDepths, WindowQueues, WindowReceiver, WindowSender};
pub use scores::to_probabilities;

/// How to feed the model and read its answer; the same for every worker.
#[derive(Debug, Clone)]
pub struct ModelIo {
    pub input_name: String,
    /// Input shape with the batch dimension set to 1.
    pub input_shape: Vec<i64>,
    pub classes: usize,
    pub output_kind: OutputKind,
}

/// Running workers; they stop when both window queues are closed and drained.
pub struct InferencePool {
    workers: Vec<JoinHandle<()>>,
}

impl InferencePool {
    /// Starts one worker per session, taking windows from `queues`.
    pub fn start(
        sessions: Vec<Session>,
        io: ModelIo,
        queues: &WindowQueues,
        output: Sender<StageMessage>,
        progress: Arc<Progress>,
    ) -> std::io::Result<Self> {
        let mut workers = Vec::with_capacity(sessions.len());
        for (n, mut session) in sessions.into_iter().enumerate() {
            let (io, output, progress) = (io.clone(), output.clone(), progress.clone());
            let windows = queues.receiver();
            let depths = queues.depths();
            let handle = std::thread::Builder::new().name(format!("infer-{n}")).spawn(move || {
                let metrics = &progress.metrics;
                let files_gauge = metrics.queue_depth.get_or_create(&QueueLabel { queue: "files" }).clone();
                let live_gauge = metrics.queue_depth.get_or_create(&QueueLabel { queue: "live" }).clone();
                for window in windows {
                    let (files, live) = depths.get();
                    files_gauge.set(files as i64);
                    live_gauge.set(live as i64);
                    let started = std::time::Instant::now();
                    let outcome = classify(&mut session, &io, &window.data);
                    metrics.inference_seconds.observe(started.elapsed().as_secs_f64());
                    let prediction = StageMessage::Prediction(Prediction { meta: window.meta, outcome });
                    if output.send(prediction).is_err() {
                        return;
                    }
                }
            })?;
            workers.push(handle);
        }
        Ok(Self { workers })
    }

    /// Waits until every worker has drained the window channel.
    pub fn join(self) {
        for worker in self.workers {
            if worker.join().is_err() {
                tracing::error!("An inference worker panicked.");
            }
        }
    }
}

/// Runs one window's tensor through a session and returns class probabilities.
pub fn classify(session: &mut Session, io: &ModelIo, window: &[f32]) -> Result<Vec<f32>, InferError> {
    let mut probabilities = vec![0.0; io.classes];
    run_once(session, &io.input_name, &io.input_shape, window, &mut probabilities)?;
    to_probabilities(&mut probabilities, io.output_kind)?;
    Ok(probabilities)
}

/// One run of a single-input session whose first output must hold exactly `out.len()` values,
/// copied into `out`: a window through a classifier, or a frame through an encoder.
fn run_once(
    session: &mut Session,
    input_name: &str,
    shape: &[i64],
    input: &[f32],
    out: &mut [f32],
) -> Result<(), InferError> {
    let run = |e: ort::Error| InferError::Run(e.to_string());
    let input = TensorRef::from_array_view((shape, input)).map_err(run)?;
    let outputs = session.run(ort::inputs![input_name => input]).map_err(run)?;
    let (_, values) = outputs[0].try_extract_tensor::<f32>().map_err(run)?;
    if values.len() != out.len() {
        return Err(InferError::OutputWidth { found: values.len(), expected: out.len() });
    }
    out.copy_from_slice(values);
    Ok(())
}
