//! The library's top-level error: which stage failed, and the process exit code for it.
//!
//! It sits above the stages and below the training workflows (`dataset`, `evaluate`), which
//! start pipelines and so fail with it too: their own errors wrap this one and say their exit
//! code through [`ExitStatus`], instead of being listed here (which would make a circle).

use crate::config::ConfigError;
use crate::model::ModelError;
use crate::source::SourceError;

/// Anything that stops a pipeline from starting or finishing.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("{0}")]
    Runtime(String),
}

/// Exit codes of the `actiond` binary (documented in the README).
pub mod exit_code {
    /// Everything ran; every input was read to its end (or stopped on request).
    pub const OK: u8 = 0;
    /// The pipeline ran but at least one input failed, or a stage broke down.
    pub const RUNTIME: u8 = 1;
    /// Command-line usage error (clap's own code).
    pub const USAGE: u8 = 2;
    /// The pipeline file is missing, malformed, or inconsistent.
    pub const CONFIG: u8 = 3;
    /// The model, its labels, or ONNX Runtime cannot be used.
    pub const MODEL: u8 = 4;
    /// Labelled data (`actiond dataset`, `actiond evaluate`) has problems: bad files, lines or labels.
    pub const DATA: u8 = 5;
}

/// An error that knows which exit code of the `actiond` binary it stands for.
pub trait ExitStatus {
    fn exit_code(&self) -> u8;
}

impl ExitStatus for Error {
    fn exit_code(&self) -> u8 {
        match self {
            Error::Config(_) => exit_code::CONFIG,
            Error::Model(_) => exit_code::MODEL,
            Error::Source(_) | Error::Runtime(_) => exit_code::RUNTIME,
        }
    }
}
