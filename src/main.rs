//! The `actiond` command line: turns arguments into library calls and errors into exit codes.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::Context;
use clap::{Parser, Subcommand};
use rand::SeedableRng;

use actiond::Pipeline;
use actiond::config::{PipelineConfig, ResizeMode};
use actiond::dataset::{DatasetSettings, DatasetSource};
use actiond::error::{Error, exit_code};
use actiond::http::HttpListener;
use actiond::infer::runtime;
use actiond::model::{EncoderInfo, HeadInfo, ModelInfo, TensorDescription, describe_session, read_opsets};
use actiond::output::build_sinks;
use actiond::plan::Plan;
use actiond::service::{self, Outcome};
use actiond::source::{FrameFormat, SourceOptions};
use actiond::synthetic::{Action, Codec, Timeline, write_video};

#[derive(Parser)]
#[command(name = "actiond", version, about = "Watches video and says what is happening in it.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Ceiling {
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

#[derive(Subcommand)]
enum Command {
    /// Run a pipeline: window events go to stdout as JSON Lines, logs to stderr.
    Run {
        /// Pipeline file (TOML).
        pipeline: PathBuf,
    },
    /// Check a pipeline file, its model, labels and inputs without running it.
    Validate {
        /// Pipeline file (TOML).
        pipeline: PathBuf,
    },
    /// Cut labelled videos into training windows with a pipeline's own source and window
    /// settings, split by video: writes windows.npy, index.csv, labels.txt and dataset.json.
    Dataset {
        /// Pipeline file (TOML) whose [model] size, [source] and [window] settings cut the windows.
        pipeline: PathBuf,
        /// A folder per class (DIR/<label>/<video>) or a segments CSV
        /// (`video,start_s,end_s,label`); may be given several times.
        #[arg(long, required = true)]
        data: Vec<PathBuf>,
        /// Held-out videos in the same forms: never in training or validation.
        #[arg(long)]
        test: Vec<PathBuf>,
        /// Label of the time outside every segment (otherwise that time is not used).
        #[arg(long)]
        gap_label: Option<String>,
        /// Share of each label's videos kept for validation.
        #[arg(long, default_value_t = 0.2)]
        val_fraction: f64,
        /// Seed of the split.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Leave out videos that cannot be decoded or whose segments run past their end
        /// (listed in dataset.json) instead of failing.
        #[arg(long)]
        skip_bad: bool,
        /// Output folder (must not exist unless --force).
        #[arg(long)]
        out: PathBuf,
        /// Replace an existing output folder (only once the new dataset is complete).
        #[arg(long)]
        force: bool,
    },
    /// Print a model's inputs, outputs, layout, window size, classes and opset.
    InspectModel {
        /// ONNX file.
        model: PathBuf,
        /// ONNX Runtime library to load (default: ORT_DYLIB_PATH, then the install locations).
        #[arg(long)]
        onnxruntime: Option<PathBuf>,
    },
    /// Measure one ceiling for the benchmark (benches/run.py): decoding alone or inference
    /// alone, with the pipeline's settings. Prints one JSON line.
    Bench {
        #[command(subcommand)]
        ceiling: Ceiling,
    },
    /// Write a video of the synthetic action set and its ground truth (JSON).
    SynthVideo {
        /// Output video (.mp4 for H.264, .webm for VP8 unless --codec says otherwise).
        #[arg(long)]
        out: PathBuf,
        /// Where to write the ground truth; default: the video path with `.truth.json`.
        #[arg(long)]
        truth: Option<PathBuf>,
        #[arg(long, default_value_t = 320)]
        width: u32,
        #[arg(long, default_value_t = 240)]
        height: u32,
        #[arg(long, default_value_t = 25)]
        fps: u32,
        /// Number of action segments (2–4 s each); every action appears before any repeats.
        #[arg(long, default_value_t = 8)]
        segments: usize,
        /// The actions of the segments, in order (e.g. `move_left,still`), instead of a random
        /// order of `--segments` actions.
        #[arg(long, value_delimiter = ',', value_parser = parse_action)]
        actions: Vec<Action>,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, value_enum)]
        codec: Option<Codec>,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run { pipeline } => run(&pipeline),
        Command::Validate { pipeline } => validate(&pipeline),
        Command::InspectModel { model, onnxruntime } => inspect_model(&model, onnxruntime.as_deref()),
        Command::Bench { ceiling } => bench(ceiling),
        Command::Dataset { pipeline, data, test, gap_label, val_fraction, seed, skip_bad, out, force } => {
            let settings =
                DatasetSettings { data, test, gap_label, val_fraction, seed, skip_bad, out, force };
            dataset(&pipeline, &settings)
        }
        Command::SynthVideo { out, truth, width, height, fps, segments, actions, seed, codec } => {
            synth_video(&out, truth, width, height, fps, segments, &actions, seed, codec)
        }
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let code = e.downcast_ref::<Error>().map_or(exit_code::RUNTIME, Error::exit_code);
            eprintln!("actiond: error: {e:#}");
            ExitCode::from(code)
        }
    }
}

fn run(path: &Path) -> anyhow::Result<u8> {
    let pipeline = Pipeline::from_file(path)?;
    let plan = pipeline.plan();
    let sinks = build_sinks(plan.sinks()).map_err(|e| Error::Runtime(e.to_string()))?;
    let shutdown_timeout = plan.service.shutdown_timeout;
    let http_listen = plan.service.http_listen.clone();
    let running = pipeline.start(sinks)?;
    let _http = match &http_listen {
        Some(address) => {
            Some(HttpListener::start(address, running.progress().clone()).map_err(Error::Runtime)?)
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
        eprintln!(
            "actiond: error: {} of {} streams failed: {}",
            failed.len(),
            report.streams.len(),
            failed.join(", ")
        );
        return Ok(exit_code::RUNTIME);
    }
    if report.output.failed_windows > 0 || report.output.sink_errors > 0 {
        eprintln!(
            "actiond: error: {} windows could not be classified, {} sink errors",
            report.output.failed_windows, report.output.sink_errors
        );
        return Ok(exit_code::RUNTIME);
    }
    Ok(exit_code::OK)
}

fn validate(pipeline: &Path) -> anyhow::Result<u8> {
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

fn dataset(pipeline: &Path, settings: &DatasetSettings) -> anyhow::Result<u8> {
    let config = PipelineConfig::load(pipeline).map_err(Error::from)?;
    let (plan, _session) = Plan::prepare(config)?;
    let source = DatasetSource::from_plan(&plan);
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, stop.clone()).context("installing signal handlers")?;
    }
    let dataset = actiond::dataset::build(&source, settings, &stop).map_err(Error::from)?;
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
    print!("{}", m.split_table());
    if !m.skipped.is_empty() {
        println!("\nskipped {} video(s):", m.skipped.len());
        for s in &m.skipped {
            println!("- {}: {}", s.video, s.problems.join("; "));
        }
    }
    Ok(exit_code::OK)
}

fn bench(ceiling: Ceiling) -> anyhow::Result<u8> {
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

fn inspect_model(model: &Path, onnxruntime: Option<&Path>) -> anyhow::Result<u8> {
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

fn parse_action(label: &str) -> Result<Action, String> {
    Action::ALL.into_iter().find(|a| a.label() == label).ok_or_else(|| {
        let known: Vec<&str> = Action::ALL.iter().map(|a| a.label()).collect();
        format!("unknown action `{label}` (known: {})", known.join(", "))
    })
}

#[allow(clippy::too_many_arguments)]
fn synth_video(
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
