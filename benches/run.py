#!/usr/bin/env python3
"""actiond's speed against its limits, in one run (see BENCHMARKS.md).

For every head, model form (whole model, or encoder + head) and stride, on the same video and
with the same window and thread settings, four processes are measured:

  decode   `actiond-dev bench decode`: the same GStreamer pipeline into a fakesink, no inference
  infer    `actiond-dev bench infer`: the same ONNX sessions on windows already in memory
  actiond  `actiond run`: the whole daemon, events written to a file
  python   benches/python/python_loop.py: cv2.VideoCapture + numpy + onnxruntime, the same
           windows and threads (the whole model; with `--forms pair` also the two-stage loop)

Each process's wall time, CPU time (user + system) and peak RSS come from the kernel (wait4),
so all four are measured the same way, start-up included (the Python loop's own loop time is kept
in the JSON as `loop_wall`). The Python loop gets as many onnxruntime threads as actiond has
inference threads, without spinning, like actiond. Every measurement is repeated (`--repeat`, default
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


def measure(cmd):
    """Runs cmd; returns (wall seconds, CPU seconds, peak RSS MiB, stdout text)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"{' '.join(map(str, cmd))} failed ({os.waitstatus_to_exitcode(status)}):\n{err.read()[-3000:]}")
        return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out.read()


def pipeline_text(head, form, stride, video, args):
    models = ROOT / "models"
    if form == "pair":
        model = f'encoder = "{models / (head + ".encoder.onnx")}"\nhead = "{models / (head + ".head.onnx")}"'
    else:
        model = f'path = "{models / (head + ".onnx")}"'
    return (
        f'[model]\n{model}\nlabels = "{models / "labels.txt"}"\nscale = {SCALE!r}\n\n'
        f"[window]\nstride = {stride}\n\n[source]\ndecoder_threads = {args.decoder_threads}\n\n"
        f"[inference]\nworkers = {args.workers}\n"
        f"intra_threads = {args.intra_threads}\n\n"
        f'[output]\ntop_k = 1\n\n[[streams]]\nid = "bench"\nuri = "{video}"\n'
    )


def decode_cmd(args, video):
    return [args.actiond_dev, "bench", "decode", video, "--decoder-threads", str(args.decoder_threads)]


def window_events(text):
    return sum(1 for line in text.splitlines() if line.strip() and json.loads(line)["type"] == "window")


def one_round(args, video, frames, variants, results):
    wall, cpu, rss, out = measure(decode_cmd(args, video))
    decoded = json.loads(out)["frames"]
    assert decoded == frames, f"decode ceiling saw {decoded} frames, expected {frames}"
    results.setdefault("decode", []).append({"wall": wall, "cpu": cpu, "rss": rss, "frames": frames})
    models = ROOT / "models"
    for head, form, stride, cfg in variants:
        key = f"{head}|{form}|{stride}"
        r = results.setdefault(key, {"infer": [], "actiond": [], "python": [], "python_defaults": []})
        wall, cpu, rss, out = measure([args.actiond_dev, "bench", "infer", cfg, "--frames", str(frames)])
        windows = json.loads(out)["windows"]
        r["infer"].append({"wall": wall, "cpu": cpu, "rss": rss, "windows": windows})
        wall, cpu, rss, out = measure([args.actiond, "run", cfg])
        assert window_events(out) == windows, f"{key}: actiond wrote {window_events(out)} windows, not {windows}"
        r["actiond"].append({"wall": wall, "cpu": cpu, "rss": rss, "windows": windows})
        if args.python_venv:
            model = (
                ["--encoder", models / f"{head}.encoder.onnx", "--head", models / f"{head}.head.onnx"]
                if form == "pair"
                else ["--model", models / f"{head}.onnx"]
            )
            # The same threads as actiond: decoder threads, and inference threads (workers x
            # intra-op threads) without spinning.
            threads = args.workers * args.intra_threads
            cmd = [Path(args.python_venv) / "bin" / "python", ROOT / "benches" / "python" / "python_loop.py",
                   video, *model, "--stride", str(stride), "--threads", str(threads), "--no-spin",
                   "--decode-threads", str(args.decoder_threads)]
            runs = [("python", cmd)]
            if args.python_defaults and form == "whole":
                # As usually written: onnxruntime's and OpenCV's own thread defaults (one intra-op
                # thread per core, spinning; one decoder thread per core).
                runs.append(("python_defaults", cmd[: cmd.index("--threads")]))
            for name, command in runs:
                wall, cpu, rss, out = measure(command)
                report = json.loads(out.strip().splitlines()[-1])
                assert report["windows"] == windows, f"{key}: {name} made {report['windows']} windows, not {windows}"
                assert report["frames"] == frames, f"{key}: {name} decoded {report['frames']} frames, not {frames}"
                r[name].append({"wall": wall, "loop_wall": report["wall_s"], "cpu": cpu, "rss": rss,
                                "windows": windows})
        print(f"  {key}: done", file=sys.stderr, flush=True)


def median(runs, field):
    return statistics.median(run[field] for run in runs)


def per_round(fn, *series):
    """The median over rounds of fn applied to each round's runs: both sides of a ratio always
    come from the same round."""
    return statistics.median(fn(*runs) for runs in zip(*series))


def summarise(results, frames, variants):
    dec = results["decode"]
    decode = {"fps": frames / median(dec, "wall"), "cpu_ms": 1000 * median(dec, "cpu") / frames,
              "rss": median(dec, "rss")}
    rows = []
    for head, form, stride, _ in variants:
        r = results[f"{head}|{form}|{stride}"]
        inf, act, py = r["infer"], r["actiond"], r["python"]
        windows = act[0]["windows"]
        row = {
            "head": head, "form": form, "stride": stride, "windows": windows,
            "infer_wps": windows / median(inf, "wall"),
            "ceiling_cpu_ms": 1000 * per_round(lambda d, i: d["cpu"] + i["cpu"], dec, inf) / frames,
            "fps": frames / median(act, "wall"),
            "wps": windows / median(act, "wall"),
            "cpu_ms": 1000 * median(act, "cpu") / frames,
            "rss": median(act, "rss"),
            "cpu_ratio": per_round(lambda a, d, i: a["cpu"] / (d["cpu"] + i["cpu"]), act, dec, inf),
        }
        whole = results.get(f"{head}|whole|{stride}")
        if form == "pair" and whole:
            row["pair_vs_whole"] = per_round(lambda a, w: w["wall"] / a["wall"], act, whole["actiond"])
            row["pair_vs_whole_infer"] = per_round(lambda i, w: w["wall"] / i["wall"], inf, whole["infer"])
        if py:
            row["py_fps"] = frames / median(py, "wall")
            row["py_loop_fps"] = frames / median(py, "loop_wall")
            row["py_cpu_ms"] = 1000 * median(py, "cpu") / frames
            row["py_rss"] = median(py, "rss")
            row["vs_python"] = per_round(lambda a, p: p["wall"] / a["wall"], act, py)
            if whole and whole["python"]:
                row["vs_python_whole"] = per_round(lambda a, p: p["wall"] / a["wall"], act, whole["python"])
            if whole and whole.get("python_defaults"):
                pd = whole["python_defaults"]
                row["py_defaults_fps"] = frames / median(pd, "wall")
                row["py_defaults_cpu_ms"] = 1000 * median(pd, "cpu") / frames
                row["vs_python_defaults"] = per_round(lambda a, p: p["wall"] / a["wall"], act, pd)
        rows.append(row)
    return decode, rows


def markdown(decode, rows):
    def cell(row, key, fmt):
        return fmt.format(row[key]) if key in row else "–"

    out = [
        f"Decode ceiling (`actiond-dev bench decode`, the same GStreamer pipeline into a fakesink): "
        f"{decode['fps']:.0f} frames/s, {decode['cpu_ms']:.3f} CPU-ms/frame, peak RSS {decode['rss']:.0f} MiB.",
        "",
        "| head | form | stride | windows | actiond frames/s | actiond windows/s | actiond CPU-ms/frame "
        "| decode + infer CPU-ms/frame | ratio | infer ceiling windows/s | peak RSS MiB "
        "| pair ÷ whole windows/s (actiond; ceiling) | Python frames/s | Python CPU-ms/frame "
        "| Python peak RSS MiB | actiond ÷ Python, same form | actiond ÷ Python, whole model "
        "| Python whole model, library thread defaults: frames/s; CPU-ms/frame; actiond ÷ it |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        pair = (f"{r['pair_vs_whole']:.2f}; {r['pair_vs_whole_infer']:.2f}" if "pair_vs_whole" in r else "–")
        vs_whole = cell(r, "vs_python_whole", "{:.2f}") if r["form"] == "pair" else cell(r, "vs_python", "{:.2f}")
        defaults = (f"{r['py_defaults_fps']:.0f}; {r['py_defaults_cpu_ms']:.3f}; {r['vs_python_defaults']:.2f}"
                    if "py_defaults_fps" in r else "–")
        out.append(
            f"| {r['head']} | {r['form']} | {r['stride']} | {r['windows']} | {r['fps']:.0f} | {r['wps']:.0f} "
            f"| {r['cpu_ms']:.3f} | {r['ceiling_cpu_ms']:.3f} | {r['cpu_ratio']:.3f} | {r['infer_wps']:.0f} "
            f"| {r['rss']:.0f} | {pair} | {cell(r, 'py_fps', '{:.0f}')} | {cell(r, 'py_cpu_ms', '{:.3f}')} "
            f"| {cell(r, 'py_rss', '{:.0f}')} | {cell(r, 'vs_python', '{:.2f}')} | {vs_whole} "
            f"| {defaults} |"
        )
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--actiond", default=str(ROOT / "target" / "release" / "actiond"))
    ap.add_argument("--actiond-dev", default=str(ROOT / "target" / "release" / "actiond-dev"),
                    help="the developer tools binary (synth-video, bench), built with --features dev-tools")
    ap.add_argument("--video", help="default: a 640x480 30 fps H.264 synthetic video, made once")
    ap.add_argument("--segments", type=int, default=20, help="length of the default video (about 3 s each)")
    ap.add_argument("--heads", default=",".join(HEADS))
    ap.add_argument("--forms", default="whole,pair")
    ap.add_argument("--strides", default="1,5,10")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip", action="append", default=None, metavar="HEAD:STRIDE",
                    help="leave out a variant (default: convlstm:1, about 3 minutes per round)")
    ap.add_argument("--workers", type=int, default=2, help="[inference] workers (actiond's default)")
    ap.add_argument("--intra-threads", type=int, default=1, help="[inference] intra_threads (the default)")
    ap.add_argument("--decoder-threads", type=int, default=1, help="[source] decoder_threads (the default)")
    ap.add_argument("--python-venv", help="venv with benches/python/requirements.txt; omit to skip Python")
    ap.add_argument("--python-defaults", action=argparse.BooleanOptionalAction, default=True,
                    help="also run the whole-model Python loop with the libraries' thread defaults")
    ap.add_argument("--out", type=Path, default=ROOT / "benches" / "results" / "latest.json")
    args = ap.parse_args()

    video = args.video
    if not video:
        video = ROOT / "benches" / ".cache" / f"synthetic-640x480-30fps-{args.segments}.mp4"
        if not video.exists():
            subprocess.run([args.actiond_dev, "synth-video", "--out", video, "--width", "640", "--height", "480",
                            "--fps", "30", "--segments", str(args.segments)], check=True,
                           stderr=subprocess.DEVNULL)
    video = str(Path(video).resolve())
    frames = json.loads(measure(decode_cmd(args, video))[3])["frames"]

    skip = set(args.skip if args.skip is not None else ["convlstm:1"])
    work = Path(tempfile.mkdtemp(prefix="actiond-bench-"))
    variants = []
    for head in args.heads.split(","):
        for form in args.forms.split(","):
            if form == "pair" and head not in TWO_STAGE:
                continue
            for stride in map(int, args.strides.split(",")):
                if f"{head}:{stride}" in skip:
                    continue
                cfg = work / f"{head}-{form}-{stride}.toml"
                cfg.write_text(pipeline_text(head, form, stride, video, args))
                variants.append((head, form, stride, str(cfg)))
    print(f"video {video}: {frames} frames; {len(variants)} variants x {args.repeat} rounds", file=sys.stderr)

    results = {}
    for n in range(args.repeat):
        print(f"round {n + 1}/{args.repeat}", file=sys.stderr, flush=True)
        one_round(args, video, frames, variants, results)
    decode, rows = summarise(results, frames, variants)
    machine = {
        "cpu": next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name")), "unknown"),
        "cores": os.cpu_count(),
        "kernel": os.uname().release,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "command": " ".join(sys.argv), "video": video, "frames": frames, "machine": machine,
        "workers": args.workers, "intra_threads": args.intra_threads, "decoder_threads": args.decoder_threads, "decode": decode, "rows": rows,
        "raw": results, "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }, indent=1))
    print(f"Machine: {machine['cpu']}, {machine['cores']} cores. Video: {Path(video).name}, {frames} frames, "
          f"{args.workers} workers x {args.intra_threads} intra-op threads, {args.decoder_threads} decoder "
          f"thread(s); medians of {args.repeat} rounds.\n")
    print(markdown(decode, rows))


if __name__ == "__main__":
    main()
