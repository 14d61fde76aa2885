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
