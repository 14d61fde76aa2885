"""Train one actiond head on the synthetic action set and export it to ONNX.

Runs in the training venv (tensorflow-cpu 2.15.1 + tf2onnx 1.16.1, Keras 2):

    python models/train.py --head flatten_lstm --train-n 4800 --epochs 5

Writes models/<head>.onnx, models/results/<head>.json (metrics) and, under
--workdir, the Keras weights, a per-epoch log and <head>_check.npz (a few
validation clips with the Keras outputs, for check_onnx.py).  TimeDistributed
heads also get their two-stage form, models/<head>.encoder.onnx and
models/<head>.head.onnx (see export_pair; check_pair.py checks it).  Without
training, from the weights of an earlier run:

    python models/train.py --head gap_grid_lstm --export-pair /work/train-logs/gap_grid_lstm.weights.h5

Every head takes (N, 10, 64, 64, 3) float32 = uint8 / 255 and returns softmax
probabilities over the 8 classes of labels.txt.  The TimeDistributed heads are
built from two sub-models that share their layers with the full model:
`encoder` (one 64x64x3 frame -> feature vector) and `temporal` (10 feature
vectors -> probabilities), so an encoder/head pair can be exported later.
The heads themselves and their export live in heads.py (fit.py, which trains
on a user's own labelled footage, builds the same ones).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import synth  # noqa: E402

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as tf  # noqa: E402
from tensorflow import keras  # noqa: E402

import heads  # noqa: E402
import training  # noqa: E402

N_CLASSES = len(synth.LABELS)
FRAME = (synth.SIZE, synth.SIZE, 3)
CLIP = (synth.T,) + FRAME


def build(head: str):
    return heads.build(head, N_CLASSES, CLIP)


def scaled(clips):
    """The shipped heads' input: RGB uint8 / 255."""
    return clips.astype(np.float32) / np.float32(255.0)


class EpochLog(keras.callbacks.Callback):
    def __init__(self, head, val, log_path):
        super().__init__()
        self.head, self.val, self.log_path = head, val, log_path
        self.history = []

    def on_epoch_begin(self, epoch, logs=None):
        self.t0 = time.time()

    def on_epoch_end(self, epoch, logs=None):
        train_s = time.time() - self.t0
        t1 = time.time()
        probs = self.model.predict(self.val, verbose=0)
        val_s = time.time() - t1
        pred = probs.argmax(1)
        rec = {
            "head": self.head,
            "epoch": epoch + 1,
            "train_seconds": round(train_s, 1),
            "val_predict_seconds": round(val_s, 1),
            "loss": float(logs["loss"]),
            "train_accuracy": float(logs["accuracy"]),
            "val_accuracy": float((pred == self.val.labels).mean()),
            "val_per_class": training.per_class(pred, self.val.labels, synth.LABELS),
            "time": time.strftime("%H:%M:%S", time.gmtime()),
        }
        self.history.append(rec)
        with open(self.log_path, "a") as f:
            f.write(json.dumps(rec) + "\n")
        print(json.dumps(rec), flush=True)


def load_or_make(workdir: Path, n: int, seed: int):
    path = workdir / f"data_seed{seed}_n{n}.npz"
    if path.exists():
        d = np.load(path)
        return d["x"], d["y"]
    t = time.time()
    # extend the largest cached prefix of whole chunks, if any
    best = None
    for p in workdir.glob(f"data_seed{seed}_n*.npz"):
        m = int(p.stem.split("_n")[1])
        if m < n and m % synth.CHUNK == 0 and (best is None or m > best[0]):
            best = (m, p)
    if best is not None:
        d = np.load(best[1])
        x2, y2 = synth.make_clips(n - best[0], seed, first_chunk=best[0] // synth.CHUNK)
        x, y = np.concatenate([d["x"], x2]), np.concatenate([d["y"], y2])
    else:
        x, y = synth.make_clips(n, seed)
    print(f"generated {n} clips (seed {seed}) in {time.time() - t:.0f}s", flush=True)
    np.savez(path, x=x, y=y)
    return x, y


INPUT_DOC = "RGB uint8/255"


def export_onnx(model, path: Path):
    return heads.export_whole(model, path, CLIP, N_CLASSES, INPUT_DOC)


def export_pair(head: str, subs, out: Path):
    return heads.export_pair(head, subs, out, CLIP, N_CLASSES, INPUT_DOC)


def export_pair_from(head: str, weights: str, out: Path):
    """--export-pair: build `head`, load trained Keras weights (no data, no training), write the pair
    and record it under "pair" in results/<head>.json if that file exists."""
    model, subs = build(head)
    if not subs:
        raise SystemExit(f"{head} has no per-frame encoder (only the TimeDistributed heads split)")
    model.load_weights(weights)
    out.mkdir(parents=True, exist_ok=True)
    pair = export_pair(head, subs, out)
    res = out / "results" / f"{head}.json"
    if res.exists():
        r = json.loads(res.read_text())
        assert r["params"] == model.count_params(), (r["params"], model.count_params())
        r["pair"] = pair
        res.write_text(json.dumps(r, indent=1))
    print(json.dumps({"head": head, "weights": weights, **pair}), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--head", required=True, choices=heads.HEADS)
    ap.add_argument("--train-n", type=int, default=4800)
    ap.add_argument("--data-n", type=int, default=4800, help="size of the cached train set to take --train-n clips from")
    ap.add_argument("--val-n", type=int, default=800)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=7, help="tf/numpy seed for weights and shuffling")
    ap.add_argument("--train-seed", type=int, default=1)
    ap.add_argument("--val-seed", type=int, default=2)
    ap.add_argument("--workdir", default="/work/train-logs")
    ap.add_argument("--out", default=str(HERE))
    ap.add_argument("--tag", default="", help="suffix for a trial run (no ONNX export into --out)")
    ap.add_argument("--no-export", action="store_true")
    ap.add_argument("--init-weights", default="", help="continue from these Keras weights (.h5); Adam state starts fresh")
    ap.add_argument("--deadline", default="", help="UTC HH:MM today: no epoch may start that would end later")
    ap.add_argument("--export-pair", default="", metavar="WEIGHTS_H5",
                    help="no training: load these Keras weights and write only <head>.encoder.onnx and "
                         "<head>.head.onnx into --out (TimeDistributed heads)")
    args = ap.parse_args()

    if args.export_pair:
        export_pair_from(args.head, args.export_pair, Path(args.out))
        return

    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    out = Path(args.out)
    name = args.head + args.tag

    tf.keras.utils.set_random_seed(args.seed)
    tf.config.experimental.enable_op_determinism()

    xtr, ytr = load_or_make(workdir, max(args.data_n, args.train_n), args.train_seed)
    xtr, ytr = xtr[:args.train_n], ytr[:args.train_n]
    xva, yva = load_or_make(workdir, args.val_n, args.val_seed)
    print(f"{name}: train {len(xtr)} {np.bincount(ytr, minlength=8).tolist()}, val {len(xva)}", flush=True)

    model, subs = build(args.head)
    model.compile(optimizer=keras.optimizers.Adam(args.lr),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.summary(print_fn=lambda s: print(s, flush=True))
    if args.init_weights:
        model.load_weights(args.init_weights)
        print(f"continuing from {args.init_weights}", flush=True)

    train = training.Batches(xtr, ytr, np.arange(len(xtr)), args.batch, scaled, shuffle=True, seed=args.seed)
    val = training.Batches(xva, yva, np.arange(len(xva)), 64, scaled)
    log = EpochLog(name, val, workdir / f"{name}_epochs.jsonl")
    callbacks = [log]
    if args.deadline:
        import calendar
        hh, mm = map(int, args.deadline.split(":"))
        now = time.gmtime()
        dl = calendar.timegm((now.tm_year, now.tm_mon, now.tm_mday, hh, mm, 0))
        # the margin covers EpochLog's validation pass, which runs after Budget's check
        callbacks = [training.Budget(dl, margin=1.15), log]
    t0 = time.time()
    model.fit(train, epochs=args.epochs, callbacks=callbacks, verbose=2)
    total = time.time() - t0
    model.save_weights(str(workdir / f"{name}.weights.h5"))

    probs = model.predict(val, verbose=0)
    pred = probs.argmax(1)
    last = log.history[-1]
    result = {
        "head": args.head,
        "params": int(model.count_params()),
        "sub_models": {k: int(m.count_params()) for k, m in subs.items()},
        "train_clips": len(xtr),
        "val_clips": len(xva),
        "epochs": len(log.history),
        "batch": args.batch,
        "lr": args.lr,
        "seconds_per_epoch": [h["train_seconds"] for h in log.history],
        "total_seconds_incl_val": round(total, 1),
        "val_accuracy": float((pred == yva).mean()),
        "val_per_class": training.per_class(pred, yva, synth.LABELS),
        "val_confusion": training.confusion(pred, yva, N_CLASSES),
        "history": [{k: h[k] for k in ("epoch", "train_seconds", "loss", "train_accuracy", "val_accuracy")}
                    for h in log.history],
        "seeds": {"tf": args.seed, "train": args.train_seed, "val": args.val_seed},
        "init_weights": args.init_weights or None,
        "tensorflow": tf.__version__,
    }
    assert abs(result["val_accuracy"] - last["val_accuracy"]) < 1e-9

    # a few validation clips with Keras outputs for check_onnx.py
    sel = np.concatenate([np.nonzero(yva == c)[0][:2] for c in range(N_CLASSES)])
    np.savez(workdir / f"{name}_check.npz", x=xva[sel], y=yva[sel], probs=probs[sel])

    if not args.no_export and not args.tag:
        t1 = time.time()
        out.mkdir(parents=True, exist_ok=True)
        onnx_path = out / f"{args.head}.onnx"
        export_onnx(model, onnx_path)
        result["onnx_file"] = onnx_path.name
        result["onnx_bytes"] = onnx_path.stat().st_size
        print(f"exported {onnx_path} ({onnx_path.stat().st_size} bytes) in {time.time() - t1:.0f}s", flush=True)
        if subs:
            result["pair"] = export_pair(args.head, subs, out)
        (out / "results").mkdir(exist_ok=True)
        with open(out / "results" / f"{args.head}.json", "w") as f:
            json.dump(result, f, indent=1)
    else:
        with open(workdir / f"{name}_result.json", "w") as f:
            json.dump(result, f, indent=1)
    print(json.dumps({k: result[k] for k in ("head", "params", "val_accuracy", "seconds_per_epoch")}), flush=True)


if __name__ == "__main__":
    main()
