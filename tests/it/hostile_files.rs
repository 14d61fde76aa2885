//! Odd and hostile files, each made here with real GStreamer encoders and read by the real
//! daemon: every frame gets its own time, the windows carry the right labels, a jump in the
//! input's clock is reported, and a file that cannot be read fails alone with a reason that
//! says what is wrong with it.

use std::path::Path;

use serde_json::Value;

use crate::util::*;

const RED: [u8; 3] = [255, 0, 0];
const BLUE: [u8; 3] = [0, 0, 255];

/// `actiond run` over one stream `cam` reading `uri` with the mean-colour model (T = 4),
/// stride 4, plus `stream_keys` in the stream's table; returns the events and stderr.
fn run_one(dir: &Path, uri: &str, stream_keys: &str) -> (Vec<Value>, String) {
    let p = mean_color_pipeline(dir, uri, "stride = 4");
    let text = std::fs::read_to_string(&p).unwrap() + stream_keys;
    std::fs::write(&p, text).unwrap();
    let out = actiond(&["run", p.to_str().unwrap()]);
    (events(&out), stderr(&out))
}

fn of_type<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

fn assert_times_never_go_back(windows: &[&Value]) {
    for pair in windows.windows(2) {
        let (a, b) = (pair[0]["start_s"].as_f64().unwrap(), pair[1]["start_s"].as_f64().unwrap());
        assert!(
            b >= a,
            "window {} starts at {b} s, before window {} ({a} s)",
            pair[1]["window"],
            pair[0]["window"]
        );
        assert!(pair[0]["end_s"].as_f64().unwrap() >= a);
    }
}

/// Windows lying wholly in frames `0..split` must say `first`, those wholly after say `second`.
fn assert_labels_split_at(windows: &[&Value], split: u64, first: &str, second: &str) {
    for w in windows {
        let (a, b) = (w["first_frame"].as_u64().unwrap(), w["last_frame"].as_u64().unwrap());
        if b < split {
            assert_eq!(w["label"], first, "{w}");
        } else if a >= split {
            assert_eq!(w["label"], second, "{w}");
        }
    }
}

fn ts_part(path: &Path, pattern: &str, size: &str, offset_ns: u64) {
    gst_video(
        path,
        &format!(
            "videotestsrc num-buffers=50 pattern={pattern} timestamp-offset={offset_ns} ! \
             video/x-raw,{size},format=I420,framerate=25/1 ! x264enc ! h264parse ! mpegtsmux ! filesink name=sink"
        ),
    );
}

/// Two MPEG-TS recordings joined byte for byte, as a recorder that restarts appends them.
fn spliced_ts(dir: &Path, first: (&str, &str, u64), second: (&str, &str, u64)) -> std::path::PathBuf {
    let (a, b, joined) = (dir.join("a.ts"), dir.join("b.ts"), dir.join("joined.ts"));
    ts_part(&a, first.0, first.1, first.2);
    ts_part(&b, second.0, second.1, second.2);
    let bytes = [std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap()].concat();
    std::fs::write(&joined, bytes).unwrap();
    joined
}

#[test]
fn a_file_that_changes_resolution_midway_gives_windows_of_both_parts() {
    let dir = tempdir();
    let video =
        spliced_ts(dir.path(), ("red", "width=320,height=240", 0), ("blue", "width=160,height=120", 0));
    let (events, err) = run_one(dir.path(), video.to_str().unwrap(), "");
    let end = of_type(&events, "stream_end");
    assert_eq!(end.len(), 1, "{err}");
    assert_eq!(end[0]["frames"], 100, "every frame of both parts is decoded");
    let windows = of_type(&events, "window");
    assert_eq!(windows.len(), 25, "(100 - 4) / 4 + 1 windows");
    assert_labels_split_at(&windows, 50, "red", "blue");
    assert_times_never_go_back(&windows);
    assert!(
        err.contains("The input's picture size changed.") && err.contains("from=320x240 to=160x120"),
        "{err}"
    );
}

#[test]
fn timestamps_jumping_forward_by_minutes_are_reported_between_the_windows() {
    let dir = tempdir();
    let video = dir.path().join("gap.mkv");
    let frame = 40_000_000u64;
    let gap = 180_000_000_000u64;
    let times: Vec<u64> = (0..40).map(|i| i * frame).chain((0..40).map(|i| gap + i * frame)).collect();
    frames_at_times(&video, "matroskamux", &times, |i| if i < 40 { RED } else { BLUE });
    let (events, err) = run_one(dir.path(), video.to_str().unwrap(), "");
    let jumps = of_type(&events, "stream_time_jump");
    assert_eq!(jumps.len(), 1, "one jump reported: {err}");
    let jump = jumps[0];
    // Matroska keeps no durations: the last frame before the gap lasts as long as the interval
    // before it, so the stream was going to 1.6 s.
    assert!((jump["from_s"].as_f64().unwrap() - 1.6).abs() < 0.001, "{jump}");
    assert!((jump["to_s"].as_f64().unwrap() - 180.0).abs() < 0.01, "{jump}");
    assert_eq!(jump["offset_s"], 0.0, "a gap forwards is kept: {jump}");
    assert!(err.contains("The input's timestamps jumped"), "{err}");
    // In stream order: after the last window before the gap, before the first one after it.
    let at = events.iter().position(|e| e["type"] == "stream_time_jump").unwrap();
    assert_eq!(events[at - 1]["last_frame"], 39, "{}", events[at - 1]);
    assert_eq!(events[at + 1]["first_frame"], 40, "{}", events[at + 1]);
    let windows = of_type(&events, "window");
    assert_eq!(windows.len(), 20);
    assert_times_never_go_back(&windows);
    assert!((windows[10]["start_s"].as_f64().unwrap() - 180.0).abs() < 0.01, "{}", windows[10]);
    assert_labels_split_at(&windows, 40, "red", "blue");
}

#[test]
fn a_recording_spliced_onto_an_earlier_clock_keeps_times_going_forward() {
    // The first part's clock starts at 180 s, the second part's at 0: MPEG-TS demuxing turns
    // the splice into a continuous timeline, and the windows must go on from there.
    let dir = tempdir();
    let video = spliced_ts(
        dir.path(),
        ("red", "width=160,height=120", 180_000_000_000),
        ("blue", "width=160,height=120", 0),
    );
    let (events, err) = run_one(dir.path(), video.to_str().unwrap(), "");
    let windows = of_type(&events, "window");
    assert_eq!(windows.len(), 25, "{err}");
    assert_times_never_go_back(&windows);
    let first = windows[0]["start_s"].as_f64().unwrap();
    for (i, w) in windows.iter().enumerate() {
        let expected = first + i as f64 * 0.16;
        assert!(
            (w["start_s"].as_f64().unwrap() - expected).abs() < 0.03,
            "window {i} at {w}, expected {expected}"
        );
    }
    assert_labels_split_at(&windows, 50, "red", "blue");
}

#[test]
fn variable_frame_rate_keeps_each_frames_own_time() {
    let dir = tempdir();
    let video = dir.path().join("vfr.mp4");
    // Frames 20, 40, 80 and 120 ms apart in turn, as a phone or a screen recorder writes them
    // (MP4 keeps each frame's duration).
    let steps = [20u64, 40, 80, 120];
    let mut times = vec![0u64];
    for i in 0..47 {
        times.push(times[i] + steps[i % 4] * 1_000_000);
    }
    frames_at_times(&video, "mp4mux", &times, |i| if i < 24 { RED } else { BLUE });
    let (events, err) = run_one(dir.path(), video.to_str().unwrap(), "");
    let windows = of_type(&events, "window");
    assert_eq!(windows.len(), 12, "{err}");
    for w in &windows {
        let (first, last) =
            (w["first_frame"].as_u64().unwrap() as usize, w["last_frame"].as_u64().unwrap() as usize);
        let start = times[first] as f64 / 1e9;
        let last_start = times[last] as f64 / 1e9;
        assert!((w["start_s"].as_f64().unwrap() - start).abs() < 0.0015, "{w}: starts at {start}");
        // The end is the last frame's time plus its duration as the file gives it.
        let end = w["end_s"].as_f64().unwrap();
        assert!(
            end > last_start + 0.0015 && end <= last_start + 0.121,
            "{w}: its last frame starts at {last_start}"
        );
    }
    assert!(of_type(&events, "stream_time_jump").is_empty(), "a frame interval is no jump");
    assert_labels_split_at(&windows, 24, "red", "blue");
}

#[test]
fn b_frames_decode_every_frame_in_order_at_its_time() {
    let dir = tempdir();
    let video = dir.path().join("bframes.mp4");
    gst_video(
        &video,
        "videotestsrc num-buffers=50 pattern=red ! video/x-raw,width=160,height=120,framerate=25/1 ! \
         videoconvert ! video/x-raw,format=I420 ! x264enc bframes=3 b-adapt=false ! \
         video/x-h264,profile=main ! mp4mux ! filesink name=sink",
    );
    let (events, err) = run_one(dir.path(), video.to_str().unwrap(), "");
    assert_eq!(of_type(&events, "stream_end")[0]["frames"], 50, "{err}");
    let windows = of_type(&events, "window");
    assert_eq!(windows.len(), 12);
    for (i, w) in windows.iter().enumerate() {
        // Stream time: the edit list that B-frame reordering needs is applied.
        let expected = i as f64 * 4.0 * 0.04;
        assert!((w["start_s"].as_f64().unwrap() - expected).abs() < 0.001, "{w}: expected {expected}");
        assert!((w["end_s"].as_f64().unwrap() - expected - 0.16).abs() < 0.001, "{w}");
        assert_eq!(w["label"], "red");
    }
}

#[test]
fn a_file_with_two_video_tracks_uses_the_first() {
    let dir = tempdir();
    let video = dir.path().join("two.mkv");
    gst_video(
        &video,
        "matroskamux name=m ! filesink name=sink \
         videotestsrc num-buffers=40 pattern=red ! video/x-raw,width=160,height=120,format=I420,framerate=25/1 ! x264enc ! m. \
         videotestsrc num-buffers=40 pattern=blue ! video/x-raw,width=160,height=120,format=I420,framerate=25/1 ! x264enc ! m.",
    );
    let (events, err) = run_one(dir.path(), video.to_str().unwrap(), "");
    assert_eq!(of_type(&events, "stream_end")[0]["frames"], 40, "{err}");
    let windows = of_type(&events, "window");
    assert_eq!(windows.len(), 10);
    assert!(windows.iter().all(|w| w["label"] == "red"), "only the first track is read");
    assert!(err.contains("more than one video stream; the first is used"), "{err}");
}

#[test]
fn unreadable_files_fail_alone_saying_what_is_wrong_with_each() {
    let dir = tempdir();
    let good = dir.path().join("good.mkv");
    solid(&good, 40, "0xffff0000");
    let audio = dir.path().join("audio.ogg");
    gst_video(
        &audio,
        "audiotestsrc num-buffers=100 ! audioconvert ! vorbisenc ! oggmux ! filesink name=sink",
    );
    let empty = dir.path().join("empty.mp4");
    std::fs::write(&empty, b"").unwrap();
    // A YUV4MPEG2 file whose header claims 16384×16384 over 160×120 frames.
    let small = dir.path().join("small.y4m");
    gst_video(
        &small,
        "videotestsrc num-buffers=10 ! video/x-raw,width=160,height=120,format=I420,framerate=25/1 ! y4menc ! filesink name=sink",
    );
    let claimed = dir.path().join("claims-16384.y4m");
    let bytes = std::fs::read(&small).unwrap();
    let header_end = bytes.iter().position(|&b| b == b'\n').unwrap();
    let header =
        String::from_utf8(bytes[..header_end].to_vec()).unwrap().replace("W160 H120", "W16384 H16384");
    std::fs::write(&claimed, [header.as_bytes(), &bytes[header_end..]].concat()).unwrap();

    let mut text = format!("{}\n\n[window]\nstride = 4\n", mean_color_model_table());
    for (id, path) in [("good", &good), ("audio", &audio), ("empty", &empty), ("claims", &claimed)] {
        text += &format!("\n[[streams]]\nid = \"{id}\"\nuri = \"{}\"\n", path.display());
    }
    let p = write_pipeline(dir.path(), "p.toml", &text);
    let out = actiond(&["run", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "some streams failed: {}", stderr(&out));
    let events = events(&out);
    let failed = |id: &str| {
        let f: Vec<&Value> =
            events.iter().filter(|e| e["type"] == "stream_failed" && e["stream"] == id).collect();
        assert_eq!(f.len(), 1, "{id}: {events:?}");
        f[0]["reason"].as_str().unwrap().to_owned()
    };
    assert_eq!(failed("audio"), "the input has no video stream (it has: audio/x-raw)");
    assert_eq!(failed("empty"), "the file is empty (0 bytes)");
    assert_eq!(failed("claims"), "the input holds no video frames");
    let good_windows = events.iter().filter(|e| e["type"] == "window" && e["stream"] == "good").count();
    assert_eq!(good_windows, 10, "the good file loses nothing");
    let err = stderr(&out);
    for path in [&audio, &empty, &claimed] {
        assert!(err.contains(&path.display().to_string()), "the log names {}: {err}", path.display());
    }
}
