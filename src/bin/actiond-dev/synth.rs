//! `actiond-dev synth-video`: a video of the synthetic action set and its ground truth, for
//! the demo, the tests and the benchmark.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use rand::SeedableRng;

use actiond::dataset::SEGMENT_HEADER;
use actiond::error::exit_code;
use actiond::synthetic::{Action, Codec, Timeline, write_video};

pub fn parse_action(label: &str) -> Result<Action, String> {
    Action::ALL.into_iter().find(|a| a.label() == label).ok_or_else(|| {
        let known: Vec<&str> = Action::ALL.iter().map(|a| a.label()).collect();
        format!("unknown action `{label}` (known: {})", known.join(", "))
    })
}

/// `actiond-dev synth-video`'s arguments.
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
