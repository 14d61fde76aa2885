//! Pipeline configuration: one TOML file per pipeline, overridable by `ACTIOND__…` environment
//! variables (e.g. `ACTIOND__INFERENCE__WORKERS=2`).
//!
//! The settings here are immutable once loaded; the running state lives in the stages. Every
//! table rejects unknown keys so a typo fails loudly instead of silently using a default, and
//! every error names the key and the file. Relative paths are resolved against the directory of
//! the pipeline file, so a pipeline can be run from any working directory.

mod events;
mod sinks;
mod stream;

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use events::{EventMode, EventsConfig};
use sinks::default_sinks;
pub use sinks::{FlushPolicy, MqttConfig, SinkConfig};
pub use stream::{ReconnectConfig, RtspConfig, RtspTransport, StreamConfig};

/// Prefix of the environment variables that override pipeline keys; `__` separates levels.
pub const ENV_PREFIX: &str = "ACTIOND";
const ENV_SEPARATOR: &str = "__";

/// Why a pipeline file could not be turned into settings.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("pipeline file {path}: not found")]
    NotFound { path: PathBuf },
    #[error("pipeline file {path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// A whole pipeline: which model, how frames become windows, how inference runs, which streams.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    /// The model head and how frames are preprocessed for it.
    pub model: ModelConfig,
    /// How frames are cut into overlapping windows.
    #[serde(default)]
    pub window: WindowConfig,
    /// Decoding options shared by every stream.
    #[serde(default)]
    pub source: SourceConfig,
    /// The worker pool that runs the model.
    #[serde(default)]
    pub inference: InferenceConfig,
    /// What each emitted event contains.
    #[serde(default)]
    pub output: OutputConfig,
    /// Smoothing and action events.
    #[serde(default)]
    pub events: EventsConfig,
    /// Where events go; default: stdout only.
    #[serde(default = "default_sinks")]
    pub sinks: Vec<SinkConfig>,
    /// Behaviour as a long-running service.
    #[serde(default)]
    pub service: ServiceConfig,
    /// The inputs; at least one.
    pub streams: Vec<StreamConfig>,
    /// The file this configuration was read from.
    #[serde(skip)]
    pub file: PathBuf,
}

/// Tensor layout of a model's video input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LayoutChoice {
    /// Detect from the input shape.
    #[default]
    Auto,
    /// `[N, T, H, W, C]`, as Keras exports.
    Nthwc,
    /// `[N, C, T, H, W]`, as PyTorch video models use.
    Ncthw,
}

/// Order of the colour channels the model expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ChannelOrder {
    #[default]
    Rgb,
    Bgr,
}

/// What the model's output vector holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum OutputKind {
    /// Apply softmax unless the vector already is a probability distribution.
    #[default]
    Auto,
    /// Use the values as they are.
    Probabilities,
    /// Always apply softmax.
    Logits,
}

/// The model head and its preprocessing.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// ONNX file of the whole model (`[N,T,H,W,C]` or `[N,C,T,H,W]` → `[N,classes]`).
    /// Give either this or `encoder` and `head`.
    pub path: Option<PathBuf>,
    /// Two-stage form: per-frame encoder (`[N,H,W,C]` or `[N,C,H,W]` → `[N,D]`). The ring then
    /// holds embeddings, so each frame is encoded once however much the windows overlap.
    pub encoder: Option<PathBuf>,
    /// Two-stage form: temporal head over T embeddings (`[N,T,D]` → `[N,classes]`).
    pub head: Option<PathBuf>,
    /// Text file with one class label per line, in output order.
    pub labels: PathBuf,
    /// Input layout; `auto` detects `[N,T,H,W,C]` or `[N,C,T,H,W]` from the shape. For a
    /// two-stage model it is the encoder's: `nthwc` for `[N,H,W,C]`, `ncthw` for `[N,C,H,W]`.
    #[serde(default)]
    pub layout: LayoutChoice,
    /// Multiplier applied to each 0–255 pixel value before mean/std.
    #[serde(default = "default_scale")]
    pub scale: f32,
    /// Per-channel mean subtracted after scaling (in the model's channel order).
    #[serde(default = "default_mean")]
    pub mean: [f32; 3],
    /// Per-channel standard deviation divided by after the mean (in the model's channel order).
    #[serde(default = "default_std")]
    pub std: [f32; 3],
    /// Channel order of the model input.
    #[serde(default)]
    pub channel_order: ChannelOrder,
    /// Whether the output is probabilities or logits.
    #[serde(default)]
    pub output: OutputKind,
    /// Frame height, required only when the model's height is dynamic.
    pub height: Option<u32>,
    /// Frame width, required only when the model's width is dynamic.
    pub width: Option<u32>,
}

/// The ONNX files of a model, in one of its two forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelFiles {
    /// One model from window to classes.
    Whole(PathBuf),
    /// A per-frame encoder and a temporal head over its embeddings.
    TwoStage { encoder: PathBuf, head: PathBuf },
}

impl ModelFiles {
    /// The file whose output is the class vector.
    pub fn classifier(&self) -> &Path {
        match self {
            ModelFiles::Whole(path) => path,
            ModelFiles::TwoStage { head, .. } => head,
        }
    }
}

impl ModelConfig {
    /// Which form the model is given in; exactly one must be configured.
    pub fn files(&self) -> Result<ModelFiles, String> {
        match (&self.path, &self.encoder, &self.head) {
            (Some(path), None, None) => Ok(ModelFiles::Whole(path.clone())),
            (None, Some(encoder), Some(head)) => {
                Ok(ModelFiles::TwoStage { encoder: encoder.clone(), head: head.clone() })
            }
            (Some(_), _, _) => Err("`model`: give either `path` (a whole model) or `encoder` and `head` \
                 (a two-stage model), not both"
                .into()),
            (None, None, None) => Err("`model`: set `path` (a whole model) or `encoder` and `head` \
                 (a two-stage model)"
                .into()),
            (None, _, _) => Err("`model`: a two-stage model needs both `encoder` and `head`".into()),
        }
    }
}

fn default_scale() -> f32 {
    1.0 / 255.0
}
fn default_mean() -> [f32; 3] {
    [0.0; 3]
}
fn default_std() -> [f32; 3] {
    [1.0; 3]
}

/// What to do with the frames at the end of a stream that do not fill a whole window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum TailPolicy {
    /// Emit no window for them.
    #[default]
    Drop,
    /// Emit one last window at the next stride position, padded by repeating the last frame.
    Pad,
}

/// Window geometry.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowConfig {
    /// Frames per window; defaults to the model's T.
    pub length: Option<usize>,
    /// Frames between the starts of consecutive windows; defaults to length / 2.
    pub stride: Option<usize>,
    /// Use every k-th decoded frame (1 = all).
    #[serde(default = "one")]
    pub frame_step: usize,
    /// End-of-stream handling of frames that do not fill a window.
    #[serde(default)]
    pub tail: TailPolicy,
}

pub(crate) fn one() -> usize {
    1
}

impl Default for WindowConfig {
    fn default() -> Self {
        Self { length: None, stride: None, frame_step: 1, tail: TailPolicy::Drop }
    }
}

/// How a decoded picture is fitted to the model's H×W.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ResizeMode {
    /// Scale each axis independently (the aspect ratio changes).
    #[default]
    Stretch,
    /// Keep the aspect ratio and fill the rest with black borders.
    Letterbox,
}

/// Decoding options.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// How frames are fitted to the model size.
    #[serde(default)]
    pub resize: ResizeMode,
    /// Threads of libav's software decoders (`avdec_*` `max-threads`); 0 lets libav choose
    /// (one per core). One thread (the default) costs 10–20 % less CPU per frame than frame
    /// threading and, beside inference, ran as fast end to end (BENCHMARKS.md); more threads
    /// decode one stream faster when nothing else needs the cores.
    #[serde(default = "default_decoder_threads")]
    pub decoder_threads: u32,
}

fn default_decoder_threads() -> u32 {
    1
}

impl Default for SourceConfig {
    fn default() -> Self {
        Self { resize: ResizeMode::default(), decoder_threads: default_decoder_threads() }
    }
}

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
    /// Windows of live streams that may wait for a worker; when full, the oldest is dropped.
    /// Bounds the latency of live events to about this many inference runs.
    #[serde(default = "default_live_queue")]
    pub live_queue: usize,
    /// ONNX Runtime shared library; if unset: `ORT_DYLIB_PATH`, then the install locations.
    pub onnxruntime: Option<PathBuf>,
}

fn default_workers() -> usize {
    2
}
fn default_queue() -> usize {
    16
}
fn default_live_queue() -> usize {
    2
}

impl Default for InferenceConfig {
    fn default() -> Self {
        Self {
            workers: default_workers(),
            intra_threads: 1,
            encoder_threads: 1,
            spin: false,
            queue: default_queue(),
            live_queue: default_live_queue(),
            onnxruntime: None,
        }
    }
}

/// Contents of the emitted window events.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputConfig {
    /// How many of the best labels each window event lists.
    #[serde(default = "default_top_k")]
    pub top_k: usize,
}

fn default_top_k() -> usize {
    3
}

impl Default for OutputConfig {
    fn default() -> Self {
        Self { top_k: default_top_k() }
    }
}

/// Service behaviour.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    /// After SIGTERM/SIGINT, seconds allowed to finish the windows already cut and flush the
    /// sinks; past that actiond exits non-zero naming what was stuck.
    #[serde(default = "default_shutdown_timeout_s")]
    pub shutdown_timeout_s: f64,
    /// Serve `/healthz` and `/metrics` on this address (e.g. `127.0.0.1:9464`); off if unset.
    pub http_listen: Option<String>,
}

fn default_shutdown_timeout_s() -> f64 {
    10.0
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self { shutdown_timeout_s: default_shutdown_timeout_s(), http_listen: None }
    }
}

impl PipelineConfig {
    /// Loads a pipeline file, applies `ACTIOND__…` overrides, checks it and resolves its paths.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        if !path.is_file() {
            return Err(ConfigError::NotFound { path: path.to_owned() });
        }
        let invalid = |message: String| ConfigError::Invalid { path: path.to_owned(), message };
        let raw = config::Config::builder()
            .add_source(config::File::from(path).format(config::FileFormat::Toml))
            .add_source(
                config::Environment::with_prefix(ENV_PREFIX)
                    .prefix_separator(ENV_SEPARATOR)
                    .separator(ENV_SEPARATOR)
                    .try_parsing(true),
            )
            .build()
            .map_err(|e| invalid(e.to_string()))?;
        let mut pipeline: PipelineConfig = raw.try_deserialize().map_err(|e| invalid(e.to_string()))?;
        pipeline.check().map_err(invalid)?;
        let base = path.parent().unwrap_or(Path::new("."));
        pipeline.resolve_paths(base);
        pipeline.file = path.to_owned();
        Ok(pipeline)
    }

    /// Checks the relations between keys that types alone cannot express.
    fn check(&self) -> Result<(), String> {
        if self.streams.is_empty() {
            return Err("`streams`: at least one [[streams]] entry is required".into());
        }
        let mut seen = std::collections::HashSet::new();
        for stream in &self.streams {
            if stream.id.is_empty() {
                return Err("`streams.id`: must not be empty".into());
            }
            if !seen.insert(stream.id.as_str()) {
                return Err(format!("`streams.id`: \"{}\" is used twice", stream.id));
            }
            let r = &stream.reconnect;
            let durations = [
                ("reconnect.stall_timeout_s", r.stall_timeout_s),
                ("reconnect.initial_delay_s", r.initial_delay_s),
                ("reconnect.max_delay_s", r.max_delay_s),
                ("rtsp.connect_timeout_s", stream.rtsp.connect_timeout_s),
            ];
            for (key, value) in durations {
                if !(value.is_finite() && value > 0.0) {
                    return Err(format!(
                        "stream \"{}\": `{key}` must be a positive number of seconds",
                        stream.id
                    ));
                }
            }
            if !(r.factor.is_finite() && r.factor >= 1.0) {
                return Err(format!("stream \"{}\": `reconnect.factor` must be at least 1", stream.id));
            }
            if let Some(var) = &stream.rtsp.password_env
                && std::env::var_os(var).is_none()
            {
                return Err(format!(
                    "stream \"{}\": `rtsp.password_env` names {var}, which is not set",
                    stream.id
                ));
            }
        }
        let positive = [
            ("window.length", self.window.length.unwrap_or(1)),
            ("window.stride", self.window.stride.unwrap_or(1)),
            ("window.frame_step", self.window.frame_step),
            ("inference.workers", self.inference.workers),
            ("inference.intra_threads", self.inference.intra_threads),
            ("inference.encoder_threads", self.inference.encoder_threads),
            ("inference.queue", self.inference.queue),
            ("inference.live_queue", self.inference.live_queue),
            ("output.top_k", self.output.top_k),
        ];
        for (key, value) in positive {
            if value == 0 {
                return Err(format!("`{key}`: must be at least 1"));
            }
        }
        if !(self.service.shutdown_timeout_s.is_finite() && self.service.shutdown_timeout_s > 0.0) {
            return Err("`service.shutdown_timeout_s`: must be a positive number of seconds".into());
        }
        let ev = &self.events;
        if ev.modes.is_empty() {
            return Err("`events.modes`: name at least one of \"windows\", \"actions\"".into());
        }
        if ev.average == 0 || ev.min_windows == 0 {
            return Err("`events.average` and `events.min_windows` must be at least 1".into());
        }
        if !(0.0..=1.0).contains(&ev.off_threshold) || !(ev.off_threshold..=1.0).contains(&ev.on_threshold) {
            return Err("`events`: need 0 <= off_threshold <= on_threshold <= 1".into());
        }
        for sink in &self.sinks {
            if let SinkConfig::Mqtt(m) = sink {
                if m.qos > 2 {
                    return Err("`sinks.qos`: must be 0, 1 or 2".into());
                }
                if !(m.url.starts_with("mqtt://") || m.url.starts_with("mqtts://")) {
                    return Err(format!(
                        "`sinks.url`: {} is not mqtt://host:port or mqtts://host:port",
                        m.url
                    ));
                }
            }
        }
        self.model.files()?;
        if !(self.model.scale.is_finite() && self.model.scale != 0.0) {
            return Err("`model.scale`: must be a finite non-zero number".into());
        }
        if self.model.std.iter().any(|s| !(s.is_finite() && *s != 0.0)) {
            return Err("`model.std`: every entry must be a finite non-zero number".into());
        }
        Ok(())
    }

    /// Whether `other` differs from this configuration only in its `[[streams]]`, which is
    /// what a reload may change; otherwise names the first table that differs.
    pub fn reloadable_to(&self, other: &PipelineConfig) -> Result<(), &'static str> {
        let tables: [(&'static str, bool); 8] = [
            ("model", self.model == other.model),
            ("window", self.window == other.window),
            ("source", self.source == other.source),
            ("inference", self.inference == other.inference),
            ("output", self.output == other.output),
            ("events", self.events == other.events),
            ("sinks", self.sinks == other.sinks),
            ("service", self.service == other.service),
        ];
        match tables.iter().find(|(_, same)| !same) {
            Some((name, _)) => Err(name),
            None => Ok(()),
        }
    }

    /// An error about this configuration that only shows once the model is known.
    pub fn error(&self, message: String) -> ConfigError {
        ConfigError::Invalid { path: self.file.clone(), message }
    }

    fn resolve_paths(&mut self, base: &Path) {
        let resolve = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        for model in
            [&mut self.model.path, &mut self.model.encoder, &mut self.model.head].into_iter().flatten()
        {
            resolve(model);
        }
        resolve(&mut self.model.labels);
        if let Some(lib) = self.inference.onnxruntime.as_mut() {
            resolve(lib);
        }
        for sink in &mut self.sinks {
            match sink {
                SinkConfig::File { path, .. } => resolve(path),
                SinkConfig::Mqtt(MqttConfig { ca_file: Some(ca), .. }) => resolve(ca),
                _ => {}
            }
        }
        for stream in &mut self.streams {
            if !stream.uri.contains("://") && Path::new(&stream.uri).is_relative() {
                stream.uri = base.join(&stream.uri).to_string_lossy().into_owned();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const MINIMAL: &str = r#"
        [model]
        path = "m.onnx"
        labels = "labels.txt"

        [[streams]]
        id = "a"
        uri = "video.mp4"
    "#;

    fn write(text: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
        file.write_all(text.as_bytes()).unwrap();
        file
    }

    #[test]
    fn minimal_file_gets_defaults_and_resolved_paths() {
        let file = write(MINIMAL);
        let cfg = PipelineConfig::load(file.path()).unwrap();
        let dir = file.path().parent().unwrap();
        assert_eq!(cfg.model.path, Some(dir.join("m.onnx")));
        assert_eq!(cfg.streams[0].uri, dir.join("video.mp4").to_string_lossy());
        assert_eq!(cfg.window.frame_step, 1);
        assert_eq!(cfg.window.tail, TailPolicy::Drop);
        assert_eq!(cfg.inference.workers, 2);
        assert_eq!(cfg.source.decoder_threads, 1);
        assert_eq!(cfg.output.top_k, 3);
        assert!((cfg.model.scale - 1.0 / 255.0).abs() < 1e-9);
    }

    #[test]
    fn unknown_key_is_named_with_the_file() {
        let file = write(&MINIMAL.replace("[[streams]]", "[window]\nstrid = 3\n[[streams]]"));
        let err = PipelineConfig::load(file.path()).unwrap_err().to_string();
        assert!(err.contains("strid"), "{err}");
        assert!(err.contains(&file.path().display().to_string()), "{err}");
    }

    #[test]
    fn wrong_type_is_named_with_the_key() {
        let file = write(&MINIMAL.replace("[[streams]]", "[window]\nstride = \"two\"\n[[streams]]"));
        let err = PipelineConfig::load(file.path()).unwrap_err().to_string();
        assert!(err.contains("stride"), "{err}");
        assert!(err.contains(&file.path().display().to_string()), "{err}");
    }

    #[test]
    fn zero_stride_is_rejected() {
        let file = write(&MINIMAL.replace("[[streams]]", "[window]\nstride = 0\n[[streams]]"));
        let err = PipelineConfig::load(file.path()).unwrap_err().to_string();
        assert!(err.contains("window.stride"), "{err}");
    }

    #[test]
    fn duplicate_stream_ids_are_rejected() {
        let text = format!("{MINIMAL}\n[[streams]]\nid = \"a\"\nuri = \"b.mp4\"\n");
        let err = PipelineConfig::load(write(&text).path()).unwrap_err().to_string();
        assert!(err.contains("used twice"), "{err}");
    }

    #[test]
    fn missing_file_is_named() {
        let err = PipelineConfig::load(Path::new("/nonexistent/p.toml")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/p.toml"));
    }

    #[test]
    fn two_stage_model_resolves_both_files() {
        let file = write(&MINIMAL.replace("path = \"m.onnx\"", "encoder = \"e.onnx\"\nhead = \"h.onnx\""));
        let cfg = PipelineConfig::load(file.path()).unwrap();
        let dir = file.path().parent().unwrap();
        assert_eq!(
            cfg.model.files(),
            Ok(ModelFiles::TwoStage { encoder: dir.join("e.onnx"), head: dir.join("h.onnx") })
        );
    }

    #[test]
    fn model_forms_must_not_mix_or_be_half_given() {
        for (model, expected) in [
            ("path = \"m.onnx\"\nhead = \"h.onnx\"", "not both"),
            ("encoder = \"e.onnx\"", "needs both"),
            ("", "set `path`"),
        ] {
            let file = write(&MINIMAL.replace("path = \"m.onnx\"", model));
            let err = PipelineConfig::load(file.path()).unwrap_err().to_string();
            assert!(err.contains(expected), "{model}: {err}");
        }
    }
}
