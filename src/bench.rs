//! The two ceilings actiond's end-to-end speed is measured against (`actiond-dev bench`): decoding
//! alone, through the same GStreamer pipeline into a `fakesink`, and inference alone, with the
//! same sessions and thread settings on windows already in memory.
//!
//! Each runs in its own process, so the benchmark script (benches/run.py) can read every
//! process's CPU time and peak memory from the kernel in the same way as for `actiond run`. The
//! decode ceiling loads no ONNX Runtime and the inference ceiling starts no GStreamer, so the
//! two together pay each start-up once, like the daemon. The times they report leave out their
//! set-up (sessions, inputs).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use ort::session::Session;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::error::Error;
use crate::infer::{ModelIo, OnnxEncoder, classify};
use crate::plan::Plan;
use crate::source::{self, SourceLocation, SourceOptions};
use crate::window::FrameEncoder;

/// What one ceiling run did.
#[derive(Debug, Clone, Serialize)]
pub struct Ceiling {
    pub mode: &'static str,
    pub frames: u64,
    pub windows: u64,
    pub wall_s: f64,
}

/// Decodes the file `video` to `format` and discards the frames.
pub fn decode(video: SourceLocation, options: &SourceOptions) -> Result<Ceiling, Error> {
    if video.local_path().is_none() {
        return Err(Error::Runtime(format!("{}: the decode ceiling needs a file", video.display())));
    }
    source::init()?;
    let started = Instant::now();
    let frames = source::decode_only(video, options)?;
    Ok(Ceiling { mode: "decode", frames, windows: 0, wall_s: started.elapsed().as_secs_f64() })
}

/// Runs the inference a video of `frames` frames needs under the plan's window geometry: the
/// whole model on every window, or the encoder on every sampled frame and the head on every
/// window, on the daemon's threads (the encoder on its own thread, beside the workers). Inputs
/// are random values of the right shape; the runtime's cost does not depend on them.
pub fn inference(plan: &Plan, first_session: Session, frames: u64) -> Result<Ceiling, Error> {
    let windows = plan.geometry.window_count(frames);
    let sampled = frames.div_ceil(plan.geometry.frame_step as u64);
    let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
    let encoder = plan.frame_encoder()?.map(|encoder| {
        let pixels = random_inputs(plan.preprocessor.frame_len(), || rng.random::<u8>());
        (encoder, pixels)
    });
    let window_len = plan.io.input_shape.iter().product::<i64>() as usize;
    let inputs = Arc::new(random_inputs(window_len, || rng.random::<f32>()));
    let sessions = plan.worker_sessions(first_session)?;

    let started = Instant::now();
    let encoding = encoder.map(|(mut encoder, pixels)| {
        std::thread::spawn(move || encode_frames(&mut encoder, &pixels, sampled))
    });
    let next = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = sessions
        .into_iter()
        .map(|mut session| {
            let (io, inputs, next) = (plan.io.clone(), inputs.clone(), next.clone());
            std::thread::spawn(move || run_windows(&mut session, &io, &inputs, &next, windows))
        })
        .collect();
    for thread in workers.into_iter().chain(encoding) {
        thread.join().map_err(|_| Error::Runtime("a benchmark thread panicked".into()))??;
    }
    Ok(Ceiling { mode: "infer", frames, windows, wall_s: started.elapsed().as_secs_f64() })
}

/// Four inputs of `len` values each, to cycle through.
fn random_inputs<T>(len: usize, mut value: impl FnMut() -> T) -> Vec<Vec<T>> {
    (0..4).map(|_| (0..len).map(|_| value()).collect()).collect()
}

fn encode_frames(encoder: &mut OnnxEncoder, pixels: &[Vec<u8>], count: u64) -> Result<(), Error> {
    let mut embedding = vec![0.0f32; encoder.dim()];
    for n in 0..count {
        encoder
            .encode(&pixels[n as usize % pixels.len()], &mut embedding)
            .map_err(|e| Error::Runtime(format!("encoder: {e}")))?;
    }
    Ok(())
}

/// Takes window numbers from `next` until `total` are done, running one of `inputs` for each.
fn run_windows(
    session: &mut Session,
    io: &ModelIo,
    inputs: &[Vec<f32>],
    next: &AtomicU64,
    total: u64,
) -> Result<(), Error> {
    loop {
        let n = next.fetch_add(1, Ordering::Relaxed);
        if n >= total {
            return Ok(());
        }
        classify(session, io, &inputs[n as usize % inputs.len()])
            .map_err(|e| Error::Runtime(e.to_string()))?;
    }
}
