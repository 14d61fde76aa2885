//! The tools around the daemon: `bench` (the benchmark's ceilings), `inspect-model` and
//! `synth-video` (the synthetic test scenes).

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use rand::SeedableRng;

use actiond::config::{PipelineConfig, ResizeMode};
use actiond::dataset::SEGMENT_HEADER;
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
        /// Frame width the pipeline scales to (the model's).
        #[arg(long, default_value_t = 64)]
        width: u32,
        /// Frame height the pipeline scales to (the model's).
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
        /// Length of the video whose windows are run, in frames (the benchmark passes the
        /// decoded video's).
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

/// `actiond synth-video`'s arguments.
#[derive(Args)]
pub struct SynthArgs {
    /// Output video (.mp4 for H.264, .webm for VP8 unless --codec says otherwise).
    #[arg(long)]
    out: PathBuf,
    /// Where to write the ground truth; default: the video path with `.truth.json`.
    #[arg(long)]
    truth: Option<PathBuf>,
    /// Also append the truth to this segments CSV (`video,start_s,end_s,label`, the video
    /// relative to the CSV; the header is written when the file is new).
    #[arg(long)]
    segments_csv: Option<PathBuf>,
    /// Frame width in pixels; every length of the scene scales with the frame.
    #[arg(long, default_value_t = 320)]
    width: u32,
    /// Frame height in pixels.
    #[arg(long, default_value_t = 240)]
    height: u32,
    /// Frames per second.
    #[arg(long, default_value_t = 25)]
    fps: u32,
    /// Number of action segments (2–4 s each); every action appears before any repeats.
    #[arg(long, default_value_t = 8)]
    segments: usize,
    /// The actions of the segments, in order (e.g. `move_left,still`), instead of a random
    /// order of `--segments` actions.
    #[arg(long, value_delimiter = ',', value_parser = parse_action)]
    actions: Vec<Action>,
    /// Seed of the scenes (background, object, motion, order): the same seed gives the same video.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Encoder: h264 (in MP4) or vp8 (in WebM); default: from the --out extension.
    #[arg(long, value_enum)]
    codec: Option<Codec>,
}

pub fn synth_video(args: &SynthArgs) -> anyhow::Result<u8> {
    let SynthArgs { out, truth, segments_csv, width, height, fps, segments, actions, seed, codec } = args;
    let (width, height, fps, segments, seed) = (*width, *height, *fps, *segments, *seed);
    anyhow::ensure!(
        width >= 16 && height >= 16 && fps > 0 && segments > 0,
        "size, fps and segments must be positive"
    );
    let codec = codec.unwrap_or_else(|| match out.extension().and_then(|e| e.to_str()) {
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
    let truth = truth.clone().unwrap_or_else(|| out.with_extension("truth.json"));
    std::fs::write(&truth, serde_json::to_string_pretty(&timeline)?)
        .with_context(|| format!("writing {}", truth.display()))?;
    if let Some(csv) = segments_csv {
        append_segments(csv, out, &timeline).with_context(|| format!("writing {}", csv.display()))?;
    }
    tracing::info!(video = %out.display(), truth = %truth.display(), frames = timeline.frames, "Wrote synthetic video.");
    Ok(exit_code::OK)
}

/// Appends the timeline's segments to a segments CSV, naming the video relative to the CSV.
fn append_segments(csv: &Path, video: &Path, timeline: &Timeline) -> anyhow::Result<()> {
    let csv_dir = std::path::absolute(csv)?.parent().map(Path::to_owned).unwrap_or_default();
    let video = std::path::absolute(video)?;
    let name = video.strip_prefix(&csv_dir).unwrap_or(&video).to_string_lossy().into_owned();
    let is_new = !csv.exists();
    let file = std::fs::OpenOptions::new().create(true).append(true).open(csv)?;
    let mut writer = csv::Writer::from_writer(file);
    if is_new {
        writer.write_record(SEGMENT_HEADER)?;
    }
    let fps = f64::from(timeline.fps);
    for s in &timeline.segments {
        let (start, end) = (s.start_frame as f64 / fps, s.end_frame as f64 / fps);
        writer.write_record([name.as_str(), &start.to_string(), &end.to_string(), s.label])?;
    }
    writer.flush()?;
    Ok(())
}
