//! The file sink as operators keep it: rotation by size with a kept count, reopening a file that
//! logrotate renamed when SIGHUP comes, and `fsync` deciding how often the disk is forced
//! (counted with strace, the system calls themselves).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::util::*;
use serde_json::Value;

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).unwrap_or_default().lines().map(str::to_owned).collect()
}

fn numbered(path: &Path, n: usize) -> PathBuf {
    PathBuf::from(format!("{}.{n}", path.display()))
}

fn file_pipeline(dir: &Path, video: &Path, log: &Path, file_settings: &str) -> PathBuf {
    write_pipeline(
        dir,
        "p.toml",
        &format!(
            "{}\n\n[window]\nstride = 1\n\n[[sinks]]\ntype = \"stdout\"\n\n[[sinks]]\ntype = \"file\"\n\
             path = \"{}\"\n{file_settings}\n\n[[streams]]\nid = \"v\"\nuri = \"{}\"\n",
            mean_color_model_table(),
            log.display(),
            video.display()
        ),
    )
}

#[test]
fn rotation_by_size_keeps_the_newest_files_whole() {
    let dir = tempdir();
    let video = dir.path().join("v.mp4");
    solid(&video, 200, "0xff0000ff");
    let log = dir.path().join("events.jsonl");
    std::fs::write(numbered(&log, 3), "stale\n").unwrap();
    let path = file_pipeline(dir.path(), &video, &log, "rotate_size = \"4 KiB\"\nkeep = 3");
    let out = actiond(&["run", path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let all: Vec<String> = stdout(&out).lines().map(str::to_owned).collect();
    assert!(all.len() > 100, "enough events to rotate more than `keep` times: {}", all.len());

    assert!(!numbered(&log, 4).exists(), "no more than `keep` rotated files");
    let mut kept = Vec::new();
    for file in [numbered(&log, 3), numbered(&log, 2), numbered(&log, 1), log.clone()] {
        let size = std::fs::metadata(&file).unwrap().len();
        assert!(size <= 4096, "{} is {size} bytes", file.display());
        kept.extend(lines(&file));
    }
    assert!(!kept.contains(&"stale".to_owned()), "the oldest rotated file was replaced");
    // Oldest to newest, the kept files are the run's last events, whole lines, in order.
    assert_eq!(kept, all[all.len() - kept.len()..], "the kept files end the run's events");
    // A rotated file is full: the next line would not have fitted.
    let longest = all.iter().map(|l| l.len() as u64 + 1).max().unwrap();
    for n in 1..=3 {
        let size = std::fs::metadata(numbered(&log, n)).unwrap().len();
        assert!(size + longest > 4096, "{}.{n} rotated at {size} bytes", log.display());
    }
}

#[test]
fn sighup_reopens_an_event_file_that_logrotate_renamed() {
    let dir = tempdir();
    let camera = RtspServer::start(&["--live", "--width", "160", "--height", "120"]);
    let log = dir.path().join("events.jsonl");
    let path = write_pipeline(
        dir.path(),
        "p.toml",
        &format!(
            "{}\n\n[window]\nstride = 2\n\n[[sinks]]\ntype = \"stdout\"\n\n[[sinks]]\ntype = \"file\"\n\
             path = \"{}\"\n\n[[streams]]\nid = \"cam\"\nuri = \"{}\"\n[streams.rtsp]\ntransport = \"tcp\"\n",
            mean_color_model_table(),
            log.display(),
            camera.url
        ),
    );
    let daemon = Daemon::start(&path, &[]);
    let mut seen = Vec::new();
    let window = |n: u64| move |e: &Value| e["type"] == "window" && e["window"].as_u64() >= Some(n);
    assert!(daemon.wait_for(Duration::from_secs(30), &mut seen, window(10)), "{}", daemon.stderr());

    // What logrotate does without copytruncate: rename, then HUP.
    let rotated = numbered(&log, 1);
    std::fs::rename(&log, &rotated).unwrap();
    assert!(Command::new("kill").args(["-HUP", &daemon.pid().to_string()]).status().unwrap().success());
    let later = seen.last().unwrap()["window"].as_u64().unwrap() + 20;
    assert!(daemon.wait_for(Duration::from_secs(20), &mut seen, window(later)), "{}", daemon.stderr());
    let err = daemon.stderr();
    assert!(err.contains("Event file reopened."), "{err}");
    let (code, _) = daemon.terminate(&mut seen);
    assert_eq!(code, Some(0), "{err}");

    let old = lines(&rotated);
    let new = lines(&log);
    assert!(!old.is_empty() && new.len() >= 10, "old {} new {}", old.len(), new.len());
    // Every event once, in order, across the two files: what stdout got.
    let stdout: Vec<String> = seen.iter().map(Value::to_string).collect();
    let both: Vec<Value> = old.iter().chain(&new).map(|l| serde_json::from_str(l).unwrap()).collect();
    let both: Vec<String> = both.iter().map(Value::to_string).collect();
    assert_eq!(both, stdout);
}

fn fdatasyncs(fsync: &str) -> (usize, usize) {
    let dir = tempdir();
    let video = dir.path().join("v.mp4");
    solid(&video, 60, "0xff00ff00");
    let log = dir.path().join("events.jsonl");
    let path = file_pipeline(dir.path(), &video, &log, &format!("fsync = \"{fsync}\""));
    let trace = dir.path().join("trace.txt");
    let out = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=fdatasync", "-o"])
        .arg(&trace)
        .arg(env!("CARGO_BIN_EXE_actiond"))
        .args(["run", path.to_str().unwrap()])
        .output()
        .expect("strace is installed (scripts/setup.sh)");
    assert!(out.status.success(), "{}", stderr(&out));
    let calls = lines(&trace).iter().filter(|l| l.contains("fdatasync(")).count();
    (calls, lines(&log).len())
}

#[test]
fn fsync_decides_how_often_the_disk_is_forced() {
    let (never, events) = fdatasyncs("never");
    assert!(events > 10);
    assert_eq!(never, 0, "fsync = \"never\" forces nothing");
    let (every, events) = fdatasyncs("event");
    assert!(every >= events, "fsync = \"event\": {every} syncs for {events} events");
    let (interval, events) = fdatasyncs("interval");
    assert!((1..events).contains(&interval), "fsync = \"interval\": {interval} syncs for {events} events");
}
