//! Finding and loading the ONNX Runtime shared library.
//!
//! actiond links ONNX Runtime at run time (`ort`'s `load-dynamic`), so the library can come from
//! the PyPI wheel without any build-time download. `ort::init()` without a path panics at first
//! use; here every failure is an error that lists where we looked and how to fix it.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ort::environment::Environment;

use crate::model::ModelError;

/// File name of the ONNX Runtime release this build's API level matches.
pub const LIBRARY_FILE: &str = "libonnxruntime.so.1.31.1";

/// Where a candidate library path came from, for the error message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub path: PathBuf,
    pub origin: &'static str,
}

/// The places searched, in order: the configured path or `ORT_DYLIB_PATH` if set (and then
/// only that), else the install locations next to the binary and the project's setup folder.
pub fn library_candidates(configured: Option<&Path>) -> Vec<Candidate> {
    if let Some(path) = configured {
        return vec![Candidate { path: path.to_owned(), origin: "inference.onnxruntime" }];
    }
    if let Some(path) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        return vec![Candidate { path: path.into(), origin: "ORT_DYLIB_PATH" }];
    }
    let mut found = Vec::new();
    if let Some(bin_dir) = std::env::current_exe().ok().and_then(|p| p.parent().map(Path::to_owned)) {
        found.push(Candidate {
            path: bin_dir.join("../lib/actiond").join(LIBRARY_FILE),
            origin: "install location next to the binary",
        });
    }
    found.push(Candidate {
        path: Path::new(env!("CARGO_MANIFEST_DIR")).join(".onnxruntime").join(LIBRARY_FILE),
        origin: "project setup folder (scripts/setup.sh)",
    });
    found
}

static ENVIRONMENT: OnceLock<Environment> = OnceLock::new();
static LOADED: OnceLock<PathBuf> = OnceLock::new();

/// The library file loaded by [`environment`], once it has been.
pub fn loaded_library() -> Option<&'static Path> {
    LOADED.get().map(PathBuf::as_path)
}

/// Loads the library (once per process) and returns the shared ONNX Runtime environment.
pub fn environment(configured: Option<&Path>) -> Result<Environment, ModelError> {
    if let Some(env) = ENVIRONMENT.get() {
        return Ok(env.clone());
    }
    let candidates = library_candidates(configured);
    let Some(found) = candidates.iter().find(|c| c.path.is_file()) else {
        let tried: Vec<String> =
            candidates.iter().map(|c| format!("{} ({})", c.path.display(), c.origin)).collect();
        return Err(ModelError::Runtime(format!(
            "library {LIBRARY_FILE} not found; tried: {}. Run scripts/setup.sh, or set \
             ORT_DYLIB_PATH or `inference.onnxruntime` to the library file",
            tried.join(", ")
        )));
    };
    let env = ort::init_from(&found.path)
        .map_err(|e| ModelError::Runtime(format!("{} ({}): {e}", found.path.display(), found.origin)))?
        .with_name("actiond")
        .build()
        .map_err(|e| ModelError::Runtime(e.to_string()))?;
    tracing::debug!(library = %found.path.display(), origin = found.origin, "Loaded ONNX Runtime.");
    let _ = LOADED.set(found.path.clone());
    Ok(ENVIRONMENT.get_or_init(|| env).clone())
}

/// Creates a session for `model` with `intra_threads` intra-op threads. With `spin`, idle
/// intra-op threads busy-wait for the next run (ONNX Runtime's default): a little lower latency
/// for much more CPU time when runs do not follow each other back to back.
pub fn open_session(
    env: &Environment,
    model: &Path,
    intra_threads: usize,
    spin: bool,
) -> Result<ort::session::Session, ModelError> {
    if !model.is_file() {
        return Err(ModelError::NotFound { path: model.to_owned() });
    }
    let load = |reason: String| ModelError::Load { path: model.to_owned(), reason };
    builder(env, intra_threads, spin).map_err(&load)?.commit_from_file(model).map_err(|e| load(e.to_string()))
}

/// Like [`open_session`], from the model's bytes read earlier from `origin` (so that every
/// stream's session is the model that was checked, even if the file changes meanwhile).
pub fn open_session_from_memory(
    env: &Environment,
    bytes: &[u8],
    origin: &Path,
    intra_threads: usize,
    spin: bool,
) -> Result<ort::session::Session, ModelError> {
    let load = |reason: String| ModelError::Load { path: origin.to_owned(), reason };
    builder(env, intra_threads, spin)
        .map_err(&load)?
        .commit_from_memory(bytes)
        .map_err(|e| load(e.to_string()))
}

fn builder(
    env: &Environment,
    intra_threads: usize,
    spin: bool,
) -> Result<ort::session::builder::SessionBuilder, String> {
    ort::session::Session::builder(env)
        .and_then(|b| b.with_intra_threads(intra_threads).map_err(Into::into))
        .and_then(|b| b.with_inter_threads(1).map_err(Into::into))
        .and_then(|b| b.with_intra_op_spinning(spin).map_err(Into::into))
        .map_err(|e: ort::Error| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_path_is_the_only_candidate() {
        let c = library_candidates(Some(Path::new("/opt/ort/lib.so")));
        assert_eq!(c, vec![Candidate { path: "/opt/ort/lib.so".into(), origin: "inference.onnxruntime" }]);
    }
}
