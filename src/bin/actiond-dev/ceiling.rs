//! `actiond-dev bench decode|infer`: the two ceilings benches/run.py measures the daemon
//! against, one JSON line each (see `actiond::bench`).

use std::path::PathBuf;

use clap::Subcommand;

use actiond::config::{PipelineConfig, ResizeMode};
use actiond::error::{Error, exit_code};
use actiond::plan::Plan;
use actiond::source::{FrameFormat, SourceOptions};

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
