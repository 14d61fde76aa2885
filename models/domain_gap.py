"""Accuracy of the ONNX heads on real encoded/decoded/downscaled video (runs in the onnxruntime venv).

    python models/domain_gap.py [--per-class 25] [--workdir /tmp/actiond-gap]

Renders per-class clips at source sizes (synth.render_source; seed 3, unseen
in training), encodes them with gst-launch-1.0 (x264enc I420 in MP4 or vp8enc
in WebM), decodes and downscales to 64x64 RGB with `videoscale
add-borders=false ! videoconvert` as actiond does, and reports each model's
accuracy on the decoded clips next to its accuracy on the same clips
rendered directly at 64x64 (k = 1).  Needs GStreamer 1.22 with
plugins-good/bad/ugly and libav.
"""
import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import synth  # noqa: E402

CASES = [  # (name, width, height, encoder caps + element, muxer, demux + decoder)
    ("h264_320x240", 320, 240, "video/x-raw,format=I420 ! x264enc", "mp4mux", "qtdemux ! avdec_h264"),
    ("vp8_256x256", 256, 256, "video/x-raw,format=I420 ! vp8enc deadline=1 target-bitrate=1000000", "webmmux", "matroskademux ! vp8dec"),
    ("h264_640x480", 640, 480, "video/x-raw,format=I420 ! x264enc", "mp4mux", "qtdemux ! avdec_h264"),
]


def gst(pipeline):
    subprocess.run(["gst-launch-1.0", "-q"] + pipeline.split(), check=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-class", type=int, default=25)
    ap.add_argument("--workdir", default="/tmp/actiond-gap")
    ap.add_argument("--cases", default="h264_320x240,vp8_256x256")
    ap.add_argument("models", nargs="*")
    a = ap.parse_args()
    wd = Path(a.workdir)
    wd.mkdir(parents=True, exist_ok=True)
    models = a.models or sorted(str(p) for p in HERE.glob("*.onnx")
                                if not p.name.endswith((".encoder.onnx", ".head.onnx")))
    sessions = {Path(m).name: ort.InferenceSession(m, providers=["CPUExecutionProvider"]) for m in models}

    n = a.per_class * len(synth.LABELS)
    rng = np.random.default_rng(3)
    labels = rng.permutation(np.arange(n) % len(synth.LABELS))
    p = synth.sample_params(rng, labels, augment=False, k=1)
    direct = synth.render(p, np.random.default_rng(4))

    def evaluate(clips):
        x = clips.astype(np.float32) / np.float32(255.0)
        res = {}
        for name, s in sessions.items():
            pred = np.concatenate([s.run(["probs"], {"frames": x[i:i + 16]})[0] for i in range(0, n, 16)]).argmax(1)
            res[name] = {"acc": round(float((pred == labels).mean()), 4),
                         "per_class": {c: round(float((pred[labels == j] == j).mean()), 3)
                                       for j, c in enumerate(synth.LABELS)}}
        return res

    report = {"clips": n, "direct_64x64_k1": evaluate(direct)}
    for case, w, h, enc, mux, dec in CASES:
        if case not in a.cases.split(","):
            continue
        src = synth.render_source(p, w, h, np.random.default_rng(5))
        raw = wd / f"{case}.rgb"
        raw.write_bytes(src.tobytes())
        vid = wd / f"{case}.{'webm' if mux == 'webmmux' else 'mp4'}"
        out = wd / f"{case}_64.rgb"
        gst(f"filesrc location={raw} ! rawvideoparse format=rgb width={w} height={h} framerate=25/1 "
            f"! videoconvert ! {enc} ! {mux} ! filesink location={vid}")
        gst(f"filesrc location={vid} ! {dec} ! videoscale add-borders=false ! videoconvert "
            f"! video/x-raw,format=RGB,width=64,height=64 ! filesink location={out}")
        got = np.frombuffer(out.read_bytes(), np.uint8)
        assert got.size == n * synth.T * 64 * 64 * 3, (got.size, n)
        dec_clips = got.reshape(n, synth.T, 64, 64, 3)
        report[case] = evaluate(dec_clips)
    for k, v in report.items():
        print(k, json.dumps(v) if not isinstance(v, dict) else json.dumps({m: r["acc"] for m, r in v.items()}))
    (wd / "report.json").write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
