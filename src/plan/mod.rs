//! Checking a pipeline configuration against its model and turning both into the settings
//! every stage runs with: source options and reconnect policy per stream, window geometry,
//! inference and output settings, the checked sinks. The stages get these and never read the
//! configuration themselves. `actiond validate` stops here; `actiond run` goes on.

mod streams;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ort::session::Session;

use crate::config::EventMode;
use crate::config::{ConfigError, LayoutChoice, ModelFiles, PipelineConfig, SinkEntry};
use crate::error::Error;
use crate::events::{ActionRules, EventRules};
use crate::infer::{ModelIo, OnnxEncoder, runtime};
use crate::model::{
    EncoderInfo, ModelError, ModelInfo, PreprocessSettings, Preprocessor, TensorLayout, load_labels,
};
use crate::output::OutputSettings;
use crate::source::{FrameFormat, SourceOptions};
use crate::window::{FrameFeatures, WindowGeometry};

pub use streams::{DecodeCores, StreamPlan};

/// How the inference pool runs.
#[derive(Debug, Clone, PartialEq)]
pub struct InferenceSettings {
    pub workers: usize,
    pub intra_threads: usize,
    pub encoder_threads: usize,
    pub spin: bool,
    /// Windows of files that may wait for a worker.
    pub queue: usize,
    /// Windows of live streams that may wait for a worker.
    pub live_queue: usize,
    /// The ONNX Runtime library, if configured.
    pub onnxruntime: Option<PathBuf>,
}

/// Behaviour as a service.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceSettings {
    pub shutdown_timeout: Duration,
    pub http_listen: Option<String>,
    /// Windows waiting this long with none done make `/healthz` fail.
    pub stall_timeout: Duration,
}

/// Everything the stages need, derived from a config and its model.
pub struct Plan {
    config: PipelineConfig,
    pub model: ModelInfo,
    pub labels: Vec<String>,
    pub geometry: WindowGeometry,
    pub frame_format: FrameFormat,
    pub io: ModelIo,
    pub preprocessor: Arc<Preprocessor>,
    pub inference: InferenceSettings,
    pub output: OutputSettings,
    pub service: ServiceSettings,
    pub streams: Vec<StreamPlan>,
    /// What `source.decoder_threads = "auto"` shares out.
    pub decode_cores: DecodeCores,
    /// The encoder's ONNX bytes (two-stage models), read once when the plan was checked.
    encoder_bytes: Option<Arc<[u8]>>,
}

impl Plan {
    /// Loads the model and labels and checks them against the config. Returns the session
    /// opened for introspection so the first worker can reuse it.
    pub fn prepare(mut config: PipelineConfig) -> Result<(Self, Session), Error> {
        config.resolve_secrets().map_err(|message| config.error(message))?;
        crate::source::init()?;
        crate::source::check_decoder(&config.source.decoder).map_err(|message| config.error(message))?;
        let files = config.model.files().map_err(|message| config.error(message))?;
        let env = runtime::environment(config.inference.onnxruntime.as_deref())?;
        let session = runtime::open_session(
            &env,
            files.classifier(),
            config.inference.intra_threads,
            config.inference.spin,
        )?;
        let forced = match config.model.layout {
            LayoutChoice::Auto => None,
            LayoutChoice::Nthwc => Some(TensorLayout::Thwc),
            LayoutChoice::Ncthw => Some(TensorLayout::Cthw),
        };
        let (model, encoder_bytes) = match &files {
            ModelFiles::Whole(path) => (ModelInfo::from_session(path, &session, forced)?, None),
            ModelFiles::TwoStage { encoder, head } => {
                if !encoder.is_file() {
                    return Err(ModelError::NotFound { path: encoder.clone() }.into());
                }
                let bytes: Arc<[u8]> = std::fs::read(encoder)
                    .map_err(|e| ModelError::Load { path: encoder.clone(), reason: e.to_string() })?
                    .into();
                let encoder_session = runtime::open_session_from_memory(&env, &bytes, encoder, 1, false)?;
                let encoder = EncoderInfo::from_session(encoder, &encoder_session, forced)?;
                (ModelInfo::from_head(head, &session, encoder)?, Some(bytes))
            }
        };
        let labels = load_labels(&config.model.labels)?;
        let mut plan = Self::from_parts(config, model, labels)?;
        plan.encoder_bytes = encoder_bytes;
        Ok((plan, session))
    }

    /// The pipeline file the plan was made from.
    pub fn file(&self) -> &Path {
        &self.config.file
    }

    /// An error about the pipeline file the plan was made from.
    pub fn error(&self, message: String) -> ConfigError {
        self.config.error(message)
    }

    /// One session per inference worker, the first being the one `prepare` opened.
    pub fn worker_sessions(&self, first: Session) -> Result<Vec<Session>, Error> {
        let inference = &self.inference;
        let env = runtime::environment(inference.onnxruntime.as_deref())?;
        let mut sessions = vec![first];
        for _ in 1..inference.workers {
            sessions.push(runtime::open_session(
                &env,
                &self.model.path,
                inference.intra_threads,
                inference.spin,
            )?);
        }
        Ok(sessions)
    }

    /// What one stream's ring holds: converted pixels, or embeddings from the stream's own
    /// encoder session (two-stage models).
    pub fn frame_features(&self) -> Result<FrameFeatures, Error> {
        Ok(match self.frame_encoder()? {
            Some(encoder) => FrameFeatures::Embeddings(Box::new(encoder)),
            None => {
                FrameFeatures::Pixels { preprocessor: self.preprocessor.clone(), layout: self.model.layout }
            }
        })
    }

    /// A new session of a two-stage model's encoder; `None` for a whole model.
    pub fn frame_encoder(&self) -> Result<Option<OnnxEncoder>, Error> {
        let (Some(encoder), Some(bytes)) = (&self.model.encoder, &self.encoder_bytes) else {
            return Ok(None);
        };
        let inference = &self.inference;
        let env = runtime::environment(inference.onnxruntime.as_deref())?;
        let session = runtime::open_session_from_memory(
            &env,
            bytes,
            &encoder.path,
            inference.encoder_threads,
            inference.spin,
        )?;
        let format = self.frame_format;
        Ok(Some(OnnxEncoder::new(session, encoder, self.preprocessor.clone(), format.height, format.width)))
    }

    /// A session of another ONNX frame encoder (`[N,H,W,3]` or `[N,3,H,W]` → `[N,D]`, such as
    /// a user's pretrained backbone), fed this pipeline's frames and preprocessing as its own
    /// encoder would be. Refused, naming the file, when it is no frame encoder or takes frames of
    /// another size than the pipeline decodes.
    pub fn other_frame_encoder(&self, path: &Path) -> Result<OnnxEncoder, Error> {
        let inference = &self.inference;
        let env = runtime::environment(inference.onnxruntime.as_deref())?;
        let session = runtime::open_session(&env, path, inference.encoder_threads, inference.spin)?;
        let info = EncoderInfo::from_session(path, &session, None)?;
        let format = self.frame_format;
        let fits = |fixed: Option<usize>, decoded: u32| fixed.is_none_or(|n| n == decoded as usize);
        if !(fits(info.height, format.height) && fits(info.width, format.width)) {
            return Err(ModelError::Unsupported {
                path: path.to_owned(),
                reason: format!(
                    "the encoder takes frames of {}×{} (input {}) but pipeline {} decodes {}×{} \
                     (`model.width` × `model.height`)",
                    info.width.map_or("any".into(), |w| w.to_string()),
                    info.height.map_or("any".into(), |h| h.to_string()),
                    info.input.shape_text(),
                    self.file().display(),
                    format.width,
                    format.height
                ),
            }
            .into());
        }
        Ok(OnnxEncoder::new(session, &info, self.preprocessor.clone(), format.height, format.width))
    }

    fn from_parts(config: PipelineConfig, model: ModelInfo, labels: Vec<String>) -> Result<Self, Error> {
        let config_error = |message: String| config.error(message);
        if let Some(classes) = model.classes
            && classes != labels.len()
        {
            return Err(ModelError::Mismatch {
                model: model.path.clone(),
                labels: config.model.labels.clone(),
                reason: format!(
                    "the model outputs {classes} classes but the labels file has {} labels",
                    labels.len()
                ),
            }
            .into());
        }
        let length = match (model.time, config.window.length) {
            (Some(t), Some(l)) if t != l => {
                return Err(config_error(format!(
                    "`window.length` is {l} but model {} takes windows of {t} frames",
                    model.path.display()
                ))
                .into());
            }
            (Some(t), _) => t,
            (None, Some(l)) => l,
            (None, None) => {
                return Err(config_error(format!(
                    "model {} accepts any window length: set `window.length`",
                    model.path.display()
                ))
                .into());
            }
        };
        let side = |fixed: Option<usize>, configured: Option<u32>, key: &str| match (fixed, configured) {
            (Some(m), Some(c)) if m != c as usize => Err(config_error(format!(
                "`model.{key}` is {c} but model {} takes {m}",
                model.path.display()
            ))),
            (Some(m), _) => Ok(m as u32),
            (None, Some(c)) if c > 0 => Ok(c),
            _ => Err(config_error(format!(
                "model {} has a dynamic {key}: set `model.{key}`",
                model.path.display()
            ))),
        };
        let height = side(model.height, config.model.height, "height")?;
        let width = side(model.width, config.model.width, "width")?;
        let geometry = WindowGeometry {
            length,
            stride: config.window.stride.unwrap_or((length / 2).max(1)),
            frame_step: config.window.frame_step,
            tail: config.window.tail,
        };
        let input_shape = match (&model.encoder, model.layout) {
            (Some(encoder), _) => vec![1, length as i64, encoder.dim as i64],
            (None, TensorLayout::Thwc) => vec![1, length as i64, height as i64, width as i64, 3],
            (None, TensorLayout::Cthw) => vec![1, 3, length as i64, height as i64, width as i64],
        };
        let io = ModelIo {
            input_name: model.input().name.clone(),
            input_shape,
            classes: labels.len(),
            output_kind: config.model.output,
        };
        let preprocessor =
            Arc::new(Preprocessor::new(&preprocess_settings(&config), width as usize, height as usize));
        let frame_format = FrameFormat { width, height, resize: config.source.resize };
        let output = output_settings(&config, &labels);
        let i = &config.inference;
        let inference = InferenceSettings {
            workers: i.workers,
            intra_threads: i.intra_threads,
            encoder_threads: i.encoder_threads,
            spin: i.spin,
            queue: i.queue,
            live_queue: i.live_queue.or_else(|| live_queue_for(&geometry)) as usize,
            onnxruntime: i.onnxruntime.clone(),
        };
        let service = ServiceSettings {
            shutdown_timeout: Duration::from_secs_f64(config.service.shutdown_timeout_s),
            http_listen: config.service.http_listen.clone(),
            stall_timeout: Duration::from_secs_f64(config.service.stall_timeout_s),
        };
        let encoder_threads = if model.encoder.is_some() { i.encoder_threads } else { 0 };
        let decode_cores = DecodeCores::of_this_machine(i.workers * i.intra_threads, encoder_threads);
        let streams = StreamPlan::all(&config, frame_format, decode_cores);
        Ok(Self {
            config,
            model,
            labels,
            geometry,
            frame_format,
            io,
            preprocessor,
            inference,
            output,
            service,
            streams,
            decode_cores,
            encoder_bytes: None,
        })
    }

    /// The streams of a reloaded configuration, planned like the first ones; `Err` says why not:
    /// a table other than `[[streams]]` changed (that needs a restart), or a password is missing.
    pub fn reloaded_streams(&self, config: &PipelineConfig) -> Result<Vec<StreamPlan>, String> {
        let mut config = config.clone();
        config.resolve_secrets()?;
        self.config.reloadable_to(&config).map_err(|table| {
            format!("only [[streams]] can change without a restart, and `{table}` changed")
        })?;
        Ok(StreamPlan::all(&config, self.frame_format, self.decode_cores))
    }

    /// How a local file is decoded: as a `[[streams]]` file would be (extraction of training
    /// windows reads videos exactly so).
    pub fn file_options(&self) -> SourceOptions {
        let mut options = SourceOptions::file(self.frame_format);
        // One video at a time.
        options.decoder_threads = self.decode_cores.threads(self.config.source.decoder_threads, false, 1);
        options.decoder = self.config.source.decoder.clone();
        options
    }

    /// The model's preprocessing (scale, mean, std, channel order), as configured.
    pub fn preprocess_settings(&self) -> PreprocessSettings {
        preprocess_settings(&self.config)
    }

    /// The sinks, checked and with their secrets resolved; opened by whoever runs the plan.
    pub fn sinks(&self) -> &[SinkEntry] {
        &self.config.sinks
    }
}

fn preprocess_settings(config: &PipelineConfig) -> PreprocessSettings {
    PreprocessSettings {
        scale: config.model.scale,
        mean: config.model.mean,
        std: config.model.std,
        channel_order: config.model.channel_order,
    }
}

/// `inference.live_queue = "auto"`: the windows cut from one window's length of frames, at
/// least 2: a stream then rides out a pause of about one window's duration at any stride.
fn live_queue_for(geometry: &WindowGeometry) -> u32 {
    geometry.length.div_ceil(geometry.stride.max(1)).max(2) as u32
}

/// How windows become events: `[events]`, `[output]` and the labels, resolved once.
fn output_settings(config: &PipelineConfig, labels: &[String]) -> OutputSettings {
    let ev = &config.events;
    let detection = ActionRules {
        on_threshold: ev.on_threshold,
        off_threshold: ev.off_threshold,
        min_windows: ev.min_windows,
        ignored: labels.iter().map(|l| ev.ignore.contains(l)).collect(),
    };
    let rules = EventRules {
        windows: ev.modes.contains(&EventMode::Windows),
        actions: ev.modes.contains(&EventMode::Actions),
        average: ev.average,
        min_score: ev.min_score,
        top_k: config.output.top_k,
        detection,
    };
    OutputSettings { labels: labels.to_vec(), rules }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TailPolicy;

    #[test]
    fn auto_live_queue_covers_one_window_length_of_frames() {
        // Regression: a fixed queue of 2 windows is 80 ms of a 25 fps camera at stride 1, and 16
        // such cameras dropped windows with a third of the CPU idle.
        let at = |length, stride| {
            live_queue_for(&WindowGeometry { length, stride, frame_step: 1, tail: TailPolicy::Drop })
        };
        assert_eq!(at(10, 1), 10);
        assert_eq!(at(10, 3), 4);
        assert_eq!(at(10, 5), 2);
        assert_eq!(at(10, 20), 2, "never fewer than 2");
    }
}
