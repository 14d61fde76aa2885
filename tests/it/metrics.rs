//! `/metrics` scraped and parsed as Prometheus text and by a strict OpenMetrics parser,
//! consistent with the events written; `/healthz` following a stream down, a stream given up and
//! a stuck sink; `/readyz` once the streams are started.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::*;
use serde_json::Value;

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
    let (code, body) = http_get(port, "/metrics");
    assert_eq!(code, 200);
    prometheus_parse::Scrape::parse(body.lines().map(|l| Ok(l.to_owned()))).expect("Prometheus text format")
}

#[test]
fn metrics_match_the_events_and_health_follows_the_streams() {
    let dir = tempdir();
    let mut camera = RtspServer::start(&["--live", "--width", "160", "--height", "120"]);
    let video = dir.path().join("t.mp4");
    let truth = synth_video(&video, 160, 120, 2, 51);
    let port = free_port();
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

    let (code, body) = http_get(port, "/healthz");
    assert_eq!(code, 200, "{body}");
    let health: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (health["streams"]["cam"].as_str(), health["streams"]["file"].as_str()),
        (Some("up"), Some("ended"))
    );

    let (code, body) = http_get(port, "/readyz");
    assert_eq!(code, 200, "every stream started, none still connecting: {body}");

    // Defect pinned: /metrics was labelled Prometheus 0.0.4 text while prometheus-client writes
    // OpenMetrics (`# EOF`, `_total` families); the label now says so and a strict parser agrees.
    let (code, content_type, body) = http_get_typed(port, "/metrics");
    assert_eq!(code, 200);
    assert!(content_type.starts_with("application/openmetrics-text; version=1.0.0"), "{content_type}");
    let exposition = openmetrics_parser::openmetrics::parse_openmetrics(&body)
        .unwrap_or_else(|e| panic!("not valid OpenMetrics: {e:?}\n{body}"));
    assert!(exposition.families.contains_key("actiond_frames_decoded"), "{:?}", exposition.families.keys());

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
    let (code, body) = http_get(port, "/healthz");
    assert_eq!(code, 200, "retrying within policy: {body}");
    assert!(body.contains("\"cam\":\"down\""), "{body}");
    assert!(daemon.wait_for(Duration::from_secs(20), &mut seen, |e| e["type"] == "stream_failed"));
    let (code, body) = http_get(port, "/healthz");
    assert_eq!(code, 503, "{body}");
    let metrics = scrape(port);
    assert_eq!(sample(&metrics, "actiond_stream_up", "cam"), 0.0);
    assert_eq!(sample(&metrics, "actiond_reconnects_total", "cam"), 3.0);
}

#[test]
fn a_stuck_sink_makes_healthz_unhealthy_and_names_the_stall() {
    let dir = tempdir();
    let video = dir.path().join("long.mp4");
    synth_video(&video, 160, 120, 8, 41);
    let port = free_port();
    // One window per frame to stdout, which nobody reads: the pipe fills, the sink blocks, and
    // windows wait with none done.
    let p = write_pipeline(
        dir.path(),
        "p.toml",
        &format!(
            "[model]\npath = \"{}\"\nlabels = \"{}\"\nheight = 32\nwidth = 32\n\n[window]\nstride = 1\n\n\
             [service]\nhttp_listen = \"127.0.0.1:{port}\"\nstall_timeout_s = 1.0\n\n\
             [[streams]]\nid = \"file\"\nuri = \"{}\"\n",
            fixture("mean_color_ncthw.onnx").display(),
            fixture("rgb_labels.txt").display(),
            video.display()
        ),
    );
    let mut child = Command::new(BIN)
        .args(["run", p.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let stuck = loop {
        assert!(Instant::now() < deadline, "/healthz never reported the stall");
        // The listener comes up once the pipeline has started.
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            let (code, body) = http_get(port, "/healthz");
            if code == 503 {
                break body;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let health: Value = serde_json::from_str(&stuck).unwrap();
    assert_eq!(health["status"], "unhealthy");
    assert!(health["stalled_s"].as_f64().unwrap() >= 1.0, "{stuck}");
    assert_eq!(health["streams"]["file"], "up", "the stream itself is fine: {stuck}");
    // Unblocked, the windows move again and the file finishes.
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()).unwrap());
    assert_eq!(child.wait().unwrap().code(), Some(0));
    assert!(reader.join().unwrap() > 64 * 1024);
}
