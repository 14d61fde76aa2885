//! The library entry point: build a pipeline from a pipeline file (or a configuration made in
//! code), start it, receive its events on a crossbeam channel, stop it.
//!
//! ```no_run
//! let pipeline = actiond::Pipeline::from_file("pipelines/demo.toml".as_ref())?;
//! let (running, events) = pipeline.start_with_channel(64)?;
//! for event in events {
//!     println!("{} {}", event.kind(), event.stream());
//! }
//! running.wait()?;
//! # Ok::<(), actiond::Error>(())
//! ```

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use crossbeam_channel::Receiver;
use ort::session::Session;

use crate::config::PipelineConfig;
use crate::daemon::{self, Control, RunReport};
use crate::error::Error;
use crate::flow::Event;
use crate::output::{ChannelSink, Sink};
use crate::plan::Plan;
use crate::progress::Progress;

/// A checked pipeline, its model loaded, ready to start.
pub struct Pipeline {
    plan: Plan,
    session: Session,
}

impl Pipeline {
    /// Loads and checks a pipeline file (with `ACTIOND__…` overrides).
    pub fn from_file(path: &Path) -> Result<Self, Error> {
        Self::from_config(PipelineConfig::load(path)?)
    }

    /// Checks a configuration against its model.
    pub fn from_config(config: PipelineConfig) -> Result<Self, Error> {
        crate::source::init()?;
        let (plan, session) = Plan::prepare(config)?;
        Ok(Self { plan, session })
    }

    /// What the pipeline will run with.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Starts every stream, writing events to `sinks`.
    pub fn start(self, sinks: Vec<Box<dyn Sink>>) -> Result<RunningPipeline, Error> {
        let stop = Arc::new(AtomicBool::new(false));
        let progress = Arc::new(Progress::default());
        let (control, control_rx) = crossbeam_channel::unbounded();
        let (flag, counters) = (stop.clone(), progress.clone());
        let handle = std::thread::Builder::new()
            .name("pipeline".into())
            .spawn(move || daemon::run(self.plan, self.session, flag, counters, control_rx, sinks))
            .map_err(|e| Error::Runtime(format!("cannot start the pipeline: {e}")))?;
        Ok(RunningPipeline { stop, progress, control, handle })
    }

    /// Starts every stream and returns a channel that receives every event, in order per
    /// stream. The channel holds `capacity` events; a slow receiver holds the pipeline back
    /// (files) or makes live streams drop windows. It closes when the pipeline has finished.
    /// The pipeline file's `[[sinks]]` are not used here.
    pub fn start_with_channel(self, capacity: usize) -> Result<(RunningPipeline, Receiver<Event>), Error> {
        let (tx, rx) = crossbeam_channel::bounded(capacity);
        let running = self.start(vec![Box::new(ChannelSink::new(tx))])?;
        Ok((running, rx))
    }
}

/// A started pipeline.
pub struct RunningPipeline {
    stop: Arc<AtomicBool>,
    progress: Arc<Progress>,
    control: crossbeam_channel::Sender<Control>,
    handle: JoinHandle<Result<RunReport, Error>>,
}

impl RunningPipeline {
    /// Asks every stream to stop; windows already cut are still classified and delivered.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// The flag `stop` sets, for signal handlers.
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        self.stop.clone()
    }

    /// Applies a new configuration's streams: added ones start, removed ones stop, changed ones
    /// restart, unchanged ones keep running. A configuration that differs elsewhere than in
    /// `[[streams]]` is rejected (logged) and the running one stays.
    pub fn reload(&self, config: PipelineConfig) {
        // The receiver lives as long as the run; after it, there is nothing to reload.
        let _ = self.control.send(Control::Reload(config));
    }

    /// Live counters of the run.
    pub fn progress(&self) -> &Arc<Progress> {
        &self.progress
    }

    /// Whether stop was asked for.
    pub fn is_stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Whether every stream has ended and every event was delivered.
    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }

    /// Waits for the end of the run.
    pub fn wait(self) -> Result<RunReport, Error> {
        self.handle.join().map_err(|_| Error::Runtime("the pipeline thread panicked".into()))?
    }
}
