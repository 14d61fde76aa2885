//! Events through a real mosquitto broker on loopback, read by a real MQTT subscriber: topics,
//! order, action events against ground truth, the availability topic with its last will, and a
//! broker restart in the middle of a file run without losing an event.

use std::path::Path;
use std::time::Duration;

use crate::util::*;
use serde_json::Value;

fn pipeline(dir: &Path, video: &Path, broker: &Broker, extra_sink: &str) -> std::path::PathBuf {
    write_pipeline(
        dir,
        "mqtt.toml",
        &format!(
            "{}\n[window]\nstride = 5\n\n[events]\nmodes = [\"windows\", \"actions\"]\naverage = 2\non_threshold = 0.5\n\
             off_threshold = 0.3\nmin_windows = 2\n\n[[sinks]]\ntype = \"stdout\"\n\n[[sinks]]\ntype = \"mqtt\"\n\
             url = \"{}\"\nclient_id = \"actiond-test\"\ntopic_prefix = \"actiond\"\n{extra_sink}\n\n\
             [[streams]]\nid = \"t\"\nuri = \"{}\"\n",
            demo_model_table(),
            broker.url(),
            video.display()
        ),
    )
}

/// The daemon's events up to its file's `stream_end` (which waits for the broker's acks).
fn events_until_the_end(daemon: &Daemon) -> Vec<Value> {
    let mut local = Vec::new();
    let ended = daemon.wait_for(Duration::from_secs(60), &mut local, |e| e["type"] == "stream_end");
    assert!(ended, "no stream_end\n{}", daemon.stderr());
    local
}

fn payloads(seen: &[(String, String)], topic: &str) -> Vec<Value> {
    seen.iter().filter(|(t, _)| t == topic).map(|(_, p)| parse_event(p)).collect()
}

fn availability(seen: &[(String, String)]) -> Vec<String> {
    seen.iter().filter(|(t, _)| t == "actiond/availability").map(|(_, p)| p.clone()).collect()
}

#[test]
fn events_arrive_in_order_on_their_topics_and_actions_match_the_truth() {
    let dir = tempdir();
    let broker = Broker::start();
    let subscriber = Subscriber::start(broker.port, "actiond/#");
    let video = dir.path().join("t.mp4");
    let truth = synth_video(&video, 320, 240, 8, 31);
    let out = actiond(&["run", pipeline(dir.path(), &video, &broker, "").to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let local = events(&out);
    let mut seen = Vec::new();
    let ended = |_: &str, p: &str| p.contains("\"offline\"") || p == "offline";
    assert!(subscriber.collect_until(Duration::from_secs(20), &mut seen, ended), "no offline: {seen:?}");

    // Exactly what stdout got, per topic, in order.
    let windows = payloads(&seen, "actiond/t/window");
    let local_windows: Vec<&Value> = local.iter().filter(|e| e["type"] == "window").collect();
    assert_eq!(windows.len(), local_windows.len());
    for (i, (a, b)) in windows.iter().zip(local_windows).enumerate() {
        assert_eq!(a["window"], i as u64);
        assert_eq!(a, b);
    }
    let statuses: Vec<String> =
        payloads(&seen, "actiond/t/status").iter().map(|e| e["type"].as_str().unwrap().to_owned()).collect();
    assert_eq!(statuses, ["stream_up", "stream_end"]);
    let ends: Vec<Value> =
        payloads(&seen, "actiond/t/action").into_iter().filter(|e| e["type"] == "action_end").collect();
    let segments = truth["segments"].as_array().unwrap();
    assert_eq!(ends.len(), segments.len(), "{ends:?}");
    for (a, s) in ends.iter().zip(segments) {
        assert_eq!(a["label"], s["label"]);
        let start = s["start_frame"].as_f64().unwrap() / 25.0;
        assert!((a["start_s"].as_f64().unwrap() - start).abs() <= 0.4, "{a} vs {s}");
    }
    assert_eq!(availability(&seen), ["online", "offline"]);
}

#[test]
fn broker_restart_mid_file_loses_no_event_and_availability_flips() {
    let dir = tempdir();
    let mut broker = Broker::start();
    let subscriber = Subscriber::start(broker.port, "actiond/#");
    let video = dir.path().join("t.mp4");
    synth_video(&video, 320, 240, 8, 32);
    // A small buffer: with the broker away, the file run waits instead of dropping.
    let p = pipeline(dir.path(), &video, &broker, "buffer = 8\nlossless_wait_s = 60.0");
    let daemon = Daemon::start(&p, &[]);
    let mut seen = Vec::new();
    let some = |t: &str, _: &str| t == "actiond/t/window";
    assert!(subscriber.collect_until(Duration::from_secs(20), &mut seen, some), "{}", daemon.stderr());
    broker.stop();
    std::thread::sleep(Duration::from_secs(2));
    broker.restart();
    // The daemon finishes once everything is acknowledged by the restarted broker.
    let mut local = events_until_the_end(&daemon);
    // The broker may publish the will of the session it dropped when it went down ("offline")
    // as it comes back; what matters is that the data follows, and that the last word is
    // "offline" after the stream's end.
    let end = |t: &str, p: &str| t == "actiond/t/status" && p.contains("stream_end");
    assert!(subscriber.collect_until(Duration::from_secs(30), &mut seen, end), "{}", daemon.stderr());
    let offline = |t: &str, p: &str| t == "actiond/availability" && p == "offline";
    assert!(subscriber.collect_until(Duration::from_secs(30), &mut seen, offline), "{}", daemon.stderr());
    let (code, _) = daemon.terminate(&mut local);
    assert_eq!(code, Some(0));

    let local_windows: Vec<u64> =
        local.iter().filter(|e| e["type"] == "window").map(|e| e["window"].as_u64().unwrap()).collect();
    let mut received: Vec<u64> =
        payloads(&seen, "actiond/t/window").iter().map(|e| e["window"].as_u64().unwrap()).collect();
    // At least once: a resend after the restart may repeat a window, never skip one.
    received.dedup();
    let mut sorted = received.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted, local_windows, "every window event reached the subscriber");
    let flips = availability(&seen);
    assert!(
        flips.iter().filter(|a| *a == "online").count() >= 2,
        "online again after the restart: {flips:?}"
    );
    assert_eq!(flips.last().map(String::as_str), Some("offline"));
}

#[test]
fn the_broker_is_retried_on_the_configured_backoff() {
    let dir = tempdir();
    let mut broker = Broker::start();
    broker.stop();
    let video = dir.path().join("t.mp4");
    synth_video(&video, 160, 120, 2, 33);
    let backoff = "[sinks.reconnect]\ninitial_delay_s = 0.1\nfactor = 1.0\njitter = 0.0";
    let p = pipeline(dir.path(), &video, &broker, backoff);
    let daemon = Daemon::start(&p, &[("RUST_LOG", "actiond=debug")]);
    std::thread::sleep(Duration::from_millis(1500));
    broker.restart();
    let mut local = events_until_the_end(&daemon);
    std::thread::sleep(Duration::from_millis(500));
    let err = daemon.stderr();
    let (code, _) = daemon.terminate(&mut local);
    assert_eq!(code, Some(0), "{err}");
    // Every 0.1 s for 1.5 s; the default (1 s, then 2 s) would have tried at most twice.
    let attempts = err.matches("MQTT connect failed.").count();
    assert!(attempts >= 5, "{attempts} attempts in 1.5 s:\n{err}");
}

#[test]
fn last_will_says_offline_when_the_daemon_dies() {
    let dir = tempdir();
    let broker = Broker::start();
    let subscriber = Subscriber::start(broker.port, "actiond/availability");
    let server = RtspServer::start(&["--live", "--width", "160", "--height", "120"]);
    let text = std::fs::read_to_string(pipeline(dir.path(), Path::new("unused.mp4"), &broker, ""))
        .unwrap()
        .replace("unused.mp4", &server.url);
    let p = write_pipeline(dir.path(), "live.toml", &text);
    let mut child = std::process::Command::new(BIN)
        .args(["run", p.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut seen = Vec::new();
    assert!(subscriber.collect_until(Duration::from_secs(20), &mut seen, |_, p| p == "online"));
    child.kill().unwrap();
    child.wait().unwrap();
    // keep_alive is 10 s: the broker notices the dead TCP connection at once and sends the will.
    assert!(subscriber.collect_until(Duration::from_secs(20), &mut seen, |_, p| p == "offline"), "{seen:?}");
}

/// A CA and a server certificate for `localhost` / 127.0.0.1, made with openssl.
fn make_certificates(dir: &Path) {
    let run = |args: &[&str]| {
        let out = std::process::Command::new("openssl").args(args).current_dir(dir).output().unwrap();
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=actiond test CA",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]);
    std::fs::write(dir.join("ext.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n").unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
    // mosquitto drops root privileges before reading its key.
    use std::os::unix::fs::PermissionsExt;
    for f in ["server.key", "server.pem", "ca.pem"] {
        std::fs::set_permissions(dir.join(f), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn tls_to_the_broker_with_a_private_ca() {
    let dir = tempdir();
    make_certificates(dir.path());
    let port = free_port();
    let d = dir.path().display();
    std::fs::write(
        dir.path().join("m.conf"),
        format!("listener {port} 127.0.0.1\nallow_anonymous true\ncafile {d}/ca.pem\ncertfile {d}/server.pem\nkeyfile {d}/server.key\n"),
    )
    .unwrap();
    let mut broker = std::process::Command::new("mosquitto")
        .arg("-c")
        .arg(dir.path().join("m.conf"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // Line-buffered, or its output would be lost when it is killed.
    let mut sub = std::process::Command::new("stdbuf")
        // 127.0.0.1: "localhost" may resolve to ::1 first, where the broker does not listen.
        .args(["-oL", "mosquitto_sub", "-h", "127.0.0.1", "--insecure", "-p", &port.to_string(), "--cafile"])
        .arg(dir.path().join("ca.pem"))
        .args(["-t", "actiond/#", "-v", "-q", "1"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let video = dir.path().join("t.mp4");
    synth_video(&video, 160, 120, 1, 33);
    // Stream `given` trusts the CA file named in the sink; stream `system` names none and
    // trusts the system's roots, which SSL_CERT_FILE points at the same CA here.
    let run = |stream: &str, ca_line: &str, env: &[(&str, &str)]| {
        let p = write_pipeline(
            dir.path(),
            &format!("{stream}.toml"),
            &format!(
                "{}\n[[sinks]]\ntype = \"stdout\"\n\n[[sinks]]\ntype = \"mqtt\"\nurl = \"mqtts://localhost:{port}\"\n{ca_line}\n\
                 lossless_wait_s = 20.0\n\n[[streams]]\nid = \"{stream}\"\nuri = \"{}\"\n",
                demo_model_table(),
                video.display()
            ),
        );
        actiond_with_env(&["run", p.to_str().unwrap()], env)
    };
    let given = run("given", &format!("ca_file = \"{d}/ca.pem\""), &[]);
    let ca = format!("{d}/ca.pem");
    let system = run("system", "", &[("SSL_CERT_FILE", &ca)]);
    std::thread::sleep(Duration::from_millis(500));
    sub.kill().unwrap();
    sub.wait().unwrap();
    broker.kill().unwrap();
    broker.wait().unwrap();
    let mut received = String::new();
    std::io::Read::read_to_string(&mut sub.stdout.take().unwrap(), &mut received).unwrap();
    for (stream, out) in [("given", &given), ("system", &system)] {
        assert!(out.status.success(), "{stream}: {}", stderr(out));
        let windows = events(out).iter().filter(|e| e["type"] == "window").count();
        let got = received.lines().filter(|l| l.starts_with(&format!("actiond/{stream}/window "))).count();
        assert!(windows > 10 && got == windows, "{stream}: {got} of {windows} window events over TLS");
    }
}

#[test]
fn tls_without_a_ca_file_refuses_a_broker_the_system_does_not_trust() {
    let dir = tempdir();
    make_certificates(dir.path());
    // An empty bundle and an empty folder of roots: nothing is trusted.
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    let no_roots = dir.path().join("no-roots");
    std::fs::create_dir(&no_roots).unwrap();
    let video = dir.path().join("t.mp4");
    synth_video(&video, 160, 120, 1, 34);
    let p = write_pipeline(
        dir.path(),
        "untrusted.toml",
        &format!(
            "{}\n[[sinks]]\ntype = \"mqtt\"\nurl = \"mqtts://127.0.0.1:9\"\nlossless_wait_s = 2.0\n\n[[streams]]\nid = \"t\"\nuri = \"{}\"\n",
            demo_model_table(),
            video.display()
        ),
    );
    let env = [("SSL_CERT_FILE", empty.to_str().unwrap()), ("SSL_CERT_DIR", no_roots.to_str().unwrap())];
    let out = actiond_with_env(&["run", p.to_str().unwrap()], &env);
    assert_clean_failure(&out, "system root certificates");
    assert!(stderr(&out).contains("ca_file"), "the error says what to do: {}", stderr(&out));
}
