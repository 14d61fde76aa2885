"""Write the parity-test fixtures (runs in the onnxruntime venv).

    python models/make_reference.py

Renders one fixed clip (class move_right, seed 20261125, k = 1, no blur) with
synth.py and writes it raw to tests/fixtures/reference_clip.rgb (10x64x64x3
bytes: frame-major, row-major, RGB interleaved).  Runs every whole-window
models/*.onnx (not the *.encoder.onnx / *.head.onnx pairs) on
clip.astype(float32) / 255 shaped (1,10,64,64,3) and writes the 8 output
probabilities per model to tests/fixtures/reference_probs.json.
Rerun whenever a model is re-exported.
"""
import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import synth  # noqa: E402

FIX = HERE.parent / "tests" / "fixtures"


def main():
    FIX.mkdir(parents=True, exist_ok=True)
    clip = synth.reference_clip("move_right", seed=20261125)
    assert clip.shape == (10, 64, 64, 3) and clip.dtype == np.uint8
    (FIX / "reference_clip.rgb").write_bytes(clip.tobytes(order="C"))
    x = (clip.astype(np.float32) / np.float32(255.0))[None]
    out = {"clip": "reference_clip.rgb", "shape": [1, 10, 64, 64, 3],
           "scale": 1.0 / 255.0, "label": "move_right",
           "labels": synth.LABELS, "models": {}}
    for p in sorted(HERE.glob("*.onnx")):
        if p.name.endswith((".encoder.onnx", ".head.onnx")):
            continue  # halves of an encoder/head pair: check_pair.py
        s = ort.InferenceSession(str(p), providers=["CPUExecutionProvider"])
        probs = s.run(["probs"], {"frames": x})[0][0]
        out["models"][p.name] = [float(v) for v in probs]
        print(p.name, synth.LABELS[int(probs.argmax())], np.round(probs, 4).tolist())
    (FIX / "reference_probs.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
