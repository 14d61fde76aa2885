//! actiond: watches video and says what is happening in it.
//!
//! A GStreamer pipeline per stream decodes video into small RGB frames ([`source`]); a ring
//! buffer per stream cuts them into overlapping windows ([`window`]); a pool of ONNX Runtime
//! sessions classifies each window ([`infer`]); the output stage restores window order, smooths
//! scores and finds actions ([`events`]), and writes events to the sinks ([`output`]). The types
//! that cross those borders live in [`flow`], below every stage. [`config`] reads the pipeline
//! file, [`plan`] checks it against its model and makes every stage's settings, and [`daemon`]
//! wires the stages for a run. [`Pipeline`] is the entry point for library users: build,
//! start, receive [`Event`]s on a channel, stop. With the `dev-tools` feature, `synthetic`
//! writes the test scenes and `bench` measures the benchmark's ceilings (the `actiond-dev`
//! binary); the daemon uses neither.

#[cfg(feature = "dev-tools")]
pub mod bench;
pub mod config;
pub mod daemon;
pub mod dataset;
pub mod error;
pub mod evaluate;
pub mod events;
pub mod flow;
pub mod http;
pub mod infer;
pub mod metrics;
pub mod model;
pub mod output;
pub mod pipeline;
pub mod plan;
pub mod progress;
pub mod secret;
pub mod service;
pub mod source;
pub mod staging;
#[cfg(feature = "dev-tools")]
pub mod synthetic;
pub mod window;

pub use error::Error;
pub use flow::Event;
pub use pipeline::{Pipeline, RunningPipeline};
