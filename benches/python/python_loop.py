#!/usr/bin/env python3
"""The Python loop people write today: OpenCV decodes, numpy windows, onnxruntime classifies.

This is the baseline that benchmarks compare actiond against. It is deliberately the
straightforward single-threaded loop (no decoder thread, no batching), with the per-frame
work done the usual way:

    cv2.VideoCapture(video).read()          # FFmpeg decode + YUV->BGR (OpenCV's bundled FFmpeg)
    keep every k-th frame                   # --frame-step k (frame index % k == 0, as actiond)
    cv2.resize(frame, (W, H), INTER_LINEAR) # stretch, like actiond's resize = "stretch"
    cv2.cvtColor(BGR2RGB)
    float32 * scale [- mean) / std]         # --scale (default 1/255), --mean, --std
    deque(maxlen=T).append(...)
    window complete -> np.stack -> [1,T,H,W,3] -> session.run -> argmax

A window is complete when T frames have been sampled and (sampled - T) % stride == 0, i.e.
window i holds sampled frames i*stride .. i*stride+T-1 (actiond's rule, tail = "drop").

Two model forms:
  --model whole.onnx                  one input [N,T,H,W,3] (NTHWC), output [N,K]
  --encoder enc.onnx --head head.onnx encoder [N,H,W,3] -> [N,D]; head [N,T,D] -> [N,K].
                                      The "smart" loop: every sampled frame is encoded once,
                                      the deque holds embeddings, the head runs per window.
  --no-model                          the same loop without onnxruntime, for decode/pre-
                                      processing cost alone; --upto decode|resize|prep picks
                                      how far each frame goes (prep = everything but the model).

T, H, W come from the model's input shape; --length / --height / --width are needed only where
those dimensions are dynamic (and give the geometry for --no-model; defaults 10, 64, 64).

Threads: onnxruntime intra-op = --threads (default 1), inter-op 1, sequential execution; its
worker threads spin between runs unless --no-spin (ORT's default, kept as people run it).
OpenCV: --cv-threads N calls cv2.setNumThreads(N) (affects resize/cvtColor parallelism); left
out, OpenCV keeps its default (= number of CPUs with the pthreads backend of the PyPI wheel).
FFmpeg's decoder threads are separate: --decode-threads N sets CAP_PROP_N_THREADS; left out,
OpenCV's default applies (number of CPUs, at most 16; env OPENCV_FFMPEG_THREADS also works).

Output: exactly one JSON line on stdout at the end:
  {"frames": decoded, "sampled": ..., "windows": ..., "wall_s": first read -> end of loop,
   "setup_s": session creation + VideoCapture open, "cpu_s": process CPU time over wall_s,
   "peak_rss_mib": ..., "labels": {label: windows, ...}, ...}
--out FILE.jsonl writes one {"index","first_frame","last_frame","label","probs"} per window
(first/last_frame are decoded-frame indices, like actiond's window events; probs are the
model's output, softmaxed if they are not already probabilities). Errors go to stderr, exit 1.
"""
import argparse
import collections
import json
import resource
import sys
import time

import cv2
import numpy as np


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("video", help="video file (anything OpenCV's FFmpeg backend opens)")
    m = ap.add_mutually_exclusive_group(required=True)
    m.add_argument("--model", help="whole model, input [N,T,H,W,3]")
    m.add_argument("--encoder", help="per-frame encoder [N,H,W,3] -> [N,D] (needs --head)")
    m.add_argument("--no-model", action="store_true", help="no inference (decode/pre-processing only)")
    ap.add_argument("--head", help="temporal head [N,T,D] -> [N,K] (with --encoder)")
    ap.add_argument("--upto", choices=("decode", "resize", "prep"), default="prep",
                    help="with --no-model: decode only / + resize / + full pre-processing and windows")
    ap.add_argument("--stride", type=int, help="sampled frames between window starts (default T/2)")
    ap.add_argument("--frame-step", type=int, default=1, help="keep every k-th decoded frame")
    ap.add_argument("--length", type=int, help="T when the model's T is dynamic")
    ap.add_argument("--height", type=int, help="H when the model's H is dynamic")
    ap.add_argument("--width", type=int, help="W when the model's W is dynamic")
    ap.add_argument("--scale", type=float, default=1.0 / 255.0, help="pixel * scale (default 1/255)")
    ap.add_argument("--mean", type=float, nargs=3, metavar=("R", "G", "B"), help="then (x - mean[c]) ...")
    ap.add_argument("--std", type=float, nargs=3, metavar=("R", "G", "B"), help="... / std[c]")
    ap.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads")
    ap.add_argument("--no-spin", action="store_true",
                    help="onnxruntime session.intra_op.allow_spinning=0 (default: ORT's spinning pool)")
    ap.add_argument("--cv-threads", type=int, help="cv2.setNumThreads (default: OpenCV's default)")
    ap.add_argument("--decode-threads", type=int, help="FFmpeg decoder threads (CAP_PROP_N_THREADS)")
    ap.add_argument("--labels", help="labels file, one per line (histogram keys; default: indices)")
    ap.add_argument("--out", help="write one JSON line per window to this file")
    a = ap.parse_args(argv)
    if a.encoder and not a.head:
        ap.error("--encoder needs --head")
    if a.head and not a.encoder:
        ap.error("--head needs --encoder")
    if a.frame_step < 1:
        ap.error("--frame-step must be >= 1")
    if a.stride is not None and a.stride < 1:
        ap.error("--stride must be >= 1")
    return a


def make_session(path, threads, no_spin=False):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    if no_spin:
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def fixed(dim, override, what):
    """A model dimension, or the command-line value where it is dynamic."""
    if isinstance(dim, int) and dim > 0:
        if override is not None and override != dim:
            raise SystemExit(f"python_loop.py: error: --{what} {override} but the model fixes it to {dim}")
        return dim
    if override is None:
        raise SystemExit(f"python_loop.py: error: the model's {what} is dynamic ({dim!r}); give --{what}")
    return override


def as_probs(v):
    v = np.asarray(v, dtype=np.float64)
    if v.min() >= 0.0 and v.max() <= 1.0 and abs(v.sum() - 1.0) < 1e-3:
        return v
    e = np.exp(v - v.max())
    return e / e.sum()


def main(argv=None):
    a = parse_args(argv)
    if a.cv_threads is not None:
        cv2.setNumThreads(a.cv_threads)

    t_setup = time.perf_counter()
    whole = enc = head = None
    if a.model:
        whole = make_session(a.model, a.threads, a.no_spin)
        inp = whole.get_inputs()[0]
        if len(inp.shape) != 5 or inp.shape[4] != 3:
            raise SystemExit(f"python_loop.py: error: {a.model}: input {inp.name} {inp.shape} is not [N,T,H,W,3]")
        T = fixed(inp.shape[1], a.length, "length")
        H = fixed(inp.shape[2], a.height, "height")
        W = fixed(inp.shape[3], a.width, "width")
        in_name, out_name = inp.name, whole.get_outputs()[0].name
    elif a.encoder:
        enc = make_session(a.encoder, a.threads, a.no_spin)
        head = make_session(a.head, a.threads, a.no_spin)
        ei, hi = enc.get_inputs()[0], head.get_inputs()[0]
        if len(ei.shape) != 4 or ei.shape[3] != 3:
            raise SystemExit(f"python_loop.py: error: {a.encoder}: input {ei.name} {ei.shape} is not [N,H,W,3]")
        if len(hi.shape) != 3:
            raise SystemExit(f"python_loop.py: error: {a.head}: input {hi.name} {hi.shape} is not [N,T,D]")
        H = fixed(ei.shape[1], a.height, "height")
        W = fixed(ei.shape[2], a.width, "width")
        T = fixed(hi.shape[1], a.length, "length")
        enc_in, enc_out = ei.name, enc.get_outputs()[0].name
        head_in, head_out = hi.name, head.get_outputs()[0].name
    else:
        T, H, W = a.length or 10, a.height or 64, a.width or 64
    stride = a.stride or max(1, T // 2)
    step = a.frame_step
    labels = None
    if a.labels:
        with open(a.labels) as f:
            labels = [ln.strip() for ln in f if ln.strip()]

    if a.decode_threads is not None:
        cap = cv2.VideoCapture(a.video, cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, a.decode_threads])
    else:
        cap = cv2.VideoCapture(a.video)
    if not cap.isOpened():
        raise SystemExit(f"python_loop.py: error: cannot open {a.video}")
    setup_s = time.perf_counter() - t_setup

    scale = np.float32(a.scale)
    mean = np.asarray(a.mean, np.float32) if a.mean else None
    inv_std = (1.0 / np.asarray(a.std, np.float32)).astype(np.float32) if a.std else None
    upto = a.upto if a.no_model else "prep"

    buf = collections.deque(maxlen=T)    # frames [H,W,3] or embeddings [D]
    idx = collections.deque(maxlen=T)    # decoded-frame index of each entry
    hist = collections.Counter()
    out = open(a.out, "w") if a.out else None
    frames = sampled = windows = 0

    cpu0 = time.process_time()
    t0 = time.perf_counter()
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        i = frames
        frames += 1
        if i % step:
            continue
        sampled += 1
        if upto == "decode":
            continue
        x = cv2.resize(frame, (W, H), interpolation=cv2.INTER_LINEAR)
        if upto == "resize":
            continue
        x = cv2.cvtColor(x, cv2.COLOR_BGR2RGB)
        x = x.astype(np.float32) * scale
        if mean is not None:
            x -= mean
        if inv_std is not None:
            x *= inv_std
        if enc is not None:
            x = enc.run([enc_out], {enc_in: x[None]})[0][0]
        buf.append(x)
        idx.append(i)
        if sampled < T or (sampled - T) % stride:
            continue
        batch = np.stack(buf)[None]      # [1,T,H,W,3] or [1,T,D]
        if whole is not None:
            y = whole.run([out_name], {in_name: batch})[0][0]
        elif head is not None:
            y = head.run([head_out], {head_in: batch})[0][0]
        else:
            windows += 1
            continue
        k = int(np.argmax(y))
        name = labels[k] if labels and k < len(labels) else str(k)
        hist[name] += 1
        if out is not None:
            out.write(json.dumps({"index": windows, "first_frame": idx[0], "last_frame": idx[-1],
                                  "label": name, "probs": [round(float(p), 6) for p in as_probs(y)]}) + "\n")
        windows += 1
    wall_s = time.perf_counter() - t0
    cpu_s = time.process_time() - cpu0
    cap.release()
    if out is not None:
        out.close()

    if frames == 0:
        print(f"python_loop.py: error: no frame decoded from {a.video}", file=sys.stderr)
    res = {
        "frames": frames, "sampled": sampled, "windows": windows,
        "wall_s": round(wall_s, 4), "setup_s": round(setup_s, 4), "cpu_s": round(cpu_s, 4),
        "fps": round(frames / wall_s, 1) if wall_s > 0 else None,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "length": T, "height": H, "width": W, "stride": stride, "frame_step": step,
        "threads": a.threads, "cv_threads": cv2.getNumThreads(),
        "mode": "whole" if whole is not None else "encoder+head" if enc is not None else "no-model:" + upto,
    }
    if hist:
        res["labels"] = dict(sorted(hist.items(), key=lambda kv: (-kv[1], kv[0])))
    print(json.dumps(res), flush=True)
    return 0 if frames else 1


if __name__ == "__main__":
    sys.exit(main())
