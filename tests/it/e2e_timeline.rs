//! End to end with the default head (the one `pipelines/demo.toml` uses): real encoded timeline
//! videos in two codecs and containers, the real binary, the real ONNX Runtime. The right labels
//! must come out at exactly the right frames and times.

use std::path::{Path, PathBuf};

use crate::util::*;
use serde_json::Value;

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

/// Runs the default head on a fresh timeline video and checks windows, times and accuracy.
fn check_timeline(name: &str, width: u32, height: u32, seed: u64) {
    let dir = tempdir();
    let (path, truth) = video(dir.path(), name, width, height, seed);
    let events = run_on(dir.path(), &path, "");
    assert_exact_windows(&events, &truth);
    let (acc, inside) = accuracy(&events, &truth);
    eprintln!("{name} {width}x{height}: accuracy {acc:.3} over {inside} windows");
    assert!(inside > 50, "too few windows inside segments: {inside}");
    assert!(acc >= MIN_ACCURACY, "accuracy {acc:.3}");
}

#[test]
fn h264_mp4_timeline_gets_the_right_labels_at_the_right_times() {
    check_timeline("timeline.mp4", 320, 240, 11);
}

#[test]
fn vp8_webm_timeline_gets_the_right_labels_at_the_right_times() {
    check_timeline("timeline.webm", 200, 150, 12);
}

#[test]
fn wrong_normalisation_fails_the_accuracy_bar() {
    let dir = tempdir();
    let (path, truth) = video(dir.path(), "timeline.mp4", 320, 240, 11);
    let events = run_on(dir.path(), &path, "scale = 1.0");
    assert_exact_windows(&events, &truth);
    let (acc, _) = accuracy(&events, &truth);
    eprintln!("scale=1.0 accuracy {acc:.3}");
    assert!(acc < MIN_ACCURACY, "a model fed 0..255 instead of 0..1 still scored {acc:.3}");
}
