"""Check the encoder/head pairs against their whole models (runs in the onnxruntime venv).

    python models/check_pair.py [--clips 64] [--bench] [head ...]

For each TimeDistributed head, models/<head>.encoder.onnx (frames (batch,64,64,3)
-> embedding (batch,D)) and models/<head>.head.onnx (embeddings (batch,10,D) ->
probs (batch,8)) are checked against the committed models/<head>.onnx on real
clips: `--clips` validation clips (synth.make_clips(n, seed=2), the training
run's validation set, 8 per class per 64) plus synth.reference_clip().  The
two-stage path runs as actiond would: every frame encoded alone (batch 1), 10
embeddings stacked oldest first to (1,10,D), one head run.  Prints, per head, D,
the max abs probability difference to the whole model (must be <= 1e-5) and
whether batched encoder/head runs give the same numbers.

--bench adds onnxruntime timings (1 intra-op thread, batch 1, as bench.py):
encoder frames/s, head ms per window, whole-model windows/s.
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import bench  # noqa: E402
import synth  # noqa: E402

HEADS = ["flatten_lstm", "gap_lstm", "gap_grid_lstm"]
TOL = 1e-5


def clips(n):
    x, y = synth.make_clips(n, seed=2)
    ref = synth.reference_clip("move_right", seed=20261125)
    x = np.concatenate([x, ref[None]])
    y = np.concatenate([y, [synth.LABELS.index("move_right")]])
    return x.astype(np.float32) / np.float32(255.0), y


def io(s):
    (i,), (o,) = s.get_inputs(), s.get_outputs()
    return i.name, i.shape, o.name, o.shape


def check(head, x, y, model_dir):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = {k: ort.InferenceSession(str(Path(model_dir) / f"{head}{k}.onnx"), opts, providers=["CPUExecutionProvider"])
            for k in (".encoder", ".head", "")}
    enc, hd, whole = sess[".encoder"], sess[".head"], sess[""]
    ei, es, eo, eos = io(enc)
    hi, hs, ho, hos = io(hd)
    d = eos[1]
    assert (ei, es, eo) == ("frames", ["batch", 64, 64, 3], "embedding") and eos == ["batch", d], io(enc)
    assert (hi, hs, ho, hos) == ("embeddings", ["batch", synth.T, d], "probs", ["batch", 8]), io(hd)
    assert io(whole) == ("frames", ["batch", synth.T, 64, 64, 3], "probs", ["batch", 8]), io(whole)

    ref = whole.run(["probs"], {"frames": x})[0]  # (N, 8), batch N as check_onnx.py
    emb1 = np.stack([np.concatenate([enc.run(["embedding"], {"frames": clip[t:t + 1]})[0] for t in range(synth.T)])
                     for clip in x])  # (N, 10, D): one frame per encoder run
    two = np.concatenate([hd.run(["probs"], {"embeddings": e[None]})[0] for e in emb1])  # one window per head run
    whole1 = np.concatenate([whole.run(["probs"], {"frames": clip[None]})[0] for clip in x])
    emb_b = enc.run(["embedding"], {"frames": x.reshape((-1,) + x.shape[2:])})[0].reshape(emb1.shape)
    two_b = hd.run(["probs"], {"embeddings": emb_b})[0]
    rec = {
        "head": head, "D": d, "clips": len(x),
        "max_abs_diff_pair_vs_whole": float(np.abs(two - ref).max()),
        "max_abs_diff_pair_vs_whole_batch1": float(np.abs(two - whole1).max()),
        "max_abs_diff_batched_pair_vs_whole": float(np.abs(two_b - ref).max()),
        "max_abs_diff_embedding_batch1_vs_batchN": float(np.abs(emb1 - emb_b).max()),
        "argmax_agree": bool((two.argmax(1) == ref.argmax(1)).all()),
        "pair_acc_on_these": float((two.argmax(1) == y).mean()),
        "bytes": {f"{head}{k}.onnx": (Path(model_dir) / f"{head}{k}.onnx").stat().st_size
                  for k in ("", ".encoder", ".head")},
    }
    print(json.dumps(rec), flush=True)
    return rec["max_abs_diff_pair_vs_whole"] <= TOL and rec["max_abs_diff_pair_vs_whole_batch1"] <= TOL


def timing(head, x, model_dir, runs, warmup, threads=1):
    p = lambda k: Path(model_dir) / f"{head}{k}.onnx"  # noqa: E731
    enc, hd, whole = bench.session(p(".encoder"), threads), bench.session(p(".head"), threads), bench.session(p(""), threads)
    clip = x[:1]
    emb = np.concatenate([enc.run(["embedding"], {"frames": clip[0, t:t + 1]})[0] for t in range(synth.T)])[None]
    te = bench.median_s(enc, {"frames": clip[0, :1]}, runs * 3, warmup)
    th = bench.median_s(hd, {"embeddings": emb}, runs, warmup)
    tw = bench.median_s(whole, {"frames": clip}, runs, warmup)
    rec = {
        "head": head, "intra_op_threads": threads,
        "encoder_ms_per_frame": round(te * 1e3, 3), "encoder_frames_per_s": round(1 / te, 1),
        "head_ms_per_window": round(th * 1e3, 3),
        "whole_ms_per_window": round(tw * 1e3, 3), "whole_windows_per_s": round(1 / tw, 1),
        # windows/s when every window shares 9 frames with the last (stride 1): one encode + one head run
        "pair_windows_per_s_stride1": round(1 / (te + th), 1),
        # non-overlapping windows (stride 10): 10 encodes + one head run
        "pair_windows_per_s_stride10": round(1 / (synth.T * te + th), 1),
    }
    print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir", default=str(HERE))
    ap.add_argument("--clips", type=int, default=64, help="clips of synth.make_clips(n, seed=2) (the first n validation clips when n is a multiple of 64), "
                         "plus the reference clip")
    ap.add_argument("--bench", action="store_true")
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("heads", nargs="*", default=HEADS)
    a = ap.parse_args()
    x, y = clips(a.clips)
    print(json.dumps({"onnxruntime": ort.__version__, "clips": len(x), "tolerance": TOL}), flush=True)
    ok = all([check(h, x, y, a.model_dir) for h in a.heads])
    if a.bench:
        for h in a.heads:
            timing(h, x, a.model_dir, a.runs, a.warmup)
    sys.exit(0 if ok else 1)
