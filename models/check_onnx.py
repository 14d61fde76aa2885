"""Compare each exported ONNX head with its Keras outputs (runs in the onnxruntime venv).

    python models/check_onnx.py [--workdir /work/train-logs] [head ...]

Reads <workdir>/<head>_check.npz (written by train.py: uint8 clips + Keras
probabilities) and models/<head>.onnx; prints the max abs difference and
checks input/output names and the dynamic batch dimension.
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort

HERE = Path(__file__).resolve().parent


def check(head, workdir, model_dir=HERE):
    d = np.load(Path(workdir) / f"{head}_check.npz")
    s = ort.InferenceSession(str(Path(model_dir) / f"{head}.onnx"), providers=["CPUExecutionProvider"])
    i, o = s.get_inputs()[0], s.get_outputs()[0]
    assert (i.name, o.name) == ("frames", "probs"), (i.name, o.name)
    assert i.shape == ["batch", 10, 64, 64, 3] and o.shape == ["batch", 8], (i.shape, o.shape)
    x = d["x"].astype(np.float32) / np.float32(255.0)
    got = s.run(["probs"], {"frames": x})[0]
    one = s.run(["probs"], {"frames": x[:1]})[0]
    diff = float(np.abs(got - d["probs"]).max())
    diff1 = float(np.abs(one[0] - got[0]).max())
    rec = {"head": head, "max_abs_diff_vs_keras": diff, "batch1_vs_batchN": diff1,
           "n_clips": len(x), "onnx_acc_on_these": float((got.argmax(1) == d["y"]).mean())}
    print(json.dumps(rec))
    return diff < 1e-4 and diff1 < 1e-5


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--workdir", default="/work/train-logs")
    ap.add_argument("--model-dir", default=str(HERE))
    ap.add_argument("heads", nargs="*", default=["flatten_lstm", "gap_lstm", "gap_grid_lstm", "convlstm"])
    a = ap.parse_args()
    ok = all([check(h, a.workdir, a.model_dir) for h in a.heads])
    sys.exit(0 if ok else 1)
