"""Writes the pipeline file for a head trained on an `actiond dataset` (standard library only).

The pipeline repeats the dataset's own source, window and preprocessing settings (from its
dataset.json), so the daemon feeds the head exactly what it was trained on; only `[[streams]]`
is left to the user: a placeholder camera to point at a real one. Paths are relative to the
pipeline file. fit.py calls `write`; the test suite runs this file on a dummy model and checks
the result with `actiond validate` (the export contract), without any training stack:

    python3 models/pipeline_file.py --dataset DS --model head.onnx --labels labels.txt --out p.toml
    python3 models/pipeline_file.py --dataset DS --encoder e.onnx --head h.onnx --labels labels.txt --out p.toml
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

PLACEHOLDER_STREAM = 'id = "camera"\n# Point this at your camera (or a file) before `actiond run`.\nuri = "rtsp://192.0.2.1/stream"\n'


def _quote(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid TOML basic string


def _number(x: float) -> str:
    return repr(float(x))


def _relative(path: Path, base: Path) -> str:
    return os.path.relpath(Path(path).resolve(), base.resolve())


def text(manifest: dict, model: dict, labels: Path, base: Path, title: str) -> str:
    """The pipeline as TOML. `model` is {"path": …} or {"encoder": …, "head": …}."""
    p, w, f = manifest["preprocess"], manifest["window"], manifest["frames"]
    lines = [f"# {title}", "# Written by models/fit.py from the dataset's settings; paths are relative to this file.", "", "[model]"]
    for key in ("path", "encoder", "head"):
        if key in model:
            lines.append(f"{key} = {_quote(_relative(model[key], base))}")
    lines += [
        f"labels = {_quote(_relative(labels, base))}",
        f"scale = {_number(p['scale'])}",
        "mean = [" + ", ".join(_number(m) for m in p["mean"]) + "]",
        "std = [" + ", ".join(_number(s) for s in p["std"]) + "]",
        f"channel_order = {_quote(p['channel_order'])}",
        "# The frame size the training windows were cut at.",
        f"height = {int(f['height'])}",
        f"width = {int(f['width'])}",
        "",
        "[window]",
        f"length = {int(w['length'])}",
        f"stride = {int(w['stride'])}",
        f"frame_step = {int(w['frame_step'])}",
        f"tail = {_quote(w['tail'])}",
        "",
        "[source]",
        f"resize = {_quote(f['resize'])}",
        "",
        "[[streams]]",
        PLACEHOLDER_STREAM,
    ]
    return "\n".join(lines)


def write(out: Path, manifest: dict, model: dict, labels: Path, title: str) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text(manifest, model, labels, out.parent, title))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", required=True, help="an `actiond dataset` folder (its dataset.json)")
    ap.add_argument("--model", help="a whole model")
    ap.add_argument("--encoder", help="the frame encoder of a two-stage model")
    ap.add_argument("--head", help="the temporal head of a two-stage model")
    ap.add_argument("--labels", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--title", help="the first comment line of the file")
    args = ap.parse_args()
    if bool(args.model) == bool(args.encoder and args.head):
        ap.error("give --model, or --encoder and --head")
    manifest = json.loads((Path(args.dataset) / "dataset.json").read_text())
    model = {"path": args.model} if args.model else {"encoder": args.encoder, "head": args.head}
    title = args.title or f"A head for the labels of {args.dataset}."
    print(write(Path(args.out), manifest, model, Path(args.labels), title))


if __name__ == "__main__":
    main()
