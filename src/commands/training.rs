//! `actiond dataset` and `actiond evaluate`: the training workflow's commands, labelled footage
//! into windows, and heads compared on held-out footage.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::Context;

use actiond::config::PipelineConfig;
use actiond::dataset::{DatasetEncoder, DatasetSettings, DatasetSource};
use actiond::error::{Error, exit_code};
use actiond::evaluate::EvaluateSettings;
use actiond::plan::Plan;

/// A flag that SIGTERM and SIGINT raise, for work that stops between steps.
fn stop_flag() -> anyhow::Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, stop.clone()).context("installing signal handlers")?;
    }
    Ok(stop)
}

/// Which frame encoder's embeddings `actiond dataset` keeps beside the windows.
pub enum Embeddings {
    None,
    /// The pipeline's own encoder (a two-stage pipeline).
    Pipeline,
    /// Another ONNX frame encoder, fed the pipeline's frames and preprocessing.
    Encoder(PathBuf),
}

/// The encoder's path as the manifest records it: absolute, so training finds the very file
/// whatever folder it runs from.
fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    std::path::absolute(path).with_context(|| format!("{}: cannot make the path absolute", path.display()))
}

pub fn dataset(pipeline: &Path, settings: &DatasetSettings, embeddings: &Embeddings) -> anyhow::Result<u8> {
    let config = PipelineConfig::load(pipeline).map_err(Error::from)?;
    let (plan, _session) = Plan::prepare(config)?;
    let encoder = match embeddings {
        Embeddings::None => None,
        Embeddings::Pipeline => {
            let encoder = plan.frame_encoder()?.ok_or_else(|| {
                Error::from(
                    plan.error(
                        "--embeddings needs a two-stage pipeline (`model.encoder` and `model.head`); \
                     this one has a whole model: give the frame encoder with --encoder FILE"
                            .into(),
                    ),
                )
            })?;
            let path = &plan.model.encoder.as_ref().expect("a frame encoder has its info").path;
            Some(DatasetEncoder { path: absolute(path)?, encoder: Box::new(encoder) })
        }
        Embeddings::Encoder(path) => {
            let encoder = Box::new(plan.other_frame_encoder(path)?);
            Some(DatasetEncoder { path: absolute(path)?, encoder })
        }
    };
    let source = DatasetSource::from_plan(&plan);
    let stop = stop_flag()?;
    let dataset = actiond::dataset::build(&source, settings, encoder, &stop)?;
    let m = &dataset.manifest;
    println!(
        "{}: {} windows of {}×{}×{}×3 from {} videos, {} labels (seed {}, {:.0} % of each label's videos for validation)\n",
        dataset.dir.display(),
        m.windows.shape[0],
        m.windows.shape[1],
        m.windows.shape[2],
        m.windows.shape[3],
        m.videos.len(),
        m.labels.len(),
        m.seed,
        m.val_fraction * 100.0
    );
    if let Some(e) = &m.embeddings {
        println!("embeddings: {}×{}×{} float32 from {}", e.shape[0], e.shape[1], e.shape[2], e.encoder);
    }
    print!("{}", m.split_table());
    if !m.skipped.is_empty() {
        println!("\nskipped {} video(s):", m.skipped.len());
        for s in &m.skipped {
            println!("- {}: {}", s.video, s.problems.join("; "));
        }
    }
    Ok(exit_code::OK)
}

/// How `actiond evaluate` prints its figures.
pub struct EvaluateOutput {
    pub json: bool,
}

pub fn evaluate(settings: &EvaluateSettings, output: &EvaluateOutput) -> anyhow::Result<u8> {
    let stop = stop_flag()?;
    let evaluation = actiond::evaluate::evaluate(settings, &stop)?;
    if let Some(out) = &settings.out {
        actiond::evaluate::write_reports(&evaluation, out, settings.force)?;
        eprintln!("actiond: wrote {}/{{report.md,report.html,evaluation.json}}", out.display());
    }
    if output.json {
        println!("{}", serde_json::to_string_pretty(&evaluation)?);
    } else {
        print!("{}", actiond::evaluate::markdown_report(&evaluation));
    }
    Ok(exit_code::OK)
}
