//! `actiond dataset`: labelled videos (a folder per class, a segments CSV) into training
//! windows through the daemon's own source and ring, split by video; bad data named by file and
//! line with nothing written; and train/serve parity: the extracted bytes are those `actiond run`
//! hands the model.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::util::*;

/// Exit code of `actiond dataset` for bad labelled data.
const DATA_EXIT: i32 = 5;

/// A pipeline with the default head: windows of 10 frames every 5, 64×64.
fn demo_pipeline(dir: &Path) -> PathBuf {
    let text = format!(
        "{}\n[window]\nstride = 5\n\n[[streams]]\nid = \"unused\"\nuri = \"unused.mp4\"\n",
        demo_model_table()
    );
    write_pipeline(dir, "demo.toml", &text)
}

pub(super) fn dataset(pipeline: &Path, args: &[&str]) -> Output {
    let mut all = vec!["dataset", pipeline.to_str().unwrap()];
    all.extend(args);
    actiond(&all)
}

/// One row of a dataset's index.csv.
pub(super) struct Row {
    pub(super) video: String,
    pub(super) first_frame: u64,
    pub(super) last_frame: u64,
    pub(super) label: String,
    pub(super) split: String,
}

pub(super) fn index(dir: &Path) -> Vec<Row> {
    let mut reader = csv::Reader::from_path(dir.join("index.csv")).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(
        header,
        ["window", "video", "first_frame", "last_frame", "start_s", "end_s", "label", "split"]
    );
    reader
        .records()
        .enumerate()
        .map(|(i, r)| {
            let r = r.unwrap();
            assert_eq!(r[0].parse::<usize>().unwrap(), i);
            Row {
                video: r[1].to_owned(),
                first_frame: r[2].parse().unwrap(),
                last_frame: r[3].parse().unwrap(),
                label: r[6].to_owned(),
                split: r[7].to_owned(),
            }
        })
        .collect()
}

pub(super) fn npy_shape(path: &Path) -> Vec<u64> {
    let file = std::io::BufReader::new(std::fs::File::open(path).unwrap());
    npyz::NpyFile::new(file).unwrap().shape().to_vec()
}

/// The label of every frame of a synthetic video, from its truth.
fn frame_labels(truth: &Value) -> Vec<String> {
    let mut labels = Vec::new();
    for s in truth["segments"].as_array().unwrap() {
        for _ in s["start_frame"].as_u64().unwrap()..s["end_frame"].as_u64().unwrap() {
            labels.push(s["label"].as_str().unwrap().to_owned());
        }
    }
    labels
}

/// `(first_frame, label)` of the windows of 10 every 5 whose frames all carry one label in
/// `labelled` (a frame's label, or None where the data leaves it unlabelled).
fn expected_windows(labelled: &[Option<String>]) -> Vec<(u64, String)> {
    (0..)
        .map(|i| i * 5)
        .take_while(|first| first + 10 <= labelled.len())
        .filter_map(|first| {
            let span = &labelled[first..first + 10];
            let label = span[0].clone()?;
            span.iter().all(|l| l.as_deref() == Some(label.as_str())).then_some((first as u64, label))
        })
        .collect()
}

fn windows_by_video(rows: &[Row]) -> BTreeMap<String, Vec<(u64, String)>> {
    let mut by: BTreeMap<String, Vec<(u64, String)>> = BTreeMap::new();
    for r in rows {
        assert_eq!(r.last_frame, r.first_frame + 9, "a file's windows have no padding here");
        by.entry(r.video.clone()).or_default().push((r.first_frame, r.label.clone()));
    }
    by
}

/// Two labelled videos under `dir/data/x/` (a split by video needs two): a bouncing ball of 47
/// frames at 100×60, and a synthetic `grow`.
pub(super) fn labelled_videos(dir: &Path) -> [PathBuf; 2] {
    let videos = [dir.join("data/x/a.mp4"), dir.join("data/x/b.mp4")];
    std::fs::create_dir_all(videos[0].parent().unwrap()).unwrap();
    gst_video(
        &videos[0],
        "videotestsrc num-buffers=47 pattern=ball ! video/x-raw,width=100,height=60,framerate=25/1 \
         ! videoconvert ! video/x-raw,format=I420 ! x264enc ! mp4mux ! filesink name=sink",
    );
    synth_actions(&videos[1], 100, 60, &["grow"], 5);
    videos
}

#[test]
fn folders_and_segments_give_exact_windows_labels_and_a_split_by_video() {
    let dir = tempdir();
    let p = demo_pipeline(dir.path());
    let mut expected: BTreeMap<String, Vec<(u64, String)>> = BTreeMap::new();
    let path_of = |p: PathBuf| p.to_string_lossy().into_owned();
    for (i, label) in ["move_left", "move_right", "still"].iter().enumerate() {
        for k in 0..3 {
            let video = dir.path().join(format!("data/{label}/{k}.mp4"));
            let truth = synth_actions(&video, 96, 72, &[label], 10 * i as u64 + k);
            let frames = frame_labels(&truth).into_iter().map(Some).collect::<Vec<_>>();
            expected.insert(path_of(video), expected_windows(&frames));
        }
    }
    // Two long videos; only their blink and shrink segments are labelled.
    let mut csv = String::from("video,start_s,end_s,label\n");
    let mut long_truths = Vec::new();
    for (k, actions) in [["blink", "grow", "shrink"], ["shrink", "grow", "blink"]].iter().enumerate() {
        let video = dir.path().join(format!("long/{k}.mp4"));
        let truth = synth_actions(&video, 96, 72, actions, 50 + k as u64);
        for s in truth["segments"].as_array().unwrap().iter().filter(|s| s["label"] != "grow") {
            let seconds = |key: &str| s[key].as_u64().unwrap() as f64 / 25.0;
            csv.push_str(&format!(
                "{k}.mp4,{},{},{}\n",
                seconds("start_frame"),
                seconds("end_frame"),
                s["label"].as_str().unwrap()
            ));
        }
        long_truths.push((path_of(video), truth));
    }
    std::fs::write(dir.path().join("long/segments.csv"), &csv).unwrap();
    let held_out = dir.path().join("held/still/h.mp4");
    let held_truth = synth_actions(&held_out, 96, 72, &["still"], 99);
    let out = dir.path().join("ds");
    let args = |out: &Path, gap: Option<&str>| -> Vec<String> {
        let under = |p: &str| dir.path().join(p).to_string_lossy().into_owned();
        let mut a = vec!["--data".to_owned(), under("data"), "--data".into(), under("long/segments.csv")];
        a.extend(["--test".to_owned(), under("held"), "--seed".into(), "3".into()]);
        a.extend(["--out".to_owned(), out.to_string_lossy().into_owned()]);
        if let Some(gap) = gap {
            a.extend(["--gap-label".to_owned(), gap.to_owned()]);
        }
        a
    };
    let run = |a: Vec<String>| dataset(&p, &a.iter().map(String::as_str).collect::<Vec<_>>());
    let result = run(args(&out, None));
    assert!(result.status.success(), "{}", stderr(&result));

    let mut want = expected.clone();
    for (video, truth) in &long_truths {
        let frames: Vec<Option<String>> =
            frame_labels(truth).into_iter().map(|l| (l != "grow").then_some(l)).collect();
        want.insert(video.clone(), expected_windows(&frames));
    }
    let held_frames = frame_labels(&held_truth).into_iter().map(Some).collect::<Vec<_>>();
    want.insert(path_of(held_out.clone()), expected_windows(&held_frames));
    let rows = index(&out);
    assert_eq!(windows_by_video(&rows), want, "every window, its frames and its label");
    assert_eq!(npy_shape(&out.join("windows.npy")), vec![rows.len() as u64, 10, 64, 64, 3]);
    assert_eq!(
        std::fs::read_to_string(out.join("labels.txt")).unwrap(),
        "blink\nmove_left\nmove_right\nshrink\nstill\n"
    );

    // The split is by video: a video's windows are all on one side; each label has videos on
    // both sides (one of its three folder videos, one of the two long ones, for validation).
    let mut side: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for r in &rows {
        side.entry(&r.video).or_default().insert(&r.split);
    }
    assert!(side.values().all(|s| s.len() == 1), "{side:?}");
    let side_of = |v: &str| *side[v].iter().next().unwrap();
    assert_eq!(side_of(&path_of(held_out.clone())), "test");
    for label in ["move_left", "move_right", "still"] {
        let sides: Vec<&str> =
            (0..3).map(|k| side_of(&path_of(dir.path().join(format!("data/{label}/{k}.mp4"))))).collect();
        assert_eq!(sides.iter().filter(|s| **s == "val").count(), 1, "{label}: {sides:?}");
        assert_eq!(sides.iter().filter(|s| **s == "train").count(), 2, "{label}: {sides:?}");
    }
    let long_sides: BTreeSet<&str> = long_truths.iter().map(|(v, _)| side_of(v)).collect();
    assert_eq!(long_sides, BTreeSet::from(["train", "val"]));
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("dataset.json")).unwrap()).unwrap();
    assert_eq!(manifest["format"], "actiond-dataset/1");
    assert_eq!(manifest["windows"]["shape"][0], rows.len());
    assert_eq!(manifest["window"]["length"], 10);
    let still = manifest["split"].as_array().unwrap().iter().find(|r| r["label"] == "still").unwrap();
    assert_eq!(
        (
            still["train"]["videos"].as_u64(),
            still["val"]["videos"].as_u64(),
            still["test"]["videos"].as_u64()
        ),
        (Some(2), Some(1), Some(1))
    );
    assert!(stdout(&result).contains("| still | 2 |"), "{}", stdout(&result));

    // Same seed, same data: the same dataset; --force replaces it.
    let again = run([args(&out, None), vec!["--force".into()]].concat());
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(windows_by_video(&index(&out)), want);
    let sides_again: Vec<String> = index(&out).into_iter().map(|r| r.split).collect();
    assert_eq!(sides_again, rows.iter().map(|r| r.split.clone()).collect::<Vec<_>>());

    // A gap label names the unlabelled time: the grow segments' windows come back as it.
    let gap_out = dir.path().join("gap");
    let with_gap = run(args(&gap_out, Some("background")));
    assert!(with_gap.status.success(), "{}", stderr(&with_gap));
    for (video, truth) in &long_truths {
        let frames: Vec<Option<String>> = frame_labels(truth)
            .into_iter()
            .map(|l| Some(if l == "grow" { "background".to_owned() } else { l }))
            .collect();
        want.insert(video.clone(), expected_windows(&frames));
    }
    assert_eq!(windows_by_video(&index(&gap_out)), want);
}

#[test]
fn extracted_windows_are_the_bytes_run_hands_the_model() {
    // The probe model returns its input: the "probabilities" of a window event are the values
    // actiond fed it (bytes / 255). Letterboxing, frame_step, stride and a padded tail all count.
    let dir = tempdir();
    let labels: String = (0..576).map(|i| format!("v{i:03}\n")).collect();
    std::fs::write(dir.path().join("probe.txt"), labels).unwrap();
    // 47 frames: 24 sampled at frame_step 2, so 7 windows of 4 every 3 and a padded tail.
    let videos = labelled_videos(dir.path());
    let text = format!(
        "[model]\npath = \"{}\"\nlabels = \"probe.txt\"\noutput = \"probabilities\"\n\n\
         [window]\nstride = 3\nframe_step = 2\ntail = \"pad\"\n\n[source]\nresize = \"letterbox\"\n\n\
         [output]\ntop_k = 576\n\n[events]\nmodes = [\"windows\"]\n\n[[streams]]\nid = \"a\"\nuri = \"{}\"\n",
        fixture("pixels_probe.onnx").display(),
        videos[0].display()
    );
    let p = write_pipeline(dir.path(), "probe.toml", &text);
    let run = actiond(&["run", p.to_str().unwrap()]);
    assert!(run.status.success(), "{}", stderr(&run));
    let served = windows(&run);
    let out = dir.path().join("ds");
    let extracted =
        dataset(&p, &["--data", dir.path().join("data").to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(extracted.status.success(), "{}", stderr(&extracted));
    let rows: Vec<Row> = index(&out).into_iter().filter(|r| Path::new(&r.video) == videos[0]).collect();
    assert_eq!(rows.len(), served.len(), "one extracted window per served window");
    assert_eq!(served.len(), 8);
    assert_eq!(served.last().unwrap()["padded"], 1, "the tail window is padded");
    let file = std::io::BufReader::new(std::fs::File::open(out.join("windows.npy")).unwrap());
    let npy = npyz::NpyFile::new(file).unwrap();
    let shape = npy.shape().to_vec();
    assert_eq!(&shape[1..], &[4, 8, 6, 3]);
    let bytes: Vec<u8> = npy.into_vec().unwrap();
    let all_rows = index(&out);
    for (event, row) in served.iter().zip(&rows) {
        assert_eq!(
            (event["first_frame"].as_u64().unwrap(), event["last_frame"].as_u64().unwrap()),
            (row.first_frame, row.last_frame)
        );
        let mut fed = vec![0u8; 576];
        for entry in event["top_k"].as_array().unwrap() {
            let i: usize = entry["label"].as_str().unwrap()[1..].parse().unwrap();
            let value = entry["score"].as_f64().unwrap() * 255.0;
            assert!((value - value.round()).abs() < 1e-3, "not a byte: {value}");
            fed[i] = value.round() as u8;
        }
        let n =
            all_rows.iter().position(|r| r.video == row.video && r.first_frame == row.first_frame).unwrap();
        assert_eq!(&bytes[n * 576..(n + 1) * 576], &fed[..], "window at frame {}", row.first_frame);
    }
    // Letterboxing left black rows: the comparison saw both borders and picture.
    assert!(bytes.contains(&0) && bytes.iter().any(|&b| b > 100));
}

/// Asserts a failed dataset run: the data exit code, each `culprit` named, and no output (nor
/// a hidden partial folder) left behind.
fn assert_refused(result: &Output, dir: &Path, out: &Path, culprits: &[&str]) {
    let err = stderr(result);
    assert_eq!(result.status.code(), Some(DATA_EXIT), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    for culprit in culprits {
        assert!(err.contains(culprit), "does not name `{culprit}`:\n{err}");
    }
    assert!(!out.exists(), "no dataset is written");
    let litter: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains("partial"))
        .collect();
    assert!(litter.is_empty(), "{litter:?}");
}

#[test]
fn bad_data_is_named_by_file_and_line_and_nothing_is_written() {
    let dir = tempdir();
    let p = demo_pipeline(dir.path());
    let d = dir.path();
    let s = |p: &Path| p.to_string_lossy().into_owned();
    for (label, k, seed) in [("wave", 0, 1), ("wave", 1, 2), ("clap", 0, 3), ("clap", 1, 4)] {
        synth_actions(&d.join(format!("data/{label}/{k}.mp4")), 96, 72, &["blink"], seed);
    }
    let out = d.join("ds");
    let o = s(&out);
    // An unreadable video among good ones: named, and with --skip-bad left out and listed.
    std::fs::write(d.join("data/clap/broken.mp4"), b"this is not a video at all").unwrap();
    let r = dataset(&p, &["--data", &s(&d.join("data")), "--out", &o]);
    assert_refused(&r, d, &out, &["data/clap", "broken.mp4"]);
    let r = dataset(&p, &["--data", &s(&d.join("data")), "--out", &o, "--skip-bad"]);
    assert!(r.status.success(), "{}", stderr(&r));
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("dataset.json")).unwrap()).unwrap();
    assert!(manifest["skipped"][0]["video"].as_str().unwrap().ends_with("broken.mp4"), "{manifest}");
    assert!(index(&out).iter().all(|r| !r.video.ends_with("broken.mp4")));
    assert_eq!(index(&out).len(), manifest["windows"]["shape"][0].as_u64().unwrap() as usize);
    std::fs::remove_file(d.join("data/clap/broken.mp4")).unwrap();
    // An existing dataset is kept unless --force.
    let r = dataset(&p, &["--data", &s(&d.join("data")), "--out", &o]);
    assert!(!r.status.success() && stderr(&r).contains("exists already"), "{}", stderr(&r));
    assert!(out.join("windows.npy").is_file(), "the old dataset is untouched");
    std::fs::remove_dir_all(&out).unwrap();

    // A label with one video, and an empty class folder, named at once.
    synth_actions(&d.join("more/solo/only.mp4"), 96, 72, &["grow"], 5);
    std::fs::create_dir_all(d.join("more/nothing")).unwrap();
    let r = dataset(&p, &["--data", &s(&d.join("data")), "--data", &s(&d.join("more")), "--out", &o]);
    assert_refused(
        &r,
        d,
        &out,
        &[
            "label `solo` has only one video",
            "only.mp4",
            "more/nothing: class folder `nothing` holds no videos",
        ],
    );
    std::fs::remove_dir_all(d.join("more")).unwrap();

    // Segments: overlapping with different labels names both lines; past the end of the video
    // names its line (found when the video is decoded).
    let csv = d.join("data/../segments.csv");
    std::fs::write(&csv, "video,start_s,end_s,label\ndata/wave/0.mp4,0,1.5,wave\ndata/wave/0.mp4,1.0,1.8,clap\ndata/clap/0.mp4,0,1,clap\ndata/wave/1.mp4,0,1,wave\ndata/clap/1.mp4,0,1,clap\n").unwrap();
    let r = dataset(&p, &["--data", &s(&csv), "--out", &o]);
    assert_refused(
        &r,
        d,
        &out,
        &["segments.csv line 3: segment 1–1.8 s `clap` overlaps", "segments.csv line 2 (0–1.5 s `wave`)"],
    );
    std::fs::write(&csv, "video,start_s,end_s,label\ndata/wave/0.mp4,0,1.5,wave\ndata/clap/0.mp4,0,1,clap\ndata/wave/1.mp4,0.5,99,wave\ndata/clap/1.mp4,0,1,clap\n").unwrap();
    let r = dataset(&p, &["--data", &s(&csv), "--out", &o]);
    assert_refused(&r, d, &out, &["segments.csv line 4: segment 0.5–99 s `wave` ends after its video"]);

    // A test video that is also training data, and a test label training never saw.
    synth_actions(&d.join("held/jump/j.mp4"), 96, 72, &["grow"], 6);
    let r = dataset(
        &p,
        &[
            "--data",
            &s(&d.join("data")),
            "--test",
            &s(&d.join("data")),
            "--test",
            &s(&d.join("held")),
            "--out",
            &o,
        ],
    );
    assert_refused(
        &r,
        d,
        &out,
        &["is also in the training data", "label `jump` is not in the training data"],
    );
}
