//! Hostile peers on loopback, against the real GStreamer network sources: an HTTP server that
//! drops a file mid-body, and RTSP servers that answer with nonsense, never answer, or send
//! garbage. Each must end in a clear status for that stream, with nothing lost elsewhere.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::*;

/// A peer on 127.0.0.1 that answers every connection with `respond` on its own thread, until
/// `lifetime` has passed.
fn serve(lifetime: Duration, respond: impl Fn(TcpStream) + Send + Sync + 'static) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let respond = std::sync::Arc::new(respond);
    std::thread::spawn(move || {
        let end = Instant::now() + lifetime;
        while Instant::now() < end {
            match listener.accept() {
                Ok((stream, _)) => {
                    stream.set_nonblocking(false).unwrap();
                    let respond = respond.clone();
                    std::thread::spawn(move || respond(stream));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    });
    port
}

/// Reads one request head (up to the blank line).
fn read_head(stream: &mut TcpStream) -> String {
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).is_ok_and(|n| n == 1) {
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head).into_owned()
}

fn ts_video(path: &Path, frames: u32) {
    gst_video(
        path,
        &format!(
            "videotestsrc num-buffers={frames} ! video/x-raw,width=320,height=240,format=I420,framerate=25/1 ! \
             x264enc speed-preset=ultrafast key-int-max=25 ! h264parse ! mpegtsmux ! filesink name=sink"
        ),
    );
}

#[test]
fn an_http_file_that_drops_mid_body_keeps_every_frame_it_received() {
    // Defect pinned: frames already decoded, or queued behind the HTTP source, were thrown away
    // when its error reached the bus first: a file served over HTTP that broke off halfway gave
    // about 150 of the 300 frames received (and none at all when the break came before the
    // first frame was shown).
    let dir = tempdir();
    let video = dir.path().join("v.ts");
    // Dear enough to decode (320×240 at ~17 kB a frame) that the HTTP source runs ahead of
    // the decoder, as it does with real footage.
    ts_video(&video, 600);
    let body = std::fs::read(&video).unwrap();
    let half = body.len() / 2;
    let port = serve(Duration::from_secs(60), move |mut stream| {
        read_head(&mut stream);
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: video/mp2t\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        // A tenth first, so the pipeline is playing before the rest; then up to half, and gone.
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.write_all(&body[..body.len() / 10]);
        std::thread::sleep(Duration::from_millis(500));
        let _ = stream.write_all(&body[body.len() / 10..half]);
    });
    let uri = format!("http://127.0.0.1:{port}/v.ts");
    let p = mean_color_pipeline(dir.path(), &uri, "stride = 4");
    let text = std::fs::read_to_string(&p).unwrap() + "live = false\n";
    std::fs::write(&p, text).unwrap();
    let out = actiond(&["run", p.to_str().unwrap()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let events = events(&out);
    let failed: Vec<&Value> = events.iter().filter(|e| e["type"] == "stream_failed").collect();
    assert_eq!(failed.len(), 1, "{events:?}\n{err}");
    let frames = failed[0]["frames"].as_u64().unwrap();
    assert!((285..=315).contains(&frames), "about half of 600 frames were sent; {frames} decoded\n{err}");
    let windows = events.iter().filter(|e| e["type"] == "window").count() as u64;
    assert_eq!(windows, (frames - 4) / 4 + 1, "every window of the frames received");
    assert!(err.contains(&uri) && err.contains("Stream failed."), "the log names the input: {err}");
}

/// An RTSP server that speaks just enough of RTSP/1.0 to reach `PLAY` and then does what
/// `after_play` says with the connection; `describe` is the body DESCRIBE answers.
fn fake_rtsp(describe: &'static str, after_play: fn(&mut TcpStream)) -> u16 {
    serve(Duration::from_secs(120), move |mut stream| {
        loop {
            let head = read_head(&mut stream);
            let Some(method) = head.split_whitespace().next().map(str::to_owned) else { return };
            let cseq = head
                .lines()
                .find_map(|l| l.strip_prefix("CSeq:").or_else(|| l.strip_prefix("Cseq:")))
                .map_or("0", str::trim)
                .to_owned();
            let extra = match method.as_str() {
                "OPTIONS" => "Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\n".to_owned(),
                "DESCRIBE" => format!(
                    "Content-Type: application/sdp\r\nContent-Base: rtsp://127.0.0.1/cam/\r\nContent-Length: {}\r\n",
                    describe.len()
                ),
                "SETUP" => {
                    "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\nSession: 12345678\r\n".to_owned()
                }
                _ => "Session: 12345678\r\n".to_owned(),
            };
            let body = if method == "DESCRIBE" { describe } else { "" };
            let reply = format!("RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\n{extra}\r\n{body}");
            if stream.write_all(reply.as_bytes()).is_err() {
                return;
            }
            if method == "PLAY" {
                after_play(&mut stream);
                return;
            }
        }
    })
}

const H264_SDP: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=cam\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
    m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1\r\na=control:track1\r\n";

/// Interleaved RTP packets with valid headers and random payloads, for 20 s.
fn send_rtp_garbage(stream: &mut TcpStream) {
    let end = Instant::now() + Duration::from_secs(20);
    let mut seq = 0u16;
    while Instant::now() < end {
        let mut packet = vec![0x80, 96];
        packet.extend(seq.to_be_bytes());
        packet.extend((u32::from(seq) * 3600).to_be_bytes());
        packet.extend(0xdead_beefu32.to_be_bytes());
        packet.extend((0..400).map(|_| fastrand::u8(..)));
        let mut frame = vec![b'$', 0];
        frame.extend((packet.len() as u16).to_be_bytes());
        frame.extend(packet);
        if stream.write_all(&frame).is_err() {
            return;
        }
        seq = seq.wrapping_add(1);
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Holds the connection open and sends nothing.
fn stay_silent(_: &mut TcpStream) {
    std::thread::sleep(Duration::from_secs(30));
}

#[test]
fn hostile_rtsp_servers_fail_their_own_stream_only() {
    let dir = tempdir();
    let good = RtspServer::start(&["--live", "--width", "160", "--height", "120"]);
    let locked = RtspServer::start(&["--live", "--user", "admin", "--password", "secret"]);
    let bad_sdp = fake_rtsp("this is not a session description\r\n", stay_silent);
    let garbage = fake_rtsp(H264_SDP, send_rtp_garbage);
    // Accepts the connection and never answers a request.
    let mute = serve(Duration::from_secs(120), |mut stream| {
        read_head(&mut stream);
        std::thread::sleep(Duration::from_secs(30));
    });
    let mut text = format!("{}\n\n[window]\nstride = 2\n", mean_color_model_table());
    let hostile = [
        ("bad_sdp", format!("rtsp://127.0.0.1:{bad_sdp}/cam")),
        ("garbage", format!("rtsp://127.0.0.1:{garbage}/cam")),
        ("mute", format!("rtsp://127.0.0.1:{mute}/cam")),
        ("no_auth", locked.url.clone()),
    ];
    for (id, uri) in hostile.iter().map(|(id, uri)| (*id, uri.as_str())).chain([("good", good.url.as_str())])
    {
        let attempts = if id == "good" { "" } else { "max_attempts = 2\n" };
        text += &format!(
            "\n[[streams]]\nid = \"{id}\"\nuri = \"{uri}\"\n[streams.rtsp]\ntransport = \"tcp\"\nconnect_timeout_s = 2.0\n\
             [streams.reconnect]\nstall_timeout_s = 2.0\ninitial_delay_s = 0.2\njitter = 0.0\n{attempts}"
        );
    }
    let p = write_pipeline(dir.path(), "p.toml", &text);
    let daemon = Daemon::start(&p, &[]);
    let mut seen = Vec::new();
    let mut failed = std::collections::BTreeSet::new();
    let all_failed = daemon.wait_for(Duration::from_secs(60), &mut seen, |e| {
        if e["type"] == "stream_failed" {
            failed.insert(e["stream"].as_str().unwrap().to_owned());
        }
        failed.len() == hostile.len()
    });
    let log = daemon.stderr();
    assert!(all_failed, "given up so far: {failed:?}\n{log}");
    let reason = |id: &str| {
        let e = seen.iter().find(|e| e["type"] == "stream_failed" && e["stream"] == id).unwrap();
        e["reason"].as_str().unwrap().to_owned()
    };
    // GStreamer's generic error, and the cause from its details that names what is wrong.
    assert!(reason("no_auth").ends_with("Unauthorized (401)"), "{}", reason("no_auth"));
    assert!(reason("bad_sdp").ends_with("(SDP contains no streams)"), "{}", reason("bad_sdp"));
    assert!(reason("garbage").contains("The stream is in the wrong format."), "{}", reason("garbage"));
    assert!(reason("mute").ends_with("no frame for 2.0 s"), "{}", reason("mute"));
    for (id, _) in &hostile {
        assert!(reason(id).starts_with("gave up after 2 attempts: "), "{id}: {}", reason(id));
        assert!(!seen.iter().any(|e| e["stream"] == *id && e["type"] == "window"), "{id} made windows");
    }
    // The good camera never stopped: windows before, during and after the others failed.
    let good_windows: Vec<&Value> =
        seen.iter().filter(|e| e["stream"] == "good" && e["type"] == "window").collect();
    assert!(good_windows.len() >= 5, "{} windows from the good camera\n{log}", good_windows.len());
    assert!(!seen.iter().any(|e| e["stream"] == "good" && e["type"] == "stream_down"), "{log}");
    let (code, _) = daemon.terminate(&mut seen);
    assert_eq!(code, Some(1), "streams failed: exit 1 at the stop\n{log}");
}

/// The mean-colour model over live RTSP streams `(id, uri)` with quick stall detection and
/// reconnection (no jitter, no limit on attempts).
fn live_pipeline(dir: &Path, streams: &[(&str, &str)], stall_timeout_s: f64) -> std::path::PathBuf {
    let mut text = format!("{}\n\n[window]\nstride = 2\n", mean_color_model_table());
    for (id, uri) in streams {
        text += &format!(
            "\n[[streams]]\nid = \"{id}\"\nuri = \"{uri}\"\n[streams.rtsp]\ntransport = \"tcp\"\nconnect_timeout_s = 2.0\n\
             [streams.reconnect]\nstall_timeout_s = {stall_timeout_s}\ninitial_delay_s = 0.5\nmax_delay_s = 2.0\njitter = 0.0\n"
        );
    }
    write_pipeline(dir, "live.toml", &text)
}

#[test]
fn a_camera_that_stalls_for_30_s_comes_back_and_the_other_never_pauses() {
    let dir = tempdir();
    let stalling = RtspServer::start(&["--live", "--width", "160", "--height", "120"]);
    let steady = RtspServer::start(&["--live", "--width", "160", "--height", "120"]);
    let p = live_pipeline(dir.path(), &[("stalling", &stalling.url), ("steady", &steady.url)], 5.0);
    let daemon = Daemon::start(&p, &[]);
    let mut seen = Vec::new();
    let window_of = |id: &'static str| move |e: &Value| e["stream"] == id && e["type"] == "window";
    assert!(
        daemon.wait_for(Duration::from_secs(20), &mut seen, window_of("stalling")),
        "{}",
        daemon.stderr()
    );
    // Frozen with its connections open: no RST, no EOS, just nothing.
    stalling.signal("-STOP");
    let frozen_at = seen.len();
    std::thread::sleep(Duration::from_secs(30));
    stalling.signal("-CONT");
    let back = |e: &Value| e["stream"] == "stalling" && e["type"] == "stream_up";
    assert!(daemon.wait_for(Duration::from_secs(20), &mut seen, back), "{}", daemon.stderr());
    assert!(
        daemon.wait_for(Duration::from_secs(20), &mut seen, window_of("stalling")),
        "{}",
        daemon.stderr()
    );
    let log = daemon.stderr();
    let (code, _) = daemon.terminate(&mut seen);
    assert_eq!(code, Some(0), "{log}");

    let during = &seen[frozen_at..];
    let of = |id: &str, kind: &str| during.iter().filter(|e| e["stream"] == id && e["type"] == kind).count();
    assert_eq!(of("stalling", "stream_down"), 1, "{log}");
    let down = during.iter().find(|e| e["stream"] == "stalling" && e["type"] == "stream_down").unwrap();
    assert_eq!(down["reason"], "no frame for 5.0 s", "{down}");
    assert!(of("stalling", "reconnecting") >= 2, "retried while frozen: {log}");
    assert_eq!(of("stalling", "stream_up"), 1);
    // The steady camera went on through the 30 s (7.5 windows a second at 15 fps, stride 2).
    assert!(
        of("steady", "window") >= 30,
        "{} steady windows while the other stalled",
        of("steady", "window")
    );
    assert_eq!(of("steady", "stream_down"), 0, "{log}");
    // No window of the stalled camera spans the gap: windows resume on frames after it.
    let windows: Vec<&Value> =
        seen.iter().filter(|e| e["stream"] == "stalling" && e["type"] == "window").collect();
    for pair in windows.windows(2) {
        assert_eq!(
            pair[1]["window"].as_u64(),
            pair[0]["window"].as_u64().map(|w| w + 1),
            "consecutive indices"
        );
        assert!(pair[1]["first_frame"].as_u64() > pair[0]["first_frame"].as_u64());
    }
}

#[test]
fn a_camera_that_changes_resolution_midway_keeps_giving_the_right_labels() {
    let dir = tempdir();
    let (a, b, joined) = (dir.path().join("a.ts"), dir.path().join("b.ts"), dir.path().join("cam.ts"));
    for (path, pattern, size) in [(&a, "red", "width=320,height=240"), (&b, "blue", "width=160,height=120")] {
        gst_video(
            path,
            &format!(
                "videotestsrc num-buffers=75 pattern={pattern} ! video/x-raw,{size},format=I420,framerate=25/1 ! \
                 x264enc key-int-max=25 bframes=0 ! h264parse ! mpegtsmux ! filesink name=sink"
            ),
        );
    }
    std::fs::write(&joined, [std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap()].concat()).unwrap();
    let camera = RtspServer::start(&["--file", joined.to_str().unwrap()]);
    let p = live_pipeline(dir.path(), &[("cam", &camera.url)], 5.0);
    let daemon = Daemon::start(&p, &[]);
    let mut seen = Vec::new();
    // The file plays once, in real time (6 s); the camera then ends (stream_down).
    let down = |e: &Value| e["type"] == "stream_down";
    assert!(daemon.wait_for(Duration::from_secs(30), &mut seen, down), "{}", daemon.stderr());
    let log = daemon.stderr();
    daemon.terminate(&mut seen);
    let labels: Vec<&str> =
        seen.iter().filter(|e| e["type"] == "window").map(|e| e["label"].as_str().unwrap()).collect();
    let first_blue = labels
        .iter()
        .position(|l| *l == "blue")
        .unwrap_or_else(|| panic!("no blue window: {labels:?}\n{log}"));
    assert!(first_blue >= 20, "red for the first 3 s: {labels:?}");
    assert!(labels[..first_blue].iter().all(|l| *l == "red"), "{labels:?}");
    assert!(labels[first_blue + 1..].iter().all(|l| *l == "blue"), "{labels:?}");
    assert!(labels.len() - first_blue >= 20, "blue for the last 3 s: {labels:?}");
    assert!(
        log.contains("The input's picture size changed.") && log.contains("from=320x240 to=160x120"),
        "{log}"
    );
}
