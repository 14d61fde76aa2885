//! Checking a pipeline configuration against its model and turning both into the concrete
//! settings the stages run with. `actiond validate` stops here; `actiond run` goes on.

use std::sync::Arc;

use ort::session::Session;

use crate::config::{LayoutChoice, ModelFiles, PipelineConfig};
use crate::error::Error;
use crate::infer::FrameEncoder;
use crate::infer::{ModelIo, runtime};
use crate::model::{EncoderInfo, ModelError, ModelInfo, PreprocessSettings, Preprocessor, load_labels};
use crate::source::FrameFormat;
use crate::window::{FrameFeatures, TensorLayout, WindowGeometry};

/// Everything the stages need, derived from a config and its model.
pub struct Plan {
    pub config: PipelineConfig,
    pub model: ModelInfo,
    pub labels: Vec<String>,
    pub geometry: WindowGeometry,
    pub frame_format: FrameFormat,
    pub io: ModelIo,
    pub preprocessor: Arc<Preprocessor>,
    /// The encoder's ONNX bytes (two-stage models), read once when the plan was checked.
    encoder_bytes: Option<Arc<[u8]>>,
}

impl Plan {
    /// Loads the model and labels and checks them against the config. Returns the session
    /// opened for introspection so the first worker can reuse it.
    pub fn prepare(config: PipelineConfig) -> Result<(Self, Session), Error> {
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
        let plan = Self { encoder_bytes, ..Self::from_parts(config, model, labels)? };
        Ok((plan, session))
    }

    /// One session per inference worker, the first being the one `prepare` opened.
    pub fn worker_sessions(&self, first: Session) -> Result<Vec<Session>, Error> {
        let inference = &self.config.inference;
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
        let (Some(encoder), Some(bytes)) = (&self.model.encoder, &self.encoder_bytes) else {
            return Ok(FrameFeatures::Pixels {
                preprocessor: self.preprocessor.clone(),
                layout: self.model.layout,
            });
        };
        let env = runtime::environment(self.config.inference.onnxruntime.as_deref())?;
        let inference = &self.config.inference;
        let session = runtime::open_session_from_memory(
            &env,
            bytes,
            &encoder.path,
            inference.encoder_threads,
            inference.spin,
        )?;
        let format = self.frame_format;
        Ok(FrameFeatures::Embeddings(FrameEncoder::new(
            session,
            encoder,
            self.preprocessor.clone(),
            format.height,
            format.width,
        )))
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
        let preprocessor = Arc::new(Preprocessor::new(
            &PreprocessSettings {
                scale: config.model.scale,
                mean: config.model.mean,
                std: config.model.std,
                channel_order: config.model.channel_order,
            },
            width as usize,
            height as usize,
        ));
        let frame_format = FrameFormat { width, height, resize: config.source.resize };
        Ok(Self { config, model, labels, geometry, frame_format, io, preprocessor, encoder_bytes: None })
    }
}
