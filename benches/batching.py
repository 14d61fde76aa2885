#!/usr/bin/env python3
"""Would batching windows across streams help on this CPU? Runs each model with onnxruntime
(the library actiond loads) at batch 1, 2, 4 and 8, one intra-op thread, no spinning, and
prints windows/s and CPU-ms per window, median of --repeat runs of --seconds each.

  benches/python/.venv/bin/python benches/batching.py
"""
import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

ROOT = Path(__file__).resolve().parent.parent
MODELS = ["gap_grid_lstm.onnx", "flatten_lstm.onnx", "convlstm.onnx", "gap_grid_lstm.head.onnx",
          "flatten_lstm.head.onnx", "gap_grid_lstm.encoder.onnx"]


def session(path):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def rate(sess, batch, seconds):
    inp = sess.get_inputs()[0]
    shape = [batch] + [d for d in inp.shape[1:]]
    x = np.random.default_rng(1).random(shape, dtype=np.float32)
    sess.run(None, {inp.name: x})
    n, started, cpu0 = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - started < seconds:
        sess.run(None, {inp.name: x})
        n += batch
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu0
    return n / wall, 1000 * cpu / n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print("| model | batch 1 | batch 2 | batch 4 | batch 8 | batch 8 ÷ batch 1 |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in MODELS:
        sess = session(ROOT / "models" / name)
        rates = {}
        for batch in (1, 2, 4, 8):
            runs = [rate(sess, batch, args.seconds) for _ in range(args.repeat)]
            rates[batch] = statistics.median(r[0] for r in runs)
        cells = " | ".join(f"{rates[b]:.0f}/s" for b in (1, 2, 4, 8))
        print(f"| {name} | {cells} | {rates[8] / rates[1]:.2f} |", flush=True)


if __name__ == "__main__":
    main()
