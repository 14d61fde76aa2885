//! `[inference]`: the worker pool that runs the model.

use std::path::PathBuf;

use serde::Deserialize;

use super::{AutoOr, one};

/// The inference worker pool.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InferenceConfig {
    /// Worker threads, each with its own ONNX Runtime session. Two single-threaded workers
    /// beat one two-threaded worker on 2 cores (BENCHMARKS.md, "Thread settings").
    #[serde(default = "default_workers")]
    pub workers: usize,
    /// Intra-op threads per session.
    #[serde(default = "one")]
    pub intra_threads: usize,
    /// Intra-op threads of each stream's frame encoder (two-stage models only). The encoder runs
    /// on its stream's thread, next to GStreamer's decoding threads.
    #[serde(default = "one")]
    pub encoder_threads: usize,
    /// Let idle intra-op threads busy-wait for the next run (ONNX Runtime's own default). Off by
    /// default: with more than one intra-op thread, spinning burns the CPU time the decoder needs.
    #[serde(default)]
    pub spin: bool,
    /// Windows of files that may wait for a worker before their decoders are held back.
    #[serde(default = "default_queue")]
    pub queue: usize,
    /// Windows of each live stream that may wait for a worker; when its queue is full, that
    /// stream's oldest window is dropped (never another stream's). Workers serve the live
    /// streams in turn, so this bounds a stream's latency to about this many rounds. `"auto"`
    /// (the default): the windows cut from one window's length of frames (`length / stride`,
    /// rounded up), at least 2, so a stream rides out the same pause in the workers (about one
    /// window's duration) at any stride; a fixed 2 dropped windows at stride 1 with a third of
    /// the CPU idle (BENCHMARKS.md, "Camera density").
    #[serde(default)]
    pub live_queue: AutoOr,
    /// ONNX Runtime shared library; if unset: `ORT_DYLIB_PATH`, then the install locations.
    pub onnxruntime: Option<PathBuf>,
}

fn default_workers() -> usize {
    2
}
fn default_queue() -> usize {
    16
}
impl Default for InferenceConfig {
    fn default() -> Self {
        Self {
            workers: default_workers(),
            intra_threads: 1,
            encoder_threads: 1,
            spin: false,
            queue: default_queue(),
            live_queue: AutoOr::Auto,
            onnxruntime: None,
        }
    }
}

impl InferenceConfig {
    pub(crate) fn check(&self) -> Result<(), String> {
        super::at_least_one("inference.workers", self.workers)?;
        super::at_least_one("inference.intra_threads", self.intra_threads)?;
        super::at_least_one("inference.encoder_threads", self.encoder_threads)?;
        super::at_least_one("inference.queue", self.queue)?;
        match self.live_queue {
            AutoOr::Count(n) => super::at_least_one("inference.live_queue", n as usize),
            AutoOr::Auto => Ok(()),
        }
    }
}
