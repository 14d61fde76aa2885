#!/usr/bin/env python3
"""A soak: one actiond watching live cameras and real footage for half an hour while cameras
flap and the MQTT broker restarts, sampled every 10 s (issue: under fire, item 3).

  scripts/soak.sh                       # 30 minutes, 8 cameras (what BENCHMARKS.md records)
  scripts/soak.py --minutes 3 --json out.json

Setting, all on loopback:
- `--cameras` live cameras, each its own `actiond-rtsp-server --live` process (320x240, 15 fps,
  so each can fail alone); every `--flap-every` seconds one of the first two is killed and
  started again on its port `--down` seconds later (cam0, cam1, cam0, ...);
- a "looping file": the real footage (bikes.mp4, see measure_density.py) looped to ~3 minutes
  and served by one more RTSP server; at each end of its file actiond sees the end of stream and
  reconnects, which starts the file again;
- mosquitto, which actiond's MQTT sink (QoS 1, every event) publishes to, stopped for
  `--broker-down` seconds at half time and started again on its port;
- actiond with the default head at stride 5, stdout, a file sink and the MQTT sink.

Every `--sample` seconds: actiond's RSS, threads, open file descriptors, CPU, and queue depths
from /metrics. At the end: growth of RSS after the first `--warmup` seconds (goal <= 5 %),
threads and descriptors (goal: flat), and for the cameras that never went down: windows dropped
and gaps in their window indices (goal: 0). Standard library only; uses target/release.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import measure_density as md  # noqa: E402  (shared helpers: footage, /proc readings)

ROOT = md.ROOT


def camera(port=0):
    proc = subprocess.Popen([str(md.SERVER), "--live", "--width", "320", "--height", "240", "--fps", "15",
                             "--port", str(port)], stdout=subprocess.PIPE, text=True)
    return proc, proc.stdout.readline().strip()


def broker(port, folder):
    conf = Path(folder) / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 100000\n")
    return subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(proc, sig=signal.SIGKILL):
    if proc.poll() is None:
        proc.send_signal(sig)
        proc.wait()


def ready(http):
    """Whether every stream has made its first connection (/readyz answers 200)."""
    try:
        with urllib.request.urlopen(f"http://{http}/readyz", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def sample(pid, http):
    with urllib.request.urlopen(f"http://{http}/metrics", timeout=5) as r:
        text = r.read().decode()
    queues = {}
    for line in text.splitlines():
        if line.startswith("actiond_queue_depth{"):
            queues[line.split('queue="')[1].split('"')[0]] = float(line.rsplit(" ", 1)[1])
    return {
        "rss_kib": md.status_value(pid, "VmRSS:"),
        "threads": md.status_value(pid, "Threads:"),
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
        "cpu_s": md.cpu_seconds(pid),
        "queues": queues,
        "sink_errors": md.metric_total(text, "actiond_sink_errors_total"),
        "windows_dropped": md.metric_total(text, "actiond_windows_dropped_total"),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--cameras", type=int, default=8)
    ap.add_argument("--flap-every", type=float, default=180, help="seconds between camera flaps")
    ap.add_argument("--down", type=float, default=10, help="seconds a flapped camera stays down")
    ap.add_argument("--broker-down", type=float, default=15, help="seconds the broker is away at half time")
    ap.add_argument("--sample", type=float, default=10)
    ap.add_argument("--warmup", type=float, default=300, help="growth is measured after this many seconds")
    ap.add_argument("--json", type=Path, help="also write samples and summary here")
    ap.add_argument("--log", type=Path, help="keep actiond's log (stderr) here")
    args = ap.parse_args()
    seconds = args.minutes * 60

    footage = md.looped(md.real_footage(), 18)
    tmp = tempfile.TemporaryDirectory()
    cams = [camera() for _ in range(args.cameras)]
    looping = subprocess.Popen([str(md.SERVER), "--file", str(footage)], stdout=subprocess.PIPE, text=True)
    looping_url = looping.stdout.readline().strip()
    mqtt_port = md.free_port()
    mosquitto = broker(mqtt_port, tmp.name)
    http = f"127.0.0.1:{md.free_port()}"
    model = (ROOT / "pipelines/demo.toml").read_text().split("[[streams]]")[0].split("[window]")[0]
    text = (f"{model}\n[window]\nstride = 5\n\n[service]\nhttp_listen = \"{http}\"\n\n"
            f"[[sinks]]\ntype = \"stdout\"\n\n[[sinks]]\ntype = \"file\"\npath = \"{tmp.name}/events.jsonl\"\n"
            f"rotate_size = \"20 MiB\"\nkeep = 2\n\n"
            f"[[sinks]]\ntype = \"mqtt\"\nurl = \"mqtt://127.0.0.1:{mqtt_port}\"\nqos = 1\n")
    streams = [(f"cam{i}", url) for i, (_, url) in enumerate(cams)] + [("footage", looping_url)]
    for sid, url in streams:
        text += (f'\n[[streams]]\nid = "{sid}"\nuri = "{url}"\n[streams.rtsp]\ntransport = "tcp"\n'
                 f'[streams.reconnect]\ninitial_delay_s = 0.5\nmax_delay_s = 4.0\n')
    pipeline = ROOT / "pipelines" / f".soak-{os.getpid()}.toml"
    pipeline.write_text(text)
    log = open(Path(tmp.name) / "actiond.log", "w")
    daemon = subprocess.Popen([str(md.BIN), "run", str(pipeline)], stdout=subprocess.PIPE, stderr=log, text=True)
    last_index, gaps, windows, downs = {}, {}, {}, {}

    def read():
        for line in daemon.stdout:
            e = json.loads(line)
            sid = e["stream"]
            if e["type"] == "window":
                windows[sid] = windows.get(sid, 0) + 1
                if sid in last_index and e["window"] != last_index[sid] + 1:
                    gaps[sid] = gaps.get(sid, 0) + e["window"] - last_index[sid] - 1
                last_index[sid] = e["window"]
            elif e["type"] == "stream_down":
                downs[sid] = downs.get(sid, 0) + 1

    threading.Thread(target=read, daemon=True).start()
    ready_by = time.monotonic() + 60
    while time.monotonic() < ready_by and not ready(http):
        time.sleep(0.5)
    samples, flaps, start = [], [], time.monotonic()
    next_flap, broker_done, next_sample = args.flap_every, False, 0.0
    try:
        while (now := time.monotonic() - start) < seconds:
            if now >= next_sample:
                samples.append({"t_s": round(now, 1), **sample(daemon.pid, http)})
                next_sample += args.sample
            if now >= next_flap:
                i = len(flaps) % 2
                port = int(cams[i][1].rsplit(":", 1)[1].split("/")[0])
                stop(cams[i][0])
                time.sleep(args.down)
                cams[i] = camera(port)
                flaps.append({"t_s": round(now, 1), "camera": f"cam{i}"})
                next_flap += args.flap_every
            if not broker_done and now >= seconds / 2:
                stop(mosquitto, signal.SIGTERM)
                time.sleep(args.broker_down)
                mosquitto = broker(mqtt_port, tmp.name)
                broker_done = True
            time.sleep(0.5)
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(timeout=30)
    finally:
        for proc in [daemon, mosquitto, looping, *(p for p, _ in cams)]:
            stop(proc)
        pipeline.unlink(missing_ok=True)
    report = summarise(args, samples, flaps, streams, windows, gaps, downs, code)
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps({"summary": report, "samples": samples}, indent=1))
    log.close()
    if args.log:
        args.log.write_text((Path(tmp.name) / "actiond.log").read_text())
    return 0


def summarise(args, samples, flaps, streams, windows, gaps, downs, code):
    after = [s for s in samples if s["t_s"] >= args.warmup] or samples
    first, last = after[0], after[-1]
    steady = [sid for sid, _ in streams if sid not in {f["camera"] for f in flaps} and sid != "footage"]
    span = samples[-1]["cpu_s"] - samples[0]["cpu_s"]
    wall = samples[-1]["t_s"] - samples[0]["t_s"]
    return {
        "minutes": args.minutes, "cameras": args.cameras, "flaps": flaps, "exit_code": code,
        "rss_mib": {"at_warmup": round(first["rss_kib"] / 1024, 1), "end": round(last["rss_kib"] / 1024, 1),
                    "max": round(max(s["rss_kib"] for s in after) / 1024, 1),
                    "growth_pct": round(100 * (last["rss_kib"] - first["rss_kib"]) / first["rss_kib"], 2)},
        "threads": {"min": min(s["threads"] for s in after), "max": max(s["threads"] for s in after),
                    "end": last["threads"]},
        "fds": {"min": min(s["fds"] for s in after), "max": max(s["fds"] for s in after), "end": last["fds"]},
        "queue_depth_max": {q: max(s["queues"].get(q, 0) for s in samples) for q in samples[-1]["queues"]},
        "cpu_cores": round(span / wall, 2) if wall else None,
        "sink_errors": last["sink_errors"],
        "windows": windows, "stream_down": downs,
        "steady_streams": steady,
        "steady_window_gaps": sum(gaps.get(s, 0) for s in steady),
        "steady_stream_downs": sum(downs.get(s, 0) for s in steady),
        "windows_dropped_total": last["windows_dropped"],
    }


if __name__ == "__main__":
    sys.exit(main())
