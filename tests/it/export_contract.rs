//! The export contract of the training workflow: the pipeline file `models/fit.py` writes for a
//! trained head (through `models/pipeline_file.py`, standard-library Python, so no training stack
//! is needed here) loads with `actiond validate`, repeats the dataset's own window, frame and
//! preprocessing settings, and runs the head once its stream points at a video.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::*;

/// `actiond dataset` of two red and two blue 12-frame videos with `pipeline`.
fn dataset(dir: &Path, pipeline: &Path) -> PathBuf {
    let data = dir.join("data");
    for (label, argb) in [("red", "0xffff0000"), ("blue", "0xff0000ff")] {
        for i in 0..2 {
            solid(&data.join(format!("{label}/{i}.mkv")), 12, argb);
        }
    }
    let out = dir.join("ds");
    let run = actiond(&[
        "dataset",
        pipeline.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--val-fraction",
        "0.5",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    out
}

fn write_pipeline_for(dataset: &Path, model_args: &[&str], labels: &Path, out: &Path) {
    let mut command = Command::new("python3");
    command.arg(root().join("models/pipeline_file.py")).arg("--dataset").arg(dataset);
    command.args(model_args).arg("--labels").arg(labels).arg("--out").arg(out);
    let run = command.output().expect("python3 runs");
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
}

fn table(path: &Path) -> toml::Table {
    std::fs::read_to_string(path).unwrap().parse().unwrap()
}

#[test]
fn a_pipeline_written_for_a_trained_head_validates_and_keeps_the_dataset_settings() {
    let dir = tempdir();
    // A dynamic-size NCTHW model, BGR order and a frame step: settings a default would lose.
    let cutting = write_pipeline(
        dir.path(),
        "cut.toml",
        &format!(
            "{}\nchannel_order = \"bgr\"\nscale = 0.5\n\
             [window]\nstride = 3\nframe_step = 2\n[source]\nresize = \"letterbox\"\n\n[[streams]]\nid = \"unused\"\nuri = \"unused.mkv\"\n",
            mean_color_model_table()
        ),
    );
    let ds = dataset(dir.path(), &cutting);
    // The trained head lives beside its pipeline, as fit.py writes them.
    let heads = dir.path().join("heads");
    std::fs::create_dir_all(&heads).unwrap();
    std::fs::copy(fixture("mean_color_ncthw.onnx"), heads.join("head.onnx")).unwrap();
    std::fs::copy(fixture("rgb_labels.txt"), heads.join("labels.txt")).unwrap();
    let written = heads.join("head.toml");
    let model = heads.join("head.onnx");
    write_pipeline_for(&ds, &["--model", model.to_str().unwrap()], &heads.join("labels.txt"), &written);

    let check = actiond(&["validate", written.to_str().unwrap()]);
    assert!(check.status.success(), "{}\n{}", stderr(&check), std::fs::read_to_string(&written).unwrap());
    let t = table(&written);
    assert_eq!(t["model"]["path"].as_str(), Some("head.onnx"), "relative to the pipeline file");
    assert_eq!(t["model"]["channel_order"].as_str(), Some("bgr"));
    assert_eq!(t["model"]["scale"].as_float(), Some(0.5));
    assert_eq!((t["model"]["height"].as_integer(), t["model"]["width"].as_integer()), (Some(15), Some(13)));
    assert_eq!(t["window"]["length"].as_integer(), Some(4));
    assert_eq!(
        (t["window"]["stride"].as_integer(), t["window"]["frame_step"].as_integer()),
        (Some(3), Some(2))
    );
    assert_eq!(t["source"]["resize"].as_str(), Some("letterbox"));

    // Pointed at a video, it runs the head as the dataset's pipeline did: same windows, same labels.
    let video = dir.path().join("data/red/0.mkv");
    let text = std::fs::read_to_string(&written)
        .unwrap()
        .replace("rtsp://192.0.2.1/stream", video.to_str().unwrap());
    let pointed = write_pipeline(&heads, "pointed.toml", &text);
    let original = std::fs::read_to_string(&cutting).unwrap().replace("unused.mkv", video.to_str().unwrap());
    let original = write_pipeline(dir.path(), "original.toml", &original);
    let (a, b) =
        (actiond(&["run", pointed.to_str().unwrap()]), actiond(&["run", original.to_str().unwrap()]));
    assert!(a.status.success() && b.status.success(), "{}{}", stderr(&a), stderr(&b));
    let strip = |out: &std::process::Output| -> Vec<(u64, u64, String)> {
        windows(out)
            .iter()
            .map(|w| {
                (
                    w["first_frame"].as_u64().unwrap(),
                    w["last_frame"].as_u64().unwrap(),
                    w["label"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    assert_eq!(strip(&a), strip(&b));
    assert!(!strip(&a).is_empty());
}

#[test]
fn a_pipeline_written_for_an_encoder_head_pair_validates() {
    let dir = tempdir();
    let cutting = write_pipeline(
        dir.path(),
        "cut.toml",
        &format!(
            "{}\n[window]\nstride = 5\n\n[[streams]]\nid = \"unused\"\nuri = \"unused.mkv\"\n",
            demo_model_table()
        ),
    );
    let ds = dataset(dir.path(), &cutting);
    let written = dir.path().join("pair.toml");
    let (encoder, head) = (model("gap_grid_lstm.encoder.onnx"), model("gap_grid_lstm.head.onnx"));
    write_pipeline_for(
        &ds,
        &["--encoder", encoder.to_str().unwrap(), "--head", head.to_str().unwrap()],
        &root().join("models/labels.txt"),
        &written,
    );
    let check = actiond(&["validate", written.to_str().unwrap()]);
    assert!(check.status.success(), "{}\n{}", stderr(&check), std::fs::read_to_string(&written).unwrap());
    assert!(stdout(&check).contains("two-stage"), "{}", stdout(&check));
}
