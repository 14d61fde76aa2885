//! Running as a service: the sd_notify protocol over a real Unix datagram socket, a watchdog
//! that stops pinging when a stage is stuck, SIGTERM in the middle of a file, and the systemd
//! units checked by systemd-analyze.

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::*;
use serde_json::Value;

/// A notify socket like systemd's: collects the datagrams the daemon sends.
struct NotifySocket {
    socket: UnixDatagram,
    path: std::path::PathBuf,
}

impl NotifySocket {
    fn bind(dir: &Path) -> Self {
        let path = dir.join("notify.sock");
        let socket = UnixDatagram::bind(&path).unwrap();
        socket.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
        Self { socket, path }
    }

    /// Receives messages (each may hold several `KEY=VALUE` lines) for `duration`, with the
    /// time each arrived.
    fn collect(
        &self,
        duration: Duration,
        out: &mut Vec<(Instant, String)>,
        until: impl Fn(&str) -> bool,
    ) -> bool {
        let end = Instant::now() + duration;
        let mut buf = [0u8; 4096];
        while Instant::now() < end {
            if let Ok(n) = self.socket.recv(&mut buf) {
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                for line in text.lines() {
                    out.push((Instant::now(), line.to_owned()));
                    if until(line) {
                        return true;
                    }
                }
            }
        }
        false
    }
}

/// Starts the daemon the way systemd does: NOTIFY_SOCKET, and WATCHDOG_USEC with WATCHDOG_PID
/// naming the daemon itself (the shell `exec`s it, keeping its pid).
fn spawn(pipeline: &Path, notify: &NotifySocket, watchdog_usec: u64, stdout: Stdio) -> std::process::Child {
    Command::new("sh")
        .args(["-c", "WATCHDOG_PID=$$ exec \"$0\" run \"$1\"", BIN, pipeline.to_str().unwrap()])
        .env("NOTIFY_SOCKET", &notify.path)
        .env("WATCHDOG_USEC", watchdog_usec.to_string())
        .stdout(stdout)
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn sigterm(pid: u32) {
    assert!(Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap().success());
}

#[test]
fn ready_watchdog_status_then_stopping_in_order() {
    let dir = tempdir();
    let server = RtspServer::start(&["--live", "--width", "160", "--height", "120"]);
    let notify = NotifySocket::bind(dir.path());
    let p = mean_color_pipeline(dir.path(), &server.url, "stride = 2");
    let mut child = spawn(&p, &notify, 400_000, Stdio::null());
    let mut got = Vec::new();
    let pings = std::cell::Cell::new(0);
    let enough = |l: &str| {
        if l == "WATCHDOG=1" {
            pings.set(pings.get() + 1);
        }
        pings.get() >= 4 && l.starts_with("STATUS=")
    };
    assert!(notify.collect(Duration::from_secs(20), &mut got, enough), "{got:?}");
    sigterm(child.id());
    assert!(notify.collect(Duration::from_secs(10), &mut got, |l| l == "STOPPING=1"), "{got:?}");
    assert_eq!(child.wait().unwrap().code(), Some(0));
    let lines: Vec<&str> = got.iter().map(|(_, l)| l.as_str()).collect();
    let ready = lines.iter().position(|l| *l == "READY=1").expect("READY=1");
    let first_ping = lines.iter().position(|l| *l == "WATCHDOG=1").unwrap();
    assert!(ready < first_ping, "{lines:?}");
    assert_eq!(lines.last(), Some(&"STOPPING=1"));
    let status = lines.iter().rev().find(|l| l.starts_with("STATUS=")).unwrap();
    assert!(status.contains("1/1 streams up") && status.contains("windows/s"), "{status}");
}

#[test]
fn a_stuck_sink_stops_the_watchdog_pings() {
    let dir = tempdir();
    let video = dir.path().join("long.mp4");
    synth_video(&video, 160, 120, 8, 41);
    let notify = NotifySocket::bind(dir.path());
    // One window per frame: far more output than a pipe holds while nobody reads it.
    let p = mean_color_pipeline(dir.path(), video.to_str().unwrap(), "stride = 1");
    let mut child = spawn(&p, &notify, 400_000, Stdio::piped());
    let mut got = Vec::new();
    assert!(notify.collect(Duration::from_secs(10), &mut got, |l| l == "READY=1"));
    // stdout is not read: the sink blocks, then inference, then decoding.
    notify.collect(Duration::from_secs(3), &mut got, |_| false);
    let quiet_since = Instant::now() - Duration::from_millis(1500);
    let late_pings = got.iter().filter(|(t, l)| l == "WATCHDOG=1" && *t > quiet_since).count();
    assert_eq!(late_pings, 0, "pinged while stuck: {got:?}");
    // Unblock: read stdout; pings come back and the file finishes.
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()).unwrap());
    let mut after = Vec::new();
    assert!(
        notify.collect(Duration::from_secs(10), &mut after, |l| l == "WATCHDOG=1"),
        "no ping after unblocking"
    );
    assert_eq!(child.wait().unwrap().code(), Some(0));
    assert!(reader.join().unwrap() > 64 * 1024);
}

#[test]
fn sigterm_mid_file_writes_every_window_cut_and_exits_zero() {
    let dir = tempdir();
    let video = dir.path().join("long.mp4");
    let truth = synth_video(&video, 320, 240, 16, 42);
    let p = write_pipeline(
        dir.path(),
        "p.toml",
        &format!(
            "{}\n[window]\nstride = 1\n\n[[streams]]\nid = \"t\"\nuri = \"{}\"\n",
            demo_model_table(),
            video.display()
        ),
    );
    let daemon = Daemon::start(&p, &[]);
    let mut seen = Vec::new();
    assert!(daemon.wait_for(Duration::from_secs(30), &mut seen, |e| e["window"] == 50));
    let (code, took) = daemon.terminate(&mut seen);
    assert_eq!(code, Some(0));
    let windows: Vec<u64> =
        seen.iter().filter(|e| e["type"] == "window").map(|e| e["window"].as_u64().unwrap()).collect();
    let total = truth["frames"].as_u64().unwrap() - 9;
    assert!(
        windows.len() as u64 >= 51 && (windows.len() as u64) < total,
        "stopped midway: {}",
        windows.len()
    );
    assert_eq!(
        windows,
        (0..windows.len() as u64).collect::<Vec<_>>(),
        "no gap: every window cut was written"
    );
    let end = seen.last().unwrap();
    assert_eq!((end["type"].as_str(), end["reason"].as_str()), (Some("stream_end"), Some("stopped")));
    eprintln!("SIGTERM to exit: {took:?}");
}

#[test]
fn units_are_hardened_and_verify_clean() {
    for unit in ["actiond.service", "actiond@.service"] {
        let path = root().join("systemd").join(unit);
        let out =
            Command::new("systemd-analyze").args(["security", "--offline=true"]).arg(&path).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let line =
            text.lines().find(|l| l.contains("Overall exposure level")).unwrap_or_else(|| panic!("{text}"));
        let score: f64 = line.split(':').nth(1).unwrap().split_whitespace().next().unwrap().parse().unwrap();
        assert!(score <= 2.0, "{unit}: {line}");

        // verify checks that the binaries exist: point the unit at the one just built.
        let dir = tempdir();
        let text = std::fs::read_to_string(&path).unwrap().replace("/usr/local/bin/actiond", BIN);
        let copy = dir.path().join(unit);
        std::fs::write(&copy, text).unwrap();
        let instance =
            if unit.contains('@') { dir.path().join("actiond@gate.service") } else { copy.clone() };
        if instance != copy {
            std::fs::copy(&copy, &instance).unwrap();
        }
        let out =
            Command::new("systemd-analyze").args(["verify", "--man=no"]).arg(&instance).output().unwrap();
        let messages =
            String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
        let ours: Vec<&str> = messages.lines().filter(|l| l.contains("actiond")).collect();
        assert!(out.status.success() && ours.is_empty(), "{unit}: {messages}");
    }
}

#[test]
fn installed_daemon_finds_its_library_and_models_without_environment() {
    let dir = tempdir();
    let dest = dir.path();
    let out = Command::new("bash")
        .arg(root().join("scripts/install.sh"))
        .env("DESTDIR", dest)
        .env("PREFIX", "/usr/local")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bin = dest.join("usr/local/bin/actiond");
    // The installed config names models under PREFIX; staged under DESTDIR, point it there.
    let config = std::fs::read_to_string(dest.join("etc/actiond/pipeline.toml")).unwrap();
    assert!(config.contains("/usr/local/share/actiond/models/"), "{config}");
    let staged = dest.join("pipeline.toml");
    std::fs::write(&staged, config.replace("/usr/local/", &format!("{}/usr/local/", dest.display())))
        .unwrap();
    for args in [
        vec!["validate", staged.to_str().unwrap()],
        vec![
            "inspect-model",
            dest.join("usr/local/share/actiond/models/gap_grid_lstm.onnx").to_str().unwrap(),
        ],
    ] {
        let out = Command::new(&bin)
            .args(&args)
            .env_remove("ORT_DYLIB_PATH")
            .env("RUST_LOG", "actiond=debug")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {err}");
        // The library next to the binary, not the build tree's.
        let installed = format!("{}/usr/local/bin/../lib/actiond/libonnxruntime.so.1.31.1", dest.display());
        assert!(err.contains(&installed), "{err}");
    }
    let unit = std::fs::read_to_string(dest.join("etc/systemd/system/actiond.service")).unwrap();
    assert!(unit.contains("ExecStart=/usr/local/bin/actiond run /etc/actiond/pipeline.toml"), "{unit}");
    let out = Command::new("bash")
        .arg(root().join("scripts/install.sh"))
        .arg("uninstall")
        .env("DESTDIR", dest)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(!bin.exists() && !dest.join("usr/local/lib/actiond").exists());
    assert!(dest.join("etc/actiond/pipeline.toml").exists(), "the configuration is kept");
}

#[test]
fn json_logs_carry_gstreamers_own_messages_and_the_last_error() {
    let dir = tempdir();
    let video = dir.path().join("t.mp4");
    synth_video(&video, 160, 120, 1, 46);
    let p = mean_color_pipeline(dir.path(), video.to_str().unwrap(), "stride = 5");
    // GST_STATES at INFO: every state change of the decoding pipeline, from GStreamer itself.
    let out = Command::new(BIN)
        .args(["--log-format", "json", "run", p.to_str().unwrap()])
        .env("GST_DEBUG", "GST_STATES:4")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<Value> = String::from_utf8(out.stderr)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let ours = lines.iter().find(|l| l["message"] == "Stream started.").expect("actiond's own line");
    assert_eq!((&ours["level"], &ours["stream"]), (&"INFO".into(), &"cam".into()), "{ours}");
    let gst: Vec<&Value> = lines.iter().filter(|l| l["target"] == "gstreamer").collect();
    assert!(!gst.is_empty(), "GStreamer's messages come through tracing: {lines:?}");
    assert!(gst.iter().all(|l| l["category"] == "GST_STATES" && l["level"] == "INFO"), "{gst:?}");
    assert!(gst.iter().any(|l| l["message"].as_str().unwrap().contains("PLAYING")), "{gst:?}");
    assert!(serde_json::from_slice::<Value>(out.stdout.split(|b| *b == b'\n').next().unwrap()).is_ok());

    // -q: warnings and errors only; a failure's last words are a JSON error too.
    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    let missing = mean_color_pipeline(&other, "/no/such/video.mp4", "stride = 5");
    let out = Command::new(BIN)
        .args(["-q", "--log-format", "json", "run", missing.to_str().unwrap()])
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(lines.iter().all(|l| l["level"] == "ERROR" || l["level"] == "WARN"), "{text}");
    let last = lines.last().unwrap();
    assert!(last["message"].as_str().unwrap().contains("streams failed"), "{text}");
}
