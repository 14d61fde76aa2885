//! The optional HTTP listener, off by default and meant for 127.0.0.1:
//! - `/healthz` (liveness): per-stream state; 200 unless a stream has been given up or windows
//!   have waited `service.stall_timeout_s` without one getting done (a stuck stage: the stall
//!   the systemd watchdog sees, told to orchestrators that cannot use it);
//! - `/readyz` (readiness): 200 once every stream has been started and none is still making its
//!   first connection;
//! - `/metrics`: prometheus-client's OpenMetrics text, served under its own content type.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::progress::{Progress, StreamState};

/// A running listener; stops when dropped.
pub struct HttpListener {
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
    pub address: std::net::SocketAddr,
}

/// What `/metrics` is: the OpenMetrics text prometheus-client writes (`# EOF` and all).
pub const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

fn streams_json(progress: &Progress) -> serde_json::Map<String, serde_json::Value> {
    progress.states().iter().map(|(id, s)| (id.clone(), serde_json::Value::from(s.as_str()))).collect()
}

/// The `/healthz` answer: status code and JSON body. Unhealthy when a stream was given up, or
/// windows have waited `stall_timeout` with none done (`stalled_s` says how long).
pub fn health(progress: &Progress, stall_timeout: Duration) -> (u16, String) {
    let failed = progress.states().values().any(|s| *s == StreamState::Failed);
    let stalled = progress.stalled_for().filter(|waited| *waited >= stall_timeout);
    let healthy = !failed && stalled.is_none();
    let mut body = serde_json::json!({
        "status": if healthy { "ok" } else { "unhealthy" },
        "streams": streams_json(progress),
    });
    if let Some(waited) = stalled {
        body["stalled_s"] = serde_json::Value::from((waited.as_secs_f64() * 10.0).round() / 10.0);
    }
    (if healthy { 200 } else { 503 }, body.to_string())
}

/// The `/readyz` answer: ready once every stream has been started and none is still making its
/// first connection (a stream that came up and went down since is started).
pub fn readiness(progress: &Progress) -> (u16, String) {
    let states = progress.states();
    let starting: Vec<&String> =
        states.iter().filter(|(_, s)| **s == StreamState::Starting).map(|(id, _)| id).collect();
    let ready = progress.is_started() && starting.is_empty();
    let body = serde_json::json!({
        "status": if ready { "ready" } else { "starting" },
        "starting": starting,
        "streams": streams_json(progress),
    });
    (if ready { 200 } else { 503 }, body.to_string())
}

impl HttpListener {
    /// Listens on `address` (e.g. `127.0.0.1:9464`); `/healthz` fails after `stall_timeout`
    /// of windows waiting with none done.
    pub fn start(address: &str, progress: Arc<Progress>, stall_timeout: Duration) -> Result<Self, String> {
        let server =
            Arc::new(tiny_http::Server::http(address).map_err(|e| format!("listening on {address}: {e}"))?);
        let bound = server.server_addr().to_ip().ok_or("not an IP listener")?;
        let requests = server.clone();
        let thread = std::thread::Builder::new()
            .name("http".into())
            .spawn(move || {
                for request in requests.incoming_requests() {
                    let path = request.url().split('?').next().unwrap_or("").to_owned();
                    let (code, body, kind) = match path.as_str() {
                        "/metrics" => (200, progress.encode_metrics(), METRICS_CONTENT_TYPE),
                        "/healthz" => {
                            let (code, body) = health(&progress, stall_timeout);
                            (code, body, "application/json")
                        }
                        "/readyz" => {
                            let (code, body) = readiness(&progress);
                            (code, body, "application/json")
                        }
                        _ => (404, "not found: try /healthz, /readyz or /metrics\n".to_owned(), "text/plain"),
                    };
                    let header = tiny_http::Header::from_bytes("Content-Type", kind).expect("valid header");
                    let response =
                        tiny_http::Response::from_string(body).with_status_code(code).with_header(header);
                    if let Err(e) = request.respond(response) {
                        tracing::debug!(error = %e, "HTTP client went away.");
                    }
                }
            })
            .map_err(|e| e.to_string())?;
        tracing::info!(address = %bound, "Serving /healthz, /readyz and /metrics.");
        Ok(Self { server, thread: Some(thread), address: bound })
    }
}

impl Drop for HttpListener {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_once_every_stream_was_started_and_none_is_still_connecting() {
        let progress = Progress::default();
        progress.set_state("cam", StreamState::Starting);
        assert_eq!(readiness(&progress).0, 503, "streams not all handed to supervisors yet");
        progress.mark_started();
        let (code, body) = readiness(&progress);
        assert_eq!(code, 503);
        assert!(body.contains(r#""starting":["cam"]"#), "{body}");
        progress.set_state("cam", StreamState::Up);
        assert_eq!(readiness(&progress).0, 200);
        progress.set_state("cam", StreamState::Down);
        assert_eq!(
            readiness(&progress).0,
            200,
            "a camera that went down was started; /healthz tells the rest"
        );
    }

    #[test]
    fn waiting_windows_past_the_stall_timeout_are_unhealthy() {
        let progress = Progress::default();
        progress.set_state("cam", StreamState::Up);
        progress.window_cut();
        assert_eq!(health(&progress, Duration::from_secs(60)).0, 200, "waiting, not yet stalled");
        let (code, body) = health(&progress, Duration::ZERO);
        assert_eq!(code, 503);
        assert!(body.contains("stalled_s"), "{body}");
        progress.window_done();
        assert_eq!(health(&progress, Duration::ZERO).0, 200, "nothing waits");
        progress.set_state("cam", StreamState::Failed);
        assert_eq!(health(&progress, Duration::ZERO).0, 503);
    }
}
