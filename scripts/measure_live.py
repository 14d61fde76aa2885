#!/usr/bin/env python3
"""Measures actiond on live RTSP streams served on loopback by actiond-rtsp-server.

  scripts/measure_live.py --streams 4 --seconds 30            # latency p50/p99, peak RSS
  scripts/measure_live.py --streams 1 --seconds 60 --mqtt-outage 30   # broker down 30 s

Reports per-stream windows, dropped windows, latency_ms percentiles, and the daemon's peak RSS
(VmHWM). With --mqtt-outage, a mosquitto broker is started, stopped 10 s into the run for the
given number of seconds, and restarted; a mosquitto_sub subscriber counts what arrives.
Standard library only; uses the release binaries in target/release.
"""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "target/release/actiond"
SERVER = ROOT / "target/release/actiond-rtsp-server"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values, p):
    values = sorted(values)
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def start_broker(tmp, port):
    conf = Path(tmp) / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n")
    proc = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return proc
        except OSError:
            time.sleep(0.05)
    raise SystemExit("mosquitto did not start")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--streams", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--fps", type=int, default=15)
    ap.add_argument("--pipeline", default=str(ROOT / "pipelines/demo.toml"), help="its [model] is used")
    ap.add_argument("--mqtt-outage", type=float, default=0, help="seconds the broker is down, from t=10 s")
    args = ap.parse_args()

    model = Path(args.pipeline).read_text().split("[[streams]]")[0]
    base = Path(args.pipeline).resolve().parent
    servers, urls = [], []
    for _ in range(args.streams):
        p = subprocess.Popen([str(SERVER), "--live", "--width", str(args.width), "--height", str(args.height),
                              "--fps", str(args.fps)], stdout=subprocess.PIPE, text=True)
        urls.append(p.stdout.readline().strip())
        servers.append(p)
    tmp = tempfile.mkdtemp()
    broker = sub = None
    text = model
    if args.mqtt_outage:
        port = free_port()
        broker = start_broker(tmp, port)
        sub_out = open(Path(tmp) / "sub.txt", "w")
        sub = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-t", "actiond/#", "-q", "1", "-v"],
                               stdout=sub_out)
        text += f'\n[[sinks]]\ntype = "stdout"\n\n[[sinks]]\ntype = "mqtt"\nurl = "mqtt://127.0.0.1:{port}"\nbuffer = 200\n'
    for i, url in enumerate(urls):
        text += f'\n[[streams]]\nid = "cam{i}"\nuri = "{url}"\n[streams.rtsp]\ntransport = "tcp"\n'
    with tempfile.NamedTemporaryFile("w", suffix=".toml", dir=base, delete=False) as f:
        f.write(text)
        pipeline = f.name
    events = []
    daemon = subprocess.Popen([str(BIN), "run", pipeline], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    reader = threading.Thread(target=lambda: events.extend(json.loads(l) for l in daemon.stdout), daemon=True)
    reader.start()
    start = time.monotonic()
    outage = None
    while time.monotonic() - start < args.seconds:
        t = time.monotonic() - start
        if broker and outage is None and t >= 10:
            broker.send_signal(signal.SIGTERM)
            broker.wait()
            outage = time.monotonic()
            print(f"broker stopped at t={t:.1f}s")
        if broker and outage and broker.poll() is not None and time.monotonic() - outage >= args.mqtt_outage:
            broker = start_broker(tmp, port)
            print(f"broker restarted at t={time.monotonic() - start:.1f}s")
        time.sleep(0.2)
    status = Path(f"/proc/{daemon.pid}/status").read_text()
    peak_kib = int(next(l for l in status.splitlines() if l.startswith("VmHWM")).split()[1])
    term = time.monotonic()
    daemon.send_signal(signal.SIGTERM)
    code = daemon.wait()
    shutdown_s = time.monotonic() - term
    reader.join(timeout=5)
    os.unlink(pipeline)
    for p in servers:
        p.kill()
    windows = [e for e in events if e["type"] == "window"]
    lat = [e["latency_ms"] for e in windows]
    print(f"{args.streams} live streams {args.width}x{args.height}@{args.fps}fps for {args.seconds:.0f}s, "
          f"model {', '.join(l for l in model.splitlines() if l.split(' = ')[0] in ('path', 'encoder', 'head'))}")
    for i in range(args.streams):
        w = [e for e in windows if e["stream"] == f"cam{i}"]
        if w:
            print(f"  cam{i}: {len(w)} windows, {w[-1]['dropped_windows']} dropped, "
                  f"latency p50 {percentile([e['latency_ms'] for e in w], 50):.0f} ms "
                  f"p99 {percentile([e['latency_ms'] for e in w], 99):.0f} ms")
    print(f"  all: latency_ms p50 {percentile(lat, 50):.1f} p99 {percentile(lat, 99):.1f} max {max(lat):.1f}; "
          f"windows/s {len(windows) / args.seconds:.1f}; peak RSS {peak_kib / 1024:.1f} MiB")
    print(f"  SIGTERM to exit: {shutdown_s * 1000:.0f} ms, exit code {code}")
    if sub:
        time.sleep(2)
        sub.terminate()
        lines = (Path(tmp) / "sub.txt").read_text().splitlines()
        got = [json.loads(l.split(" ", 1)[1]) for l in lines if "/window " in l]
        got_ids = {(e["stream"], e["window"]) for e in got}
        missing = [e for e in windows if (e["stream"], e["window"]) not in got_ids]
        print(f"  mqtt: {len(got)} window events received of {len(windows)} written to stdout; "
              f"{len(missing)} missing (dropped while the broker was away)")
        if broker:
            broker.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
