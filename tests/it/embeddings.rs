//! `actiond dataset --embeddings` / `--encoder`: per-frame embeddings of every extracted window
//! for training a temporal head on a frame encoder (transfer learning), and train/serve parity:
//! the stored embeddings are, bit for bit, those a two-stage `actiond run` hands its head.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::dataset::{dataset, index, labelled_videos, npy_shape};
use crate::util::*;

/// Window length of the probe head (`embeddings_probe.onnx`), and D of the gap_lstm encoder.
const T: usize = 4;
const D: usize = 64;
/// What the probe head multiplies the embeddings by, to keep them in the schema's [0, 1].
const PROBE_SCALE: f32 = 1.0 / 256.0;

/// The shipped gap_lstm encoder with the probe head: a window event's "probabilities" are the
/// T×D embeddings the head was given, times `PROBE_SCALE` (exact: a power of two).
/// Letterboxing, frame_step, stride and a padded tail count.
fn probe_pipeline(dir: &Path, uri: &Path) -> PathBuf {
    let labels: String = (0..T * D).map(|i| format!("e{i:03}\n")).collect();
    std::fs::write(dir.join("probe.txt"), labels).unwrap();
    let text = format!(
        "[model]\nencoder = \"{}\"\nhead = \"{}\"\nlabels = \"probe.txt\"\noutput = \"probabilities\"\n\n\
         [window]\nstride = 3\nframe_step = 2\ntail = \"pad\"\n\n[source]\nresize = \"letterbox\"\n\n\
         [output]\ntop_k = {}\n\n[events]\nmodes = [\"windows\"]\n\n[[streams]]\nid = \"a\"\nuri = \"{}\"\n",
        model("gap_lstm.encoder.onnx").display(),
        fixture("embeddings_probe.onnx").display(),
        T * D,
        uri.display()
    );
    write_pipeline(dir, "probe.toml", &text)
}

fn embeddings(dir: &Path) -> (Vec<u64>, Vec<f32>) {
    let file = std::io::BufReader::new(std::fs::File::open(dir.join("embeddings.npy")).unwrap());
    let npy = npyz::NpyFile::new(file).unwrap();
    let shape = npy.shape().to_vec();
    (shape, npy.into_vec().unwrap())
}

fn manifest(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("dataset.json")).unwrap()).unwrap()
}

#[test]
fn stored_embeddings_are_those_a_two_stage_run_hands_its_head() {
    let dir = tempdir();
    let videos = labelled_videos(dir.path());
    let p = probe_pipeline(dir.path(), &videos[0]);
    let run = actiond(&["run", p.to_str().unwrap()]);
    assert!(run.status.success(), "{}", stderr(&run));
    let served = windows(&run);
    assert_eq!(served.len(), 8);
    assert_eq!(served.last().unwrap()["padded"], 1, "the tail window is padded");

    let out = dir.path().join("ds");
    let data = dir.path().join("data");
    let made =
        dataset(&p, &["--data", data.to_str().unwrap(), "--out", out.to_str().unwrap(), "--embeddings"]);
    assert!(made.status.success(), "{}", stderr(&made));
    assert!(stdout(&made).contains("embeddings:"), "{}", stdout(&made));
    let rows = index(&out);
    let (shape, values) = embeddings(&out);
    assert_eq!(shape, [rows.len() as u64, T as u64, D as u64]);
    assert_eq!(npy_shape(&out.join("windows.npy"))[0], rows.len() as u64, "a window per embedding row");
    let m = manifest(&out);
    assert_eq!(m["embeddings"]["shape"], serde_json::json!([rows.len(), T, D]));
    assert_eq!(m["embeddings"]["dtype"], "float32");
    let encoder = Path::new(m["embeddings"]["encoder"].as_str().unwrap());
    assert!(
        encoder.is_absolute() && encoder.ends_with("gap_lstm.encoder.onnx"),
        "training must find it: {m}"
    );

    let of_a: Vec<usize> = (0..rows.len()).filter(|&n| Path::new(&rows[n].video) == videos[0]).collect();
    assert_eq!(of_a.len(), served.len(), "one stored window per served window");
    for (event, &n) in served.iter().zip(&of_a) {
        assert_eq!(
            (event["first_frame"].as_u64().unwrap(), event["last_frame"].as_u64().unwrap()),
            (rows[n].first_frame, rows[n].last_frame)
        );
        let mut fed = vec![f32::NAN; T * D];
        for entry in event["top_k"].as_array().unwrap() {
            let i: usize = entry["label"].as_str().unwrap()[1..].parse().unwrap();
            fed[i] = entry["score"].as_f64().unwrap() as f32;
        }
        let stored = &values[n * T * D..(n + 1) * T * D];
        let same = stored.iter().zip(&fed).all(|(a, b)| (a * PROBE_SCALE).to_bits() == b.to_bits());
        assert!(
            same,
            "window at frame {}: stored {:?}… served {:?}…",
            rows[n].first_frame,
            &stored[..4],
            &fed[..4]
        );
    }
    // Real embeddings: not all zero, and different windows differ.
    assert!(values.iter().any(|&v| v > 0.0));
    assert_ne!(values[..T * D], values[T * D..2 * T * D]);
}

/// The mean-colour fixture (a whole model, T = 4, any frame size) decoding `height`×`width`
/// with the probe pipeline's window and source settings.
fn whole_pipeline(dir: &Path, name: &str, height: u32, width: u32) -> PathBuf {
    let text = format!(
        "[model]\npath = \"{}\"\nlabels = \"{}\"\nheight = {height}\nwidth = {width}\n\n\
         [window]\nstride = 3\nframe_step = 2\ntail = \"pad\"\n\n[source]\nresize = \"letterbox\"\n\n\
         [[streams]]\nid = \"a\"\nuri = \"unused.mp4\"\n",
        fixture("mean_color_ncthw.onnx").display(),
        fixture("rgb_labels.txt").display()
    );
    write_pipeline(dir, name, &text)
}

#[test]
fn another_encoder_given_to_a_whole_model_pipeline_sees_the_pipelines_frames() {
    // A user's backbone (here the shipped encoder) beside a pipeline whose model is whole: it is
    // fed the pipeline's frames and preprocessing, so its embeddings equal the pair's.
    let dir = tempdir();
    let videos = labelled_videos(dir.path());
    let data = dir.path().join("data");
    let (from_pair, from_other) = (dir.path().join("pair"), dir.path().join("other"));
    let pair = probe_pipeline(dir.path(), &videos[0]);
    let a = dataset(
        &pair,
        &["--data", data.to_str().unwrap(), "--out", from_pair.to_str().unwrap(), "--embeddings"],
    );
    assert!(a.status.success(), "{}", stderr(&a));
    let whole = whole_pipeline(dir.path(), "whole.toml", 64, 64);
    let encoder = model("gap_lstm.encoder.onnx");
    let args = ["--data", data.to_str().unwrap(), "--out", from_other.to_str().unwrap()];
    let b = dataset(&whole, &[&args[..], &["--encoder", encoder.to_str().unwrap()]].concat());
    assert!(b.status.success(), "{}", stderr(&b));
    let (pair_shape, pair_values) = embeddings(&from_pair);
    let (other_shape, other_values) = embeddings(&from_other);
    assert_eq!(pair_shape, other_shape);
    assert!(pair_values.iter().zip(&other_values).all(|(a, b)| a.to_bits() == b.to_bits()));
    assert_eq!(manifest(&from_other)["embeddings"]["encoder"], encoder.to_str().unwrap());
}

/// Asserts a refused dataset: `code`, every culprit named on stderr, nothing written.
fn assert_refused(out: &std::process::Output, code: i32, target: &Path, culprits: &[&str]) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "{err}");
    for culprit in culprits {
        assert!(err.contains(culprit), "`{culprit}` not named in: {err}");
    }
    assert!(!target.exists(), "{} was written", target.display());
}

#[test]
fn an_encoder_that_cannot_serve_the_pipeline_is_refused_by_name_before_decoding() {
    let dir = tempdir();
    labelled_videos(dir.path());
    let data = dir.path().join("data");
    let out = dir.path().join("ds");
    let args = ["--data", data.to_str().unwrap(), "--out", out.to_str().unwrap()];
    let whole = whole_pipeline(dir.path(), "whole.toml", 64, 64);
    // --embeddings of a pipeline that has no encoder of its own.
    assert_refused(
        &dataset(&whole, &[&args[..], &["--embeddings"]].concat()),
        3,
        &out,
        &["whole.toml", "--encoder"],
    );
    // A whole video model is no frame encoder.
    let video_model = model("gap_lstm.onnx");
    let given = dataset(&whole, &[&args[..], &["--encoder", video_model.to_str().unwrap()]].concat());
    assert_refused(&given, 4, &out, &["gap_lstm.onnx", "encoder input shape"]);
    // The 64×64 encoder does not take the 13×15 frames this pipeline decodes.
    let small = whole_pipeline(dir.path(), "small.toml", 15, 13);
    let encoder = model("gap_lstm.encoder.onnx");
    let given = dataset(&small, &[&args[..], &["--encoder", encoder.to_str().unwrap()]].concat());
    assert_refused(&given, 4, &out, &["gap_lstm.encoder.onnx", "64×64", "small.toml", "decodes 13×15"]);
    // A missing file.
    let given = dataset(&whole, &[&args[..], &["--encoder", "no-such-encoder.onnx"]].concat());
    assert_refused(&given, 4, &out, &["no-such-encoder.onnx"]);
}
