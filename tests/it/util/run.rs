//! Running the real binary: one-shot runs with captured output, and a daemon whose events are
//! read as they come; where the repository's files are; pipeline files for the tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_actiond");
/// The developer tools (`synth-video`, `bench`), built only with the `dev-tools` feature.
pub const DEV_BIN: &str = env!("CARGO_BIN_EXE_actiond-dev");

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures").join(name)
}

pub fn model(name: &str) -> PathBuf {
    root().join("models").join(name)
}

/// Runs `actiond` with `args`; stdout and stderr are captured.
pub fn actiond(args: &[&str]) -> Output {
    actiond_with_env(args, &[])
}

/// Runs `actiond-dev` (the test videos and the benchmark ceilings).
pub fn actiond_dev(args: &[&str]) -> Output {
    run_program(DEV_BIN, args, &[])
}

pub fn actiond_with_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    run_program(BIN, args, env)
}

fn run_program(program: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(program);
    cmd.args(args).env("RUST_LOG", "info").env_remove("RUST_BACKTRACE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap_or_else(|e| panic!("{program} runs: {e}"))
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Asserts a failed run with a clean, single error line that mentions `culprit`.
pub fn assert_clean_failure(out: &Output, culprit: &str) {
    let err = stderr(out);
    assert!(!out.status.success(), "expected failure, got success; stderr:\n{err}");
    assert!(!err.contains("panicked") && !err.contains("RUST_BACKTRACE"), "panic:\n{err}");
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("actiond: error:") || l.starts_with("actiond-dev: error:"))
        .collect();
    assert_eq!(lines.len(), 1, "expected one error line:\n{err}");
    assert!(lines[0].contains(culprit), "error line does not name {culprit}:\n{err}");
}

/// Writes a pipeline file into `dir` and returns its path.
pub fn write_pipeline(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Writes a pipeline file into `dir` with a two-stage model (files of `models/`), the shipped
/// labels and one stream `a` reading `uri`; returns its path.
pub fn pair_pipeline(dir: &Path, name: &str, encoder: &str, head: &str, uri: &Path) -> PathBuf {
    let text = format!(
        "[model]\nencoder = \"{}\"\nhead = \"{}\"\nlabels = \"{}\"\n\n[[streams]]\nid = \"a\"\nuri = \"{}\"\n",
        model(encoder).display(),
        model(head).display(),
        root().join("models/labels.txt").display(),
        uri.display()
    );
    write_pipeline(dir, name, &text)
}

pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("actiond-test-").tempdir().unwrap()
}

/// The `[model]` table of the mean-colour fixture (T = 4, logits over red/green/blue, dynamic
/// size given as 15×13), without a trailing newline so keys can follow.
pub fn mean_color_model_table() -> String {
    format!(
        "[model]\npath = \"{}\"\nlabels = \"{}\"\nheight = 15\nwidth = 13",
        fixture("mean_color_ncthw.onnx").display(),
        fixture("rgb_labels.txt").display()
    )
}

/// A pipeline `p.toml` in `dir`: the mean-colour fixture at 32×32, the `[window]` keys given,
/// one stream `cam` reading `uri`.
pub fn mean_color_pipeline(dir: &Path, uri: &str, window: &str) -> PathBuf {
    write_pipeline(
        dir,
        "p.toml",
        &format!(
            "[model]\npath = \"{}\"\nlabels = \"{}\"\nheight = 32\nwidth = 32\n\n[window]\n{window}\n\n\
             [[streams]]\nid = \"cam\"\nuri = \"{uri}\"\n",
            fixture("mean_color_ncthw.onnx").display(),
            fixture("rgb_labels.txt").display()
        ),
    )
}

/// The `[model]` table of the demo pipeline (the default head), with paths made absolute.
pub fn demo_model_table() -> String {
    let text = std::fs::read_to_string(root().join("pipelines/demo.toml")).unwrap();
    let doc: toml::Table = text.parse().unwrap();
    let mut model = doc["model"].as_table().unwrap().clone();
    for key in ["path", "encoder", "head", "labels"] {
        let Some(file) = model.get(key) else { continue };
        let p = root().join("pipelines").join(file.as_str().unwrap());
        model.insert(key.into(), toml::Value::String(p.to_string_lossy().into_owned()));
    }
    toml::to_string(&toml::Table::from_iter([("model".to_owned(), toml::Value::Table(model))])).unwrap()
}

/// A running `actiond run` whose events are read as they come.
pub struct Daemon {
    child: std::process::Child,
    pub events: crossbeam_channel::Receiver<Value>,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Daemon {
    pub fn start(pipeline: &Path, env: &[(&str, &str)]) -> Self {
        use std::io::BufRead;
        let mut cmd = Command::new(BIN);
        cmd.args(["run", pipeline.to_str().unwrap()])
            .env("RUST_LOG", "info")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("actiond starts");
        let (tx, events) = crossbeam_channel::unbounded();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let line = line.unwrap();
                let value: Value =
                    serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
                if tx.send(value).is_err() {
                    break;
                }
            }
        });
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = stderr.clone();
        let pipe = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(pipe).lines() {
                let line = line.unwrap();
                let mut text = sink.lock().unwrap();
                text.push_str(&line);
                text.push('\n');
            }
        });
        Self { child, events, stderr }
    }

    /// Collects events until `done` says so (inclusive) or `timeout` passes.
    pub fn wait_for(
        &self,
        timeout: std::time::Duration,
        seen: &mut Vec<Value>,
        mut done: impl FnMut(&Value) -> bool,
    ) -> bool {
        let end = std::time::Instant::now() + timeout;
        while let Some(left) = end.checked_duration_since(std::time::Instant::now()) {
            match self.events.recv_timeout(left) {
                Ok(e) => {
                    let stop = done(&e);
                    seen.push(e);
                    if stop {
                        return true;
                    }
                }
                Err(_) => return false,
            }
        }
        false
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits for the exit; returns the exit code and how long it took.
    pub fn terminate(mut self, seen: &mut Vec<Value>) -> (Option<i32>, std::time::Duration) {
        let start = std::time::Instant::now();
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
        let code = self.child.wait().unwrap().code();
        let took = start.elapsed();
        // The reader thread ends at EOF; collect what is left.
        while let Ok(e) = self.events.recv_timeout(std::time::Duration::from_secs(2)) {
            seen.push(e);
        }
        (code, took)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
