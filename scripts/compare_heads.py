#!/usr/bin/env python3
"""Runs every pipeline given on the same video and reports, per head, end-to-end frames/s
(wall clock and CPU), and accuracy against a ground-truth file written by
`actiond synth-video`: the share of windows lying wholly inside one segment that carry that
segment's label, overall and per class.

  scripts/compare_heads.py --video demo/timeline.mp4 pipelines/*.toml

Only the standard library is used; each run is the real `actiond run` binary.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def accuracy(events, truth):
    per = defaultdict(lambda: [0, 0])
    for e in events:
        for s in truth["segments"]:
            if s["start_frame"] <= e["first_frame"] and e["last_frame"] < s["end_frame"]:
                per[s["label"]][0] += e["label"] == s["label"]
                per[s["label"]][1] += 1
    right = sum(r for r, _ in per.values())
    total = sum(n for _, n in per.values())
    return right / max(total, 1), {k: r / n for k, (r, n) in sorted(per.items())}


def run(binary, pipeline, video):
    text = Path(pipeline).read_text()
    head, _, _ = text.partition("[[streams]]")
    base = Path(pipeline).resolve().parent
    # Keep the model section, point the single stream at the video.
    with tempfile.NamedTemporaryFile("w", suffix=".toml", dir=base, delete=False) as f:
        f.write(head + f'[[streams]]\nid = "v"\nuri = "{Path(video).resolve()}"\n')
        tmp = f.name
    try:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        out = subprocess.run([binary, "run", tmp], capture_output=True, text=True, check=True)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    finally:
        os.unlink(tmp)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    events = [json.loads(l) for l in out.stdout.splitlines()]
    return [e for e in events if e["type"] == "window"], wall, cpu


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("pipelines", nargs="+")
    ap.add_argument("--video", default=str(ROOT / "demo/timeline.mp4"))
    ap.add_argument("--truth", help="default: the video path with .truth.json")
    ap.add_argument("--binary", default=str(ROOT / "target/release/actiond"))
    ap.add_argument("--repeat", type=int, default=3, help="runs per head; the median time is reported")
    args = ap.parse_args()
    truth_path = args.truth or str(Path(args.video).with_suffix(".truth.json"))
    truth = json.loads(Path(truth_path).read_text())
    frames = truth["frames"]
    print(f"video {args.video}: {truth['width']}x{truth['height']}, {frames} frames at {truth['fps']} fps")
    print(f"{'pipeline':<28} {'windows':>7} {'frames/s':>9} {'CPU-s/frame':>12} {'accuracy':>9}  per class")
    for pipeline in args.pipelines:
        runs = [run(args.binary, pipeline, args.video) for _ in range(args.repeat)]
        runs.sort(key=lambda r: r[1])
        events, wall, cpu = runs[len(runs) // 2]
        acc, per = accuracy(events, truth)
        per_text = " ".join(f"{k}={v:.2f}" for k, v in per.items())
        print(f"{Path(pipeline).name:<28} {len(events):>7} {frames / wall:>9.0f} {cpu / frames * 1e3:>10.3f}ms {acc:>9.3f}  {per_text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
