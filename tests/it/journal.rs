//! Logging under systemd's journal. actiond decides by `JOURNAL_STREAM` (stderr is the
//! journal's stream) and then by whether the journal's socket answers; each test runs actiond in
//! a private mount namespace with its own `/run` (`unshare -m`, as root), so the socket is the
//! test's own datagram socket, or absent, whatever the machine runs.

use std::collections::BTreeMap;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::util::*;

/// `BIN args…` in a private `/run` (a tmpfs) where `/run/systemd/journal/socket` is `socket`,
/// or missing, with stderr going to `log` and `JOURNAL_STREAM` naming that file as systemd names
/// the journal's stream: what a unit's stderr looks like to actiond.
fn run_under_journal(args: &[&str], log: &Path, socket: Option<&Path>) -> std::process::ExitStatus {
    use std::os::unix::fs::MetadataExt;
    let file = std::fs::File::create(log).unwrap();
    let meta = file.metadata().unwrap();
    let script = r#"mount -t tmpfs actiond-test /run && mkdir -p /run/systemd/journal &&
        { [ -z "$SOCKET" ] || ln -s "$SOCKET" /run/systemd/journal/socket; } && exec "$@""#;
    Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", script, "sh", BIN])
        .args(args)
        .env("SOCKET", socket.map_or(String::new(), |s| s.display().to_string()))
        .env("JOURNAL_STREAM", format!("{}:{}", meta.dev(), meta.ino()))
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(file)
        .status()
        .unwrap()
}

/// One entry of journald's native protocol: `NAME=value` lines, or `NAME`, a little-endian
/// 64-bit length and that many bytes (values with newlines).
fn parse_entry(mut data: &[u8]) -> BTreeMap<String, String> {
    let mut fields = BTreeMap::new();
    while !data.is_empty() {
        let end = data.iter().position(|&b| b == b'\n').expect("a field ends with a newline");
        let line = &data[..end];
        match line.iter().position(|&b| b == b'=') {
            Some(eq) => {
                fields.insert(lossy(&line[..eq]), lossy(&line[eq + 1..]));
                data = &data[end + 1..];
            }
            None => {
                let len = u64::from_le_bytes(data[end + 1..end + 9].try_into().unwrap()) as usize;
                fields.insert(lossy(line), lossy(&data[end + 9..end + 9 + len]));
                data = &data[end + 9 + len + 1..];
            }
        }
    }
    fields
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

type Entry = BTreeMap<String, String>;

/// A journal socket read on its own thread while actiond runs: the kernel queues only a few
/// datagrams (net.unix.max_dgram_qlen), and a sender blocks when they are not read.
struct JournalSocket {
    entries: std::sync::Arc<std::sync::Mutex<Vec<Entry>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl JournalSocket {
    fn bind(path: &Path) -> Self {
        let socket = UnixDatagram::bind(path).unwrap();
        socket.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        let entries = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (into, stopped) = (entries.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 1 << 20];
            while !stopped.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok(n) = socket.recv(&mut buf)
                    && n > 0
                {
                    into.lock().unwrap().push(parse_entry(&buf[..n]));
                }
            }
        });
        Self { entries, stop }
    }

    /// The entries received so far (the child has exited: they are all there).
    fn take(&self) -> Vec<Entry> {
        std::thread::sleep(Duration::from_millis(200));
        std::mem::take(&mut *self.entries.lock().unwrap())
    }
}

impl Drop for JournalSocket {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

#[test]
fn with_the_journals_socket_every_event_is_an_entry_with_its_fields() {
    let dir = tempdir();
    let video = dir.path().join("t.mp4");
    synth_video(&video, 160, 120, 1, 47);
    let p = mean_color_pipeline(dir.path(), video.to_str().unwrap(), "stride = 5");
    let socket_path = dir.path().join("journal.socket");
    let socket = JournalSocket::bind(&socket_path);
    let log = dir.path().join("stderr.txt");
    assert!(run_under_journal(&["run", p.to_str().unwrap()], &log, Some(&socket_path)).success());
    let got = socket.take();
    let started = got
        .iter()
        .find(|e| e.get("MESSAGE").is_some_and(|m| m == "Stream started."))
        .unwrap_or_else(|| panic!("no 'Stream started.' entry: {got:?}"));
    assert_eq!(started["PRIORITY"], "6", "info is the journal's informational: {started:?}");
    assert_eq!(started["STREAM"], "cam", "the stream is a journal field: {started:?}");
    assert_eq!(started["SYSLOG_IDENTIFIER"], "actiond");
    assert!(got.iter().all(|e| e.contains_key("PRIORITY") && e.contains_key("MESSAGE")), "{got:?}");
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert!(stderr.is_empty(), "the log went to the socket, not the stream: {stderr}");

    // A failure's last words are an error entry too (journalctl -p err shows it).
    let missing = dir.path().join("no-such.toml");
    assert!(!run_under_journal(&["validate", missing.to_str().unwrap()], &log, Some(&socket_path)).success());
    let got = socket.take();
    let last = got.last().unwrap_or_else(|| panic!("no entry for the failure"));
    assert_eq!(last["PRIORITY"], "3", "{last:?}");
    assert!(last["MESSAGE"].contains("no-such.toml"), "{last:?}");
}

#[test]
fn without_the_socket_every_log_line_carries_its_priority() {
    let dir = tempdir();
    let video = dir.path().join("t.mp4");
    synth_video(&video, 160, 120, 1, 45);
    let p = mean_color_pipeline(dir.path(), video.to_str().unwrap(), "stride = 5");
    let log = dir.path().join("journal.txt");
    assert!(run_under_journal(&["run", p.to_str().unwrap()], &log, None).success());
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.is_empty());
    for line in text.lines() {
        let priority = line.strip_prefix('<').and_then(|l| l.split_once('>')).map(|(p, _)| p);
        assert!(matches!(priority, Some("3" | "4" | "6" | "7")), "no priority prefix: {line:?}");
    }
    assert!(text.lines().any(|l| l.starts_with("<6>") && l.contains("Stream started.")), "{text}");
    assert!(!text.contains("\u{1b}["), "no colour codes for the journal");
    assert!(
        !text.lines().any(|l| l.get(3..7).is_some_and(|y| y.starts_with("20"))),
        "no own timestamps: {text}"
    );

    // A failure's last line is an error to journalctl -p err.
    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    let missing = mean_color_pipeline(&other, "/no/such/video.mp4", "stride = 5");
    assert!(!run_under_journal(&["validate", missing.to_str().unwrap()], &log, None).success());
    let text = std::fs::read_to_string(&log).unwrap();
    let last = text.lines().last().unwrap();
    assert!(last.starts_with("<3>actiond: error:") && last.contains("/no/such/video.mp4"), "{text}");

    // Not the journal's stream (another inode): plain lines, as before.
    let plain = dir.path().join("plain.txt");
    let status = Command::new(BIN)
        .args(["run", p.to_str().unwrap()])
        .env("JOURNAL_STREAM", "1:1")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&plain).unwrap())
        .status()
        .unwrap();
    assert!(status.success());
    assert!(!std::fs::read_to_string(&plain).unwrap().starts_with('<'));
}
