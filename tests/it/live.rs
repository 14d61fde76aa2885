//! Live RTSP streams over loopback with the real binary: reconnection after the server dies,
//! status events, unreachable and unauthorised cameras, credentials kept out of the output, and
//! a prompt SIGTERM whatever state the streams are in.

use std::path::Path;
use std::time::Duration;

use crate::util::*;
use serde_json::Value;

/// A pipeline with the tiny mean-colour model (fast, labels irrelevant here) and live streams;
/// no reconnect jitter, so the tests can check the exact growth of the delays.
fn live_pipeline(dir: &Path, streams: &[(&str, &str, &str)]) -> std::path::PathBuf {
    let mut text = format!(
        "[model]\npath = \"{}\"\nlabels = \"{}\"\nheight = 32\nwidth = 32\n\n[window]\nstride = 2\n",
        fixture("mean_color_ncthw.onnx").display(),
        fixture("rgb_labels.txt").display()
    );
    for (id, uri, extra) in streams {
        text.push_str(&format!(
            "\n[[streams]]\nid = \"{id}\"\nuri = \"{uri}\"\n[streams.rtsp]\ntransport = \"tcp\"\nlatency_ms = 50\n\
             [streams.reconnect]\nstall_timeout_s = 2.0\ninitial_delay_s = 0.2\nfactor = 2.0\nmax_delay_s = 1.6\n\
             jitter = 0.0\n{extra}\n"
        ));
    }
    write_pipeline(dir, "live.toml", &text)
}

fn kind(e: &Value) -> &str {
    e["type"].as_str().unwrap()
}

fn of<'a>(events: &'a [Value], stream: &str, kind_: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["stream"] == stream && kind(e) == kind_).collect()
}

#[test]
fn killed_camera_reconnects_again_and_again_while_the_other_keeps_going() {
    let dir = tempdir();
    let mut flaky = RtspServer::start(&["--live", "--width", "320", "--height", "240", "--fps", "15"]);
    let steady = RtspServer::start(&["--live", "--width", "320", "--height", "240", "--fps", "15"]);
    let pipeline = live_pipeline(dir.path(), &[("flaky", &flaky.url, ""), ("steady", &steady.url, "")]);
    let daemon = Daemon::start(&pipeline, &[]);
    let mut seen = Vec::new();
    let first_windows =
        |e: &Value| e["stream"] == "flaky" && kind(e) == "window" && e["window"].as_u64() >= Some(3);
    assert!(daemon.wait_for(Duration::from_secs(20), &mut seen, first_windows), "{}", daemon.stderr());

    for round in 0..3 {
        flaky.kill();
        let killed_at = std::time::Instant::now();
        let down = |e: &Value| e["stream"] == "flaky" && kind(e) == "stream_down";
        assert!(daemon.wait_for(Duration::from_secs(10), &mut seen, down), "round {round}: no stream_down");
        // Within the stall timeout (2 s) plus margin: a dead TCP peer is usually noticed at once.
        assert!(
            killed_at.elapsed() < Duration::from_secs(4),
            "round {round}: down after {:?}",
            killed_at.elapsed()
        );
        // Let a few attempts fail so the delays can be seen growing.
        let third = |e: &Value| e["stream"] == "flaky" && kind(e) == "reconnecting" && e["attempt"] == 3;
        assert!(
            daemon.wait_for(Duration::from_secs(10), &mut seen, third),
            "round {round}: no third attempt"
        );
        flaky.restart();
        let restarted_at = std::time::Instant::now();
        let up = |e: &Value| e["stream"] == "flaky" && kind(e) == "stream_up";
        assert!(
            daemon.wait_for(Duration::from_secs(15), &mut seen, up),
            "round {round}: not up again\n{}",
            daemon.stderr()
        );
        eprintln!("round {round}: up {:?} after the server returned", restarted_at.elapsed());
        let more = |e: &Value| e["stream"] == "flaky" && kind(e) == "window";
        assert!(
            daemon.wait_for(Duration::from_secs(10), &mut seen, more),
            "round {round}: no windows after up"
        );
    }
    let (code, took) = daemon.terminate(&mut seen);
    assert_eq!(code, Some(0));
    assert!(took < Duration::from_secs(5), "SIGTERM took {took:?}");

    // Three outages, each with stream_down then growing reconnect delays, then stream_up.
    assert_eq!(of(&seen, "flaky", "stream_down").len(), 3);
    assert_eq!(of(&seen, "flaky", "stream_up").len(), 4);
    let mut delays = Vec::new();
    for e in &seen {
        if e["stream"] == "flaky" && kind(e) == "reconnecting" {
            delays.push((e["attempt"].as_u64().unwrap(), e["delay_s"].as_f64().unwrap()));
        }
    }
    for pair in delays.windows(2) {
        let ((a0, d0), (a1, d1)) = (pair[0], pair[1]);
        if a1 == a0 + 1 {
            assert!(d1 > d0 || d1 == 1.6, "delays must grow to the maximum: {delays:?}");
        } else {
            assert_eq!(a1, 1, "attempts restart after a successful reconnection: {delays:?}");
        }
    }
    // Windows of each stream are in order and the steady one never paused for long.
    let steady_windows: Vec<&Value> = of(&seen, "steady", "window");
    for pair in steady_windows.windows(2) {
        assert_eq!(pair[1]["window"].as_u64().unwrap(), pair[0]["window"].as_u64().unwrap() + 1);
    }
    let ends: Vec<std::time::SystemTime> = steady_windows
        .iter()
        .map(|e| humantime::parse_rfc3339(e["end_utc"].as_str().unwrap()).unwrap())
        .collect();
    let longest_gap = ends.windows(2).map(|w| w[1].duration_since(w[0]).unwrap_or_default()).max().unwrap();
    assert!(longest_gap < Duration::from_secs(1), "the steady stream paused for {longest_gap:?}");
    for e in of(&seen, "flaky", "window").iter().chain(&steady_windows) {
        assert!(e["latency_ms"].as_f64().unwrap() >= 0.0 && e["start_utc"].is_string(), "{e}");
    }
}

#[test]
fn unreachable_camera_is_retried_as_configured_then_given_up() {
    let dir = tempdir();
    // A port nobody listens on: bind, read the port, close.
    let port = free_port();
    let url = format!("rtsp://127.0.0.1:{port}/nothing");
    let pipeline = live_pipeline(dir.path(), &[("gone", &url, "max_attempts = 3")]);
    let out = actiond(&["run", pipeline.to_str().unwrap()]);
    let events = events(&out);
    let kinds: Vec<&str> = events.iter().map(kind).collect();
    assert_eq!(
        kinds,
        ["stream_down", "reconnecting", "reconnecting", "reconnecting", "stream_failed"],
        "{events:?}"
    );
    assert!(events[0]["reason"].as_str().unwrap().len() > 5, "a reason is given: {}", events[0]);
    assert_clean_failure(&out, "gone");
}

#[test]
fn wrong_credentials_are_reported_without_leaking_them() {
    let dir = tempdir();
    let server = RtspServer::start(&["--live", "--user", "admin", "--password", "right-secret"]);
    let url = server.url.replace("rtsp://", "rtsp://admin:wrong-secret@");
    let pipeline = live_pipeline(dir.path(), &[("locked", &url, "max_attempts = 1")]);
    let out = actiond(&["run", pipeline.to_str().unwrap()]);
    let (text, err) = (stdout(&out), stderr(&out));
    assert!(
        !text.contains("wrong-secret") && !err.contains("wrong-secret"),
        "password leaked:\n{text}\n{err}"
    );
    let events = events(&out);
    assert_eq!(events.first().map(kind), Some("stream_down"), "{events:?}");
    assert!(events[0]["reason"].as_str().unwrap().to_lowercase().contains("unauthorized"), "{}", events[0]);
    assert_clean_failure(&out, "locked");
}

#[test]
fn right_credentials_from_the_environment_get_frames() {
    let dir = tempdir();
    let server = RtspServer::start(&["--live", "--user", "admin", "--password", "right-secret"]);
    let text = std::fs::read_to_string(live_pipeline(dir.path(), &[("cam", &server.url, "")]))
        .unwrap()
        .replace("latency_ms = 50\n", "latency_ms = 50\nuser = \"admin\"\npassword_env = \"CAM_PASSWORD\"\n");
    let pipeline = write_pipeline(dir.path(), "auth.toml", &text);
    let daemon = Daemon::start(&pipeline, &[("CAM_PASSWORD", "right-secret")]);
    let mut seen = Vec::new();
    assert!(
        daemon.wait_for(Duration::from_secs(20), &mut seen, |e| kind(e) == "window"),
        "{}",
        daemon.stderr()
    );
    assert_eq!(kind(&seen[0]), "stream_up");
    let (code, _) = daemon.terminate(&mut seen);
    assert_eq!(code, Some(0));
}

#[test]
fn sigterm_is_prompt_while_a_stream_waits_to_reconnect() {
    let dir = tempdir();
    let port = free_port();
    let url = format!("rtsp://127.0.0.1:{port}/nothing");
    let text = std::fs::read_to_string(live_pipeline(dir.path(), &[("gone", &url, "")]))
        .unwrap()
        .replace("initial_delay_s = 0.2", "initial_delay_s = 60.0")
        .replace("max_delay_s = 1.6", "max_delay_s = 60.0");
    let pipeline = write_pipeline(dir.path(), "slow.toml", &text);
    let daemon = Daemon::start(&pipeline, &[]);
    let mut seen = Vec::new();
    assert!(daemon.wait_for(Duration::from_secs(10), &mut seen, |e| kind(e) == "reconnecting"));
    let (code, took) = daemon.terminate(&mut seen);
    assert_eq!(code, Some(0));
    assert!(took < Duration::from_secs(2), "SIGTERM took {took:?} during a 60 s backoff");
}
