//! A small RTSP server for trying actiond against a camera-like stream on this machine, and
//! for the tests: serves an H.264 MP4 or MPEG-TS file (in real time) or a live synthetic test pattern on
//! 127.0.0.1, optionally behind a user and password.
//!
//! It prints the stream URL on stdout once it listens, then serves until killed. Pass `--port`
//! to come back on the same port after a restart (tests kill and restart it). `--cameras N`
//! serves N independent streams of the same source, one URL a line: dozens of clients that
//! connect at once to one shared medium while it is still being prepared can leave it stuck
//! (every client then fails with "Could not read from resource", reconnections too), which a
//! camera, one stream per device, never does.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Parser;
use gstreamer as gst;
use gstreamer_rtsp_server as rtsp;
use gstreamer_rtsp_server::prelude::*;

#[derive(Parser)]
#[command(about = "Serve a file or a live test pattern over RTSP on loopback.")]
struct Args {
    /// Port to listen on; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
    #[arg(long, default_value = "127.0.0.1")]
    address: String,
    /// Mount path of the stream.
    #[arg(long, default_value = "/stream")]
    mount: String,
    /// An MP4 (or MPEG-TS, `.ts`) file with H.264 video to serve (played in real time, once).
    #[arg(long, conflicts_with = "live")]
    file: Option<PathBuf>,
    /// Serve a live test pattern instead of a file.
    #[arg(long)]
    live: bool,
    #[arg(long, default_value_t = 640)]
    width: u32,
    #[arg(long, default_value_t = 480)]
    height: u32,
    #[arg(long, default_value_t = 15)]
    fps: u32,
    /// Require this user (with --password).
    #[arg(long, requires = "password")]
    user: Option<String>,
    #[arg(long, requires = "user")]
    password: Option<String>,
    /// Serve this many independent streams, at `<mount>0`, `<mount>1`, …, each its own pipeline,
    /// as that many cameras would; 1 serves the single stream at `<mount>`.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    cameras: u32,
}

fn launch_line(args: &Args) -> Result<String> {
    const PAY: &str = "rtph264pay name=pay0 pt=96 config-interval=1";
    if let Some(file) = &args.file {
        let path = file.canonicalize().with_context(|| format!("{}", file.display()))?;
        let quoted = path.to_string_lossy().replace('\\', "\\\\").replace('"', "\\\"");
        // MPEG-TS for streams that change mid-way (a camera switching resolution), MP4 otherwise.
        let is_ts = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("ts"));
        let demux = if is_ts { "tsdemux" } else { "qtdemux" };
        return Ok(format!("( filesrc location=\"{quoted}\" ! {demux} ! h264parse ! {PAY} )"));
    }
    anyhow::ensure!(args.live, "give --file PATH or --live");
    Ok(format!(
        "( videotestsrc is-live=true pattern=ball ! video/x-raw,width={},height={},framerate={}/1 \
         ! videoconvert ! video/x-raw,format=I420 \
         ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 ! {PAY} )",
        args.width, args.height, args.fps
    ))
}

/// The media of one mount: shared by its clients, as a camera's one stream is; open to the
/// user's role when the server asks for a password.
fn factory(args: &Args) -> Result<rtsp::RTSPMediaFactory> {
    let factory = rtsp::RTSPMediaFactory::new();
    factory.set_launch(&launch_line(args)?);
    factory.set_shared(true);
    if args.user.is_some() {
        factory.add_role_from_structure(
            &gst::Structure::builder("user")
                .field(rtsp::RTSP_PERM_MEDIA_FACTORY_ACCESS, true)
                .field(rtsp::RTSP_PERM_MEDIA_FACTORY_CONSTRUCT, true)
                .build(),
        );
    }
    Ok(factory)
}

fn main() -> Result<()> {
    let args = Args::parse();
    gst::init()?;
    let main_loop = gst::glib::MainLoop::new(None, false);
    let server = rtsp::RTSPServer::new();
    server.set_address(&args.address);
    server.set_service(&args.port.to_string());
    // gst-rtsp-server listens with a backlog of 5: dozens of cameras connecting at once (the
    // density benchmark) overflowed it and only a handful came up within a minute.
    server.set_backlog(256);
    if let (Some(user), Some(password)) = (&args.user, &args.password) {
        let auth = rtsp::RTSPAuth::new();
        let token = rtsp::RTSPToken::builder().field(rtsp::RTSP_TOKEN_MEDIA_FACTORY_ROLE, "user").build();
        auth.add_basic(&rtsp::RTSPAuth::make_basic(user, password), &token);
        server.set_auth(Some(&auth));
    }
    let mounts: Vec<String> = match args.cameras {
        1 => vec![args.mount.clone()],
        n => (0..n).map(|i| format!("{}{i}", args.mount)).collect(),
    };
    let points = server.mount_points().context("server has mount points")?;
    for mount in &mounts {
        points.add_factory(mount, factory(&args)?);
    }
    let _source = server.attach(None).context("cannot listen (port in use?)")?;
    for mount in &mounts {
        println!("rtsp://{}:{}{mount}", args.address, server.bound_port());
    }
    use std::io::Write;
    std::io::stdout().flush()?;
    main_loop.run();
    Ok(())
}
