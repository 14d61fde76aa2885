#!/usr/bin/env python3
"""Measures events/s through MQTT: a local mosquitto, a mosquitto_sub subscriber, and actiond
running a file (one window per frame) with only the MQTT sink; reports events/s written by
actiond (run time) and received by the subscriber, compared with the same run to a file sink.

  scripts/measure_mqtt.py [--video demo/timeline.mp4] [--qos 1]
"""
import argparse
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "target/release/actiond"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(model, video, sink, tmp):
    pipeline = Path(tmp) / "p.toml"
    pipeline.write_text(f'{model}\n[window]\nstride = 1\n\n{sink}\n[[streams]]\nid = "v"\nuri = "{video}"\n')
    start = time.perf_counter()
    subprocess.run([str(BIN), "run", str(pipeline)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--video", default=str(ROOT / "demo/timeline.mp4"))
    ap.add_argument("--qos", type=int, default=1)
    args = ap.parse_args()
    # A tiny model (tests/fixtures), so that events come faster than any real head makes them
    # and the sink is what is measured.
    fixtures = ROOT / "tests/fixtures"
    model = (f'[model]\npath = "{fixtures}/mean_color_ncthw.onnx"\nlabels = "{fixtures}/rgb_labels.txt"\n'
             f'height = 16\nwidth = 16\n')
    tmp = tempfile.mkdtemp()
    port = free_port()
    (Path(tmp) / "m.conf").write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 100000\n")
    broker = subprocess.Popen(["mosquitto", "-c", str(Path(tmp) / "m.conf")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    out = open(Path(tmp) / "sub.txt", "w")
    sub = subprocess.Popen(["stdbuf", "-oL", "mosquitto_sub", "-p", str(port), "-t", "actiond/v/window", "-q", str(args.qos)], stdout=out)
    time.sleep(0.5)
    file_s = run(model, Path(args.video).resolve(), f'[[sinks]]\ntype = "file"\npath = "{tmp}/e.jsonl"\n', tmp)
    written = sum('"type":"window"' in l for l in (Path(tmp) / "e.jsonl").read_text().splitlines())
    mqtt_s = run(model, Path(args.video).resolve(),
                 f'[[sinks]]\ntype = "mqtt"\nurl = "mqtt://127.0.0.1:{port}"\nqos = {args.qos}\n', tmp)
    time.sleep(3)
    sub.terminate()
    broker.terminate()
    received = len((Path(tmp) / "sub.txt").read_text().splitlines())
    print(f"{written} window events; file sink run {file_s:.2f} s ({written / file_s:.0f} events/s); "
          f"MQTT QoS {args.qos} run {mqtt_s:.2f} s ({written / mqtt_s:.0f} events/s, all acknowledged); "
          f"subscriber received {received}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
