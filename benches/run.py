#!/usr/bin/env python3
"""actiond's speed against its limits, in one run (see BENCHMARKS.md).

For every head, model form (whole model, or encoder + head) and stride, on the same video and
with the same window and thread settings, four processes are measured:

  decode   `actiond bench decode`: the same GStreamer pipeline into a fakesink, no inference
  infer    `actiond bench infer`: the same ONNX sessions on windows already in memory
  actiond  `actiond run`: the whole daemon, events written to a file
  python   benches/python/python_loop.py: cv2.VideoCapture + numpy + onnxruntime, the same
           windows and threads (the whole model; with `--forms pair` also the two-stage loop)

Each process's CPU time (user + system) and peak RSS come from the kernel (wait4), so all four
are measured the same way, start-up included. Every measurement is repeated (`--repeat`, default
3) in rounds, so slow spells of this shared machine hit all variants alike, and the median is
reported. Only the standard library is used.

  benches/run.py --python-venv benches/python/.venv
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADS = ["flatten_lstm", "gap_lstm", "gap_grid_lstm", "convlstm"]
TWO_STAGE = {"flatten_lstm", "gap_lstm", "gap_grid_lstm"}
SCALE = 1 / 255


def measure(cmd, stdout=subprocess.DEVNULL):
    """Runs cmd; returns (wall seconds, CPU seconds, peak RSS MiB, stdout text or None)."""
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    out = proc.stdout.read() if proc.stdout else None
    err = proc.stderr.read()
    if proc.returncode != 0:
        sys.exit(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{err[-3000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out


def pipeline_text(head, form, stride, video, inference):
    models = ROOT / "models"
    if form == "pair":
        model = f'encoder = "{models / (head + ".encoder.onnx")}"\nhead = "{models / (head + ".head.onnx")}"'
    else:
        model = f'path = "{models / (head + ".onnx")}"'
    extra = "".join(f"{line}\n" for line in inference)
    return (
        f'[model]\n{model}\nlabels = "{models / "labels.txt"}"\nscale = {SCALE!r}\n\n'
        f"[window]\nstride = {stride}\n\n[inference]\n{extra}\n"
        f'[output]\ntop_k = 1\n\n[[streams]]\nid = "bench"\nuri = "{video}"\n'
    )


def threads_of(inference, key, default=1):
    for line in inference:
        k, _, v = line.partition("=")
        if k.strip() == key:
            return int(v)
    return default


def one_round(args, video, frames, variants, results):
    decode_cfg = variants[0][3]
    wall, cpu, rss, out = measure([args.actiond, "bench", "decode", decode_cfg], subprocess.PIPE)
    decoded = json.loads(out)["frames"]
    assert decoded == frames, f"decode ceiling saw {decoded} frames, expected {frames}"
    results.setdefault("decode", []).append({"wall": wall, "cpu": cpu, "rss": rss, "frames": frames})
    for head, form, stride, cfg in variants:
        key = f"{head}|{form}|{stride}"
        r = results.setdefault(key, {"infer": [], "actiond": [], "python": []})
        wall, cpu, rss, out = measure(
            [args.actiond, "bench", "infer", cfg, "--frames", str(frames)], subprocess.PIPE
        )
        r["infer"].append({"wall": wall, "cpu": cpu, "rss": rss, "windows": json.loads(out)["windows"]})
        with tempfile.TemporaryFile("w+") as events:
            wall, cpu, rss, _ = measure([args.actiond, "run", cfg], events)
            events.seek(0)
            windows = sum(1 for line in events if line.startswith('{"type":"window"'))
        r["actiond"].append({"wall": wall, "cpu": cpu, "rss": rss, "windows": windows})
        if args.python_venv:
            models = ROOT / "models"
            model = (
                ["--encoder", models / f"{head}.encoder.onnx", "--head", models / f"{head}.head.onnx"]
                if form == "pair"
                else ["--model", models / f"{head}.onnx"]
            )
            text = Path(cfg).read_text()
            cmd = [
                Path(args.python_venv) / "bin" / "python",
                ROOT / "benches" / "python" / "python_loop.py",
                video, *model, "--stride", str(stride),
                "--threads", str(threads_of(args.inference, "intra_threads")),
            ]
            assert "frame_step" not in text
            wall, cpu, rss, out = measure(cmd, subprocess.PIPE)
            report = json.loads(out.strip().splitlines()[-1])
            r["python"].append(
                {"wall": wall, "loop_wall": report["wall_s"], "cpu": cpu, "rss": rss,
                 "windows": report["windows"], "frames": report["frames"]}
            )
        print(f"  {key}: done", file=sys.stderr, flush=True)


def median(runs, field):
    return statistics.median(run[field] for run in runs)


def summarise(results, frames, variants):
    dec = results["decode"]
    decode = {"fps": frames / median(dec, "wall"), "cpu_ms": 1000 * median(dec, "cpu") / frames,
              "rss": median(dec, "rss")}
    rows = []
    for head, form, stride, _ in variants:
        r = results[f"{head}|{form}|{stride}"]
        inf, act = r["infer"], r["actiond"]
        row = {
            "head": head, "form": form, "stride": stride,
            "windows": act[0]["windows"],
            "infer_wps": inf[0]["windows"] / median(inf, "wall"),
            "infer_cpu_ms": 1000 * median(inf, "cpu") / frames,
            "infer_rss": median(inf, "rss"),
            "fps": frames / median(act, "wall"),
            "wps": act[0]["windows"] / median(act, "wall"),
            "cpu_ms": 1000 * median(act, "cpu") / frames,
            "rss": median(act, "rss"),
        }
        # The ratio per round, then its median: both sides come from the same round.
        ratios = [a["cpu"] / (d["cpu"] + i["cpu"]) for a, d, i in zip(act, dec, inf)]
        row["cpu_ratio"] = statistics.median(ratios)
        if r["python"]:
            py = r["python"]
            row["py_fps"] = frames / median(py, "loop_wall")
            row["py_cpu_ms"] = 1000 * median(py, "cpu") / frames
            row["py_rss"] = median(py, "rss")
            row["vs_python"] = statistics.median(
                (frames / a["wall"]) / (frames / p["loop_wall"]) for a, p in zip(act, py)
            )
            assert py[0]["windows"] == act[0]["windows"], (
                f"{head} {form} stride {stride}: python made {py[0]['windows']} windows, "
                f"actiond {act[0]['windows']}"
            )
        rows.append(row)
    return decode, rows


def markdown(decode, rows, whole_python):
    out = [
        f"Decode ceiling (same pipeline into fakesink): {decode['fps']:.0f} frames/s, "
        f"{decode['cpu_ms']:.3f} CPU-ms/frame, peak RSS {decode['rss']:.0f} MiB.",
        "",
        "| head | form | stride | windows | infer ceiling windows/s | infer CPU-ms/frame | actiond frames/s "
        "| actiond windows/s | actiond CPU-ms/frame | CPU ÷ (decode + infer) | actiond peak RSS MiB "
        "| Python loop frames/s | Python CPU-ms/frame | Python peak RSS MiB | actiond ÷ Python (same form) "
        "| actiond ÷ Python whole-model loop |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        py = lambda k, f: f.format(r[k]) if k in r else "–"  # noqa: E731
        base = whole_python.get((r["head"], r["stride"]))
        vs_whole = f"{r['fps'] / base:.2f}" if base else "–"
        out.append(
            f"| {r['head']} | {r['form']} | {r['stride']} | {r['windows']} | {r['infer_wps']:.0f} "
            f"| {r['infer_cpu_ms']:.3f} | {r['fps']:.0f} | {r['wps']:.0f} | {r['cpu_ms']:.3f} "
            f"| {r['cpu_ratio']:.3f} | {r['rss']:.0f} | {py('py_fps', '{:.0f}')} "
            f"| {py('py_cpu_ms', '{:.3f}')} | {py('py_rss', '{:.0f}')} | {py('vs_python', '{:.2f}')} "
            f"| {vs_whole} |"
        )
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--actiond", default=str(ROOT / "target" / "release" / "actiond"))
    ap.add_argument("--video", help="default: a 640x480 30 fps H.264 synthetic video, made once")
    ap.add_argument("--segments", type=int, default=20, help="length of the default video (about 3 s each)")
    ap.add_argument("--heads", default=",".join(HEADS))
    ap.add_argument("--forms", default="whole,pair")
    ap.add_argument("--strides", default="1,5,10")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--inference", action="append", default=[],
                    help="a line for the [inference] table, e.g. 'intra_threads = 2' (repeatable)")
    ap.add_argument("--python-venv", help="venv with benches/python/requirements.txt; omit to skip Python")
    ap.add_argument("--out", type=Path, default=ROOT / "benches" / "results" / "latest.json")
    args = ap.parse_args()

    video = args.video
    if not video:
        video = ROOT / "benches" / ".cache" / f"synthetic-640x480-30fps-{args.segments}.mp4"
        if not video.exists():
            subprocess.run([args.actiond, "synth-video", "--out", video, "--width", "640", "--height", "480",
                            "--fps", "30", "--segments", str(args.segments)], check=True,
                           stderr=subprocess.DEVNULL)
    video = Path(video).resolve()
    frames = json.loads(Path(str(video)[: -len(video.suffix)] + ".truth.json").read_text())["frames"] \
        if Path(str(video)[: -len(video.suffix)] + ".truth.json").exists() else None

    work = Path(tempfile.mkdtemp(prefix="actiond-bench-"))
    variants = []
    for head in args.heads.split(","):
        for form in args.forms.split(","):
            if form == "pair" and head not in TWO_STAGE:
                continue
            for stride in map(int, args.strides.split(",")):
                cfg = work / f"{head}-{form}-{stride}.toml"
                cfg.write_text(pipeline_text(head, form, stride, video, args.inference))
                variants.append((head, form, stride, str(cfg)))
    if frames is None:
        _, _, _, out = measure([args.actiond, "bench", "decode", variants[0][3]], subprocess.PIPE)
        frames = json.loads(out)["frames"]
    print(f"video {video}: {frames} frames; {len(variants)} variants x {args.repeat} rounds", file=sys.stderr)

    results = {}
    for n in range(args.repeat):
        print(f"round {n + 1}/{args.repeat}", file=sys.stderr, flush=True)
        one_round(args, video, frames, variants, results)
    decode, rows = summarise(results, frames, variants)
    whole_python = {(r["head"], r["stride"]): r["py_fps"] for r in rows if r["form"] == "whole" and "py_fps" in r}
    table = markdown(decode, rows, whole_python)
    machine = {
        "cpu": next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name")), "unknown"),
        "cores": os.cpu_count(),
        "kernel": os.uname().release,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "command": " ".join(sys.argv), "video": str(video), "frames": frames, "machine": machine,
        "inference": args.inference, "decode": decode, "rows": rows, "raw": results,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }, indent=1))
    print(f"Machine: {machine['cpu']}, {machine['cores']} cores. Video: {video.name}, {frames} frames.\n")
    print(table)


if __name__ == "__main__":
    main()
