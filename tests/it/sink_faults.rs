//! A file sink whose disk fills up, or whose folder is removed, while a camera runs: events are
//! held in a bounded backlog and written when the file can take them again, one error line per
//! burst, counted in `/metrics`, and the other sink never misses an event.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::util::*;

/// A small tmpfs mounted on a folder for the test's life (the tests run as root).
struct SmallDisk {
    dir: PathBuf,
}

impl SmallDisk {
    fn mount(dir: &Path, size: &str) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "actiond-test", dir.to_str().unwrap()])
            .status()
            .unwrap();
        assert!(status.success(), "mounting a tmpfs needs root");
        Self { dir: dir.to_owned() }
    }

    /// Writes a filler file until the disk refuses more.
    fn fill(&self) -> PathBuf {
        use std::io::Write;
        let path = self.dir.join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        let block = vec![0u8; 4096];
        while file.write_all(&block).and_then(|()| file.sync_all()).is_ok() {}
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

/// A live camera into two file sinks, `faulty` (the one under test, sink 0) and `reference`,
/// and stdout (for the test to follow).
fn two_file_sinks(dir: &Path, camera: &str, faulty: (&Path, &str), reference: &Path, port: u16) -> PathBuf {
    let text = format!(
        "{}\n\n[window]\nstride = 2\n\n[service]\nhttp_listen = \"127.0.0.1:{port}\"\n\n\
         [[sinks]]\ntype = \"file\"\npath = \"{}\"\n{}\n\n[[sinks]]\ntype = \"file\"\npath = \"{}\"\n\n\
         [[sinks]]\ntype = \"stdout\"\n\n\
         [[streams]]\nid = \"cam\"\nuri = \"{camera}\"\n[streams.rtsp]\ntransport = \"tcp\"\n",
        mean_color_model_table(),
        faulty.0.display(),
        faulty.1,
        reference.display()
    );
    write_pipeline(dir, "p.toml", &text)
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).unwrap_or_default().lines().map(str::to_owned).collect()
}

fn wait_for_windows(daemon: &Daemon, seen: &mut Vec<Value>, n: usize) {
    let mut count = 0;
    let enough = daemon.wait_for(Duration::from_secs(30), seen, |e| {
        count += usize::from(e["type"] == "window");
        count >= n
    });
    assert!(enough, "{}", daemon.stderr());
}

fn sink_errors(port: u16) -> f64 {
    let (_, text) = http_get(port, "/metrics");
    text.lines()
        .find_map(|l| l.strip_prefix("actiond_sink_errors_total{sink=\"0\"} "))
        .map_or(0.0, |v| v.parse().unwrap())
}

/// A camera running into a faulty file sink on a full 256k tmpfs (`faulty_keys` added to its
/// table) and a reference sink beside it.
struct FullDiskRun {
    disk: SmallDisk,
    filler: PathBuf,
    _camera: RtspServer,
    faulty: PathBuf,
    reference: PathBuf,
    port: u16,
    daemon: Daemon,
}

impl FullDiskRun {
    fn start(dir: &Path, faulty_keys: &str) -> Self {
        let disk = SmallDisk::mount(&dir.join("small"), "256k");
        let filler = disk.fill();
        let camera = RtspServer::start(&["--live", "--width", "160", "--height", "120"]);
        let (faulty, reference) = (disk.dir.join("events.jsonl"), dir.join("reference.jsonl"));
        let port = free_port();
        let p = two_file_sinks(dir, &camera.url, (&faulty, faulty_keys), &reference, port);
        let daemon = Daemon::start(&p, &[]);
        Self { disk, filler, _camera: camera, faulty, reference, port, daemon }
    }
}

#[test]
fn a_full_disk_holds_the_events_until_space_returns_and_loses_none() {
    let dir = tempdir();
    let FullDiskRun { disk: _disk, filler, _camera, faulty, reference, port, daemon } =
        FullDiskRun::start(dir.path(), "");
    let mut seen = Vec::new();
    wait_for_windows(&daemon, &mut seen, 20);
    assert!(lines(&faulty).is_empty(), "the disk is full: nothing can be written yet");
    assert!(sink_errors(port) >= 10.0, "each refused event is counted: {}", sink_errors(port));
    std::fs::remove_file(&filler).unwrap();
    wait_for_windows(&daemon, &mut seen, 20);
    let log = daemon.stderr();
    let (code, _) = daemon.terminate(&mut seen);
    assert_eq!(code, Some(1), "a run with sink errors ends non-zero\n{log}");

    let (written, expected) = (lines(&faulty), lines(&reference));
    assert!(expected.len() >= 40, "{}", expected.len());
    assert_eq!(written, expected, "every event reached the file once space returned, in order");
    for line in &written {
        parse_event(line);
    }
    // One line for the burst from the sink, one from the output stage; one each at recovery.
    let count = |text: &str| log.matches(text).count();
    assert_eq!(count("Event file not writable; events are held"), 1, "{log}");
    assert_eq!(count("Sink error; more are counted"), 1, "{log}");
    assert_eq!(count("Event file writable again"), 1, "{log}");
    assert_eq!(count("Sink works again."), 1, "{log}");
    assert_eq!(count("Events dropped"), 0, "the backlog was large enough: {log}");
}

#[test]
fn a_removed_folder_is_written_again_once_it_is_back() {
    let dir = tempdir();
    let camera = RtspServer::start(&["--live", "--width", "160", "--height", "120"]);
    let folder = dir.path().join("events");
    std::fs::create_dir(&folder).unwrap();
    let (faulty, reference) = (folder.join("events.jsonl"), dir.path().join("reference.jsonl"));
    let port = free_port();
    let p = two_file_sinks(dir.path(), &camera.url, (&faulty, ""), &reference, port);
    let daemon = Daemon::start(&p, &[]);
    let mut seen = Vec::new();
    wait_for_windows(&daemon, &mut seen, 10);
    std::fs::remove_dir_all(&folder).unwrap();
    let removed_at = lines(&reference).len();
    wait_for_windows(&daemon, &mut seen, 15);
    let recreated_at = lines(&reference).len();
    std::fs::create_dir(&folder).unwrap();
    wait_for_windows(&daemon, &mut seen, 15);
    let log = daemon.stderr();
    daemon.terminate(&mut seen);

    // The new file holds a contiguous tail of the events: all of them from shortly before the
    // folder went (those written into the removed file are gone with it) to the end.
    let (written, expected) = (lines(&faulty), lines(&reference));
    let from = expected.len() - written.len();
    assert_eq!(written, expected[from..], "{log}");
    assert!(from <= removed_at, "events from {from}, the folder went after {removed_at}\n{log}");
    assert!(recreated_at - removed_at >= 10, "events produced while the folder was missing are kept");
    assert!(log.contains("The event file was removed; writing to a new one."), "{log}");
    assert_eq!(log.matches("Sink error; more are counted").count(), 1, "{log}");
}

#[test]
fn a_full_backlog_drops_the_oldest_whole_events_and_says_so() {
    let dir = tempdir();
    // The smallest backlog allowed, room for about 35 window events; 70 come while full.
    let FullDiskRun { disk: _disk, filler, _camera, faulty, reference, port: _, daemon } =
        FullDiskRun::start(dir.path(), "backlog = \"16 KiB\"");
    let mut seen = Vec::new();
    wait_for_windows(&daemon, &mut seen, 70);
    std::fs::remove_file(&filler).unwrap();
    wait_for_windows(&daemon, &mut seen, 10);
    let log = daemon.stderr();
    daemon.terminate(&mut seen);
    let (written, expected) = (lines(&faulty), lines(&reference));
    assert!(written.len() < expected.len() - 10, "the oldest held events were dropped");
    // What was kept is whole events, and from its first on nothing is missing.
    let from = expected.iter().position(|l| *l == written[0]).expect("a line of the reference");
    assert_eq!(written, expected[from..], "{log}");
    assert_eq!(log.matches("Events dropped: the event file could not be written").count(), 1, "once: {log}");
    let dropped = expected.len() - written.len();
    assert!(log.contains(&format!("dropped={dropped}")), "{dropped} dropped and counted: {log}");
}
