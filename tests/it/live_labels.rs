//! The default head on live RTSP streams: the right labels come out of a camera-like stream,
//! several streams (RTSP and files) run side by side in one process, and a head too slow for
//! its stream keeps latency and memory bounded by dropping the oldest windows.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::util::*;
use serde_json::Value;

fn pipeline(
    dir: &Path,
    model: &str,
    window: &str,
    intra_threads: usize,
    streams: &[(&str, &str)],
) -> PathBuf {
    let mut text =
        format!("{model}\n[window]\n{window}\n\n[inference]\nworkers = 1\nintra_threads = {intra_threads}\n");
    for (id, uri) in streams {
        text.push_str(&format!(
            "\n[[streams]]\nid = \"{id}\"\nuri = \"{uri}\"\n[streams.rtsp]\ntransport = \"tcp\"\nlatency_ms = 100\n"
        ));
    }
    write_pipeline(dir, "p.toml", &text)
}

/// Collects a live stream's windows until they cover `frames` frames. Events already collected
/// (while waiting for another stream) count too.
fn collect_until_covered(daemon: &Daemon, seen: &mut Vec<Value>, stream: &str, frames: u64) -> bool {
    let covers = |e: &Value| {
        e["stream"] == stream && e["type"] == "window" && e["last_frame"].as_u64().unwrap() + 10 >= frames
    };
    seen.iter().any(covers) || daemon.wait_for(Duration::from_secs(60), seen, covers)
}

fn windows_of(events: &[Value], stream: &str) -> Vec<Value> {
    let all: Vec<Value> =
        events.iter().filter(|e| e["stream"] == stream && e["type"] == "window").cloned().collect();
    // Live windows may be dropped when inference falls behind: indices only grow.
    for pair in all.windows(2) {
        assert!(pair[1]["window"].as_u64().unwrap() > pair[0]["window"].as_u64().unwrap(), "order");
    }
    all
}

#[test]
fn four_streams_rtsp_and_files_all_get_the_right_labels() {
    let dir = tempdir();
    let mut truths = Vec::new();
    let mut servers = Vec::new();
    let mut streams: Vec<(String, String)> = Vec::new();
    for (i, (width, height)) in [(320, 240), (256, 192), (320, 240), (200, 150)].into_iter().enumerate() {
        let path = dir.path().join(format!("t{i}.mp4"));
        truths.push(synth_video(&path, width, height, 4, 100 + i as u64));
        if i < 2 {
            let server = RtspServer::start(&["--file", path.to_str().unwrap()]);
            streams.push((format!("cam{i}"), server.url.clone()));
            servers.push(server);
        } else {
            streams.push((format!("file{i}"), path.to_string_lossy().into_owned()));
        }
    }
    let refs: Vec<(&str, &str)> = streams.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let p = pipeline(dir.path(), &demo_model_table(), "stride = 5", 2, &refs);
    let daemon = Daemon::start(&p, &[]);
    let mut seen = Vec::new();
    for (i, (id, _)) in streams.iter().enumerate().take(2) {
        let frames = truths[i]["frames"].as_u64().unwrap();
        assert!(collect_until_covered(&daemon, &mut seen, id, frames), "{id}: {}", daemon.stderr());
    }
    let (code, _) = daemon.terminate(&mut seen);
    assert_eq!(code, Some(0), "{:?}", seen.iter().filter(|e| e["type"] != "window").collect::<Vec<_>>());
    for (i, (id, _)) in streams.iter().enumerate() {
        let windows = windows_of(&seen, id);
        let (acc, inside) = accuracy(&windows, &truths[i]);
        eprintln!("{id}: accuracy {acc:.3} over {inside} windows");
        assert!(inside >= 20, "{id}: only {inside} windows inside segments");
        assert!(acc >= MIN_ACCURACY, "{id}: accuracy {acc:.3}");
        if i < 2 {
            assert!(windows.iter().all(|w| w["latency_ms"].is_number() && w["start_utc"].is_string()));
        }
    }
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn too_slow_a_head_drops_the_oldest_windows_and_keeps_latency_and_memory_flat() {
    let dir = tempdir();
    // 100 fps and a window every frame: 100 windows/s, far more than ConvLSTM does on one thread
    // (about 14/s on a busy 2-core machine, 31/s on CI's). Regression: at 25 fps a faster CI
    // machine kept up and dropped nothing, so the test failed on speed, not on behaviour.
    let server = RtspServer::start(&["--live", "--width", "160", "--height", "120", "--fps", "100"]);
    let model = format!(
        "[model]\npath = \"{}\"\nlabels = \"{}\"\n",
        model("convlstm.onnx").display(),
        model("labels.txt").display()
    );
    let p = pipeline(dir.path(), &model, "stride = 1", 1, &[("cam", &server.url)]);
    let daemon = Daemon::start(&p, &[]);
    let pid = daemon.pid();
    let mut seen = Vec::new();
    let mut rss = Vec::new();
    for _ in 0..6 {
        daemon.wait_for(Duration::from_secs(2), &mut seen, |_| false);
        rss.push(rss_kib(pid));
    }
    let (code, _) = daemon.terminate(&mut seen);
    assert_eq!(code, Some(0));
    let windows = windows_of(&seen, "cam");
    assert!(windows.len() >= 10, "{} windows\n", windows.len());
    let last = windows.last().unwrap();
    let dropped = last["dropped_windows"].as_u64().unwrap();
    // Every index up to the last one was either written or counted as dropped.
    assert_eq!(last["window"].as_u64().unwrap() + 1, windows.len() as u64 + dropped, "gaps are the drops");
    let latencies: Vec<f64> = windows.iter().map(|w| w["latency_ms"].as_f64().unwrap()).collect();
    let third = latencies.len() / 3;
    let median = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (early, late) = (median(&latencies[..third]), median(&latencies[latencies.len() - third..]));
    eprintln!(
        "{} windows, {dropped} dropped, latency median early {early:.0} ms late {late:.0} ms, RSS KiB {rss:?}",
        windows.len()
    );
    assert!(dropped > 0, "inference cannot keep up, so windows must be dropped");
    assert!(late < early * 2.0 + 250.0, "latency grows: {early:.0} ms → {late:.0} ms");
    assert!(rss[5] < rss[1] + 20 * 1024, "memory grows: {rss:?}");
}

/// Regression: all live streams shared one 2-window lossy queue, so a camera sending more than
/// inference could take evicted the other cameras' windows. Now each stream has its own queue
/// and the workers serve the streams in turn: the flooding camera loses only its own windows.
#[test]
fn a_flooding_camera_loses_only_its_own_windows() {
    let dir = tempdir();
    // ConvLSTM on one thread does 14 to 31 windows/s on the machines seen. The flood alone asks
    // for 100/s; each calm camera asks for 1/s, and is served at least once per round of four,
    // so its 2-window queue overflows only if a round of four windows takes 2 s. (At 2/s the
    // calm cameras lost windows when the whole suite loaded both cores: the test measured the
    // machine's load, not the scheduler.)
    let flood = RtspServer::start(&["--live", "--width", "160", "--height", "120", "--fps", "100"]);
    let calm: Vec<RtspServer> = (0..3)
        .map(|_| RtspServer::start(&["--live", "--width", "160", "--height", "120", "--fps", "1"]))
        .collect();
    let model = format!(
        "[model]\npath = \"{}\"\nlabels = \"{}\"\n",
        model("convlstm.onnx").display(),
        model("labels.txt").display()
    );
    let mut streams = vec![("flood".to_owned(), flood.url.clone())];
    streams.extend(calm.iter().enumerate().map(|(i, s)| (format!("calm{i}"), s.url.clone())));
    let refs: Vec<(&str, &str)> = streams.iter().map(|(id, url)| (id.as_str(), url.as_str())).collect();
    let p = pipeline(dir.path(), &model, "stride = 1", 1, &refs);
    let daemon = Daemon::start(&p, &[]);
    let mut seen = Vec::new();
    let enough = |seen: &[Value]| (0..3).all(|i| windows_of(seen, &format!("calm{i}")).len() >= 6);
    let started = std::time::Instant::now();
    while !enough(&seen) && started.elapsed() < Duration::from_secs(40) {
        daemon.wait_for(Duration::from_millis(500), &mut seen, |_| false);
    }
    let log = daemon.stderr();
    let (code, _) = daemon.terminate(&mut seen);
    assert_eq!(code, Some(0), "{log}");
    assert!(
        enough(&seen),
        "calm cameras: {:?}",
        (0..3).map(|i| windows_of(&seen, &format!("calm{i}")).len()).collect::<Vec<_>>()
    );
    for i in 0..3 {
        let windows = windows_of(&seen, &format!("calm{i}"));
        let indices: Vec<u64> = windows.iter().map(|w| w["window"].as_u64().unwrap()).collect();
        assert_eq!(indices, (0..indices.len() as u64).collect::<Vec<_>>(), "calm{i} lost windows");
        assert_eq!(windows.last().unwrap()["dropped_windows"], 0, "calm{i}");
    }
    let flooded = windows_of(&seen, "flood");
    let dropped = flooded.last().expect("the flood got windows through")["dropped_windows"].as_u64().unwrap();
    assert!(dropped >= 10, "the flood must be beyond what inference can take: {dropped} dropped");
}
