//! One head on held-out videos through the real daemon: a pipeline file like the user's, with
//! its `[[streams]]` replaced by the videos, run by `actiond run` as a child process whose wall
//! time, CPU time and peak memory are measured by the kernel (`wait4`), as a user would see them.
//!
//! The child pipeline keeps the user's `[model]`, `[window]`, `[source]` and `[inference]`
//! exactly (model paths made absolute, since the file lives elsewhere), writes window events to
//! stdout for every window (no `min_score`, no ignored labels), and has no sinks, service or
//! listener of its own. Environment overrides reach the child as they reach `actiond run`,
//! except those of the tables replaced here.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::EvaluateError;
use crate::config::{ENV_PREFIX, PipelineConfig};

/// Tables of the user's pipeline that the child's replaces.
const REPLACED_TABLES: [&str; 5] = ["streams", "sinks", "service", "events", "output"];
/// Most of the child's log kept to explain a failure.
const STDERR_KEPT: usize = 16 * 1024;

/// One window event, as far as scoring and the timelines need it.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
pub struct WindowLine {
    /// The child's stream id (the report names the video instead).
    #[serde(skip_serializing)]
    pub stream: String,
    pub first_frame: u64,
    pub last_frame: u64,
    pub start_s: f64,
    pub end_s: f64,
    pub label: String,
    pub score: f32,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Line {
    Window(WindowLine),
    StreamEnd {
        stream: String,
        frames: u64,
    },
    StreamFailed {
        stream: String,
        reason: Option<String>,
    },
    #[serde(other)]
    Other,
}

/// What the kernel measured of one child.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Measured {
    pub wall_s: f64,
    pub cpu_s: f64,
    pub peak_rss_bytes: u64,
}

/// What one `actiond run` over some videos gave.
#[derive(Debug, Default)]
pub struct RunResult {
    pub windows: Vec<WindowLine>,
    /// `(stream, frames)` of every stream that reached its end.
    pub ended: Vec<(String, u64)>,
    /// `(stream, reason)` of every stream that failed.
    pub failed: Vec<(String, String)>,
    pub measured: Measured,
}

/// The child pipeline for `streams` (`(id, video)` pairs), as TOML text.
pub fn child_pipeline(config: &PipelineConfig, streams: &[(String, &Path)]) -> Result<String, EvaluateError> {
    let failed = |reason: String| EvaluateError::Run { pipeline: config.file.clone(), reason };
    let text = std::fs::read_to_string(&config.file).map_err(|e| failed(format!("cannot be read: {e}")))?;
    let mut table: toml::Table = text.parse().map_err(|e| failed(format!("not TOML: {e}")))?;
    for name in REPLACED_TABLES {
        table.remove(name);
    }
    let absolute = |p: &Path| -> toml::Value {
        toml::Value::String(std::path::absolute(p).unwrap_or_else(|_| p.to_owned()).display().to_string())
    };
    let model = table.entry("model").or_insert_with(|| toml::Table::new().into());
    if let Some(model) = model.as_table_mut() {
        let m = &config.model;
        for (key, path) in [("path", &m.path), ("encoder", &m.encoder), ("head", &m.head)] {
            if let Some(path) = path {
                model.insert(key.into(), absolute(path));
            }
        }
        model.insert("labels".into(), absolute(&m.labels));
    }
    if let Some(lib) = &config.inference.onnxruntime {
        let inference = table.entry("inference").or_insert_with(|| toml::Table::new().into());
        if let Some(inference) = inference.as_table_mut() {
            inference.insert("onnxruntime".into(), absolute(lib));
        }
    }
    let mut events = toml::Table::new();
    events.insert("modes".into(), toml::Value::Array(vec!["windows".into()]));
    events.insert("ignore".into(), toml::Value::Array(Vec::new()));
    events.insert("min_score".into(), 0.0.into());
    table.insert("events".into(), events.into());
    let streams: Vec<toml::Value> = streams
        .iter()
        .map(|(id, video)| {
            let mut s = toml::Table::new();
            s.insert("id".into(), id.clone().into());
            s.insert("uri".into(), absolute(video));
            s.insert("live".into(), false.into());
            s.into()
        })
        .collect();
    table.insert("streams".into(), toml::Value::Array(streams));
    toml::to_string(&table).map_err(|e| failed(format!("cannot be rewritten: {e}")))
}

/// Whether an environment variable overrides a key the child pipeline sets itself.
fn overrides_replaced_key(name: &str) -> bool {
    // The config crate matches the prefix in any case.
    let name = name.to_ascii_lowercase();
    let prefix = format!("{}__", ENV_PREFIX.to_ascii_lowercase());
    let Some(key) = name.strip_prefix(&prefix) else { return false };
    REPLACED_TABLES.iter().any(|t| key.starts_with(&format!("{t}__")) || key == *t)
        || ["model__path", "model__encoder", "model__head", "model__labels", "inference__onnxruntime"]
            .contains(&key)
}

/// Runs `actiond run` on a child pipeline file for `streams` and collects its events and costs.
/// A raised `stop` ends the child (SIGTERM) and the run fails as stopped.
pub fn run(
    pipeline: &Path,
    child_file: &Path,
    streams: &[&str],
    stop: &AtomicBool,
) -> Result<RunResult, EvaluateError> {
    let failed = |reason: String| EvaluateError::Run { pipeline: pipeline.to_owned(), reason };
    let exe = std::env::current_exe().map_err(|e| failed(format!("cannot find actiond itself: {e}")))?;
    let mut command = Command::new(exe);
    command.arg("run").arg(child_file).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if overrides_replaced_key(&name)
            || ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"].contains(&&*name)
        {
            command.env_remove(&*name);
        }
    }
    if std::env::var_os("RUST_LOG").is_none() {
        command.env("RUST_LOG", "warn");
    }
    let started = Instant::now();
    let mut child = command.spawn().map_err(|e| failed(format!("cannot start actiond run: {e}")))?;
    let pid = child.id() as libc::pid_t;
    let stderr = child.stderr.take().expect("stderr is piped");
    let log = std::thread::spawn(move || log_tail(stderr));
    let stdout = child.stdout.take().expect("stdout is piped");
    let done = AtomicBool::new(false);
    let read = std::thread::scope(|scope| {
        scope.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                if stop.load(Ordering::Relaxed) {
                    terminate(pid);
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let read = read_events(BufReader::new(stdout));
        if read.is_err() {
            // Nothing more of its output would be read: end it rather than let it run on.
            terminate(pid);
        }
        done.store(true, Ordering::Relaxed);
        read
    });
    let (status, measured) =
        wait_measured(&mut child, started).map_err(|e| failed(format!("waiting: {e}")))?;
    let log = log.join().unwrap_or_default();
    if stop.load(Ordering::Relaxed) {
        return Err(EvaluateError::Stopped);
    }
    let mut result = read.map_err(failed)?;
    result.measured = measured;
    let ended = result.ended.iter().map(|(s, _)| s.as_str());
    let accounted: Vec<&str> = ended.chain(result.failed.iter().map(|(s, _)| s.as_str())).collect();
    let unaccounted: Vec<&&str> = streams.iter().filter(|s| !accounted.contains(s)).collect();
    // A failed video makes `actiond run` exit non-zero; anything else that does is a failure.
    if !unaccounted.is_empty() || (!status.success() && result.failed.is_empty()) {
        return Err(failed(format!("actiond run ended with {status}:\n{}", log.trim_end())));
    }
    Ok(result)
}

fn terminate(pid: libc::pid_t) {
    // SAFETY: sending a signal to our own child, not yet reaped, has no memory effects.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
}

/// The last [`STDERR_KEPT`] bytes of the child's log, read to its end so the child never blocks.
fn log_tail(mut stderr: impl Read) -> String {
    let mut kept: Vec<u8> = Vec::new();
    let mut buffer = [0u8; 8192];
    while let Ok(n) = stderr.read(&mut buffer) {
        if n == 0 {
            break;
        }
        kept.extend_from_slice(&buffer[..n]);
        if kept.len() > 2 * STDERR_KEPT {
            kept.drain(..kept.len() - STDERR_KEPT);
        }
    }
    let start = kept.len().saturating_sub(STDERR_KEPT);
    String::from_utf8_lossy(&kept[start..]).into_owned()
}

fn read_events(stdout: impl BufRead) -> Result<RunResult, String> {
    let mut result = RunResult::default();
    for (n, line) in stdout.lines().enumerate() {
        let line = line.map_err(|e| format!("reading the events of actiond run: {e}"))?;
        let parsed: Line = serde_json::from_str(&line)
            .map_err(|e| format!("line {} of actiond run's output is not an event ({e}): {line}", n + 1))?;
        match parsed {
            Line::Window(w) => result.windows.push(w),
            Line::StreamEnd { stream, frames } => result.ended.push((stream, frames)),
            Line::StreamFailed { stream, reason } => {
                result.failed.push((stream, reason.unwrap_or_else(|| "failed".into())));
            }
            Line::Other => {}
        }
    }
    Ok(result)
}

/// Reaps the child with `wait4`, which gives its own CPU time and peak RSS.
fn wait_measured(child: &mut Child, started: Instant) -> std::io::Result<(ExitStatus, Measured)> {
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain data that wait4 fills in; zeroed is a valid value of it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: pid is our own unreaped child; status and usage are valid for writes.
        let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if reaped == pid {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let measured = Measured {
        wall_s: started.elapsed().as_secs_f64(),
        cpu_s: seconds(usage.ru_utime) + seconds(usage.ru_stime),
        // Linux reports kilobytes.
        peak_rss_bytes: usage.ru_maxrss.max(0) as u64 * 1024,
    };
    Ok((ExitStatus::from_raw(status), measured))
}

/// A folder for the child pipelines, removed afterwards.
pub fn scratch() -> Result<tempfile::TempDir, EvaluateError> {
    tempfile::Builder::new().prefix("actiond-evaluate-").tempdir().map_err(|e| EvaluateError::Run {
        pipeline: PathBuf::from("(scratch folder)"),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_of_replaced_tables_and_resolved_paths_are_not_passed_on() {
        assert!(overrides_replaced_key("ACTIOND__STREAMS"));
        assert!(overrides_replaced_key("ACTIOND__EVENTS__MIN_SCORE"));
        assert!(overrides_replaced_key("ACTIOND__MODEL__PATH"));
        assert!(!overrides_replaced_key("ACTIOND__INFERENCE__WORKERS"));
        assert!(!overrides_replaced_key("ACTIOND__MODEL__SCALE"));
        assert!(!overrides_replaced_key("PATH"));
        assert!(
            overrides_replaced_key("actiond__streams__0__uri"),
            "any case, as the config crate reads them"
        );
    }

    #[test]
    fn the_log_keeps_its_tail_whole_characters_and_all() {
        let text = "×".repeat(STDERR_KEPT) + "the end";
        let tail = log_tail(text.as_bytes());
        // A character cut in two at the start becomes one replacement character.
        assert!(tail.ends_with("the end") && tail.len() <= STDERR_KEPT + 3, "{}", tail.len());
    }

    #[test]
    fn events_are_read_and_anything_else_is_refused() {
        let text = concat!(
            r#"{"type":"stream_up","stream":"v1","time_utc":"x"}"#,
            "\n",
            r#"{"type":"window","stream":"v1","window":0,"first_frame":0,"last_frame":3,"padded":0,"start_s":0.0,"end_s":0.4,"label":"red","score":0.9,"top_k":[],"smoothed_label":"red","smoothed_score":0.9}"#,
            "\n",
            r#"{"type":"stream_end","stream":"v1","time_utc":"x","reason":"end of input","frames":16}"#,
            "\n",
            r#"{"type":"stream_failed","stream":"v3","time_utc":"x","reason":"Could not determine type of stream.","frames":0}"#,
            "\n",
            r#"{"type":"stream_failed","stream":"v2","time_utc":"x","reason":"no video"}"#,
            "\n"
        );
        let r = read_events(text.as_bytes()).unwrap();
        assert_eq!(r.windows.len(), 1);
        assert_eq!(r.windows[0].label, "red");
        assert_eq!(r.ended, vec![("v1".to_owned(), 16)]);
        assert_eq!(
            r.failed,
            vec![
                ("v3".to_owned(), "Could not determine type of stream.".to_owned()),
                ("v2".to_owned(), "no video".to_owned())
            ]
        );
        let e = read_events("not json\n".as_bytes()).unwrap_err();
        assert!(e.contains("line 1"), "{e}");
    }
}
