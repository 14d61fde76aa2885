"""Train heads on a user's own labelled footage, cut by `actiond dataset`, and export each as
ONNX with labels.txt and a ready pipeline file (TensorFlow 2.15 / Keras 2 venv, see
models/README.md, "Your own actions").

    models/.venv-train/bin/python models/fit.py --dataset my-dataset --out my-heads \
        --heads gap_grid_lstm,flatten_lstm,gap_lstm,convlstm [--motion] [--budget-min 10]

Reads windows.npy (uint8 [N,T,H,W,3], memory-mapped), index.csv and dataset.json. Trains on the
`train` windows only; the `val` windows (other videos: the split is by video) choose the epoch
(early stopping on validation loss, best weights restored); `test` windows are never read.
Each head gets, with a fixed seed:
- the label set of the data (any number >= 2) and its window (T, H, W) and preprocessing
  (scale, mean, std, channel order) from dataset.json, which its pipeline file repeats;
- class weights (n / (k * n_c)) so a rare label counts as much as a frequent one;
- label-preserving augmentation per clip, the same for all its frames (--no-augment to turn it
  off): a random crop of 80-100 % of the frame at a random place, resized back; brightness and
  contrast jitter; Gaussian noise; a light blur on half the clips. Never a flip: it would turn
  move_left into move_right.
- a time budget (--budget-min per head: no epoch starts that would end after it) and an epoch
  cap (--epochs).
--motion trains the motion-aware variant of each head instead: every frame given with its
difference to the previous one, inside the model (the ONNX input stays [N,T,H,W,3]).
--embeddings (transfer) trains only the temporal head, embedding_lstm (LSTM(64) -> Dense), on
embeddings.npy (float32 [N,T,D]: a frame encoder's output for every frame, computed by
`actiond dataset --embeddings` or `--encoder FILE` with the daemon's own ring and session code);
its augmentation is Gaussian noise. It exports the head and a copy of that encoder as a pair.

Writes into --out: <name>.onnx (+ <name>.encoder.onnx and <name>.head.onnx for the
TimeDistributed heads without --motion; with --embeddings the pair only), <name>.toml
(+ <name>_pair.toml), labels.txt, and
results/<name>.json (per-epoch loss and accuracy, the chosen epoch, validation accuracy per
class and confusion, class weights, augmentation, seconds).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as tf  # noqa: E402
from tensorflow import keras  # noqa: E402

import heads  # noqa: E402
import pipeline_file  # noqa: E402
import training  # noqa: E402
from training import class_weights  # noqa: E402


class Dataset:
    """An `actiond dataset` folder: windows, labels, split and the settings they were cut with."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.manifest = json.loads((self.root / "dataset.json").read_text())
        self.labels = list(self.manifest["labels"])
        self.windows = np.load(self.root / self.manifest["windows"]["file"], mmap_mode="r")
        e = self.manifest.get("embeddings")
        self.embeddings = None if e is None else np.load(self.root / e["file"], mmap_mode="r")
        self.encoder = None if e is None else Path(e["encoder"])
        label_id = {l: i for i, l in enumerate(self.labels)}
        self.y, self.split = [], []
        with open(self.root / "index.csv", newline="") as f:
            for row in csv.DictReader(f):
                self.y.append(label_id[row["label"]])
                self.split.append(row["split"])
        self.y = np.array(self.y, np.int64)
        self.split = np.array(self.split)
        assert len(self.y) == len(self.windows), (len(self.y), self.windows.shape)
        assert self.embeddings is None or len(self.embeddings) == len(self.y), self.embeddings.shape
        p = self.manifest["preprocess"]
        self.source = [2, 1, 0] if p["channel_order"] == "bgr" else [0, 1, 2]
        self.scale = np.float32(p["scale"])
        self.mean = np.array(p["mean"], np.float32)
        self.std = np.array(p["std"], np.float32)

    def ids(self, side: str) -> np.ndarray:
        return np.nonzero(self.split == side)[0]

    def model_values(self, clips_u8: np.ndarray) -> np.ndarray:
        """uint8 RGB -> the model's values, exactly as actiond's preprocessor makes them."""
        x = clips_u8[..., self.source].astype(np.float32)
        return (x * self.scale - self.mean) / self.std

    @property
    def clip(self):
        return tuple(int(d) for d in self.windows.shape[1:])


class Augment:
    """Label-preserving, per clip (all frames alike), on uint8 RGB before preprocessing."""

    def __init__(self, rng: np.random.Generator, bank: int = 64):
        self.rng, self.bank_size, self.bank = rng, bank, None

    def noise(self, shape) -> np.ndarray:
        """Unit Gaussian noise per clip, drawn from a bank made once (fresh normals for every
        pixel of every batch were half the cost of augmenting), each picked with a random sign."""
        if self.bank is None or self.bank.shape[1:] != tuple(shape[1:]):
            self.bank = self.rng.standard_normal((self.bank_size,) + tuple(shape[1:]), dtype=np.float32)
        sign = self.rng.choice(np.array([-1, 1], np.float32), (shape[0], 1, 1, 1, 1))
        return self.bank[self.rng.integers(0, self.bank_size, shape[0])] * sign

    def __call__(self, clips: np.ndarray) -> np.ndarray:
        b, t, h, w, c = clips.shape
        x = clips.astype(np.float32)
        scale = self.rng.uniform(0.8, 1.0, b)
        ch, cw = scale * h, scale * w
        y0 = self.rng.uniform(0, 1, b) * (h - ch)
        x0 = self.rng.uniform(0, 1, b) * (w - cw)
        boxes = np.stack([y0 / h, x0 / w, (y0 + ch) / h, (x0 + cw) / w], axis=1).astype(np.float32)
        frames = tf.image.crop_and_resize(
            x.reshape(b * t, h, w, c), np.repeat(boxes, t, axis=0), np.arange(b * t, dtype=np.int32), (h, w))
        x = frames.numpy().reshape(b, t, h, w, c)
        mean = x.mean(axis=(1, 2, 3, 4), keepdims=True)
        contrast = self.rng.uniform(0.7, 1.3, (b, 1, 1, 1, 1)).astype(np.float32)
        brightness = self.rng.uniform(-30, 30, (b, 1, 1, 1, 1)).astype(np.float32)
        x = (x - mean) * contrast + mean + brightness
        x += self.noise(x.shape) * self.rng.uniform(0, 6, (b, 1, 1, 1, 1)).astype(np.float32)
        blur = self.rng.uniform(0, 1, b) < 0.5
        if blur.any():
            k = np.array([0.25, 0.5, 0.25], np.float32)
            kernel = np.tile((k[:, None] * k[None, :])[:, :, None, None], (1, 1, c, 1))
            picked = x[blur].reshape(-1, h, w, c)
            x[blur] = tf.nn.depthwise_conv2d(picked, kernel, [1, 1, 1, 1], "SAME").numpy().reshape(-1, t, h, w, c)
        return np.clip(np.rint(x), 0, 255).astype(np.uint8)


class EmbeddingNoise:
    """Label-preserving augmentation of embedding windows: Gaussian noise of a random strength
    per clip (0-20 % of each dimension's spread over the training windows). Crops, photometric
    jitter and blur act on pixels the embeddings were already computed from; temporal jitter or
    speed changes would change what a speed-dependent action looks like."""

    def __init__(self, rng: np.random.Generator, sample: np.ndarray):
        self.rng = rng
        self.spread = np.asarray(sample, np.float32).reshape(-1, sample.shape[-1]).std(axis=0)

    def __call__(self, clips: np.ndarray) -> np.ndarray:
        strength = self.rng.uniform(0, 0.2, (len(clips), 1, 1)).astype(np.float32)
        noise = self.rng.normal(0, 1, clips.shape).astype(np.float32)
        return clips + noise * strength * self.spread


def embedding_values(clips: np.ndarray) -> np.ndarray:
    return np.asarray(clips, np.float32)


def train_one(data: Dataset, head: str, args, out: Path) -> dict:
    name = head + ("_motion" if args.motion else "")
    tf.keras.utils.set_random_seed(args.seed)
    k, clip = len(data.labels), data.clip
    train_ids, val_ids = data.ids("train"), data.ids("val")
    if args.embeddings:
        steps, dim = (int(d) for d in data.embeddings.shape[1:])
        model, subs = heads.build_embedding_head(k, steps, dim, motion=args.motion), {}
        x, convert = data.embeddings, embedding_values
        sample = data.embeddings[np.sort(train_ids[:: max(1, len(train_ids) // 2000)])]
        augment = EmbeddingNoise(np.random.default_rng(args.seed), sample) if args.augment else None
    else:
        model, subs = heads.build(head, k, clip, motion=args.motion)
        x, convert = data.windows, data.model_values
        augment = Augment(np.random.default_rng(args.seed)) if args.augment else None
    model.compile(optimizer=keras.optimizers.Adam(args.lr), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    weights = class_weights(data.y[train_ids], k) if args.class_weights else None
    # index.csv lists windows video by video: unshuffled, a batch would hold one label.
    train = training.Batches(x, data.y, train_ids, args.batch, convert, weights,
                             shuffle=True, augment=augment, seed=args.seed)
    # The loss that chooses the epoch weighs the labels as training does, by their own counts.
    val_weights = class_weights(data.y[val_ids], k) if args.class_weights else None
    val = training.Batches(x, data.y, val_ids, 64, convert, val_weights)
    budget = training.Budget.minutes(args.budget_min)
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=args.patience)
    print(f"{name}: {model.count_params()} parameters, {len(train_ids)} training and {len(val_ids)} validation "
          f"windows, {k} labels", flush=True)
    started = time.time()
    history = model.fit(train, validation_data=val, epochs=args.epochs, callbacks=[training.BestWeights(), stop, budget], verbose=2)
    seconds = time.time() - started
    h = history.history
    best = int(np.argmin(h["val_loss"]))
    probs = model.predict(val, verbose=0)
    pred, y = probs.argmax(1), data.y[val_ids]
    result = {
        "head": head,
        "name": name,
        "motion": args.motion,
        "params": int(model.count_params()),
        "labels": data.labels,
        "window": list(clip),
        "embeddings": None if not args.embeddings else {"shape": list(data.embeddings.shape[1:]),
                                                        "encoder": str(data.encoder)},
        "train_windows": int(len(train_ids)),
        "val_windows": int(len(val_ids)),
        "class_weights": None if weights is None else [float(w) for w in weights],
        "augment": args.augment,
        "epochs_run": len(h["loss"]),
        "best_epoch": best + 1,
        "stopped_by": "budget" if budget.stopped else ("early stopping" if stop.stopped_epoch else "epochs"),
        "seconds": round(seconds, 1),
        "history": [{"epoch": e + 1, **{m: float(h[m][e]) for m in ("loss", "accuracy", "val_loss", "val_accuracy")}}
                    for e in range(len(h["loss"]))],
        "val_accuracy": float((pred == y).mean()) if len(y) else None,
        "val_per_class": training.per_class(pred, y, data.labels),
        "val_confusion": training.confusion(pred, y, k),
        "seed": args.seed,
        "tensorflow": tf.__version__,
    }
    p = data.manifest["preprocess"]
    input_doc = f"RGB uint8 * {p['scale']} - mean {p['mean']} / std {p['std']}, {p['channel_order']}"
    labels = out / "labels.txt"
    if args.embeddings:
        result["files"] = export_embedding_pair(data, model, name, out, labels, k)
    else:
        whole = out / f"{name}.onnx"
        heads.export_whole(model, whole, clip, k, input_doc)
        pipeline_file.write(out / f"{name}.toml", data.manifest, {"path": whole}, labels,
                            f"{name}, trained on {data.root} by models/fit.py.")
        result["files"] = [whole.name, f"{name}.toml"]
    if subs:
        pair = heads.export_pair(name, subs, out, clip, k, input_doc)
        pipeline_file.write(out / f"{name}_pair.toml", data.manifest,
                            {"encoder": out / pair["encoder_file"], "head": out / pair["head_file"]}, labels,
                            f"{name} as an encoder/head pair, trained on {data.root} by models/fit.py.")
        result["pair"] = pair
        result["files"] += [pair["encoder_file"], pair["head_file"], f"{name}_pair.toml"]
    (out / "results").mkdir(exist_ok=True)
    (out / "results" / f"{name}.json").write_text(json.dumps(result, indent=1))
    print(json.dumps({k: result[k] for k in ("name", "params", "epochs_run", "best_epoch", "stopped_by",
                                              "val_accuracy", "seconds")}), flush=True)
    return result


def export_embedding_pair(data: Dataset, model, name: str, out: Path, labels: Path, k: int) -> list:
    """The trained temporal head with a copy of the encoder the dataset's embeddings came from,
    as the pair and pipeline `actiond run` serves: the daemon computes the same embeddings."""
    encoder, head = out / f"{name}.encoder.onnx", out / f"{name}.head.onnx"
    shutil.copyfile(data.encoder, encoder)
    steps, dim = (int(d) for d in data.embeddings.shape[1:])
    heads.export_embedding_head(model, head, steps, dim, k, encoder.name)
    pipeline_file.write(out / f"{name}.toml", data.manifest, {"encoder": encoder, "head": head}, labels,
                        f"{name}: a temporal head on the embeddings of {data.encoder}, trained on {data.root} "
                        "by models/fit.py --embeddings.")
    return [encoder.name, head.name, f"{name}.toml"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", required=True, type=Path)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--heads", help="comma-separated, of " + ", ".join(heads.HEADS)
                    + " (default: gap_grid_lstm,flatten_lstm,gap_lstm,convlstm)")
    ap.add_argument("--motion", action="store_true", help="the motion-aware variant of each head")
    ap.add_argument("--embeddings", action="store_true",
                    help="train only a temporal head (embedding_lstm) on the dataset's embeddings.npy "
                         "(cut with `actiond dataset --embeddings` or `--encoder FILE`) and deploy it with that encoder")
    ap.add_argument("--no-augment", dest="augment", action="store_false")
    ap.add_argument("--no-class-weights", dest="class_weights", action="store_false")
    ap.add_argument("--epochs", type=int, default=30, help="at most this many epochs per head")
    ap.add_argument("--patience", type=int, default=3, help="epochs without a better validation loss")
    ap.add_argument("--budget-min", type=float, default=10.0, help="training minutes per head")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if args.embeddings and args.heads:
        ap.error("--embeddings trains the temporal head alone (embedding_lstm): leave out --heads")
    names = ["embedding_lstm"] if args.embeddings else \
        [h for h in (args.heads or "gap_grid_lstm,flatten_lstm,gap_lstm,convlstm").split(",") if h]
    unknown = [h for h in names if h not in heads.HEADS and not args.embeddings]
    if unknown:
        ap.error(f"unknown head(s) {', '.join(unknown)}; known: {', '.join(heads.HEADS)}")
    data = Dataset(args.dataset)
    if args.embeddings and data.embeddings is None:
        ap.error(f"{args.dataset}: the dataset has no embeddings.npy: cut it with `actiond dataset --embeddings` "
                 "(a two-stage pipeline's encoder) or `actiond dataset --encoder FILE`")
    if args.embeddings and not data.encoder.is_file():
        ap.error(f"{args.dataset}: the encoder its embeddings came from, {data.encoder}, is gone; "
                 "the head can only be deployed with that very encoder")
    if len(data.labels) < 2:
        ap.error(f"{args.dataset}: a head needs at least two labels, the dataset has {data.labels}")
    if not len(data.ids("train")) or not len(data.ids("val")):
        ap.error(f"{args.dataset}: no training or no validation windows")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "labels.txt").write_text("\n".join(data.labels) + "\n")
    tf.config.experimental.enable_op_determinism()
    results = [train_one(data, h, args, args.out) for h in names]
    # One entry per fit.py run into this folder (train.sh with --embeddings and real_footage.sh's
    # ConvLSTM run twice into one), so no run's settings are lost.
    log = args.out / "results" / "fit.json"
    runs = json.loads(log.read_text())["runs"] if log.exists() else []
    runs.append({"dataset": str(args.dataset), "heads": [r["name"] for r in results],
                 "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}})
    log.write_text(json.dumps({"runs": runs}, indent=1))


if __name__ == "__main__":
    main()
