//! `actiond evaluate`: several heads (pipeline files) run end to end by the real daemon on the
//! same held-out labelled videos, scored window by window against the truth, with their costs
//! measured in the same run — the seed's question (GAP, Flatten or ConvLSTM?) answered on the
//! user's own footage.
//!
//! The truth comes in the forms `actiond dataset` reads (a folder per class, a segments CSV), and
//! a window is scored exactly when `actiond dataset` would have kept it: all its frames inside
//! one labelled stretch ([`crate::dataset::FrameLabels`]). Every head sees the same videos in the
//! same order, a few at a time as streams of one `actiond run` ([`child`]). The figures go out as
//! one [`Evaluation`], written as `evaluation.json`, `report.md` and `report.html`.

mod child;
mod html;
mod markdown;
mod report;
mod score;
mod truth;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

pub use report::{
    Evaluation, FORMAT, HeadReport, ModelFacts, RULE, ScoredWindow, Speed, Stretch, TruthSummary, VideoHead,
    VideoReport, WindowFacts, recommend,
};
pub use score::{ClassScore, Confusion, Scores};

use crate::config::{ModelFiles, PipelineConfig};
use crate::dataset::Problems;
use crate::error::{Error, ExitStatus, exit_code};
use crate::plan::Plan;
use crate::staging::{OutputError, Staging};
use truth::Truth;

/// Why an evaluation gave no report.
#[derive(Debug, thiserror::Error)]
pub enum EvaluateError {
    #[error("the truth has {} problem(s); nothing was written:\n{problems}", problems.len())]
    Data { problems: Problems },
    #[error("{0}")]
    Settings(String),
    #[error("pipeline {pipeline}: {reason}")]
    Run { pipeline: PathBuf, reason: String },
    #[error("stopped before the end; nothing was written")]
    Stopped,
    #[error(transparent)]
    Output(#[from] OutputError),
    /// A head's pipeline or model cannot be used.
    #[error(transparent)]
    Pipeline(#[from] Error),
}

impl ExitStatus for EvaluateError {
    fn exit_code(&self) -> u8 {
        match self {
            EvaluateError::Data { .. } | EvaluateError::Settings(_) => exit_code::DATA,
            EvaluateError::Pipeline(e) => e.exit_code(),
            EvaluateError::Run { .. } | EvaluateError::Stopped | EvaluateError::Output(_) => {
                exit_code::RUNTIME
            }
        }
    }
}

/// What to compare, on what.
#[derive(Debug, Clone)]
pub struct EvaluateSettings {
    /// One pipeline file per head.
    pub pipelines: Vec<PathBuf>,
    /// Held-out videos: folders per class and segments CSVs.
    pub truth: Vec<PathBuf>,
    /// The label of time outside every segment (otherwise that time is not scored).
    pub gap_label: Option<String>,
    /// Videos decoded at once, as streams of one daemon.
    pub videos_per_run: usize,
    /// Where the reports will go ([`write_reports`]): refused before anything runs if it
    /// exists and `force` is not given.
    pub out: Option<PathBuf>,
    pub force: bool,
}

/// One head to evaluate: a checked pipeline.
struct Head {
    name: String,
    config: PipelineConfig,
    plan: Plan,
}

/// Runs every head on the truth and scores it.
pub fn evaluate(settings: &EvaluateSettings, stop: &AtomicBool) -> Result<Evaluation, EvaluateError> {
    if let Some(out) = &settings.out {
        crate::staging::check_free(out, settings.force)?;
    }
    if settings.pipelines.is_empty() {
        return Err(EvaluateError::Settings("give at least one pipeline file".into()));
    }
    if settings.videos_per_run == 0 {
        return Err(EvaluateError::Settings("videos per run must be at least 1".into()));
    }
    let heads = load_heads(&settings.pipelines)?;
    let truth = Truth::read(&settings.truth, settings.gap_label.as_deref())?;
    let scratch = child::scratch()?;
    let mut reports = Vec::new();
    let mut timelines = Vec::new();
    for (n, head) in heads.iter().enumerate() {
        tracing::info!(head = %head.name, videos = truth.videos.len(), "Evaluating head {} of {}.", n + 1, heads.len());
        let runs = run_head(head, &truth, settings.videos_per_run, scratch.path(), stop)?;
        let scored = truth.score(head, &runs)?;
        if scored.scores.windows == 0 {
            return Err(EvaluateError::Data {
                problems: Problems::one(
                    crate::dataset::Place::Data,
                    format!(
                        "no window of {} lies inside one labelled stretch: the truth's segments are shorter than its windows ({} frames)",
                        head.name, head.plan.geometry.length
                    ),
                ),
            });
        }
        let model = model_facts(&head.config)?;
        let g = head.plan.geometry;
        let speed = speed(&runs, settings.videos_per_run.min(truth.videos.len()));
        tracing::info!(head = %head.name, accuracy = scored.scores.accuracy, macro_f1 = scored.scores.macro_f1,
            frames_per_s = speed.frames_per_s, cpu_ms_per_frame = speed.cpu_ms_per_frame, "Scored.");
        reports.push(HeadReport {
            name: head.name.clone(),
            pipeline: head.config.file.display().to_string(),
            model,
            labels: head.plan.labels.clone(),
            window: WindowFacts { length: g.length, stride: g.stride, frame_step: g.frame_step },
            scores: scored.scores,
            unscored_windows: scored.unscored,
            speed,
        });
        timelines.push(scored.videos);
    }
    let recommended = reports[recommend(&reports)].name.clone();
    Ok(Evaluation {
        format: FORMAT,
        truth: TruthSummary {
            sources: settings.truth.iter().map(|p| p.display().to_string()).collect(),
            gap_label: settings.gap_label.clone(),
            labels: truth.labels.clone(),
            videos: truth.videos.len(),
        },
        rule: RULE,
        recommended,
        videos: truth.video_reports(&reports, timelines),
        heads: reports,
    })
}

/// Writes `evaluation.json`, `report.md` and `report.html` into `out`, all or nothing.
pub fn write_reports(evaluation: &Evaluation, out: &Path, force: bool) -> Result<(), EvaluateError> {
    let staging = Staging::create(out, force)?;
    let json = serde_json::to_vec_pretty(evaluation).expect("an evaluation serialises");
    staging.write("evaluation.json", &json)?;
    staging.write("report.md", markdown::report(evaluation).as_bytes())?;
    staging.write("report.html", html::report(evaluation).as_bytes())?;
    staging.commit(force)?;
    Ok(())
}

/// The Markdown report (what `report.md` holds).
pub fn markdown_report(evaluation: &Evaluation) -> String {
    markdown::report(evaluation)
}

fn load_heads(pipelines: &[PathBuf]) -> Result<Vec<Head>, EvaluateError> {
    let mut heads: Vec<Head> = Vec::new();
    for path in pipelines {
        let config = PipelineConfig::load(path).map_err(Error::from)?;
        let (plan, _session) = Plan::prepare(config.clone())?;
        let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        if let Some(other) = heads.iter().find(|h| h.name == name) {
            return Err(EvaluateError::Settings(format!(
                "{} and {} would both be reported as `{name}`: give the pipeline files different names",
                other.config.file.display(),
                path.display()
            )));
        }
        heads.push(Head { name, config, plan });
    }
    Ok(heads)
}

/// The head's runs over all videos, `per_run` videos at a time.
fn run_head(
    head: &Head,
    truth: &Truth,
    per_run: usize,
    scratch: &Path,
    stop: &AtomicBool,
) -> Result<Vec<child::RunResult>, EvaluateError> {
    let mut runs = Vec::new();
    for (n, chunk) in truth.videos.chunks(per_run).enumerate() {
        if stop.load(Ordering::Relaxed) {
            return Err(EvaluateError::Stopped);
        }
        let streams: Vec<(String, &Path)> =
            chunk.iter().map(|v| (v.stream.clone(), v.video.path.as_path())).collect();
        let file = scratch.join(format!("{}-{n}.toml", head.name));
        let text = child::child_pipeline(&head.config, &streams)?;
        std::fs::write(&file, text)
            .map_err(|e| EvaluateError::Run { pipeline: file.clone(), reason: e.to_string() })?;
        let ids: Vec<&str> = chunk.iter().map(|v| v.stream.as_str()).collect();
        runs.push(child::run(&head.config.file, &file, &ids, stop)?);
    }
    Ok(runs)
}

fn speed(runs: &[child::RunResult], videos_per_run: usize) -> Speed {
    let frames: u64 = runs.iter().flat_map(|r| &r.ended).map(|(_, f)| f).sum();
    let wall_s: f64 = runs.iter().map(|r| r.measured.wall_s).sum();
    let cpu_s: f64 = runs.iter().map(|r| r.measured.cpu_s).sum();
    let per_frame = |x: f64| if frames > 0 { x / frames as f64 } else { 0.0 };
    Speed {
        frames,
        wall_s,
        cpu_s,
        frames_per_s: if wall_s > 0.0 { frames as f64 / wall_s } else { 0.0 },
        cpu_ms_per_frame: per_frame(cpu_s * 1e3),
        peak_rss_bytes: runs.iter().map(|r| r.measured.peak_rss_bytes).max().unwrap_or(0),
        videos_per_run,
    }
}

fn model_facts(config: &PipelineConfig) -> Result<ModelFacts, Error> {
    let files: Vec<PathBuf> = match config.model.files().map_err(|m| config.error(m))? {
        ModelFiles::Whole(path) => vec![path],
        ModelFiles::TwoStage { encoder, head } => vec![encoder, head],
    };
    let mut facts = ModelFacts { files: Vec::new(), parameters: 0, bytes: 0 };
    for file in files {
        facts.parameters += crate::model::count_parameters(&file)?;
        facts.bytes += std::fs::metadata(&file)
            .map_err(|e| crate::model::ModelError::Load { path: file.clone(), reason: e.to_string() })?
            .len();
        facts.files.push(file.display().to_string());
    }
    Ok(facts)
}
