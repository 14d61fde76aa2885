//! `validate`, `inspect-model` and environment overrides.

use crate::util::*;

fn pipeline(dir: &std::path::Path) -> std::path::PathBuf {
    let video = dir.join("v.mp4");
    std::fs::write(&video, b"not checked by validate beyond existence").unwrap();
    write_pipeline(
        dir,
        "p.toml",
        &format!(
            "[model]\npath = \"{}\"\nlabels = \"{}\"\nheight = 16\nwidth = 16\n\n[[streams]]\nid = \"a\"\nuri = \"v.mp4\"\n",
            fixture("mean_color_ncthw.onnx").display(),
            fixture("rgb_labels.txt").display()
        ),
    )
}

#[test]
fn validate_reports_the_resolved_geometry() {
    let dir = tempdir();
    let out = actiond(&["validate", pipeline(dir.path()).to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("windows of 4 frames every 2") && text.contains("3 classes"), "{text}");
}

#[test]
fn environment_overrides_a_key() {
    let dir = tempdir();
    let out = actiond_with_env(
        &["validate", pipeline(dir.path()).to_str().unwrap()],
        &[("ACTIOND__WINDOW__STRIDE", "3")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("every 3"), "{}", stdout(&out));
}

#[test]
fn validate_rejects_a_window_length_the_model_cannot_take() {
    let dir = tempdir();
    let out = actiond_with_env(
        &["validate", pipeline(dir.path()).to_str().unwrap()],
        &[("ACTIOND__WINDOW__LENGTH", "9")],
    );
    assert_clean_failure(&out, "window.length");
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn validate_names_a_missing_input() {
    let dir = tempdir();
    let p = pipeline(dir.path());
    std::fs::remove_file(dir.path().join("v.mp4")).unwrap();
    let out = actiond(&["validate", p.to_str().unwrap()]);
    assert_clean_failure(&out, "v.mp4");
}

#[test]
fn inspect_model_prints_layout_sizes_classes_and_opset() {
    let out = actiond(&["inspect-model", fixture("mean_color_ncthw.onnx").to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for needle in ["NCTHW", "T=4 H=dynamic W=dynamic", "classes  3", "ai.onnx 18", "clip float32 [?,3,4,?,?]"]
    {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

#[test]
fn inspect_model_names_the_parts_of_a_two_stage_model() {
    for (file, needles) in [
        ("gap_grid_lstm.encoder.onnx", vec!["encoder of a two-stage model", "H=64 W=64", "embedding D=256"]),
        ("gap_grid_lstm.head.onnx", vec!["temporal head of a two-stage model", "T=10 D=256", "classes  8"]),
    ] {
        let out = actiond(&["inspect-model", model(file).to_str().unwrap()]);
        assert!(out.status.success(), "{file}: {}", stderr(&out));
        let text = stdout(&out);
        for needle in needles {
            assert!(text.contains(needle), "{file}: missing {needle:?} in:\n{text}");
        }
    }
}

#[test]
fn validate_names_both_files_of_a_two_stage_model() {
    let dir = tempdir();
    // validate checks that inputs exist; it does not decode them.
    let p = pair_pipeline(
        dir.path(),
        "pair.toml",
        "gap_lstm.encoder.onnx",
        "gap_lstm.head.onnx",
        &fixture("reference_clip.rgb"),
    );
    let out = actiond(&["validate", p.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("gap_lstm.encoder.onnx + head") && text.contains("gap_lstm.head.onnx"), "{text}");
    assert!(text.contains("D=64") && text.contains("windows of 10 frames every 5"), "{text}");
}

/// Regression: a missing `ca_file` passed `validate` and failed `run` with exit 1, and an unset
/// MQTT `password_env` was not checked at load (unlike RTSP's).
#[test]
fn validate_refuses_what_run_would_refuse_in_a_sink() {
    let dir = tempdir();
    let base = std::fs::read_to_string(pipeline(dir.path())).unwrap();
    let cases = [
        ("url = \"mqtts://127.0.0.1:8883\"\nca_file = \"no-such-ca.pem\"", "no-such-ca.pem"),
        (
            "url = \"mqtt://127.0.0.1:1883\"\nuser = \"u\"\npassword_env = \"ACTIOND_TEST_UNSET\"",
            "ACTIOND_TEST_UNSET",
        ),
        ("url = \"mqtt://127.0.0.1:port\"", "bad port"),
    ];
    for (sink, culprit) in cases {
        let text = base.replace("[[streams]]", &format!("[[sinks]]\ntype = \"mqtt\"\n{sink}\n\n[[streams]]"));
        let path = write_pipeline(dir.path(), "sink.toml", &text);
        for command in ["validate", "run"] {
            let out = actiond(&[command, path.to_str().unwrap()]);
            assert_clean_failure(&out, culprit);
            assert_eq!(out.status.code(), Some(3), "{command} {sink}: {}", stderr(&out));
        }
    }
}

/// Regression: only `PipelineConfig::load` read passwords, so a configuration made or changed in
/// code (a library user's) ran its cameras with no password at all.
#[test]
fn a_password_set_in_code_reaches_the_camera_settings() {
    let dir = tempdir();
    let mut config = actiond::config::PipelineConfig::load(&pipeline(dir.path())).unwrap();
    config.streams[0].uri = "rtsp://127.0.0.1:9/cam".into();
    config.streams[0].rtsp.password = Some("s3cret".into());
    let pipeline = actiond::Pipeline::from_config(config).unwrap();
    let rtsp = pipeline.plan().streams[0].options.rtsp.as_ref().expect("an RTSP stream is live");
    assert_eq!(rtsp.password.as_ref().map(|p| p.expose()), Some("s3cret"));
}

#[test]
fn version_names_the_gstreamer_and_onnx_runtime_found_at_run_time() {
    let out = actiond(&["--version"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with(&format!("actiond {}", env!("CARGO_PKG_VERSION"))), "{text}");
    assert!(text.contains("GStreamer 1."), "{text}");
    // The release scripts/setup.sh installs.
    assert!(text.contains("ONNX Runtime 1.31.1"), "{text}");
}

#[test]
fn help_names_exit_codes_environment_and_signals() {
    let out = actiond(&["--help"]);
    assert!(out.status.success());
    let text = stdout(&out);
    for needle in
        ["Exit codes:", "3  configuration error", "ACTIOND__<TABLE>__<KEY>", "ORT_DYLIB_PATH", "SIGHUP"]
    {
        assert!(text.contains(needle), "--help lacks {needle:?}:\n{text}");
    }
}
