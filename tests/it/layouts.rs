//! A PyTorch-layout model with logits output and dynamic, odd frame sizes, run end to end on
//! real encoded video: checks layout handling, row strides, softmax and window arithmetic.

use crate::util::*;

/// Red for 8 frames, then blue for 8 frames (`util::red_then_blue`).
fn red_then_blue_in(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("rb.mkv");
    red_then_blue(&path);
    path
}

fn pipeline(
    dir: &std::path::Path,
    video: &std::path::Path,
    extra_model: &str,
    window: &str,
) -> std::path::PathBuf {
    write_pipeline(
        dir,
        "p.toml",
        &format!(
            "[model]\npath = \"{}\"\nlabels = \"{}\"\nheight = 15\nwidth = 13\n{extra_model}\n[window]\n{window}\n\n[[streams]]\nid = \"rb\"\nuri = \"{}\"\n",
            fixture("mean_color_ncthw.onnx").display(),
            fixture("rgb_labels.txt").display(),
            video.display()
        ),
    )
}

#[test]
fn ncthw_logits_model_labels_each_half_and_times_are_exact() {
    let dir = tempdir();
    let video = red_then_blue_in(dir.path());
    let out = actiond(&["run", pipeline(dir.path(), &video, "", "stride = 2").to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let events = windows(&out);
    // 16 frames, T = 4, stride 2: windows start at 0, 2, ..., 12.
    assert_eq!(events.len(), 7);
    for (i, e) in events.iter().enumerate() {
        let first = 2 * i as u64;
        assert_eq!(e["window"], i as u64);
        assert_eq!(e["first_frame"], first);
        assert_eq!(e["last_frame"], first + 3);
        assert!((e["start_s"].as_f64().unwrap() - first as f64 / 10.0).abs() < 1e-6, "{e}");
        assert!((e["end_s"].as_f64().unwrap() - (first + 4) as f64 / 10.0).abs() < 1e-6, "{e}");
        let sum: f64 = e["top_k"].as_array().unwrap().iter().map(|l| l["score"].as_f64().unwrap()).sum();
        assert!((sum - 1.0).abs() < 1e-4, "softmax applied to the logits: {e}");
    }
    let labels: Vec<&str> = events.iter().map(|e| e["label"].as_str().unwrap()).collect();
    // Windows 0–2 lie in the red half, 3 straddles (2 red + 2 blue: a tie broken by order), 4–6 blue.
    assert_eq!(&labels[..3], ["red", "red", "red"]);
    assert_eq!(&labels[4..], ["blue", "blue", "blue"]);
    // Solid red through the whole window: mean 1 → logits [3, -1, -1].
    let expected = 3f64.exp() / (3f64.exp() + 2.0 * (-1f64).exp());
    assert!((events[0]["score"].as_f64().unwrap() - expected).abs() < 0.01, "{}", events[0]);
}

#[test]
fn bgr_channel_order_swaps_red_and_blue() {
    let dir = tempdir();
    let video = red_then_blue_in(dir.path());
    let out = actiond(&[
        "run",
        pipeline(dir.path(), &video, "channel_order = \"bgr\"", "stride = 4").to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let labels: Vec<String> = windows(&out).iter().map(|e| e["label"].as_str().unwrap().to_owned()).collect();
    assert_eq!(labels, ["blue", "blue", "red", "red"]);
}

#[test]
fn frame_step_and_padded_tail() {
    let dir = tempdir();
    let video = red_then_blue_in(dir.path());
    let p = pipeline(dir.path(), &video, "", "stride = 4\nframe_step = 3\ntail = \"pad\"");
    let out = actiond(&["run", p.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let events = windows(&out);
    // Sampled frames 0,3,6,9,12,15: one full window (0..9) and a padded one (12,15 + 2 repeats).
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!((events[0]["first_frame"].as_u64(), events[0]["last_frame"].as_u64()), (Some(0), Some(9)));
    assert_eq!((events[1]["first_frame"].as_u64(), events[1]["last_frame"].as_u64()), (Some(12), Some(15)));
    assert_eq!(events[1]["padded"], 2);
    assert_eq!(events[1]["label"], "blue");
}

#[test]
fn letterbox_adds_black_borders_that_lower_the_mean() {
    let dir = tempdir();
    let video = red_then_blue_in(dir.path());
    let stretch = actiond(&["run", pipeline(dir.path(), &video, "", "stride = 4").to_str().unwrap()]);
    let p = pipeline(dir.path(), &video, "", "stride = 4");
    let text = std::fs::read_to_string(&p)
        .unwrap()
        .replace("[[streams]]", "[source]\nresize = \"letterbox\"\n\n[[streams]]");
    std::fs::write(&p, text).unwrap();
    let letterbox = actiond(&["run", p.to_str().unwrap()]);
    assert!(letterbox.status.success(), "{}", stderr(&letterbox));
    let (s, l) = (windows(&stretch), windows(&letterbox));
    assert_eq!(s.len(), l.len());
    // 98×54 into 13×15 keeps the aspect ratio only with borders: less red on average.
    assert!(
        l[0]["label"] == "red" && l[0]["score"].as_f64() < s[0]["score"].as_f64(),
        "{} vs {}",
        l[0],
        s[0]
    );
}
