//! Bad input gets a clear error naming the culprit, a non-zero exit, and no panic.

use crate::util::*;

fn pipeline_for(
    dir: &std::path::Path,
    model: &str,
    labels: &str,
    uri: &str,
    extra: &str,
) -> std::path::PathBuf {
    write_pipeline(
        dir,
        "p.toml",
        &format!(
            "[model]\npath = \"{model}\"\nlabels = \"{labels}\"\nheight = 15\nwidth = 13\n{extra}\n\n[[streams]]\nid = \"cam\"\nuri = \"{uri}\"\n"
        ),
    )
}

fn green_video(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("green.mp4");
    gst_video(
        &path,
        "videotestsrc num-buffers=12 pattern=solid-color foreground-color=0xff00ff00 \
         ! video/x-raw,width=96,height=54,framerate=10/1 ! videoconvert ! video/x-raw,format=I420 \
         ! x264enc ! mp4mux ! filesink name=sink",
    );
    path
}

fn mean_color(dir: &std::path::Path, uri: &str, extra: &str) -> std::path::PathBuf {
    pipeline_for(
        dir,
        fixture("mean_color_ncthw.onnx").to_str().unwrap(),
        fixture("rgb_labels.txt").to_str().unwrap(),
        uri,
        extra,
    )
}

#[test]
fn missing_input_file() {
    let dir = tempdir();
    let out = actiond(&["run", mean_color(dir.path(), "no/such/video.mp4", "").to_str().unwrap()]);
    assert_clean_failure(&out, "cam");
    assert!(stderr(&out).contains("no/such/video.mp4"), "{}", stderr(&out));
}

#[test]
fn random_bytes_file() {
    let dir = tempdir();
    let junk = dir.path().join("junk.mp4");
    let bytes: Vec<u8> = (0..50_000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    std::fs::write(&junk, bytes).unwrap();
    let out = actiond(&["run", mean_color(dir.path(), junk.to_str().unwrap(), "").to_str().unwrap()]);
    assert_clean_failure(&out, "cam");
    assert!(stderr(&out).contains("junk.mp4"), "{}", stderr(&out));
    assert!(windows(&out).is_empty());
}

#[test]
fn truncated_file_keeps_the_windows_already_decoded() {
    let dir = tempdir();
    let video = dir.path().join("long.mp4");
    // Keyframe every 10 frames, no B-frames: the head of the file decodes on its own.
    gst_video(
        &video,
        "videotestsrc num-buffers=200 pattern=solid-color foreground-color=0xffff0000 \
         ! video/x-raw,width=96,height=54,framerate=25/1 ! videoconvert ! video/x-raw,format=I420 \
         ! x264enc key-int-max=10 bframes=0 ! matroskamux ! filesink name=sink",
    );
    let bytes = std::fs::read(&video).unwrap();
    let cut = dir.path().join("cut.mkv");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let out = actiond(&["run", mean_color(dir.path(), cut.to_str().unwrap(), "").to_str().unwrap()]);
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
    let events = windows(&out);
    // Whether the demuxer reports the cut as an error or as an early end, the windows of the
    // frames before it come out, in order, and fewer than the whole file would give.
    assert!(!events.is_empty() && events.len() < 100, "{} events\n{err}", events.len());
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["window"], i as u64);
        assert_eq!(e["label"], "red");
    }
}

#[test]
fn model_with_unsupported_input_shape() {
    let dir = tempdir();
    let video = green_video(dir.path());
    let p = pipeline_for(
        dir.path(),
        fixture("image_model.onnx").to_str().unwrap(),
        fixture("rgb_labels.txt").to_str().unwrap(),
        video.to_str().unwrap(),
        "",
    );
    let out = actiond(&["run", p.to_str().unwrap()]);
    assert_clean_failure(&out, "image_model.onnx");
    let err = stderr(&out);
    assert!(err.contains("[?,64,64,3]") && err.contains("[N,T,H,W,3]"), "{err}");
    assert_eq!(out.status.code(), Some(4));
}

#[test]
fn labels_file_with_the_wrong_count() {
    let dir = tempdir();
    let video = green_video(dir.path());
    let labels = dir.path().join("two.txt");
    std::fs::write(&labels, "red\ngreen\n").unwrap();
    let p = pipeline_for(
        dir.path(),
        fixture("mean_color_ncthw.onnx").to_str().unwrap(),
        labels.to_str().unwrap(),
        video.to_str().unwrap(),
        "",
    );
    let out = actiond(&["validate", p.to_str().unwrap()]);
    assert_clean_failure(&out, "two.txt");
    assert!(stderr(&out).contains("3 classes") && stderr(&out).contains("2 labels"), "{}", stderr(&out));
    assert_eq!(out.status.code(), Some(4));
}

#[test]
fn unknown_config_key() {
    let dir = tempdir();
    let p = mean_color(dir.path(), "v.mp4", "colour_order = \"bgr\"");
    let out = actiond(&["validate", p.to_str().unwrap()]);
    assert_clean_failure(&out, "colour_order");
    assert!(stderr(&out).contains(p.to_str().unwrap()), "{}", stderr(&out));
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn wrong_config_type() {
    let dir = tempdir();
    let p = mean_color(dir.path(), "v.mp4", "scale = \"tiny\"");
    let out = actiond(&["run", p.to_str().unwrap()]);
    assert_clean_failure(&out, "scale");
    assert!(stderr(&out).contains(p.to_str().unwrap()), "{}", stderr(&out));
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn missing_onnxruntime_library_says_what_was_tried() {
    let dir = tempdir();
    let p = mean_color(dir.path(), "v.mp4", "");
    let out = actiond_with_env(
        &["validate", p.to_str().unwrap()],
        &[("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so")],
    );
    assert_clean_failure(&out, "/nonexistent/libonnxruntime.so");
    assert!(stderr(&out).contains("ORT_DYLIB_PATH"), "{}", stderr(&out));
}

#[test]
fn one_bad_stream_does_not_stop_the_others() {
    let dir = tempdir();
    let video = green_video(dir.path());
    let p = mean_color(dir.path(), video.to_str().unwrap(), "");
    let text =
        std::fs::read_to_string(&p).unwrap() + "\n[[streams]]\nid = \"broken\"\nuri = \"missing.mp4\"\n";
    std::fs::write(&p, text).unwrap();
    let out = actiond(&["run", p.to_str().unwrap()]);
    assert_clean_failure(&out, "broken");
    let events = windows(&out);
    assert_eq!(events.len(), 5, "12 frames, T=4, stride 2: windows at 0, 2, 4, 6, 8");
    assert!(events.iter().all(|e| e["stream"] == "cam" && e["label"] == "green"));
}
