"""The heads of the Flatten / GAP / ConvLSTM comparison, for any window and label set, and their
ONNX export (TensorFlow 2.15 / Keras 2 venv; see models/README.md).

Shared by train.py (the shipped heads, on the synthetic action set) and fit.py (a user's own
labelled footage, from `actiond dataset`). Every head takes `frames` float32
(batch, T, H, W, 3), already scaled as the pipeline says, and returns `probs` (batch, classes).

- flatten_lstm, gap_lstm, gap_grid_lstm, gap_coord_lstm: TimeDistributed CNN encoder -> LSTM(64)
  -> Dense(softmax). Built from two sub-models sharing the layers (`encoder`: one frame ->
  features, `temporal`: T features -> probs), so they also export as an encoder/head pair.
- convlstm: ConvLSTM2D(32) -> 2x (Conv2D 64 + pool) -> GAP -> Dense(softmax).
- motion=True: each frame is given with its difference to the previous one (6 channels, T-1
  steps), computed inside the model so the ONNX input stays (batch, T, H, W, 3). The encoder
  then needs two frames, so these heads export as a whole model only.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import layers

HEADS = ["flatten_lstm", "gap_lstm", "gap_grid_lstm", "gap_coord_lstm", "convlstm"]


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


class MotionFrames(layers.Layer):
    """(batch, T, ..., C) -> (batch, T-1, ..., 2C): each frame (or frame embedding) from the
    second on, with its difference to the one before (what moved, not only what is there)."""

    def call(self, x):
        return tf.concat([x[:, 1:], x[:, 1:] - x[:, :-1]], axis=-1)

    def compute_output_shape(self, input_shape):
        t = None if input_shape[1] is None else int(input_shape[1]) - 1
        return (input_shape[0], t) + tuple(input_shape[2:-1]) + (2 * int(input_shape[-1]),)


def _cnn(x, name):
    x = layers.Conv2D(32, 3, activation="relu", name=f"{name}_conv1")(x)
    x = layers.MaxPooling2D(2, name=f"{name}_pool1")(x)
    x = layers.Conv2D(64, 3, activation="relu", name=f"{name}_conv2")(x)
    x = layers.MaxPooling2D(2, name=f"{name}_pool2")(x)  # 64x64 input: (14, 14, 64)
    return x


def build_td(head: str, n_classes: int, clip: tuple, motion: bool = False):
    """TimeDistributed(encoder) -> LSTM(64) -> Dense(n_classes, softmax, name='probs')."""
    t, h, w, c = clip
    steps, channels = (t - 1, 2 * c) if motion else (t, c)
    f_in = keras.Input((h, w, channels), name="frame")
    x = f_in
    if head == "gap_coord_lstm":
        x = AddCoords(name="add_coords")(x)
    x = _cnn(x, "enc")
    if head == "flatten_lstm":
        x = layers.Flatten(name="enc_flatten")(x)
    elif head in ("gap_lstm", "gap_coord_lstm"):
        x = layers.GlobalAveragePooling2D(name="enc_gap")(x)
    elif head == "gap_grid_lstm":
        # A 2x2 grid of averages, whatever the frame size (7x7 pools at 64x64).
        fh, fw = int(x.shape[1]), int(x.shape[2])
        x = layers.AveragePooling2D((max(1, fh // 2), max(1, fw // 2)), name="enc_grid_pool")(x)
        x = layers.Flatten(name="enc_flatten")(x)
    else:
        raise ValueError(head)
    encoder = keras.Model(f_in, x, name="encoder")

    classify = _temporal(n_classes)
    e_in = keras.Input((steps, encoder.output_shape[-1]), name="embeddings")
    temporal = keras.Model(e_in, classify(e_in), name="temporal")

    c_in = keras.Input(clip, name="frames")
    seq = MotionFrames(name="motion")(c_in) if motion else c_in
    emb = layers.TimeDistributed(encoder, name="td_encoder")(seq)
    name = head + ("_motion" if motion else "")
    model = keras.Model(c_in, classify(emb), name=name)
    return model, ({} if motion else {"encoder": encoder, "temporal": temporal})


def _temporal(n_classes: int):
    """The temporal part of every TimeDistributed head, (batch, steps, D) -> probs: LSTM(64) ->
    Dense(softmax). One call builds the layers; the function it returns applies those same
    layers to any input, so a whole model and its pair's head share their weights."""
    lstm = layers.LSTM(64, name="lstm")
    dense = layers.Dense(n_classes, activation="softmax", name="probs")
    return lambda x: dense(lstm(x))


def build_embedding_head(n_classes: int, steps: int, dim: int, motion: bool = False):
    """The temporal head alone, on the per-frame embeddings of a frame encoder the user brings
    (`actiond dataset --embeddings/--encoder`): `embeddings` (batch, T, D) -> `probs`. With
    motion=True each step is given with its difference to the step before (2D features, T-1
    steps), inside the model, so the input stays (batch, T, D) and it still deploys as a pair."""
    e_in = keras.Input((steps, dim), name="embeddings")
    x = MotionFrames(name="motion")(e_in) if motion else e_in
    return keras.Model(e_in, _temporal(n_classes)(x), name="embedding_lstm" + ("_motion" if motion else ""))


def build_convlstm(n_classes: int, clip: tuple, motion: bool = False):
    c_in = keras.Input(clip, name="frames")
    x = MotionFrames(name="motion")(c_in) if motion else c_in
    x = layers.ConvLSTM2D(32, 3, name="convlstm")(x)
    x = layers.Conv2D(64, 3, activation="relu", name="conv1")(x)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(64, 3, activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    out = layers.Dense(n_classes, activation="softmax", name="probs")(x)
    return keras.Model(c_in, out, name="convlstm" + ("_motion" if motion else "")), {}


def build(head: str, n_classes: int, clip: tuple, motion: bool = False):
    """(model, sub-models for the pair export: empty when the head does not split)."""
    if head == "convlstm":
        return build_convlstm(n_classes, clip, motion)
    return build_td(head, n_classes, clip, motion)


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


def export_whole(model, path: Path, clip: tuple, n_classes: int, input_doc: str):
    spec = tf.TensorSpec((None,) + tuple(clip), tf.float32, name="frames")
    shape = ",".join(str(d) for d in clip)
    return _to_onnx(model, spec, "frames", "probs", path,
                    f"actiond head {model.name}; input frames (batch,{shape}) {input_doc}; "
                    f"output probs (batch,{n_classes}) softmax in labels.txt order")


def export_embedding_head(model, path: Path, steps: int, dim: int, n_classes: int, encoder_name: str):
    """A temporal head, embeddings (batch,T,D) -> probs: a pair's head, or fit.py --embeddings'."""
    spec = tf.TensorSpec((None, steps, dim), tf.float32, name="embeddings")
    return _to_onnx(model, spec, "embeddings", "probs", path,
                    f"actiond temporal head {model.name}; input embeddings (batch,{steps},{dim}) = {encoder_name} "
                    f"outputs of {steps} consecutive frames, oldest first; output probs (batch,{n_classes}) "
                    "softmax in labels.txt order")


def export_pair(name: str, subs, out: Path, clip: tuple, n_classes: int, input_doc: str):
    """Write the two-stage form of a TimeDistributed head next to the whole model:
    <name>.encoder.onnx: frames (batch,H,W,3) -> embedding (batch,D), one frame per row;
    <name>.head.onnx: embeddings (batch,T,D) -> probs (batch,classes).
    Both share their weights with the whole model, so head(stack(encoder(frame_t))) == whole(frames)."""
    t, h, w, c = clip
    enc, tmp = subs["encoder"], subs["temporal"]
    d = int(enc.output_shape[-1])
    enc_path, head_path = out / f"{name}.encoder.onnx", out / f"{name}.head.onnx"
    started = time.time()
    enc_bytes = _to_onnx(
        enc, tf.TensorSpec((None, h, w, c), tf.float32, name="frames"), "frames", "embedding", enc_path,
        f"actiond {name} frame encoder; input frames (batch,{h},{w},{c}) {input_doc}, one frame per row; "
        f"output embedding (batch,{d}); feed {t} consecutive embeddings, oldest first, to {head_path.name}")
    head_bytes = export_embedding_head(tmp, head_path, t, d, n_classes, enc_path.name)
    print(f"exported {enc_path} ({enc_bytes} bytes) and {head_path} ({head_bytes} bytes), D={d}, "
          f"in {time.time() - started:.0f}s", flush=True)
    return {"embedding_dim": d, "encoder_file": enc_path.name, "encoder_bytes": enc_bytes,
            "encoder_params": int(enc.count_params()), "head_file": head_path.name,
            "head_bytes": head_bytes, "head_params": int(tmp.count_params())}
