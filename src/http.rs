//! The optional HTTP listener: `/healthz` (per-stream state; 200 only while every stream is up,
//! starting, retrying within its policy, or finished) and `/metrics` (Prometheus text format).
//! Off by default; meant for 127.0.0.1.

use std::sync::Arc;
use std::thread::JoinHandle;

use crate::progress::{Progress, StreamState};

/// A running listener; stops when dropped.
pub struct HttpListener {
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
    pub address: std::net::SocketAddr,
}

/// The `/healthz` answer: status code and JSON body.
pub fn health(progress: &Progress) -> (u16, String) {
    let states = progress.states();
    let healthy = states.values().all(|s| *s != StreamState::Failed);
    let streams: serde_json::Map<String, serde_json::Value> =
        states.iter().map(|(id, s)| (id.clone(), serde_json::Value::from(s.as_str()))).collect();
    let body = serde_json::json!({ "status": if healthy { "ok" } else { "unhealthy" }, "streams": streams });
    (if healthy { 200 } else { 503 }, body.to_string())
}

impl HttpListener {
    /// Listens on `address` (e.g. `127.0.0.1:9464`).
    pub fn start(address: &str, progress: Arc<Progress>) -> Result<Self, String> {
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
                        "/metrics" => {
                            (200, progress.metrics.encode(), "text/plain; version=0.0.4; charset=utf-8")
                        }
                        "/healthz" => {
                            let (code, body) = health(&progress);
                            (code, body, "application/json")
                        }
                        _ => (404, "not found: try /healthz or /metrics\n".to_owned(), "text/plain"),
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
        tracing::info!(address = %bound, "Serving /healthz and /metrics.");
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
