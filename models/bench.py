"""Windows/s of each ONNX head with onnxruntime (batch 1), for models/README.md.

    python models/bench.py [--runs 300] [--warmup 30] [model.onnx ...]

For intra-op threads 1 and 2: one session (sequential execution, inter-op 1),
`warmup` untimed runs, then `runs` timed runs on one random (1,10,64,64,3)
window; prints the median latency and 1/median as windows/s.  The encoder/head
pairs (<head>.encoder.onnx, <head>.head.onnx) are timed by check_pair.py --bench.
"""
import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

HERE = Path(__file__).resolve().parent


def is_whole(path):
    """A whole-window head (frames (batch,10,64,64,3) -> probs), not half of an encoder/head pair."""
    return not Path(path).name.endswith((".encoder.onnx", ".head.onnx"))


def session(path, threads):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def median_s(s, feed, runs, warmup):
    """Median seconds of s.run(None, feed) over `runs` timed runs after `warmup` untimed ones."""
    for _ in range(warmup):
        s.run(None, feed)
    ts = []
    for _ in range(runs):
        t = time.perf_counter()
        s.run(None, feed)
        ts.append(time.perf_counter() - t)
    return float(np.median(ts))


def bench(path, threads, runs, warmup):
    s = session(path, threads)
    x = np.random.default_rng(0).random((1, 10, 64, 64, 3), dtype=np.float32)
    med = median_s(s, {"frames": x}, runs, warmup)
    return {"model": Path(path).name, "intra_op_threads": threads, "runs": runs,
            "median_ms": round(med * 1e3, 3), "windows_per_s": round(1.0 / med, 1)}


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("models", nargs="*")
    a = ap.parse_args()
    models = a.models or sorted(str(p) for p in HERE.glob("*.onnx") if is_whole(p))
    print(json.dumps({"onnxruntime": ort.__version__, "cpus": os.cpu_count(),
                      "cpu": platform.processor() or platform.machine(),
                      "loadavg_before": os.getloadavg()}))
    for m in models:
        for th in (1, 2):
            runs = a.runs if "convlstm" not in m else max(100, a.runs // 3)
            print(json.dumps(bench(m, th, runs, a.warmup)), flush=True)
