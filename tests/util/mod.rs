//! Helpers shared by the integration tests: running the real binary, writing pipelines,
//! making real encoded videos, and reading the JSON Lines it prints.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_actiond");

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures").join(name)
}

pub fn model(name: &str) -> PathBuf {
    root().join("models").join(name)
}

/// Runs `actiond` with `args`; stdout and stderr are captured.
pub fn actiond(args: &[&str]) -> Output {
    actiond_with_env(args, &[])
}

pub fn actiond_with_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env("RUST_LOG", "info").env_remove("RUST_BACKTRACE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("actiond runs")
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Parses stdout as JSON Lines; every line must be an event valid against the published schema.
pub fn events(out: &Output) -> Vec<Value> {
    stdout(out).lines().map(parse_event).collect()
}

/// Parses one event and validates it against `schema/events.schema.json`.
pub fn parse_event(line: &str) -> Value {
    static SCHEMA: std::sync::OnceLock<jsonschema::Validator> = std::sync::OnceLock::new();
    let validator = SCHEMA.get_or_init(|| {
        let text = std::fs::read_to_string(root().join("schema/events.schema.json")).unwrap();
        jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).expect("the schema compiles")
    });
    let value: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    let errors: Vec<String> =
        validator.iter_errors(&value).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "event does not match the schema: {errors:?}\n{line}");
    value
}

/// The window events of stdout, checking that each stream's windows come in order.
pub fn windows(out: &Output) -> Vec<Value> {
    let all: Vec<Value> = events(out).into_iter().filter(|e| e["type"] == "window").collect();
    let mut next = std::collections::HashMap::new();
    for e in &all {
        let expected = next.entry(e["stream"].as_str().unwrap().to_owned()).or_insert(0u64);
        assert_eq!(e["window"].as_u64(), Some(*expected), "window order: {e}");
        *expected += 1;
    }
    all
}

/// Asserts a failed run with a clean, single error line that mentions `culprit`.
pub fn assert_clean_failure(out: &Output, culprit: &str) {
    let err = stderr(out);
    assert!(!out.status.success(), "expected failure, got success; stderr:\n{err}");
    assert!(!err.contains("panicked") && !err.contains("RUST_BACKTRACE"), "panic:\n{err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("actiond: error:")).collect();
    assert_eq!(lines.len(), 1, "expected one error line:\n{err}");
    assert!(lines[0].contains(culprit), "error line does not name {culprit}:\n{err}");
}

/// Writes a pipeline file into `dir` and returns its path.
pub fn write_pipeline(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Writes a pipeline file into `dir` with a two-stage model (files of `models/`), the shipped
/// labels and one stream `a` reading `uri`; returns its path.
pub fn pair_pipeline(dir: &Path, name: &str, encoder: &str, head: &str, uri: &Path) -> PathBuf {
    let text = format!(
        "[model]\nencoder = \"{}\"\nhead = \"{}\"\nlabels = \"{}\"\n\n[[streams]]\nid = \"a\"\nuri = \"{}\"\n",
        model(encoder).display(),
        model(head).display(),
        root().join("models/labels.txt").display(),
        uri.display()
    );
    write_pipeline(dir, name, &text)
}

/// Writes a synthetic timeline video with `actiond synth-video`; returns the truth JSON.
pub fn synth_video(path: &Path, width: u32, height: u32, segments: usize, seed: u64) -> Value {
    let out = actiond(&[
        "synth-video",
        "--out",
        path.to_str().unwrap(),
        "--width",
        &width.to_string(),
        "--height",
        &height.to_string(),
        "--segments",
        &segments.to_string(),
        "--seed",
        &seed.to_string(),
    ]);
    assert!(out.status.success(), "synth-video failed: {}", stderr(&out));
    let truth = path.with_extension("truth.json");
    serde_json::from_str(&std::fs::read_to_string(truth).unwrap()).unwrap()
}

/// Encodes a video with a gst-launch style description ending in `filesink name=sink`.
pub fn gst_video(path: &Path, description: &str) {
    use gstreamer::prelude::*;
    gstreamer::init().unwrap();
    let pipeline = gstreamer::parse::launch(description).unwrap().downcast::<gstreamer::Pipeline>().unwrap();
    pipeline.by_name("sink").unwrap().set_property("location", path.to_str().unwrap());
    pipeline.set_state(gstreamer::State::Playing).unwrap();
    let bus = pipeline.bus().unwrap();
    let msg = bus
        .timed_pop_filtered(
            gstreamer::ClockTime::from_seconds(60),
            &[gstreamer::MessageType::Eos, gstreamer::MessageType::Error],
        )
        .expect("encoding finishes");
    assert!(matches!(msg.view(), gstreamer::MessageView::Eos(_)), "encoding failed: {msg:?}");
    pipeline.set_state(gstreamer::State::Null).unwrap();
}

pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("actiond-test-").tempdir().unwrap()
}

pub const RTSP_SERVER_BIN: &str = env!("CARGO_BIN_EXE_actiond-rtsp-server");

/// A real RTSP server on 127.0.0.1 (the `actiond-rtsp-server` binary), which a test can kill
/// and start again on the same port.
pub struct RtspServer {
    args: Vec<String>,
    child: Option<std::process::Child>,
    pub port: u16,
    pub url: String,
}

impl RtspServer {
    /// Starts a server with `args` (e.g. `["--live"]` or `["--file", path]`) on a free port.
    pub fn start(args: &[&str]) -> Self {
        let mut server = Self {
            args: args.iter().map(|s| s.to_string()).collect(),
            child: None,
            port: 0,
            url: String::new(),
        };
        server.spawn(0);
        server
    }

    fn spawn(&mut self, port: u16) {
        use std::io::BufRead;
        let mut child = Command::new(RTSP_SERVER_BIN)
            .args(&self.args)
            .args(["--port", &port.to_string()])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("rtsp server starts");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert!(line.starts_with("rtsp://"), "server did not start: {line:?}");
        self.url = line.trim().to_owned();
        self.port = self.url.rsplit(':').next().unwrap().split('/').next().unwrap().parse().unwrap();
        self.child = Some(child);
    }

    /// Kills the server process (SIGKILL), as a crashed camera would vanish.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// Starts it again on the same port.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "kill it first");
        let port = self.port;
        // The port was ours a moment ago; retry briefly in case the kernel still holds it.
        for _ in 0..50 {
            let probe = std::net::TcpListener::bind(("127.0.0.1", port));
            if probe.is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        self.spawn(port);
    }
}

impl Drop for RtspServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A running `actiond run` whose events are read as they come.
pub struct Daemon {
    child: std::process::Child,
    pub events: crossbeam_channel::Receiver<Value>,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Daemon {
    pub fn start(pipeline: &Path, env: &[(&str, &str)]) -> Self {
        use std::io::BufRead;
        let mut cmd = Command::new(BIN);
        cmd.args(["run", pipeline.to_str().unwrap()])
            .env("RUST_LOG", "info")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("actiond starts");
        let (tx, events) = crossbeam_channel::unbounded();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let line = line.unwrap();
                let value: Value =
                    serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
                if tx.send(value).is_err() {
                    break;
                }
            }
        });
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = stderr.clone();
        let pipe = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(pipe).lines() {
                let line = line.unwrap();
                let mut text = sink.lock().unwrap();
                text.push_str(&line);
                text.push('\n');
            }
        });
        Self { child, events, stderr }
    }

    /// Collects events until `done` says so (inclusive) or `timeout` passes.
    pub fn wait_for(
        &self,
        timeout: std::time::Duration,
        seen: &mut Vec<Value>,
        mut done: impl FnMut(&Value) -> bool,
    ) -> bool {
        let end = std::time::Instant::now() + timeout;
        while let Some(left) = end.checked_duration_since(std::time::Instant::now()) {
            match self.events.recv_timeout(left) {
                Ok(e) => {
                    let stop = done(&e);
                    seen.push(e);
                    if stop {
                        return true;
                    }
                }
                Err(_) => return false,
            }
        }
        false
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits for the exit; returns the exit code and how long it took.
    pub fn terminate(mut self, seen: &mut Vec<Value>) -> (Option<i32>, std::time::Duration) {
        let start = std::time::Instant::now();
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
        let code = self.child.wait().unwrap().code();
        let took = start.elapsed();
        // The reader thread ends at EOF; collect what is left.
        while let Ok(e) = self.events.recv_timeout(std::time::Duration::from_secs(2)) {
            seen.push(e);
        }
        (code, took)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The bar for the default head: share of windows inside one segment with that segment's label.
pub const MIN_ACCURACY: f64 = 0.90;

/// The `[model]` table of the demo pipeline (the default head), with paths made absolute.
pub fn demo_model_table() -> String {
    let text = std::fs::read_to_string(root().join("pipelines/demo.toml")).unwrap();
    let doc: toml::Table = text.parse().unwrap();
    let mut model = doc["model"].as_table().unwrap().clone();
    for key in ["path", "encoder", "head", "labels"] {
        let Some(file) = model.get(key) else { continue };
        let p = root().join("pipelines").join(file.as_str().unwrap());
        model.insert(key.into(), toml::Value::String(p.to_string_lossy().into_owned()));
    }
    toml::to_string(&toml::Table::from_iter([("model".to_owned(), toml::Value::Table(model))])).unwrap()
}

/// Share of `windows` lying wholly inside one segment of `truth` that carry that segment's
/// label, and how many windows lay inside a segment.
pub fn accuracy(windows: &[Value], truth: &Value) -> (f64, usize) {
    let segments = truth["segments"].as_array().unwrap();
    let (mut inside, mut right) = (0, 0);
    for e in windows {
        let (first, last) = (e["first_frame"].as_u64().unwrap(), e["last_frame"].as_u64().unwrap());
        if let Some(s) = segments
            .iter()
            .find(|s| s["start_frame"].as_u64().unwrap() <= first && last < s["end_frame"].as_u64().unwrap())
        {
            inside += 1;
            right += usize::from(e["label"] == s["label"]);
        }
    }
    (right as f64 / inside.max(1) as f64, inside)
}

/// A real mosquitto broker on 127.0.0.1 at a free port, with persistence so that a restart
/// keeps sessions and queued QoS 1 messages.
pub struct Broker {
    dir: tempfile::TempDir,
    child: Option<std::process::Child>,
    pub port: u16,
}

impl Broker {
    pub fn start() -> Self {
        let dir = tempdir();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut broker = Self { dir, child: None, port };
        broker.spawn();
        broker
    }

    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) {
        let conf = self.dir.path().join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!(
                "listener {} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location {}/\n\
                 max_queued_messages 100000\n",
                self.port,
                self.dir.path().display()
            ),
        )
        .unwrap();
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(&conf)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("mosquitto is installed (scripts/setup.sh)");
        self.child = Some(child);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("mosquitto did not start on port {}", self.port);
    }

    /// Stops the broker with SIGTERM (it saves its state) and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
            child.wait().unwrap();
        }
    }

    /// Starts it again on the same port.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "stop it first");
        self.spawn();
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A real MQTT subscriber (persistent session, QoS 1) collecting `(topic, payload)` pairs.
pub struct Subscriber {
    pub messages: crossbeam_channel::Receiver<(String, String)>,
    client: rumqttc::Client,
}

impl Subscriber {
    pub fn start(port: u16, filter: &str) -> Self {
        use rumqttc::{Event, Packet, QoS};
        let mut options = rumqttc::MqttOptions::new(format!("test-sub-{port}"), "127.0.0.1", port);
        options.set_clean_session(false);
        options.set_keep_alive(std::time::Duration::from_secs(5));
        let (client, mut connection) = rumqttc::Client::new(options, 100);
        let (tx, messages) = crossbeam_channel::unbounded();
        let (subscribed_tx, subscribed) = crossbeam_channel::bounded(1);
        let sub_client = client.clone();
        let filter = filter.to_owned();
        std::thread::spawn(move || {
            for notification in connection.iter() {
                match notification {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        sub_client.try_subscribe(filter.clone(), QoS::AtLeastOnce).unwrap();
                    }
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        let _ = subscribed_tx.try_send(());
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        let payload = String::from_utf8(p.payload.to_vec()).unwrap();
                        if tx.send((p.topic.clone(), payload)).is_err() {
                            break;
                        }
                    }
                    Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) => break,
                    Ok(_) => {}
                    Err(_) => std::thread::sleep(std::time::Duration::from_millis(100)),
                }
            }
        });
        subscribed.recv_timeout(std::time::Duration::from_secs(10)).expect("subscribed");
        Self { messages, client }
    }

    /// Collects messages until `done` says so (inclusive) or `timeout` passes.
    pub fn collect_until(
        &self,
        timeout: std::time::Duration,
        seen: &mut Vec<(String, String)>,
        mut done: impl FnMut(&str, &str) -> bool,
    ) -> bool {
        let end = std::time::Instant::now() + timeout;
        while let Some(left) = end.checked_duration_since(std::time::Instant::now()) {
            match self.messages.recv_timeout(left) {
                Ok((topic, payload)) => {
                    let stop = done(&topic, &payload);
                    seen.push((topic, payload));
                    if stop {
                        return true;
                    }
                }
                Err(_) => return false,
            }
        }
        false
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        let _ = self.client.try_disconnect();
    }
}
