//! SIGHUP reload: added streams start, removed ones stop, changed ones restart, unchanged ones
//! keep running without a gap; an invalid or non-reloadable configuration is rejected and the
//! running one stays.

use std::process::Command;
use std::time::Duration;

use crate::util::*;
use serde_json::Value;

fn config(streams: &[(&str, &str)], extra: &str) -> String {
    let mut text = format!(
        "[model]\npath = \"{}\"\nlabels = \"{}\"\nheight = 32\nwidth = 32\n{extra}\n\n[window]\nstride = 2\n",
        fixture("mean_color_ncthw.onnx").display(),
        fixture("rgb_labels.txt").display()
    );
    for (id, uri) in streams {
        text.push_str(&format!(
            "\n[[streams]]\nid = \"{id}\"\nuri = \"{uri}\"\n[streams.rtsp]\ntransport = \"tcp\"\n"
        ));
    }
    text
}

fn sighup(daemon: &Daemon) {
    assert!(Command::new("kill").args(["-HUP", &daemon.pid().to_string()]).status().unwrap().success());
}

fn windows_of(seen: &[Value], id: &str) -> Vec<Value> {
    seen.iter().filter(|e| e["stream"] == id && e["type"] == "window").cloned().collect()
}

#[test]
fn sighup_applies_stream_changes_and_rejects_bad_configs() {
    let dir = tempdir();
    let servers: Vec<RtspServer> =
        (0..4).map(|_| RtspServer::start(&["--live", "--width", "160", "--height", "120"])).collect();
    let url = |i: usize| servers[i].url.as_str();
    let path = write_pipeline(
        dir.path(),
        "p.toml",
        &config(&[("keep", url(0)), ("drop", url(1)), ("move", url(2))], ""),
    );
    let daemon = Daemon::start(&path, &[]);
    let mut seen = Vec::new();
    let all_flowing =
        |seen: &[Value]| ["keep", "drop", "move"].iter().all(|id| windows_of(seen, id).len() >= 3);
    let started = std::time::Instant::now();
    while !all_flowing(&seen) && started.elapsed() < Duration::from_secs(30) {
        daemon.wait_for(Duration::from_millis(200), &mut seen, |_| false);
    }
    assert!(all_flowing(&seen), "{}", daemon.stderr());

    // Remove "drop", point "move" at another camera, add "new".
    std::fs::write(&path, config(&[("keep", url(0)), ("move", url(3)), ("new", url(1))], "")).unwrap();
    sighup(&daemon);
    let new_flowing =
        |e: &Value| e["stream"] == "new" && e["type"] == "window" && e["window"].as_u64() >= Some(2);
    assert!(daemon.wait_for(Duration::from_secs(20), &mut seen, new_flowing), "{}", daemon.stderr());
    let moved_since = seen.len();
    let moved = |e: &Value| e["stream"] == "move" && e["type"] == "window";
    assert!(daemon.wait_for(Duration::from_secs(20), &mut seen, moved));
    let statuses = |id: &str| -> Vec<String> {
        seen.iter()
            .filter(|e| e["stream"] == id && e["type"] != "window")
            .map(|e| e["type"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(statuses("drop"), ["stream_up", "stream_end"]);
    assert_eq!(statuses("move"), ["stream_up", "stream_end", "stream_up"]);
    assert_eq!(statuses("new"), ["stream_up"]);
    assert_eq!(statuses("keep"), ["stream_up"], "unchanged streams are not restarted");
    assert!(seen[moved_since..].iter().any(moved), "the moved stream runs again");

    // An invalid file and a model change are both rejected; everything keeps running.
    std::fs::write(&path, config(&[("keep", url(0))], "colour = 1")).unwrap();
    sighup(&daemon);
    std::thread::sleep(Duration::from_millis(500));
    std::fs::write(&path, config(&[("keep", url(0))], "scale = 1.0")).unwrap();
    sighup(&daemon);
    // Both rejected files drop "move" and "new": had either been applied, they would stop.
    let before: Vec<usize> = ["keep", "move", "new"].iter().map(|id| windows_of(&seen, id).len()).collect();
    daemon.wait_for(Duration::from_secs(3), &mut seen, |_| false);
    for (id, before) in ["keep", "move", "new"].iter().zip(before) {
        assert!(windows_of(&seen, id).len() > before + 3, "{id} still runs after the rejected reloads");
    }
    let err = daemon.stderr();
    assert!(err.contains("Reload rejected") && err.contains("colour"), "{err}");
    assert!(err.contains("`model` changed"), "{err}");

    let (code, _) = daemon.terminate(&mut seen);
    assert_eq!(code, Some(0));
    // Window indices of every stream stay consecutive across the restart.
    for id in ["keep", "move", "new"] {
        let w: Vec<u64> = windows_of(&seen, id).iter().map(|e| e["window"].as_u64().unwrap()).collect();
        assert_eq!(w, (0..w.len() as u64).collect::<Vec<_>>(), "{id}");
    }
    // "keep" never paused: its windows' wall-clock ends are never far apart.
    let ends: Vec<std::time::SystemTime> = windows_of(&seen, "keep")
        .iter()
        .map(|e| humantime::parse_rfc3339(e["end_utc"].as_str().unwrap()).unwrap())
        .collect();
    let gap = ends.windows(2).map(|w| w[1].duration_since(w[0]).unwrap_or_default()).max().unwrap();
    assert!(gap < Duration::from_secs(1), "keep paused for {gap:?}");
}

/// Regression: the MQTT sink learnt the live streams once, at start, so a camera added by
/// SIGHUP was treated as a file: with the broker away, each of its events held the output
/// thread for up to `lossless_wait_s`, and every stream's events stopped.
#[test]
fn a_camera_added_by_reload_is_live_for_a_sink_whose_broker_is_away() {
    let dir = tempdir();
    let servers: Vec<RtspServer> =
        (0..2).map(|_| RtspServer::start(&["--live", "--width", "160", "--height", "120"])).collect();
    let mut broker = Broker::start();
    let sinks = format!(
        "[[sinks]]\ntype = \"stdout\"\n\n[[sinks]]\ntype = \"mqtt\"\nurl = \"{}\"\nbuffer = 4\nlossless_wait_s = 60\n",
        broker.url()
    );
    broker.stop();
    let path = write_pipeline(
        dir.path(),
        "p.toml",
        &format!("{sinks}{}", config(&[("first", &servers[0].url)], "")),
    );
    let daemon = Daemon::start(&path, &[]);
    let mut seen = Vec::new();
    // Enough events that the sink's buffer and the client's queue are full.
    let first = |e: &Value| e["stream"] == "first" && e["window"].as_u64() >= Some(100);
    assert!(daemon.wait_for(Duration::from_secs(40), &mut seen, first), "{}", daemon.stderr());

    let both = config(&[("first", &servers[0].url), ("added", &servers[1].url)], "");
    std::fs::write(&path, format!("{sinks}{both}")).unwrap();
    sighup(&daemon);
    let added = |e: &Value| e["stream"] == "added" && e["window"].as_u64() >= Some(20);
    assert!(
        daemon.wait_for(Duration::from_secs(20), &mut seen, added),
        "the added camera's events are held up: {} of its windows\n{}",
        windows_of(&seen, "added").len(),
        daemon.stderr()
    );
    let after = windows_of(&seen, "first").len();
    daemon.wait_for(Duration::from_secs(2), &mut seen, |_| false);
    assert!(windows_of(&seen, "first").len() > after + 5, "the first camera keeps going");
}
