//! `actiond-dev bench`, the two ceilings benches/run.py measures actiond against: decoding alone
//! counts exactly the frames of a real encoded file, inference alone runs exactly the windows
//! (and, for a two-stage model, the frames) that such a file makes.

use crate::util::*;
use serde_json::Value;

fn report(args: &[&str]) -> Value {
    let out = actiond_dev(args);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    serde_json::from_str(stdout(&out).trim()).unwrap_or_else(|e| panic!("{e}: {}", stdout(&out)))
}

#[test]
fn decode_ceiling_counts_every_frame_of_the_file() {
    let dir = tempdir();
    let video = dir.path().join("v.mp4");
    let truth = synth_video(&video, 160, 120, 2, 3);
    for threads in ["1", "0"] {
        let r = report(&["bench", "decode", video.to_str().unwrap(), "--decoder-threads", threads]);
        assert_eq!(r["mode"], "decode");
        assert_eq!(r["frames"], truth["frames"], "decoder threads {threads}");
        assert!(r["wall_s"].as_f64().unwrap() > 0.0);
    }
}

#[test]
fn decode_ceiling_refuses_a_camera_and_an_empty_input() {
    let out = actiond_dev(&["bench", "decode", "rtsp://127.0.0.1:9/stream"]);
    assert_clean_failure(&out, "needs a file");
    let out = actiond_dev(&["bench", "decode", fixture("reference_clip.rgb").to_str().unwrap()]);
    assert_clean_failure(&out, "reference_clip.rgb");
}

#[test]
fn inference_ceiling_runs_the_windows_a_video_makes() {
    let dir = tempdir();
    let clip = fixture("reference_clip.rgb");
    let whole = write_pipeline(
        dir.path(),
        "whole.toml",
        &format!(
            "[model]\npath = \"{}\"\nlabels = \"{}\"\n[window]\nstride = 5\n[[streams]]\nid = \"a\"\nuri = \"{}\"\n",
            model("gap_lstm.onnx").display(),
            root().join("models/labels.txt").display(),
            clip.display()
        ),
    );
    let pair = pair_pipeline(dir.path(), "pair.toml", "gap_lstm.encoder.onnx", "gap_lstm.head.onnx", &clip);
    for pipeline in [whole, pair] {
        // 103 frames, windows of 10 every 5: (103 - 10) / 5 + 1 = 19.
        let r = report(&["bench", "infer", pipeline.to_str().unwrap(), "--frames", "103"]);
        assert_eq!(
            (r["mode"].as_str(), r["frames"].as_u64(), r["windows"].as_u64()),
            (Some("infer"), Some(103), Some(19))
        );
    }
}
