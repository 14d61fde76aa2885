//! The two ceilings actiond's end-to-end speed is measured against (`actiond bench`): decoding
//! alone, through the same GStreamer pipeline into a `fakesink`, and inference alone, with the
//! same sessions and thread settings on windows already in memory.
//!
//! Each runs in its own process, so the benchmark script can read every process's CPU time and
//! peak memory from the kernel in the same way; these functions only count and time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use ort::session::Session;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::error::Error;
use crate::infer::{FrameEncoder, ModelIo, classify, runtime};
use crate::plan::Plan;
use crate::source::{self, SourceLocation};
use crate::window::FrameFeatures;

/// What one ceiling run did.
#[derive(Debug, Clone, Serialize)]
pub struct Ceiling {
    pub mode: &'static str,
    pub frames: u64,
    pub windows: u64,
    pub wall_s: f64,
}

/// Decodes `video` to the plan's frame format and discards the frames.
pub fn decode(plan: &Plan, video: SourceLocation) -> Result<Ceiling, Error> {
    source::init()?;
    let started = Instant::now();
    let frames = source::decode_only(video, plan.frame_format)?;
    Ok(Ceiling { mode: "decode", frames, windows: 0, wall_s: started.elapsed().as_secs_f64() })
}

/// Runs the inference a video of `frames` frames needs under the plan's window geometry: the
/// whole model on every window, or the encoder on every sampled frame and the head on every
/// window. Inputs are random values of the right shape; the runtime's cost does not depend on
/// them.
pub fn inference(plan: &Plan, first_session: Session, frames: u64) -> Result<Ceiling, Error> {
    let windows = plan.geometry.window_count(frames);
    let sampled = frames.div_ceil(plan.geometry.frame_step as u64);
    let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
    let started = Instant::now();
    if let FrameFeatures::Embeddings(mut encoder) = plan.frame_features()? {
        encode_frames(&mut encoder, sampled, plan.preprocessor.frame_len(), &mut rng)?;
    }
    let window_len = plan.io.input_shape.iter().product::<i64>() as usize;
    let inputs: Arc<Vec<Vec<f32>>> =
        Arc::new((0..4).map(|_| (0..window_len).map(|_| rng.random::<f32>()).collect()).collect());
    let inference = &plan.config.inference;
    let env = runtime::environment(inference.onnxruntime.as_deref())?;
    let mut sessions = vec![first_session];
    for _ in 1..inference.workers {
        sessions.push(runtime::open_session(
            &env,
            &plan.model.path,
            inference.intra_threads,
            inference.spin,
        )?);
    }
    let next = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = sessions
        .into_iter()
        .map(|mut session| {
            let (io, inputs, next) = (plan.io.clone(), inputs.clone(), next.clone());
            std::thread::spawn(move || run_windows(&mut session, &io, &inputs, &next, windows))
        })
        .collect();
    for worker in workers {
        worker.join().map_err(|_| Error::Runtime("a benchmark worker panicked".into()))??;
    }
    Ok(Ceiling { mode: "infer", frames, windows, wall_s: started.elapsed().as_secs_f64() })
}

fn encode_frames(
    encoder: &mut FrameEncoder,
    count: u64,
    frame_bytes: usize,
    rng: &mut impl Rng,
) -> Result<(), Error> {
    let pixels: Vec<Vec<u8>> =
        (0..4).map(|_| (0..frame_bytes).map(|_| rng.random::<u8>()).collect()).collect();
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
