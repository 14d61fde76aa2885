//! `actiond evaluate`: heads run end to end by the real daemon on held-out labelled videos and
//! scored window by window. The figures are checked exactly against a hand-worked expectation
//! (solid-colour videos and a mean-colour model whose labels are known), against an independent
//! count over `actiond run`'s own events for a shipped head, the reports are written, the JSON is
//! schema-valid, and bad truth is named with nothing written.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::util::*;

const DATA_EXIT: i32 = 5;

const RED: &str = "0xffff0000";
const BLUE: &str = "0xff0000ff";

/// The mean-colour model (T = 4) with a window every 2 frames; `bgr` swaps red and blue.
fn mean_colour_head(dir: &Path, name: &str, channel_order: &str) -> PathBuf {
    write_pipeline(
        dir,
        name,
        &format!(
            "{}\nchannel_order = \"{channel_order}\"\n[window]\nstride = 2\n\n[[streams]]\nid = \"unused\"\nuri = \"unused.mkv\"\n",
            mean_color_model_table()
        ),
    )
}

/// Held-out videos: red/ (8 and 12 frames), blue/ (8), green/ (8 frames that are in fact red),
/// and a CSV labelling the two halves of a red-then-blue video.
fn truth(dir: &Path) -> (PathBuf, PathBuf) {
    let folders = dir.join("truth");
    solid(&folders.join("red/r1.mkv"), 8, RED);
    solid(&folders.join("red/r2.mkv"), 12, RED);
    solid(&folders.join("blue/b1.mkv"), 8, BLUE);
    solid(&folders.join("green/g1.mkv"), 8, RED);
    let long = dir.join("long");
    std::fs::create_dir_all(&long).unwrap();
    red_then_blue(&long.join("rb.mkv"));
    let csv = long.join("segments.csv");
    std::fs::write(&csv, "video,start_s,end_s,label\nrb.mkv,0,0.8,red\nrb.mkv,0.8,1.6,blue\n").unwrap();
    (folders, csv)
}

fn evaluate(args: &[&str]) -> Output {
    let mut all = vec!["evaluate"];
    all.extend(args);
    actiond(&all)
}

fn head<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["heads"].as_array().unwrap().iter().find(|h| h["name"] == name).unwrap()
}

fn assert_schema_valid(report: &Value) {
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("schema/evaluate.schema.json")).unwrap())
            .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> =
        validator.iter_errors(report).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "evaluation.json does not match its schema:\n{}", errors.join("\n"));
}

#[test]
fn figures_are_exact_on_known_videos_and_the_reports_are_written() {
    let dir = tempdir();
    let (folders, csv) = truth(dir.path());
    let rgb = mean_colour_head(dir.path(), "rgb.toml", "rgb");
    let bgr = mean_colour_head(dir.path(), "bgr.toml", "bgr");
    let out = dir.path().join("report");
    let run = evaluate(&[
        rgb.to_str().unwrap(),
        bgr.to_str().unwrap(),
        "--truth",
        folders.to_str().unwrap(),
        "--truth",
        csv.to_str().unwrap(),
        "--videos-per-run",
        "2",
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let report: Value = serde_json::from_slice(&run.stdout).unwrap();
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("evaluation.json")).unwrap()).unwrap();
    assert_eq!(report, written, "--json prints what evaluation.json holds");
    assert_schema_valid(&report);
    assert_eq!(report["truth"]["labels"], serde_json::json!(["blue", "green", "red"]));
    assert_eq!(report["truth"]["videos"], 5);

    // T = 4, stride 2, tail dropped: 8 frames give 3 windows, 12 give 5, 16 give 7 of which the
    // one over frames 6–9 straddles the red/blue boundary and is not scored.
    // Truth windows: red 3 + 5 + 3 = 11, blue 3 + 3 = 6, green 3 (red pixels).
    let h = head(&report, "rgb");
    assert_eq!(h["labels"], serde_json::json!(["red", "green", "blue"]));
    assert_eq!(h["confusion"]["rows"], serde_json::json!(["red", "green", "blue"]), "in the head's order");
    assert_eq!(h["confusion"]["counts"], serde_json::json!([[11, 0, 0], [3, 0, 0], [0, 0, 6]]));
    assert_eq!(
        (h["windows"].as_u64(), h["correct"].as_u64(), h["unscored_windows"].as_u64()),
        (Some(20), Some(17), Some(1))
    );
    assert_eq!(h["accuracy"], 0.85);
    let per_class: Vec<(Value, Value, Value)> = h["per_class"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["label"].clone(), c["accuracy"].clone(), c["precision"].clone()))
        .collect();
    assert_eq!(
        per_class,
        [
            ("red".into(), 1.0.into(), (11.0 / 14.0).into()),
            ("green".into(), 0.0.into(), Value::Null),
            ("blue".into(), 1.0.into(), 1.0.into()),
        ]
    );
    // F1: blue 1, green 0, red 2·(11/14)·1/(11/14 + 1) = 22/25.
    assert!((h["macro_f1"].as_f64().unwrap() - (1.0 + 0.0 + 0.88) / 3.0).abs() < 1e-9, "{}", h["macro_f1"]);
    assert_eq!(h["model"]["parameters"], 12, "a 3×3 matrix and 3 biases");
    assert_eq!(h["model"]["bytes"], std::fs::metadata(fixture("mean_color_ncthw.onnx")).unwrap().len());
    assert_eq!(h["speed"]["frames"], 8 + 12 + 8 + 8 + 16, "every decoded frame of every video");
    assert!(
        h["speed"]["cpu_ms_per_frame"].as_f64().unwrap() > 0.0
            && h["speed"]["peak_rss_bytes"].as_u64().unwrap() > 1 << 20
    );

    let swapped = head(&report, "bgr");
    assert_eq!(swapped["confusion"]["counts"], serde_json::json!([[0, 0, 11], [0, 0, 3], [6, 0, 0]]));
    assert_eq!((swapped["accuracy"].as_f64(), swapped["macro_f1"].as_f64()), (Some(0.0), Some(0.0)));
    assert_eq!(report["recommended"], "rgb");

    // The timeline of the long video: its truth, and each head's labels per window.
    let long = report["videos"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["video"].as_str().unwrap().ends_with("rb.mkv"))
        .unwrap();
    assert_eq!(long["frames"], 16);
    assert_eq!(
        long["truth"],
        serde_json::json!([{"start_s": 0.0, "end_s": 0.8, "label": "red"}, {"start_s": 0.8, "end_s": 1.6, "label": "blue"}])
    );
    let rgb_windows: Vec<(&str, Option<&str>)> = long["heads"][0]["windows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| (w["label"].as_str().unwrap(), w["truth"].as_str()))
        .collect();
    assert_eq!(rgb_windows.len(), 7);
    assert_eq!(rgb_windows[3].1, None, "the window across the boundary is not scored");
    assert_eq!(&rgb_windows[4..], [("blue", Some("blue")); 3]);

    let markdown = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(markdown.contains("**Recommended: `rgb`**"), "{markdown}");
    assert!(markdown.contains("| `green` | 3 | 0 | 0 |"), "the rgb head's green row:\n{markdown}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_eq!(html.matches("<svg").count(), 2 + 5, "two confusion matrices and five timelines");
    // One self-contained file: no script, nothing fetched; the only URL is the SVG namespace.
    assert!(!html.contains("<script"), "no script");
    assert_eq!(html.matches("http").count(), html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count());

    let again = evaluate(&[
        rgb.to_str().unwrap(),
        "--truth",
        folders.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_clean_failure(&again, "exists already");
}

#[test]
fn a_shipped_head_scores_as_its_own_events_say() {
    let dir = tempdir();
    let video = dir.path().join("clips/timeline.mp4");
    let csv_path = dir.path().join("clips/segments.csv");
    let made = actiond_dev(&[
        "synth-video",
        "--out",
        video.to_str().unwrap(),
        "--actions",
        "move_left,still,move_right,grow",
        "--seed",
        "3",
        "--segments-csv",
        csv_path.to_str().unwrap(),
    ]);
    assert!(made.status.success(), "{}", stderr(&made));
    let truth: Value =
        serde_json::from_str(&std::fs::read_to_string(video.with_extension("truth.json")).unwrap()).unwrap();
    let csv = std::fs::read_to_string(&csv_path).unwrap();
    assert!(
        csv.starts_with("video,start_s,end_s,label\ntimeline.mp4,0,"),
        "the video named relative to the CSV:\n{csv}"
    );
    assert_eq!(csv.lines().count(), 1 + 4);
    let text = format!(
        "{}\n[window]\nstride = 5\n\n[[streams]]\nid = \"a\"\nuri = \"{}\"\n",
        demo_model_table(),
        video.display()
    );
    let pipeline = write_pipeline(dir.path(), "default.toml", &text);
    let run = actiond(&["run", pipeline.to_str().unwrap()]);
    assert!(run.status.success(), "{}", stderr(&run));
    let (expected_accuracy, inside) = accuracy(&windows(&run), &truth);

    // Overrides of the tables evaluate replaces must not reach its daemon: a min_score that would
    // drop every window, and (in lower case, which the config crate reads too) a listener on an
    // address that is not this machine's, which would fail the run.
    let out = actiond_with_env(
        &["evaluate", pipeline.to_str().unwrap(), "--truth", csv_path.to_str().unwrap(), "--json"],
        &[("ACTIOND__EVENTS__MIN_SCORE", "0.999"), ("actiond__service__http_listen", "192.0.2.1:9")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_schema_valid(&report);
    let h = head(&report, "default");
    assert_eq!(h["windows"].as_u64().unwrap() as usize, inside, "the windows inside one segment");
    assert!(
        (h["accuracy"].as_f64().unwrap() - expected_accuracy).abs() < 1e-12,
        "{} vs {expected_accuracy}",
        h["accuracy"]
    );
    assert!(
        expected_accuracy >= MIN_ACCURACY,
        "the default head on its own kind of scene: {expected_accuracy}"
    );
    // The default pair's weights: Keras' 102,088 (models/results/gap_grid_lstm.json) and the
    // recurrent bias ONNX's LSTM adds (4 × 64 units).
    assert_eq!(h["model"]["parameters"], 102_088 + 256);
    assert_eq!(h["speed"]["frames"], truth["frames"]);
}

#[test]
fn bad_truth_is_named_and_nothing_is_written() {
    let dir = tempdir();
    let head = mean_colour_head(dir.path(), "rgb.toml", "rgb");
    let out = dir.path().join("report");
    let check = |truth: &Path, culprit: &str| {
        let run = evaluate(&[
            head.to_str().unwrap(),
            "--truth",
            truth.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(run.status.code(), Some(DATA_EXIT), "{}", stderr(&run));
        let err = stderr(&run);
        assert!(err.contains(culprit), "the error names {culprit}:\n{err}");
        assert!(!out.exists(), "nothing written");
    };

    let junk = dir.path().join("junk");
    solid(&junk.join("red/fine.mkv"), 8, RED);
    std::fs::create_dir_all(junk.join("blue")).unwrap();
    std::fs::write(junk.join("blue/broken.mp4"), b"not a video at all").unwrap();
    check(&junk, "broken.mp4 cannot be decoded");

    let short = dir.path().join("short");
    solid(&short.join("red/two_frames.mkv"), 2, RED);
    check(&short, "two_frames.mkv gives no window");

    let long = dir.path().join("long");
    std::fs::create_dir_all(&long).unwrap();
    solid(&long.join("red.mkv"), 8, RED);
    std::fs::write(long.join("s.csv"), "video,start_s,end_s,label\nred.mkv,0,0.4,red\nred.mkv,0.4,5,blue\n")
        .unwrap();
    check(&long.join("s.csv"), "s.csv line 3");

    check(&dir.path().join("no_such_folder"), "no_such_folder");
    std::fs::create_dir_all(dir.path().join("empty")).unwrap();
    check(&dir.path().join("empty"), "empty");

    // A head that cannot be used keeps its own exit code (3 for the file, 4 for the model), not
    // evaluate's: pins the exit codes across the split of the workflow errors from error::Error.
    let broken = write_pipeline(dir.path(), "broken.toml", "[model]\npath = \"nope.onnx\"\n");
    let run = evaluate(&[broken.to_str().unwrap(), "--truth", junk.to_str().unwrap()]);
    assert_clean_failure(&run, "broken.toml");
    assert_eq!(run.status.code(), Some(3), "{}", stderr(&run));
    let labels = root().join("models/labels.txt");
    let no_model = write_pipeline(
        dir.path(),
        "no_model.toml",
        &format!(
            "[model]\npath = \"nope.onnx\"\nlabels = \"{}\"\n\n[[streams]]\nid = \"a\"\nuri = \"a.mp4\"\n",
            labels.display()
        ),
    );
    let run = evaluate(&[no_model.to_str().unwrap(), "--truth", junk.to_str().unwrap()]);
    assert_clean_failure(&run, "nope.onnx");
    assert_eq!(run.status.code(), Some(4), "{}", stderr(&run));
}
