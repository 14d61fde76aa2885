//! Action events against ground truth, the file sink, and the library API (the example program
//! and an in-process pipeline stopped midway). Every event is checked against the schema.

use std::path::Path;

use crate::util::*;
use serde_json::Value;

/// A pipeline on `video` with the default head, both event modes, and `sinks`.
fn pipeline(dir: &Path, video: &Path, events: &str, sinks: &str) -> std::path::PathBuf {
    write_pipeline(
        dir,
        "events.toml",
        &format!(
            "{}\n[window]\nstride = 5\n\n[events]\n{events}\n{sinks}\n[[streams]]\nid = \"t\"\nuri = \"{}\"\n",
            demo_model_table(),
            video.display()
        ),
    )
}

#[test]
fn actions_match_the_ground_truth_segments() {
    let dir = tempdir();
    let video = dir.path().join("t.mp4");
    let truth = synth_video(&video, 320, 240, 8, 21);
    let fps = truth["fps"].as_f64().unwrap();
    let rules = "modes = [\"windows\", \"actions\"]\naverage = 2\non_threshold = 0.5\noff_threshold = 0.3\nmin_windows = 2";
    let p = pipeline(dir.path(), &video, rules, "");
    let out = actiond(&["run", p.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let events = events(&out);
    let actions: Vec<&Value> = events.iter().filter(|e| e["type"] == "action_end").collect();
    let starts = events.iter().filter(|e| e["type"] == "action_start").count();
    assert_eq!(starts, actions.len(), "every action that starts also ends");
    let window_s = 10.0 / fps;
    let segments = truth["segments"].as_array().unwrap();
    assert_eq!(actions.len(), segments.len(), "one action per segment, nothing spurious: {actions:?}");
    for (a, s) in actions.iter().zip(segments) {
        let (truth_start, truth_end) =
            (s["start_frame"].as_f64().unwrap() / fps, s["end_frame"].as_f64().unwrap() / fps);
        assert_eq!(a["label"], s["label"], "{a}");
        assert!((a["start_s"].as_f64().unwrap() - truth_start).abs() <= window_s, "start: {a} vs {s}");
        assert!((a["end_s"].as_f64().unwrap() - truth_end).abs() <= window_s, "end: {a} vs {s}");
        assert!(a["windows"].as_u64().unwrap() >= 2, "no action shorter than min_windows: {a}");
    }
    assert_eq!(actions.last().unwrap()["reason"], "stream_end", "the last action ends with the stream");
    // Window events still come, with their smoothed scores.
    assert!(events.iter().filter(|e| e["type"] == "window").all(|e| e["smoothed_score"].is_number()));
}

#[test]
fn ignored_labels_and_min_score_filter_window_events() {
    let dir = tempdir();
    let video = dir.path().join("t.mp4");
    synth_video(&video, 320, 240, 8, 22);
    let p = pipeline(dir.path(), &video, "average = 3\nignore = [\"still\", \"blink\"]\nmin_score = 0.9", "");
    let out = actiond(&["run", p.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let windows: Vec<Value> = events(&out).into_iter().filter(|e| e["type"] == "window").collect();
    assert!(windows.len() > 50, "{}", windows.len());
    for w in &windows {
        assert!(w["smoothed_label"] != "still" && w["smoothed_label"] != "blink", "{w}");
        assert!(w["smoothed_score"].as_f64().unwrap() >= 0.9, "{w}");
    }
}

#[test]
fn file_sink_appends_the_same_events_as_stdout() {
    let dir = tempdir();
    let video = dir.path().join("t.mp4");
    synth_video(&video, 160, 120, 2, 23);
    let log = dir.path().join("events.jsonl");
    std::fs::write(&log, "").unwrap();
    let sinks =
        format!("[[sinks]]\ntype = \"stdout\"\n\n[[sinks]]\ntype = \"file\"\npath = \"{}\"\n", log.display());
    let p = pipeline(dir.path(), &video, "modes = [\"windows\", \"actions\"]", &sinks);
    for _ in 0..2 {
        let out = actiond(&["run", p.to_str().unwrap()]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let once = events(&actiond(&["run", p.to_str().unwrap()]));
    let text = std::fs::read_to_string(&log).unwrap();
    let logged: Vec<Value> = text.lines().map(parse_event).collect();
    // Three runs appended; compare without the wall-clock times of status events.
    let strip = |v: &Value| {
        let mut v = v.clone();
        v.as_object_mut().unwrap().remove("time_utc");
        v
    };
    assert_eq!(logged.len(), 3 * once.len());
    for (a, b) in logged[2 * once.len()..].iter().zip(&once) {
        assert_eq!(strip(a), strip(b));
    }
}

#[test]
fn library_example_runs_a_pipeline() {
    let dir = tempdir();
    let video = dir.path().join("t.mp4");
    synth_video(&video, 160, 120, 2, 24);
    let p = pipeline(dir.path(), &video, "modes = [\"windows\", \"actions\"]", "");
    // `cargo test` builds the examples next to the binaries.
    let example = Path::new(BIN).parent().unwrap().join("examples/watch");
    let out = std::process::Command::new(&example).arg(&p).output().expect("the example was built");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("t stream_up\n"), "{text}");
    assert!(text.contains("t window 0 [0.00s, 0.40s)"), "{text}");
    assert!(text.contains(" started at ") && text.contains(" ended at "), "{text}");
    assert!(text.trim_end().ends_with("windows"), "{text}");
}

#[test]
fn library_pipeline_can_be_stopped_and_delivers_every_window_it_cut() {
    let dir = tempdir();
    let video = dir.path().join("t.mp4");
    synth_video(&video, 320, 240, 8, 25);
    let p = pipeline(dir.path(), &video, "", "");
    let (running, events) = actiond::Pipeline::from_file(&p).unwrap().start_with_channel(4).unwrap();
    let mut windows = 0u64;
    let mut kinds = Vec::new();
    for event in events.iter() {
        if let actiond::Event::Window(w) = &event {
            assert_eq!(w.window, windows, "in order");
            windows += 1;
            if windows == 20 {
                running.stop();
            }
        }
        kinds.push(event.kind());
    }
    let report = running.wait().unwrap();
    assert_eq!(report.output.windows, windows, "every classified window was delivered");
    assert_eq!(report.streams[0].windows, windows, "every window cut was classified");
    assert!((20..100).contains(&windows), "stopped early: {windows}");
    assert_eq!(kinds.first(), Some(&"stream_up"));
    assert_eq!(kinds.last(), Some(&"stream_end"));
}

#[test]
fn a_failing_sink_does_not_stop_the_others() {
    let dir = tempdir();
    let video = dir.path().join("t.mp4");
    synth_video(&video, 160, 120, 2, 26);
    // Every write to /dev/full fails with "no space left on device".
    let sinks = "[[sinks]]\ntype = \"file\"\npath = \"/dev/full\"\n\n[[sinks]]\ntype = \"stdout\"\n";
    let out = actiond(&["run", pipeline(dir.path(), &video, "", sinks).to_str().unwrap()]);
    let windows = events(&out).iter().filter(|e| e["type"] == "window").count();
    assert!(windows > 20, "stdout got every window despite the broken file sink: {windows}");
    let err = stderr(&out);
    assert!(err.contains("/dev/full") && err.contains("Sink error"), "{err}");
    assert_clean_failure(&out, "sink errors");
}

#[test]
fn a_sinks_types_give_it_only_those_events_and_a_wrong_type_is_named() {
    let dir = tempdir();
    let video = dir.path().join("t.mp4");
    synth_video(&video, 160, 120, 3, 24);
    let actions = dir.path().join("actions.jsonl");
    let sinks = format!(
        "[[sinks]]\ntype = \"stdout\"\n\n[[sinks]]\ntype = \"file\"\npath = \"{}\"\ntypes = [\"action_start\", \"action_end\", \"stream_end\"]\n",
        actions.display()
    );
    let p = pipeline(dir.path(), &video, "modes = [\"windows\", \"actions\"]", &sinks);
    let out = actiond(&["run", p.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let everything = events(&out);
    let wanted = ["action_start", "action_end", "stream_end"];
    let expected: Vec<&Value> =
        everything.iter().filter(|e| wanted.iter().any(|t| e["type"] == *t)).collect();
    assert!(expected.iter().any(|e| e["type"] == "action_end"), "the video has actions: {everything:?}");
    assert!(everything.iter().any(|e| e["type"] == "window"), "stdout still gets every event");
    let filtered: Vec<Value> = std::fs::read_to_string(&actions).unwrap().lines().map(parse_event).collect();
    assert_eq!(filtered.iter().collect::<Vec<_>>(), expected, "the file gets exactly those types, in order");

    let bad = std::fs::read_to_string(&p).unwrap().replace("\"action_end\"", "\"action_stop\"");
    let bad = write_pipeline(dir.path(), "bad.toml", &bad);
    let out = actiond(&["validate", bad.to_str().unwrap()]);
    assert_clean_failure(&out, "action_stop");
    assert_eq!(out.status.code(), Some(3), "a configuration error");
    assert!(stderr(&out).contains("action_end"), "the error lists the types: {}", stderr(&out));
}
