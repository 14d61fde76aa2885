//! Pipeline configuration: one TOML file per pipeline, overridable by `ACTIOND__…` environment
//! variables (e.g. `ACTIOND__INFERENCE__WORKERS=2`).
//!
//! The settings here are immutable once loaded; the running state lives in the stages. Every
//! table rejects unknown keys so a typo fails loudly instead of silently using a default, checks
//! its own values, and every error names the key and the file. Relative paths are resolved
//! against the directory of the pipeline file, so a pipeline can be run from any working
//! directory. Passwords named by environment variables are read by the plan
//! ([`PipelineConfig::resolve_secrets`]).

mod auto;
mod events;
mod inference;
mod model;
mod output;
mod service;
mod source;
mod stream;
mod uri;
mod window;

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::output::sinks::SinkSpec;
pub use crate::output::sinks::{SinkConfig, SinkEntry};
pub use auto::AutoOr;
pub use events::{EventMode, EventsConfig};
pub use inference::InferenceConfig;
pub use model::{ChannelOrder, LayoutChoice, ModelConfig, ModelFiles, OutputKind};
pub use output::OutputConfig;
pub use service::ServiceConfig;
pub use source::{DecoderChoice, ResizeMode, SourceConfig};
pub use stream::{ReconnectConfig, RtspConfig, RtspTransport, StreamConfig};
pub use uri::uri_scheme;
pub use window::{TailPolicy, WindowConfig};

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
    #[serde(default = "SinkEntry::defaults")]
    pub sinks: Vec<SinkEntry>,
    /// Behaviour as a long-running service.
    #[serde(default)]
    pub service: ServiceConfig,
    /// The inputs; at least one.
    pub streams: Vec<StreamConfig>,
    /// The file this configuration was read from.
    #[serde(skip)]
    pub file: PathBuf,
}

pub(crate) fn one() -> usize {
    1
}

/// `Err` naming `key` unless `value` is at least 1.
pub(crate) fn at_least_one(key: &str, value: usize) -> Result<(), String> {
    if value == 0 { Err(format!("`{key}`: must be at least 1")) } else { Ok(()) }
}

/// `Err` naming `key` unless `value` is a finite, positive number of seconds.
pub(crate) fn positive_seconds(key: &str, value: f64) -> Result<(), String> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(format!("`{key}` must be a positive number of seconds"))
    }
}

impl PipelineConfig {
    /// Loads a pipeline file, applies `ACTIOND__…` overrides, resolves its paths and checks it.
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
        let base = path.parent().unwrap_or(Path::new("."));
        pipeline.resolve_paths(base);
        let instance = crate::output::sinks::instance_name(path);
        for sink in &mut pipeline.sinks {
            sink.name_instance(&instance);
        }
        pipeline.check().map_err(invalid)?;
        pipeline.file = path.to_owned();
        Ok(pipeline)
    }

    /// Checks every table, then the relations between them.
    fn check(&self) -> Result<(), String> {
        if self.streams.is_empty() {
            return Err("`streams`: at least one [[streams]] entry is required".into());
        }
        let mut seen = std::collections::HashSet::new();
        for stream in &self.streams {
            stream.check()?;
            if !seen.insert(stream.id.as_str()) {
                return Err(format!("`streams.id`: \"{}\" is used twice", stream.id));
            }
        }
        self.model.check()?;
        self.window.check()?;
        self.inference.check()?;
        self.output.check()?;
        self.events.check()?;
        self.service.check()?;
        self.source.check()?;
        for sink in &self.sinks {
            sink.check().map_err(|e| format!("`sinks` ({}): {e}", sink.name()))?;
        }
        Ok(())
    }

    /// Reads every password (inline, or named by an environment variable). The plan calls it
    /// for every configuration it is given, from a file or made in code, so a password is never
    /// silently left out and a missing variable fails `validate` as it would fail `run`. The
    /// error names the stream or sink.
    pub fn resolve_secrets(&mut self) -> Result<(), String> {
        for stream in &mut self.streams {
            stream.rtsp.resolve_secret().map_err(|e| format!("stream \"{}\": `rtsp`: {e}", stream.id))?;
        }
        for sink in &mut self.sinks {
            let name = sink.name();
            sink.resolve_secrets().map_err(|e| format!("`sinks` ({name}): {e}"))?;
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
        self.model.paths_mut().for_each(&resolve);
        if let Some(lib) = self.inference.onnxruntime.as_mut() {
            resolve(lib);
        }
        for sink in &mut self.sinks {
            sink.paths_mut().into_iter().for_each(&resolve);
        }
        for stream in &mut self.streams {
            if uri_scheme(&stream.uri).is_none() && Path::new(&stream.uri).is_relative() {
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
        assert_eq!(cfg.source.decoder_threads, AutoOr::Auto);
        assert_eq!(cfg.output.top_k, 3);
        assert!((cfg.model.scale - 1.0 / 255.0).abs() < 1e-9);
    }

    #[test]
    fn decoder_threads_is_auto_or_a_number() {
        let with = |value: &str| {
            let file = write(
                &MINIMAL.replace("[[streams]]", &format!("[source]\ndecoder_threads = {value}\n[[streams]]")),
            );
            PipelineConfig::load(file.path()).map(|c| c.source.decoder_threads).map_err(|e| e.to_string())
        };
        assert_eq!(with("\"auto\""), Ok(AutoOr::Auto));
        assert_eq!(with("3"), Ok(AutoOr::Count(3)));
        assert_eq!(with("\"2\""), Ok(AutoOr::Count(2)), "as an environment override arrives");
        let error = with("\"many\"").unwrap_err();
        assert!(error.contains("decoder_threads") && error.contains("many"), "{error}");
    }

    #[test]
    fn reconnect_jitter_outside_zero_to_one_is_refused_naming_the_stream() {
        let file = write(&format!("{MINIMAL}[streams.reconnect]\njitter = 1.5\n"));
        let error = PipelineConfig::load(file.path()).unwrap_err().to_string();
        assert!(error.contains("reconnect.jitter") && error.contains("stream \""), "{error}");
    }

    #[test]
    fn two_pipelines_on_one_host_get_different_mqtt_client_ids() {
        // Defect pinned: every MQTT sink defaulted to client id "actiond", so two `actiond@`
        // units on one broker took turns kicking each other off.
        let sink = "[[sinks]]\ntype = \"mqtt\"\nurl = \"mqtt://127.0.0.1:1883\"\n";
        let id_of = |file: &tempfile::NamedTempFile| {
            let cfg = PipelineConfig::load(file.path()).unwrap();
            let SinkConfig::Mqtt(mqtt) = &cfg.sinks[0].sink else { panic!("an mqtt sink") };
            mqtt.client_id.clone().unwrap()
        };
        let (a, b) = (write(&format!("{MINIMAL}{sink}")), write(&format!("{MINIMAL}{sink}")));
        let (id_a, id_b) = (id_of(&a), id_of(&b));
        assert_ne!(id_a, id_b);
        assert_eq!(id_a, id_of(&a), "the same across restarts");
        let host = gethostname::gethostname().to_string_lossy().into_owned();
        let host: String = host.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
        assert!(id_a.starts_with(&format!("actiond-{host}-")), "{id_a}");
        let given = write(&format!("{MINIMAL}{sink}client_id = \"gate-cam\"\n"));
        assert_eq!(id_of(&given), "gate-cam");
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
