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
from tensorflow.keras import layers  # noqa: E402

N_CLASSES = len(synth.LABELS)
FRAME = (synth.SIZE, synth.SIZE, 3)
CLIP = (synth.T,) + FRAME


class AddCoords(layers.Layer):
    """Append two constant channels x, y in [-1, 1] (pixel centres) to a frame batch."""

    def build(self, input_shape):
        h, w = int(input_shape[1]), int(input_shape[2])
        ys = (np.arange(h, dtype=np.float32) + 0.5) / h * 2.0 - 1.0
        xs = (np.arange(w, dtype=np.float32) + 0.5) / w * 2.0 - 1.0
        grid = np.stack(np.meshgrid(xs, ys, indexing="xy"), axis=-1)  # (h, w, 2): x, y
        self.grid = tf.constant(grid[None])
        super().build(input_shape)

    def call(self, x):
        n = tf.shape(x)[0]
        return tf.concat([x, tf.tile(self.grid, tf.stack([n, 1, 1, 1]))], axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (int(input_shape[-1]) + 2,)


def _cnn(x, name):
    x = layers.Conv2D(32, 3, activation="relu", name=f"{name}_conv1")(x)
    x = layers.MaxPooling2D(2, name=f"{name}_pool1")(x)
    x = layers.Conv2D(64, 3, activation="relu", name=f"{name}_conv2")(x)
    x = layers.MaxPooling2D(2, name=f"{name}_pool2")(x)  # (14, 14, 64)
    return x


def build_td(head: str):
    """TimeDistributed(encoder) -> LSTM(64) -> Dense(8, softmax, name='probs')."""
    f_in = keras.Input(FRAME, name="frame")
    x = f_in
    if head == "gap_coord_lstm":
        x = AddCoords(name="add_coords")(x)
    x = _cnn(x, "enc")
    if head == "flatten_lstm":
        x = layers.Flatten(name="enc_flatten")(x)
    elif head in ("gap_lstm", "gap_coord_lstm"):
        x = layers.GlobalAveragePooling2D(name="enc_gap")(x)
    elif head == "gap_grid_lstm":
        x = layers.AveragePooling2D(7, name="enc_grid_pool")(x)  # (2, 2, 64)
        x = layers.Flatten(name="enc_flatten")(x)  # 256
    else:
        raise ValueError(head)
    encoder = keras.Model(f_in, x, name="encoder")

    lstm = layers.LSTM(64, name="lstm")
    dense = layers.Dense(N_CLASSES, activation="softmax", name="probs")
    e_in = keras.Input((synth.T, encoder.output_shape[-1]), name="embeddings")
    temporal = keras.Model(e_in, dense(lstm(e_in)), name="temporal")

    c_in = keras.Input(CLIP, name="frames")
    emb = layers.TimeDistributed(encoder, name="td_encoder")(c_in)
    model = keras.Model(c_in, dense(lstm(emb)), name=head)
    return model, {"encoder": encoder, "temporal": temporal}


def build_convlstm():
    c_in = keras.Input(CLIP, name="frames")
    x = layers.ConvLSTM2D(32, 3, name="convlstm")(c_in)  # valid -> (62, 62, 32)
    x = layers.Conv2D(64, 3, activation="relu", name="conv1")(x)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(64, 3, activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    out = layers.Dense(N_CLASSES, activation="softmax", name="probs")(x)
    return keras.Model(c_in, out, name="convlstm"), {}


def build(head: str):
    if head == "convlstm":
        return build_convlstm()
    return build_td(head)


class Clips(keras.utils.Sequence):
    """uint8 clips -> float32 batches (x / 255); reshuffled every epoch by a seeded rng."""

    def __init__(self, x, y, batch, shuffle, seed=0):
        super().__init__()
        self.x, self.y, self.batch, self.shuffle = x, y, batch, shuffle
        self.rng = np.random.default_rng(seed)
        self.order = self.rng.permutation(len(x)) if shuffle else np.arange(len(x))

    def __len__(self):
        return (len(self.x) + self.batch - 1) // self.batch

    def __getitem__(self, i):
        idx = np.sort(self.order[i * self.batch:(i + 1) * self.batch])
        return self.x[idx].astype(np.float32) / np.float32(255.0), self.y[idx]

    def on_epoch_end(self):
        if self.shuffle:
            self.order = self.rng.permutation(len(self.x))


def per_class(pred, y):
    acc = {}
    for c, name in enumerate(synth.LABELS):
        m = y == c
        acc[name] = float((pred[m] == c).mean()) if m.any() else float("nan")
    return acc


def confusion(pred, y):
    cm = np.zeros((N_CLASSES, N_CLASSES), np.int64)
    np.add.at(cm, (y, pred), 1)
    return cm.tolist()


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
            "val_accuracy": float((pred == self.val.y).mean()),
            "val_per_class": per_class(pred, self.val.y),
            "time": time.strftime("%H:%M:%S", time.gmtime()),
        }
        self.history.append(rec)
        with open(self.log_path, "a") as f:
            f.write(json.dumps(rec) + "\n")
        print(json.dumps(rec), flush=True)


class Deadline(keras.callbacks.Callback):
    """Stop after an epoch when another epoch (as long as the longest so far) would end past `deadline` (unix s)."""

    def __init__(self, deadline):
        super().__init__()
        self.deadline, self.longest = deadline, 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self.t0 = time.time()

    def on_epoch_end(self, epoch, logs=None):
        # called before EpochLog's validation pass: add a margin for it
        self.longest = max(self.longest, (time.time() - self.t0) * 1.15)
        if time.time() + self.longest > self.deadline:
            print(f"deadline: stopping after epoch {epoch + 1}", flush=True)
            self.model.stop_training = True


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


def _to_onnx(model, spec, in_name: str, out_name: str, path: Path, doc: str):
    """tf2onnx (opset 17) of a one-input one-output Keras model: the input is named after
    `spec`, the output is renamed to `out_name`, dim 0 of both becomes the symbolic 'batch'."""
    import onnx
    import tf2onnx

    proto, _ = tf2onnx.convert.from_keras(model, input_signature=(spec,), opset=17)
    g = proto.graph
    assert len(g.input) == 1 and len(g.output) == 1, (g.input, g.output)
    old = g.output[0].name
    if old != out_name:  # sub-model outputs are named after their last Keras layer
        for node in g.node:
            node.input[:] = [out_name if n == old else n for n in node.input]
            node.output[:] = [out_name if n == old else n for n in node.output]
        g.output[0].name = out_name
    for vi in list(g.input) + list(g.output):
        dim = vi.type.tensor_type.shape.dim[0]
        dim.ClearField("dim_value")
        dim.dim_param = "batch"
    assert [i.name for i in g.input] == [in_name], g.input
    assert [o.name for o in g.output] == [out_name], g.output
    proto.doc_string = doc
    onnx.checker.check_model(proto, full_check=True)
    onnx.save(proto, str(path))
    return path.stat().st_size


def export_onnx(model, path: Path):
    spec = tf.TensorSpec((None,) + CLIP, tf.float32, name="frames")
    return _to_onnx(model, spec, "frames", "probs", path,
                    f"actiond head {model.name}; input frames (batch,10,64,64,3) RGB uint8/255; "
                    "output probs (batch,8) softmax in labels.txt order")


def export_pair(head: str, subs, out: Path):
    """Write the two-stage form of a TimeDistributed head next to the whole model:
    <head>.encoder.onnx: frames (batch,64,64,3) -> embedding (batch,D), one frame per row;
    <head>.head.onnx: embeddings (batch,10,D) -> probs (batch,8).
    Both share their weights with the whole model, so head(stack(encoder(frame_t))) == whole(frames)."""
    enc, tmp = subs["encoder"], subs["temporal"]
    d = int(enc.output_shape[-1])
    enc_path, head_path = out / f"{head}.encoder.onnx", out / f"{head}.head.onnx"
    t = time.time()
    enc_bytes = _to_onnx(
        enc, tf.TensorSpec((None,) + FRAME, tf.float32, name="frames"), "frames", "embedding", enc_path,
        f"actiond {head} frame encoder; input frames (batch,64,64,3) RGB uint8/255, one frame per row; "
        f"output embedding (batch,{d}); feed {synth.T} consecutive embeddings, oldest first, "
        f"to {head_path.name}")
    head_bytes = _to_onnx(
        tmp, tf.TensorSpec((None, synth.T, d), tf.float32, name="embeddings"), "embeddings", "probs", head_path,
        f"actiond {head} temporal head; input embeddings (batch,{synth.T},{d}) = {enc_path.name} outputs "
        f"of {synth.T} consecutive frames, oldest first; output probs (batch,8) softmax in labels.txt order")
    print(f"exported {enc_path} ({enc_bytes} bytes) and {head_path} ({head_bytes} bytes), D={d}, "
          f"in {time.time() - t:.0f}s", flush=True)
    return {"embedding_dim": d, "encoder_file": enc_path.name, "encoder_bytes": enc_bytes,
            "encoder_params": int(enc.count_params()), "head_file": head_path.name,
            "head_bytes": head_bytes, "head_params": int(tmp.count_params())}


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
    ap.add_argument("--head", required=True,
                    choices=["flatten_lstm", "gap_lstm", "gap_coord_lstm", "gap_grid_lstm", "convlstm"])
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

    train = Clips(xtr, ytr, args.batch, shuffle=True, seed=args.seed)
    val = Clips(xva, yva, 64, shuffle=False)
    log = EpochLog(name, val, workdir / f"{name}_epochs.jsonl")
    callbacks = [log]
    if args.deadline:
        import calendar
        hh, mm = map(int, args.deadline.split(":"))
        now = time.gmtime()
        dl = calendar.timegm((now.tm_year, now.tm_mon, now.tm_mday, hh, mm, 0))
        callbacks = [Deadline(dl), log]
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
        "val_per_class": per_class(pred, yva),
        "val_confusion": confusion(pred, yva),
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
