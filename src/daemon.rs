//! Wiring the stages together for one run: a thread per stream (supervised decode → window),
//! the inference pool, and the output stage, joined by bounded channels.
//!
//! Shutdown follows the data: when the stop flag is set (SIGINT/SIGTERM) or the inputs end, the
//! stream threads emit their last windows and drop their senders; the workers drain the window
//! queues and exit; the output stage writes every prediction it received and flushes the sinks.
//! No window that was cut is lost.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use crossbeam_channel::{Receiver, Sender, bounded};
use ort::session::Session;

use crate::config::{PipelineConfig, StreamConfig};
use crate::error::Error;
use crate::infer::{InferencePool, WindowQueues, WindowSender};
use crate::metrics::Metrics;
use crate::output::{OutputSettings, OutputSummary, Sink, StageMessage, StatusEvent, run_output};
use crate::plan::Plan;
use crate::progress::{Progress, StreamState};
use crate::source::supervisor::{ReconnectPolicy, StreamHandler, StreamStatus, Supervisor};
use crate::source::{Frame, RtspSettings, SourceError, SourceOptions, location_of};
use crate::window::{EncodeFailure, Windower};
use prometheus_client::metrics::counter::Counter;

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

/// A request to a running pipeline.
#[derive(Debug, Clone)]
pub enum Control {
    /// Apply a new configuration's `[[streams]]`: start added streams, stop removed ones,
    /// restart changed ones, leave the others running. Anything else must be unchanged.
    Reload(PipelineConfig),
}

/// The running streams of a pipeline, which a reload can change.
struct StreamSet<'a> {
    plan: Arc<Plan>,
    queues: &'a WindowQueues,
    output: Sender<StageMessage>,
    progress: Arc<Progress>,
    running: BTreeMap<String, RunningStream>,
    /// Next window index per stream id, so a restarted stream keeps counting.
    next_index: HashMap<String, u64>,
    reports: Vec<StreamReport>,
}

struct RunningStream {
    config: StreamConfig,
    stop: Arc<AtomicBool>,
    handle: JoinHandle<StreamReport>,
}

impl StreamSet<'_> {
    fn spawn(&mut self, config: StreamConfig) -> Result<(), Error> {
        let sender = self.queues.sender(config.is_live(), self.output.clone());
        self.progress.set_state(&config.id, StreamState::Starting);
        let stop = Arc::new(AtomicBool::new(false));
        let first_index = self.next_index.get(&config.id).copied().unwrap_or(0);
        let spawned = spawn_stream(
            self.plan.clone(),
            config.clone(),
            sender,
            self.output.clone(),
            stop.clone(),
            self.progress.clone(),
            first_index,
        );
        let (_, handle) =
            spawned.inspect_err(|_| self.progress.set_state(&config.id, StreamState::Failed))?;
        self.running.insert(config.id.clone(), RunningStream { config, stop, handle });
        Ok(())
    }

    fn finish(&mut self, id: &str, stream: RunningStream) {
        let report = stream.handle.join().unwrap_or_else(|_| StreamReport {
            id: id.to_owned(),
            frames: 0,
            windows: self.next_index.get(id).copied().unwrap_or(0),
            error: Some(SourceError::Decode {
                input: String::new(),
                reason: "stream thread panicked".into(),
            }),
        });
        self.next_index.insert(id.to_owned(), report.windows);
        self.reports.push(report);
    }

    fn reap_finished(&mut self) {
        let done: Vec<String> =
            self.running.iter().filter(|(_, s)| s.handle.is_finished()).map(|(id, _)| id.clone()).collect();
        for id in done {
            let stream = self.running.remove(&id).expect("listed above");
            self.finish(&id, stream);
        }
    }

    fn stop_stream(&mut self, id: &str) {
        if let Some(stream) = self.running.remove(id) {
            stream.stop.store(true, Ordering::Relaxed);
            self.finish(id, stream);
        }
    }

    fn reload(&mut self, config: &PipelineConfig) {
        if let Err(table) = self.plan.config.reloadable_to(config) {
            tracing::error!(file = %config.file.display(), table,
                "Reload rejected: only [[streams]] can change without a restart; the running configuration stays.");
            return;
        }
        let wanted: BTreeMap<&str, &StreamConfig> =
            config.streams.iter().map(|s| (s.id.as_str(), s)).collect();
        let removed: Vec<String> =
            self.running.keys().filter(|id| !wanted.contains_key(id.as_str())).cloned().collect();
        for id in &removed {
            self.stop_stream(id);
            self.progress.remove_state(id);
        }
        let (mut added, mut changed) = (0, 0);
        for (id, stream) in wanted {
            match self.running.get(id) {
                Some(current) if current.config == *stream => continue,
                Some(_) => {
                    self.stop_stream(id);
                    changed += 1;
                }
                None => added += 1,
            }
            if let Err(e) = self.spawn(stream.clone()) {
                tracing::error!(stream = id, error = %e, "Could not start the stream.");
            }
        }
        tracing::info!(added, removed = removed.len(), changed, "Configuration reloaded.");
    }
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
    let inference = &plan.config.inference;
    let sessions = plan.worker_sessions(first_session)?;
    let queues = WindowQueues::new(inference.queue, inference.live_queue);
    let (output_tx, output_rx) = bounded(inference.queue * 4 + 64);
    let pool = InferencePool::start(sessions, plan.io.clone(), &queues, output_tx.clone(), progress.clone())
        .map_err(|e| Error::Runtime(format!("cannot start inference workers: {e}")))?;

    let settings = OutputSettings {
        labels: plan.labels.clone(),
        top_k: plan.config.output.top_k,
        events: plan.config.events.clone(),
    };
    let output_progress = progress.clone();
    let output = std::thread::Builder::new()
        .name("output".into())
        .spawn(move || run_output(output_rx, &settings, &output_progress, &mut sinks))
        .map_err(|e| Error::Runtime(format!("cannot start the output stage: {e}")))?;

    let plan = Arc::new(plan);
    let mut set = StreamSet {
        plan: plan.clone(),
        queues: &queues,
        output: output_tx.clone(),
        progress: progress.clone(),
        running: BTreeMap::new(),
        next_index: HashMap::new(),
        reports: Vec::new(),
    };
    for stream in &plan.config.streams {
        set.spawn(stream.clone())?;
    }
    progress.mark_started();
    loop {
        if stop.load(Ordering::Relaxed) {
            set.running.values().for_each(|s| s.stop.store(true, Ordering::Relaxed));
        }
        set.reap_finished();
        if set.running.is_empty() {
            break;
        }
        if let Ok(Control::Reload(config)) = control.recv_timeout(Duration::from_millis(50))
            && !stop.load(Ordering::Relaxed)
        {
            set.reload(&config);
        }
    }
    let reports = std::mem::take(&mut set.reports);
    drop(set);
    drop(queues);
    drop(output_tx);
    pool.join();
    let output = output.join().map_err(|_| Error::Runtime("the output stage panicked".into()))?;
    Ok(RunReport { streams: reports, output })
}

/// Source options of a stream: RTSP settings with the password resolved.
fn source_options(plan: &Plan, stream: &StreamConfig) -> SourceOptions {
    let mut options = SourceOptions::file(plan.frame_format);
    options.decoder_threads = plan.config.source.decoder_threads;
    if stream.is_live() {
        options.live = true;
        options.stall_timeout = Duration::from_secs_f64(stream.reconnect.stall_timeout_s);
        let rtsp = &stream.rtsp;
        let password =
            rtsp.password.clone().or_else(|| rtsp.password_env.as_ref().and_then(|v| std::env::var(v).ok()));
        options.rtsp = Some(RtspSettings {
            transport: rtsp.transport,
            latency_ms: rtsp.latency_ms,
            connect_timeout: Duration::from_secs_f64(rtsp.connect_timeout_s),
            user: rtsp.user.clone(),
            password,
        });
    }
    options
}

/// One stream's frames into windows, and its status changes into events.
struct StreamStage {
    id: Arc<str>,
    windower: Windower,
    windows: WindowSender,
    output: Sender<StageMessage>,
    progress: Arc<Progress>,
    frames_decoded: Counter,
    /// Frames in a row the encoder failed on (two-stage models).
    encoder_failures: u64,
}

impl StreamStage {
    fn send_status(&self, status: &StreamStatus) {
        let event = StatusEvent::new(&self.id, status, SystemTime::now());
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

    fn send_window(&self, window: crate::window::Window) {
        self.progress.window_cut();
        self.windows.send(window);
    }
}

impl StreamHandler for StreamStage {
    fn frames_dropped(&mut self, count: u64) {
        tracing::warn!(stream = %self.id, count, "Decoded frames never delivered on this connection (dropped by the appsink while the stream thread was behind, or still queued when the connection ended).");
        self.progress.metrics.frames_dropped.get_or_create(&Metrics::stream(&self.id)).inc_by(count);
    }

    fn frame(&mut self, frame: &Frame) {
        self.frames_decoded.inc();
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
        let state = match &status {
            StreamStatus::Up => StreamState::Up,
            StreamStatus::Down { .. } | StreamStatus::Reconnecting { .. } => StreamState::Down,
            StreamStatus::GaveUp { .. } => StreamState::Failed,
            StreamStatus::Ended { .. } => StreamState::Ended,
        };
        self.progress.set_state(&self.id, state);
        let metrics = &self.progress.metrics;
        let label = Metrics::stream(&self.id);
        metrics.stream_up.get_or_create(&label).set(i64::from(state == StreamState::Up));
        if let StreamStatus::Reconnecting { .. } = status {
            metrics.reconnects.get_or_create(&label).inc();
        }
        match &status {
            StreamStatus::Up => tracing::info!(stream = %self.id, "Stream up."),
            StreamStatus::Down { reason } => tracing::warn!(stream = %self.id, %reason, "Stream down."),
            StreamStatus::Reconnecting { .. } => {}
            StreamStatus::GaveUp { attempts, reason } => {
                tracing::error!(stream = %self.id, attempts, %reason, "Stream given up.");
            }
            StreamStatus::Ended { .. } => {}
        }
        self.send_status(&status);
    }
}

type StreamThread = (String, JoinHandle<StreamReport>);

fn spawn_stream(
    plan: Arc<Plan>,
    stream: StreamConfig,
    windows: WindowSender,
    output: Sender<StageMessage>,
    stop: Arc<AtomicBool>,
    progress: Arc<Progress>,
    first_index: u64,
) -> Result<StreamThread, Error> {
    let thread_id = stream.id.clone();
    let features = plan.frame_features()?;
    let handle = std::thread::Builder::new()
        .name(format!("stream-{}", stream.id))
        .spawn(move || {
            let live = stream.is_live();
            let id: Arc<str> = stream.id.as_str().into();
            let windower =
                Windower::new(id.clone(), plan.geometry, features, live).with_first_index(first_index);
            let frames_decoded = progress.metrics.frames_decoded.get_or_create(&Metrics::stream(&id)).clone();
            let mut stage = StreamStage {
                id: id.clone(),
                windower,
                windows,
                output,
                progress,
                frames_decoded,
                encoder_failures: 0,
            };
            let supervisor = Supervisor {
                location: location_of(&stream.uri),
                options: source_options(&plan, &stream),
                policy: ReconnectPolicy::from(&stream.reconnect),
            };
            tracing::info!(stream = %id, input = %supervisor.location.display(), live, "Stream started.");
            let result = supervisor.run(&stop, &mut stage);
            // Whatever happened, the frames already decoded still make their windows.
            stage.flush_tail();
            // A live stream that failed was given up, which its supervisor already said.
            let reason = match &result {
                Ok(summary) if summary.stopped => Some("stopped".to_owned()),
                Ok(_) => Some("end of input".to_owned()),
                Err(_) if live => None,
                Err(e) => Some(e.reason()),
            };
            if let Some(reason) = reason {
                stage.status(StreamStatus::Ended { reason });
            }
            let windows = stage.windower.emitted();
            let (frames, error) = match result {
                Ok(summary) => {
                    tracing::info!(stream = %id, frames = summary.frames, windows, stopped = summary.stopped,
                        "Stream finished.");
                    (summary.frames, None)
                }
                Err(e) => {
                    tracing::error!(stream = %id, error = %e, "Stream failed.");
                    stage.progress.set_state(&id, StreamState::Failed);
                    (0, Some(e))
                }
            };
            StreamReport { id: stream.id.clone(), frames, windows, error }
        })
        .map_err(|e| Error::Runtime(format!("cannot start a stream thread: {e}")))?;
    Ok((thread_id, handle))
}
