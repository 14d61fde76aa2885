//! `/metrics` scraped and parsed as Prometheus text, consistent with the events written;
//! `/healthz` following a stream down and a stream given up.

use std::io::{Read, Write};
use std::time::Duration;

use crate::util::*;
use serde_json::Value;

/// A plain HTTP/1.0 GET; returns the status code and the body.
fn get(port: u16, path: &str) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    (head.split_whitespace().nth(1).unwrap().parse().unwrap(), body.to_owned())
}

fn sample(scrape: &prometheus_parse::Scrape, name: &str, stream: &str) -> f64 {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == name && s.labels.get("stream") == Some(stream))
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            _ => panic!("{name} is not a number"),
        })
        .unwrap_or_else(|| panic!("no {name}{{stream={stream}}}"))
}

fn scrape(port: u16) -> prometheus_parse::Scrape {
    let (code, body) = get(port, "/metrics");
    assert_eq!(code, 200);
    prometheus_parse::Scrape::parse(body.lines().map(|l| Ok(l.to_owned()))).expect("Prometheus text format")
}

#[test]
fn metrics_match_the_events_and_health_follows_the_streams() {
    let dir = tempdir();
    let mut camera = RtspServer::start(&["--live", "--width", "160", "--height", "120"]);
    let video = dir.path().join("t.mp4");
    let truth = synth_video(&video, 160, 120, 2, 51);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let p = write_pipeline(
        dir.path(),
        "p.toml",
        &format!(
            "[model]\npath = \"{}\"\nlabels = \"{}\"\nheight = 32\nwidth = 32\n\n[window]\nstride = 2\n\n\
             [service]\nhttp_listen = \"127.0.0.1:{port}\"\n\n\
             [[streams]]\nid = \"file\"\nuri = \"{}\"\n\n[[streams]]\nid = \"cam\"\nuri = \"{}\"\n\
             [streams.reconnect]\nstall_timeout_s = 2.0\ninitial_delay_s = 0.2\nmax_delay_s = 0.4\nmax_attempts = 3\n",
            fixture("mean_color_ncthw.onnx").display(),
            fixture("rgb_labels.txt").display(),
            video.display(),
            camera.url
        ),
    );
    let daemon = Daemon::start(&p, &[]);
    let mut seen: Vec<Value> = Vec::new();
    let file_done = |e: &Value| e["stream"] == "file" && e["type"] == "stream_end";
    assert!(daemon.wait_for(Duration::from_secs(20), &mut seen, file_done), "{}", daemon.stderr());
    let cam_windows = |e: &Value| e["stream"] == "cam" && e["type"] == "window";
    assert!(daemon.wait_for(Duration::from_secs(20), &mut seen, cam_windows));

    let (code, body) = get(port, "/healthz");
    assert_eq!(code, 200, "{body}");
    let health: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (health["streams"]["cam"].as_str(), health["streams"]["file"].as_str()),
        (Some("up"), Some("ended"))
    );

    let metrics = scrape(port);
    let file_windows = seen.iter().filter(|e| e["stream"] == "file" && e["type"] == "window").count();
    assert_eq!(sample(&metrics, "actiond_frames_decoded_total", "file"), truth["frames"].as_f64().unwrap());
    assert_eq!(sample(&metrics, "actiond_windows_inferred_total", "file") as usize, file_windows);
    assert_eq!(sample(&metrics, "actiond_stream_up", "cam"), 1.0);
    assert!(sample(&metrics, "actiond_frames_decoded_total", "cam") > 0.0);
    for name in ["actiond_inference_seconds_count", "actiond_latency_seconds_count"] {
        assert!(metrics.samples.iter().any(|s| s.metric == name), "{name} missing");
    }
    assert!(metrics.samples.iter().any(|s| s.metric == "actiond_queue_depth"));

    // The camera goes away: down (still healthy while retrying), then given up (unhealthy).
    camera.kill();
    assert!(daemon.wait_for(Duration::from_secs(10), &mut seen, |e| e["type"] == "stream_down"));
    let (code, body) = get(port, "/healthz");
    assert_eq!(code, 200, "retrying within policy: {body}");
    assert!(body.contains("\"cam\":\"down\""), "{body}");
    assert!(daemon.wait_for(Duration::from_secs(20), &mut seen, |e| e["type"] == "stream_failed"));
    let (code, body) = get(port, "/healthz");
    assert_eq!(code, 503, "{body}");
    let metrics = scrape(port);
    assert_eq!(sample(&metrics, "actiond_stream_up", "cam"), 0.0);
    assert_eq!(sample(&metrics, "actiond_reconnects_total", "cam"), 3.0);
}
