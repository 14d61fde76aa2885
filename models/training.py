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
