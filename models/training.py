"""What train.py (the shipped heads) and fit.py (a user's footage) share besides the heads:
time budgets, keeping the best epoch, class weights and the per-class figures (TensorFlow venv)."""

from __future__ import annotations

import time

import numpy as np
from tensorflow import keras


class Budget(keras.callbacks.Callback):
    """Stops after an epoch when one more (as long as the longest so far, times `margin` for
    work done after the epoch) would end past `deadline` (unix seconds)."""

    def __init__(self, deadline: float, margin: float = 1.0):
        super().__init__()
        self.deadline, self.margin, self.longest, self.stopped = deadline, margin, 0.0, False

    @classmethod
    def minutes(cls, minutes: float) -> "Budget":
        return cls(time.time() + minutes * 60)

    def on_epoch_begin(self, epoch, logs=None):
        self.t0 = time.time()

    def on_epoch_end(self, epoch, logs=None):
        self.longest = max(self.longest, (time.time() - self.t0) * self.margin)
        if time.time() + self.longest > self.deadline:
            print(f"budget: stopping after epoch {epoch + 1}", flush=True)
            self.model.stop_training = True
            self.stopped = True


class BestWeights(keras.callbacks.Callback):
    """Keeps the weights of the epoch with the lowest validation loss and puts them back at the
    end, however training ends (Keras' EarlyStopping restores them only when it stops)."""

    def __init__(self):
        super().__init__()
        self.best, self.weights = np.inf, None

    def on_epoch_end(self, epoch, logs=None):
        if logs["val_loss"] < self.best:
            self.best, self.weights = logs["val_loss"], self.model.get_weights()

    def on_train_end(self, logs=None):
        if self.weights is not None:
            self.model.set_weights(self.weights)


def class_weights(y: np.ndarray, k: int) -> np.ndarray:
    """n / (k * n_c): every label weighs as much in total, however many windows it has."""
    counts = np.bincount(y, minlength=k).astype(np.float64)
    return np.where(counts > 0, len(y) / (k * np.maximum(counts, 1)), 0.0).astype(np.float32)


def per_class(pred: np.ndarray, y: np.ndarray, labels) -> dict:
    """Accuracy per true label (None without examples)."""
    return {name: (float((pred[y == c] == c).mean()) if (y == c).any() else None) for c, name in enumerate(labels)}


def confusion(pred: np.ndarray, y: np.ndarray, k: int) -> list:
    cm = np.zeros((k, k), np.int64)
    np.add.at(cm, (y, pred), 1)
    return cm.tolist()


class Batches(keras.utils.Sequence):
    """Windows `ids` of uint8 clips `x` (in memory or memory-mapped) in batches of model values
    (`convert`), with their labels and, given class `weights`, sample weights; reshuffled and
    re-augmented (`augment`: uint8 clips -> uint8 clips) every epoch by a seeded generator."""

    def __init__(self, x, y, ids, batch, convert, weights=None, shuffle=False, augment=None, seed=0):
        super().__init__()
        self.x, self.y, self.ids, self.batch = x, y, np.asarray(ids), batch
        self.convert, self.weights, self.shuffle, self.augment = convert, weights, shuffle, augment
        self.rng = np.random.default_rng(seed)
        self.order = self.rng.permutation(self.ids) if shuffle else self.ids

    @property
    def labels(self) -> np.ndarray:
        """The labels in batch order (unshuffled batches: what predict returns)."""
        return self.y[self.order]

    def __len__(self):
        return (len(self.ids) + self.batch - 1) // self.batch

    def __getitem__(self, i):
        idx = np.sort(self.order[i * self.batch:(i + 1) * self.batch])
        clips = np.asarray(self.x[idx])
        if self.augment is not None:
            clips = self.augment(clips)
        x, y = self.convert(clips), self.y[idx]
        if self.weights is None:
            return x, y
        return x, y, self.weights[y]

    def on_epoch_end(self):
        if self.shuffle:
            self.order = self.rng.permutation(self.ids)
