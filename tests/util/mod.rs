//! Helpers shared by the integration tests: running the real binary, writing pipelines,
//! making real encoded videos, and reading the JSON Lines it prints.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_actiond");

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

pub fn actiond_with_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env("RUST_LOG", "info").env_remove("RUST_BACKTRACE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("actiond runs")
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Parses stdout as JSON Lines; every line must be a JSON object.
pub fn events(out: &Output) -> Vec<Value> {
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// The window events of stdout, checking that each stream's windows come in order.
pub fn windows(out: &Output) -> Vec<Value> {
    let all: Vec<Value> = events(out).into_iter().filter(|e| e["type"] == "window").collect();
    let mut next = std::collections::HashMap::new();
    for e in &all {
        let expected = next.entry(e["stream"].as_str().unwrap().to_owned()).or_insert(0u64);
        assert_eq!(e["window"].as_u64(), Some(*expected), "window order: {e}");
        *expected += 1;
    }
    all
}

/// Asserts a failed run with a clean, single error line that mentions `culprit`.
pub fn assert_clean_failure(out: &Output, culprit: &str) {
    let err = stderr(out);
    assert!(!out.status.success(), "expected failure, got success; stderr:\n{err}");
    assert!(!err.contains("panicked") && !err.contains("RUST_BACKTRACE"), "panic:\n{err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("actiond: error:")).collect();
    assert_eq!(lines.len(), 1, "expected one error line:\n{err}");
    assert!(lines[0].contains(culprit), "error line does not name {culprit}:\n{err}");
}

/// Writes a pipeline file into `dir` and returns its path.
pub fn write_pipeline(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Writes a synthetic timeline video with `actiond synth-video`; returns the truth JSON.
pub fn synth_video(path: &Path, width: u32, height: u32, segments: usize, seed: u64) -> Value {
    let out = actiond(&[
        "synth-video",
        "--out",
        path.to_str().unwrap(),
        "--width",
        &width.to_string(),
        "--height",
        &height.to_string(),
        "--segments",
        &segments.to_string(),
        "--seed",
        &seed.to_string(),
    ]);
    assert!(out.status.success(), "synth-video failed: {}", stderr(&out));
    let truth = path.with_extension("truth.json");
    serde_json::from_str(&std::fs::read_to_string(truth).unwrap()).unwrap()
}

/// Encodes a video with a gst-launch style description ending in `filesink name=sink`.
pub fn gst_video(path: &Path, description: &str) {
    use gstreamer::prelude::*;
    gstreamer::init().unwrap();
    let pipeline = gstreamer::parse::launch(description).unwrap().downcast::<gstreamer::Pipeline>().unwrap();
    pipeline.by_name("sink").unwrap().set_property("location", path.to_str().unwrap());
    pipeline.set_state(gstreamer::State::Playing).unwrap();
    let bus = pipeline.bus().unwrap();
    let msg = bus
        .timed_pop_filtered(
            gstreamer::ClockTime::from_seconds(60),
            &[gstreamer::MessageType::Eos, gstreamer::MessageType::Error],
        )
        .expect("encoding finishes");
    assert!(matches!(msg.view(), gstreamer::MessageView::Eos(_)), "encoding failed: {msg:?}");
    pipeline.set_state(gstreamer::State::Null).unwrap();
}

pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("actiond-test-").tempdir().unwrap()
}
