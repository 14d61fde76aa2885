//! End to end with the default head (the one `pipelines/demo.toml` uses): real encoded timeline
//! videos in two codecs and containers, the real binary, the real ONNX Runtime. The right labels
//! must come out at exactly the right frames and times.

mod util;

use std::path::{Path, PathBuf};

use serde_json::Value;
use util::*;

const MIN_ACCURACY: f64 = 0.90;

/// The `[model]` table of the demo pipeline, with paths made absolute.
fn demo_model_table() -> String {
    let text = std::fs::read_to_string(root().join("pipelines/demo.toml")).unwrap();
    let doc: toml::Table = text.parse().unwrap();
    let mut model = doc["model"].as_table().unwrap().clone();
    for key in ["path", "labels"] {
        let p = root().join("pipelines").join(model[key].as_str().unwrap());
        model.insert(key.into(), toml::Value::String(p.to_string_lossy().into_owned()));
    }
    toml::to_string(&toml::Table::from_iter([("model".to_owned(), toml::Value::Table(model))])).unwrap()
}

fn run_on(dir: &Path, video: &Path, model_overrides: &str) -> Vec<Value> {
    let mut model = demo_model_table();
    for line in model_overrides.lines() {
        let key = line.split('=').next().unwrap().trim();
        model = model.lines().filter(|l| !l.starts_with(&format!("{key} "))).collect::<Vec<_>>().join("\n");
        model = model.replacen("[model]", &format!("[model]\n{line}"), 1);
    }
    let pipeline = write_pipeline(
        dir,
        "timeline.toml",
        &format!("{model}\n[window]\nstride = 5\n\n[[streams]]\nid = \"t\"\nuri = \"{}\"\n", video.display()),
    );
    let out = actiond(&["run", pipeline.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    windows(&out)
}

/// Share of windows lying wholly inside one segment that carry that segment's label.
fn accuracy(events: &[Value], truth: &Value) -> f64 {
    let segments = truth["segments"].as_array().unwrap();
    let (mut inside, mut right) = (0, 0);
    for e in events {
        let (first, last) = (e["first_frame"].as_u64().unwrap(), e["last_frame"].as_u64().unwrap());
        if let Some(s) = segments
            .iter()
            .find(|s| s["start_frame"].as_u64().unwrap() <= first && last < s["end_frame"].as_u64().unwrap())
        {
            inside += 1;
            right += usize::from(e["label"] == s["label"]);
        }
    }
    assert!(inside > 50, "too few windows inside segments: {inside}");
    right as f64 / inside as f64
}

/// Window i covers frames 5i .. 5i+9 and the times of exactly those frames.
fn assert_exact_windows(events: &[Value], truth: &Value) {
    let frames = truth["frames"].as_u64().unwrap();
    let fps = truth["fps"].as_f64().unwrap();
    assert_eq!(events.len() as u64, (frames - 10) / 5 + 1, "one window per stride over {frames} frames");
    for (i, e) in events.iter().enumerate() {
        let first = 5 * i as u64;
        assert_eq!(e["stream"], "t");
        assert_eq!(e["window"], i as u64, "{e}");
        assert_eq!(e["first_frame"], first, "{e}");
        assert_eq!(e["last_frame"], first + 9, "{e}");
        assert!((e["start_s"].as_f64().unwrap() - first as f64 / fps).abs() < 1e-6, "{e}");
        assert!((e["end_s"].as_f64().unwrap() - (first + 10) as f64 / fps).abs() < 1e-6, "{e}");
        assert_eq!(e["top_k"].as_array().unwrap().len(), 3);
    }
}

fn video(dir: &Path, name: &str, width: u32, height: u32, seed: u64) -> (PathBuf, Value) {
    let path = dir.join(name);
    let truth = synth_video(&path, width, height, 8, seed);
    (path, truth)
}

#[test]
fn h264_mp4_timeline_gets_the_right_labels_at_the_right_times() {
    let dir = tempdir();
    let (path, truth) = video(dir.path(), "timeline.mp4", 320, 240, 11);
    let events = run_on(dir.path(), &path, "");
    assert_exact_windows(&events, &truth);
    let acc = accuracy(&events, &truth);
    eprintln!("h264 320x240 accuracy {acc:.3}");
    assert!(acc >= MIN_ACCURACY, "accuracy {acc:.3}");
}

#[test]
fn vp8_webm_timeline_gets_the_right_labels_at_the_right_times() {
    let dir = tempdir();
    let (path, truth) = video(dir.path(), "timeline.webm", 200, 150, 12);
    let events = run_on(dir.path(), &path, "");
    assert_exact_windows(&events, &truth);
    let acc = accuracy(&events, &truth);
    eprintln!("vp8 200x150 accuracy {acc:.3}");
    assert!(acc >= MIN_ACCURACY, "accuracy {acc:.3}");
}

#[test]
fn wrong_normalisation_fails_the_accuracy_bar() {
    let dir = tempdir();
    let (path, truth) = video(dir.path(), "timeline.mp4", 320, 240, 11);
    let events = run_on(dir.path(), &path, "scale = 1.0");
    assert_exact_windows(&events, &truth);
    let acc = accuracy(&events, &truth);
    eprintln!("scale=1.0 accuracy {acc:.3}");
    assert!(acc < MIN_ACCURACY, "a model fed 0..255 instead of 0..1 still scored {acc:.3}");
}
