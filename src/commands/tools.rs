//! The tools around the daemon: `bench` (the benchmark's ceilings), `inspect-model` and
//! `synth-video` (the synthetic test scenes).

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Subcommand;
use rand::SeedableRng;

use actiond::config::{PipelineConfig, ResizeMode};
use actiond::error::{Error, exit_code};
use actiond::infer::runtime;
use actiond::model::{EncoderInfo, HeadInfo, ModelInfo, TensorDescription, describe_session, read_opsets};
use actiond::plan::Plan;
use actiond::source::{FrameFormat, SourceOptions};
use actiond::synthetic::{Action, Codec, Timeline, write_video};

#[derive(Subcommand)]
pub enum Ceiling {
    /// Decode a video file through the daemon's GStreamer pipeline into a fakesink.
    Decode {
        /// Video file.
        video: String,
        /// Frame size the pipeline scales to (the model's).
        #[arg(long, default_value_t = 64)]
        width: u32,
        #[arg(long, default_value_t = 64)]
        height: u32,
        /// Keep the aspect ratio with black borders (`source.resize = "letterbox"`).
        #[arg(long)]
        letterbox: bool,
        /// `source.decoder_threads` (0: libav's choice).
        #[arg(long, default_value_t = 1)]
        decoder_threads: u32,
    },
    /// Run the pipeline's model on the windows (or frames and windows, for a two-stage model)
    /// of a video of `--frames` frames, from memory.
    Infer {
        /// Pipeline file (TOML).
        pipeline: PathBuf,
        #[arg(long)]
        frames: u64,
    },
}

pub fn bench(ceiling: Ceiling) -> anyhow::Result<u8> {
    let report = match ceiling {
        Ceiling::Decode { video, width, height, letterbox, decoder_threads } => {
            let resize = if letterbox { ResizeMode::Letterbox } else { ResizeMode::Stretch };
            let mut options = SourceOptions::file(FrameFormat { width, height, resize });
            options.decoder_threads = decoder_threads;
            actiond::bench::decode(actiond::source::location_of(&video), &options)?
        }
        Ceiling::Infer { pipeline, frames } => {
            let config = PipelineConfig::load(&pipeline).map_err(Error::from)?;
            let (plan, session) = Plan::prepare(config)?;
            actiond::bench::inference(&plan, session, frames)?
        }
    };
    println!("{}", serde_json::to_string(&report)?);
    Ok(exit_code::OK)
}

pub fn inspect_model(model: &Path, onnxruntime: Option<&Path>) -> anyhow::Result<u8> {
    let env = runtime::environment(onnxruntime).map_err(Error::from)?;
    let session = runtime::open_session(&env, model, 1, false).map_err(Error::from)?;
    let opsets = read_opsets(model).map_err(Error::from)?;
    let describe = |kind: &str, list: &[TensorDescription]| {
        for t in list {
            println!("{kind:<8} {} {} {}", t.name, t.element_type, t.shape_text());
        }
    };
    let opset_text: Vec<String> = opsets.iter().map(|(d, v)| format!("{d} {v}")).collect();
    println!("model    {}", model.display());
    println!("opset    {}", opset_text.join(", "));
    let (inputs, outputs) = describe_session(&session);
    describe("input", &inputs);
    describe("output", &outputs);
    let dim = |d: Option<usize>| d.map_or("dynamic".to_owned(), |v| v.to_string());
    // Two-stage parts: a per-frame encoder (4-D input) or a temporal head (3-D input).
    match inputs.first().map(|t| t.shape.as_slice()) {
        Some(shape) if shape.len() == 4 => {
            let encoder = EncoderInfo::from_session(model, &session, None).map_err(Error::from)?;
            println!("form     encoder of a two-stage model (give it as `model.encoder`)");
            println!("frames   H={} W={}", dim(encoder.height), dim(encoder.width));
            println!("embedding D={}", encoder.dim);
            return Ok(exit_code::OK);
        }
        Some(shape) if shape.len() == 3 => {
            let head = HeadInfo::from_session(model, &session).map_err(Error::from)?;
            println!("form     temporal head of a two-stage model (give it as `model.head`)");
            println!("sequence T={} D={}", dim(head.time), dim(head.dim));
            println!("classes  {}", dim(head.classes));
            return Ok(exit_code::OK);
        }
        _ => {}
    }
    match ModelInfo::from_session(model, &session, None) {
        Ok(info) => {
            println!("layout   {}", info.layout.describe());
            println!("frames   T={} H={} W={}", dim(info.time), dim(info.height), dim(info.width));
            println!("classes  {}", dim(info.classes));
            Ok(exit_code::OK)
        }
        Err(e) => Err(Error::from(e).into()),
    }
}

pub fn parse_action(label: &str) -> Result<Action, String> {
    Action::ALL.into_iter().find(|a| a.label() == label).ok_or_else(|| {
        let known: Vec<&str> = Action::ALL.iter().map(|a| a.label()).collect();
        format!("unknown action `{label}` (known: {})", known.join(", "))
    })
}

#[allow(clippy::too_many_arguments)]
pub fn synth_video(
    out: &Path,
    truth: Option<PathBuf>,
    width: u32,
    height: u32,
    fps: u32,
    segments: usize,
    actions: &[Action],
    seed: u64,
    codec: Option<Codec>,
) -> anyhow::Result<u8> {
    anyhow::ensure!(
        width >= 16 && height >= 16 && fps > 0 && segments > 0,
        "size, fps and segments must be positive"
    );
    let codec = codec.unwrap_or(match out.extension().and_then(|e| e.to_str()) {
        Some("webm") => Codec::Vp8,
        _ => Codec::H264,
    });
    let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
    let timeline = if actions.is_empty() {
        Timeline::random(segments, fps, width, height, &mut rng)
    } else {
        Timeline::of(actions, fps, width, height, &mut rng)
    };
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    write_video(out, &timeline, codec, &mut rng)?;
    let truth = truth.unwrap_or_else(|| out.with_extension("truth.json"));
    std::fs::write(&truth, serde_json::to_string_pretty(&timeline)?)
        .with_context(|| format!("writing {}", truth.display()))?;
    tracing::info!(video = %out.display(), truth = %truth.display(), frames = timeline.frames, "Wrote synthetic video.");
    Ok(exit_code::OK)
}
