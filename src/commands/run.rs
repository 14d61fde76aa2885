//! `actiond run` and `actiond validate`: a pipeline file run to its end (or its stop), or checked.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::Context;

use actiond::Pipeline;
use actiond::config::PipelineConfig;
use actiond::error::{Error, exit_code};
use actiond::http::HttpListener;
use actiond::output::build_sinks;
use actiond::plan::Plan;
use actiond::service::{self, Outcome};

use super::logging::final_error;

pub fn run(path: &Path) -> anyhow::Result<u8> {
    let pipeline = Pipeline::from_file(path)?;
    let plan = pipeline.plan();
    let sinks = build_sinks(plan.sinks()).map_err(|e| Error::Runtime(e.to_string()))?;
    let shutdown_timeout = plan.service.shutdown_timeout;
    let http_listen = plan.service.http_listen.clone();
    let stall_timeout = plan.service.stall_timeout;
    let running = pipeline.start(sinks)?;
    let _http = match &http_listen {
        Some(address) => {
            let progress = running.progress().clone();
            Some(HttpListener::start(address, progress, stall_timeout).map_err(Error::Runtime)?)
        }
        None => None,
    };
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, running.stop_flag()).context("installing signal handlers")?;
    }
    let reload = service::Reload { requested: Arc::new(AtomicBool::new(false)), path: path.to_owned() };
    signal_hook::flag::register(signal_hook::consts::SIGHUP, reload.requested.clone())
        .context("installing the SIGHUP handler")?;
    let report = match service::supervise(running, shutdown_timeout, Some(reload)) {
        Outcome::Finished(report) => report?,
        Outcome::Stuck(what) => {
            return Err(Error::Runtime(format!(
                "shutdown did not finish within {:.1} s: {what}",
                shutdown_timeout.as_secs_f64()
            ))
            .into());
        }
    };
    let failed = report.failed();
    if !failed.is_empty() {
        let streams = report.streams.len();
        final_error(&format!("{} of {streams} streams failed: {}", failed.len(), failed.join(", ")));
        return Ok(exit_code::RUNTIME);
    }
    if report.output.failed_windows > 0 || report.output.sink_errors > 0 {
        let output = &report.output;
        final_error(&format!(
            "{} windows could not be classified, {} sink errors",
            output.failed_windows, output.sink_errors
        ));
        return Ok(exit_code::RUNTIME);
    }
    Ok(exit_code::OK)
}

pub fn validate(pipeline: &Path) -> anyhow::Result<u8> {
    let config = PipelineConfig::load(pipeline).map_err(Error::from)?;
    let (plan, _session) = Plan::prepare(config)?;
    let mut missing = Vec::new();
    for stream in &plan.streams {
        if let Err(e) = stream.location.ensure_exists() {
            missing.push(format!("stream `{}`: {e}", stream.id));
        }
    }
    if !missing.is_empty() {
        return Err(Error::from(plan.error(missing.join("; "))).into());
    }
    let g = plan.geometry;
    let model = match &plan.model.encoder {
        Some(e) => {
            format!("{} + head {} (two-stage, D={})", e.path.display(), plan.model.path.display(), e.dim)
        }
        None => plan.model.path.display().to_string(),
    };
    println!(
        "{}: ok — model {} ({} classes), windows of {} frames every {} (frame_step {}), {}×{} input, {} stream(s)",
        pipeline.display(),
        model,
        plan.labels.len(),
        g.length,
        g.stride,
        g.frame_step,
        plan.frame_format.width,
        plan.frame_format.height,
        plan.streams.len()
    );
    Ok(exit_code::OK)
}
