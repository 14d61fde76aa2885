"""Synthetic action set for actiond's heads (numpy only).

A model frame is 64x64 RGB uint8. One clip is T=10 consecutive frames of one
object doing one of eight actions on a dark noisy background.

Exact rendering rule (the Rust test-video generator renders the same thing):

* background gray level g: uniform integer 0..=60 (same in R, G, B);
* Gaussian noise sigma = 8 per (rendered) pixel, channel and frame, then
  clipped to 0..255 and rounded to uint8;
* object colour: each channel a uniform integer 150..=255;
  shape: square or disc (50/50); size s: uniform float in [8, 16] px
  (side or diameter, in 64x64 model units);
* pixel (x, y) has its centre at (x + 0.5, y + 0.5) in model coordinates;
  dx, dy = toroidal difference (modulo 64, in [-32, 32)) to the object centre;
  square covers it when |dx| <= s/2 and |dy| <= s/2, disc when
  dx^2 + dy^2 <= (s/2)^2;
* centre start uniform in [0, 64)^2.
* still: centre fixed, drawn position jittered per frame by independent
  integers in {-1, 0, 1} on x and y;
* move_left/right/up/down: speed v uniform in [2, 5] px/frame, position wraps
  modulo 64; left = x decreasing, up = y decreasing (image rows);
* grow/shrink: rate r uniform in [1, 2] px/frame, start size uniform in
  [4, 28]; grow: s += r, if s > 28 then s = 4; shrink: s -= r, if s < 4 then
  s = 28 (one step per frame);
* blink: period p uniform integer in {2, 3, 4}, phase uniform integer in
  0..2p-1; visible at frame t when ((t + phase) // p) % 2 == 0, else only
  background.

A clip is frames t0 .. t0+9 (t0 uniform integer 0..99) of this continuous
motion, so wraps and restarts appear in training.

Domain gap: at run time frames are rendered larger, encoded, decoded and
downscaled to 64x64.  For training every clip is rendered at a supersampling
factor k (uniform in 1..5): a (64k x 64k) image whose pixel centres map to
model coordinates ((X + 0.5)/k, (Y + 0.5)/k), noise sigma 8 per supersampled
pixel, uint8 rounding, then a k x k box average down to 64x64; half the clips
(when `augment`) also get a Gaussian blur with sigma uniform in [0, 0.8].
"""

from __future__ import annotations

import numpy as np

LABELS = [
    "still",
    "move_left",
    "move_right",
    "move_up",
    "move_down",
    "grow",
    "shrink",
    "blink",
]
T = 10
SIZE = 64
CHUNK = 64  # clips per deterministic generation chunk

# unit direction (dx, dy) per class index for the four moves
_DIRS = {1: (-1.0, 0.0), 2: (1.0, 0.0), 3: (0.0, -1.0), 4: (0.0, 1.0)}


def sample_params(rng: np.random.Generator, labels: np.ndarray, augment: bool = True,
                  k: int | None = None) -> dict:
    """Draw per-clip parameters and the per-frame trajectory for `labels`."""
    n = len(labels)
    p = {
        "label": labels.astype(np.int64),
        "g": rng.integers(0, 61, n),
        "color": rng.integers(150, 256, (n, 3)),
        "disc": rng.integers(0, 2, n).astype(bool),
        "size": rng.uniform(8.0, 16.0, n),
        "c0": rng.uniform(0.0, 64.0, (n, 2)),
        "t0": rng.integers(0, 100, n),
        "v": rng.uniform(2.0, 5.0, n),
        "r": rng.uniform(1.0, 2.0, n),
        "s0": rng.uniform(4.0, 28.0, n),
        "period": rng.integers(2, 5, n),
        "jitter": rng.integers(-1, 2, (n, T, 2)),
    }
    p["phase"] = (rng.uniform(0.0, 1.0, n) * 2 * p["period"]).astype(np.int64)
    if k is None:
        p["k"] = rng.integers(1, 6, n) if augment else np.ones(n, np.int64)
    else:
        p["k"] = np.full(n, k, np.int64)
    blur = rng.uniform(0.0, 0.8, n)
    use_blur = rng.uniform(0.0, 1.0, n) < 0.5
    p["blur"] = np.where(use_blur & augment, blur, 0.0)

    # per-frame centre (n, T, 2), size (n, T), visible (n, T)
    t = p["t0"][:, None] + np.arange(T)[None, :]  # absolute frame index
    cx = np.repeat(p["c0"][:, None, 0], T, 1)
    cy = np.repeat(p["c0"][:, None, 1], T, 1)
    size = np.repeat(p["size"][:, None], T, 1)
    vis = np.ones((n, T), bool)
    lab = p["label"]
    for c, (ux, uy) in _DIRS.items():
        m = lab == c
        cx[m] = np.mod(p["c0"][m, None, 0] + ux * p["v"][m, None] * t[m], 64.0)
        cy[m] = np.mod(p["c0"][m, None, 1] + uy * p["v"][m, None] * t[m], 64.0)
    m = lab == 0
    cx[m] += p["jitter"][m, :, 0]
    cy[m] += p["jitter"][m, :, 1]
    for c, sign in ((5, 1.0), (6, -1.0)):
        m = np.nonzero(lab == c)[0]
        if len(m) == 0:
            continue
        s = p["s0"][m].copy()
        tmax = int(p["t0"][m].max()) + T
        hist = np.empty((len(m), tmax))
        for step in range(tmax):
            hist[:, step] = s
            s = s + sign * p["r"][m]
            if sign > 0:
                s = np.where(s > 28.0, 4.0, s)
            else:
                s = np.where(s < 4.0, 28.0, s)
        size[m] = np.take_along_axis(hist, t[m], 1)
    m = lab == 7
    vis[m] = ((t[m] + p["phase"][m, None]) // p["period"][m, None]) % 2 == 0
    p["cx"], p["cy"], p["sz"], p["vis"] = cx, cy, size, vis
    return p


def _render_group(p: dict, idx: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Render clips `idx` (all with factor k) to float32 (n, T, 64, 64, 3) in 0..255."""
    n = len(idx)
    S = SIZE * k
    coord = ((np.arange(S, dtype=np.float32) + 0.5) / k)  # model coordinates
    cx = p["cx"][idx].astype(np.float32)[:, :, None]
    cy = p["cy"][idx].astype(np.float32)[:, :, None]
    dx = np.mod(coord[None, None, :] - cx + 32.0, 64.0) - 32.0  # (n, T, S)
    dy = np.mod(coord[None, None, :] - cy + 32.0, 64.0) - 32.0
    half = (p["sz"][idx].astype(np.float32) / 2.0)[:, :, None]  # (n, T, 1)
    sq = (np.abs(dy) <= half)[:, :, :, None] & (np.abs(dx) <= half)[:, :, None, :]
    disc = (dy * dy)[:, :, :, None] + (dx * dx)[:, :, None, :] <= (half * half)[:, :, :, None]
    isdisc = p["disc"][idx][:, None, None, None]
    mask = np.where(isdisc, disc, sq) & p["vis"][idx][:, :, None, None]  # (n, T, S, S)
    g = p["g"][idx].astype(np.float32)[:, None, None, None, None]
    col = p["color"][idx].astype(np.float32)[:, None, None, None, :]
    img = np.where(mask[..., None], col, g)  # (n, T, S, S, 3)
    img = img + 8.0 * rng.standard_normal(img.shape, dtype=np.float32)
    np.clip(img, 0.0, 255.0, out=img)
    np.rint(img, out=img)
    if k > 1:
        img = img.reshape(n, T, SIZE, k, SIZE, k, 3).mean(axis=(3, 5), dtype=np.float32)
    return img


def _blur(img: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Separable Gaussian blur per clip (edge padding); sigma 0 leaves a clip as is."""
    rad = 3
    off = np.arange(-rad, rad + 1, dtype=np.float32)
    s = np.maximum(sigma, 1e-3).astype(np.float32)[:, None]
    w = np.exp(-0.5 * (off[None, :] / s) ** 2)
    w /= w.sum(1, keepdims=True)  # (n, 7)
    out = img
    for axis in (2, 3):
        pad = [(0, 0)] * 5
        pad[axis] = (rad, rad)
        padded = np.pad(out, pad, mode="edge")
        acc = np.zeros_like(out)
        for j in range(2 * rad + 1):
            sl = [slice(None)] * 5
            sl[axis] = slice(j, j + SIZE)
            acc += w[:, j, None, None, None, None] * padded[tuple(sl)]
        out = acc
    return out


def render(p: dict, rng: np.random.Generator) -> np.ndarray:
    """Render all clips in `p` to uint8 (n, T, 64, 64, 3)."""
    n = len(p["label"])
    out = np.empty((n, T, SIZE, SIZE, 3), np.uint8)
    for k in range(1, 6):
        idx_k = np.nonzero(p["k"] == k)[0]
        sub = max(1, 48 // (k * k))
        for i in range(0, len(idx_k), sub):
            idx = idx_k[i:i + sub]
            img = _render_group(p, idx, k, rng)
            b = p["blur"][idx]
            if np.any(b > 0):
                blurred = _blur(img, b)
                img = np.where((b > 0)[:, None, None, None, None], blurred, img)
            out[idx] = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    return out


def render_source(p: dict, width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """Render clips at a source size (what a test video holds): uint8 (n, T, height, width, 3).

    Source pixel (X, Y) has its centre at ((X + 0.5) * 64 / width,
    (Y + 0.5) * 64 / height) in model coordinates, so every length scales per
    axis and the motion per 64x64 model frame is unchanged; noise sigma 8 per
    source pixel.  p["k"] and p["blur"] are ignored.
    """
    n = len(p["label"])
    xs = (np.arange(width, dtype=np.float32) + 0.5) * np.float32(SIZE / width)
    ys = (np.arange(height, dtype=np.float32) + 0.5) * np.float32(SIZE / height)
    out = np.empty((n, T, height, width, 3), np.uint8)
    for i in range(n):
        cx = p["cx"][i].astype(np.float32)[:, None]
        cy = p["cy"][i].astype(np.float32)[:, None]
        dx = np.mod(xs[None, :] - cx + 32.0, 64.0) - 32.0  # (T, W)
        dy = np.mod(ys[None, :] - cy + 32.0, 64.0) - 32.0  # (T, H)
        half = (p["sz"][i].astype(np.float32) / 2.0)[:, None]
        if p["disc"][i]:
            mask = (dy * dy)[:, :, None] + (dx * dx)[:, None, :] <= (half * half)[:, :, None]
        else:
            mask = (np.abs(dy) <= half)[:, :, None] & (np.abs(dx) <= half)[:, None, :]
        mask &= p["vis"][i][:, None, None]
        img = np.where(mask[..., None], p["color"][i].astype(np.float32), np.float32(p["g"][i]))
        img = img + 8.0 * rng.standard_normal(img.shape, dtype=np.float32)
        out[i] = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    return out


def make_clips(n: int, seed: int, augment: bool = True,
               first_chunk: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic data set: (clips uint8 (n,T,64,64,3), labels int64 (n,)).

    Generated in chunks of CHUNK clips, each from its own generator seeded with
    (seed, chunk index), so any prefix of whole chunks is the same for any n
    (and `first_chunk` > 0 continues a set).  Every chunk holds m/8 clips of
    each class in random order (m = its size; n a multiple of 8 is balanced).
    """
    xs = np.empty((n, T, SIZE, SIZE, 3), np.uint8)
    ys = np.empty(n, np.int64)
    for c, start in enumerate(range(0, n, CHUNK), start=first_chunk):
        m = min(CHUNK, n - start)
        rng = np.random.default_rng([seed, c])
        lab = rng.permutation(np.arange(m) % len(LABELS))
        p = sample_params(rng, lab, augment=augment)
        xs[start:start + m] = render(p, rng)
        ys[start:start + m] = lab
    return xs, ys


def reference_clip(label: str = "move_right", seed: int = 20261125) -> np.ndarray:
    """The fixed parity-test clip: one clip of `label`, k = 1, no blur."""
    rng = np.random.default_rng(seed)
    p = sample_params(rng, np.array([LABELS.index(label)]), augment=False, k=1)
    return render(p, rng)[0]


if __name__ == "__main__":
    import time

    t = time.time()
    x, y = make_clips(256, 1)
    print(x.shape, np.bincount(y), f"{time.time() - t:.2f}s for 256 clips")
