#!/usr/bin/env bash
# Label → train → compare → deploy in one command (README, "Your own actions"):
#
#   scripts/train.sh --data DIR_OR_CSV [--data …] --test DIR_OR_CSV [--test …] --out OUT \
#       [--heads gap_grid_lstm,flatten_lstm,gap_lstm,convlstm] [--budget-min 10] [--motion] \
#       [--pipeline pipelines/demo.toml] [--gap-label NAME] [--seed 1] [--encoder FILE | --embeddings]
#
# 1. `actiond dataset` cuts the labelled videos with the pipeline's own decoding and window
#    settings and splits them by video (OUT/dataset);
# 2. models/fit.py trains each head on the training videos, choosing the epoch on the validation
#    videos, and exports it with labels.txt and a pipeline file (OUT/models; the training venv
#    models/.venv-train is made from the package registry on first use, ~1.3 GB, ~1 min);
# 3. `actiond evaluate` runs every exported pipeline through the real daemon on the --test
#    videos, which neither training nor the choice of epoch has seen (OUT/evaluation);
# 4. OUT gets report.md, report.html and best.toml: the recommended head's pipeline, ready for
#    `actiond run` once its [[streams]] point at your cameras.
# Transfer: --encoder FILE (any ONNX frame encoder [N,H,W,3]->[N,D], e.g. a pretrained backbone)
# or --embeddings (the two-stage --pipeline's own encoder) also keeps every frame's embedding and
# adds the temporal head trained on them (embedding_lstm, deployed as a pair with that encoder)
# to the comparison; --heads '' then trains that head alone.
# The same seed gives the same split and the same training (figures within noise).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

usage() { sed -n '2,6p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
DATA=(); TEST=(); OUT=""; HEADS="gap_grid_lstm,flatten_lstm,gap_lstm,convlstm"; BUDGET=10
MOTION=(); PIPELINE="$ROOT/pipelines/demo.toml"; GAP=(); SEED=1; EMBEDDINGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --data) DATA+=(--data "$2"); shift 2 ;;
    --test) TEST+=("$2"); shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --heads) HEADS="$2"; shift 2 ;;
    --budget-min) BUDGET="$2"; shift 2 ;;
    --motion) MOTION=(--motion); shift ;;
    --pipeline) PIPELINE="$2"; shift 2 ;;
    --gap-label) GAP=(--gap-label "$2"); shift 2 ;;
    --seed) SEED="$2"; shift 2 ;;
    --encoder) EMBEDDINGS=(--encoder "$2"); shift 2 ;;
    --embeddings) EMBEDDINGS=(--embeddings); shift ;;
    -h|--help) usage ;;
    *) echo "train.sh: unknown argument $1" >&2; usage ;;
  esac
done
[ ${#DATA[@]} -gt 0 ] || { echo "train.sh: give the labelled videos with --data" >&2; usage; }
[ ${#TEST[@]} -gt 0 ] || { echo "train.sh: give held-out videos with --test: they are never used for training or for choosing the epoch, so the comparison can be trusted" >&2; usage; }
[ -n "$OUT" ] || { echo "train.sh: give the output folder with --out" >&2; usage; }
[ -n "$HEADS" ] || [ ${#EMBEDDINGS[@]} -gt 0 ] || { echo "train.sh: --heads '' leaves nothing to train without --encoder FILE or --embeddings" >&2; usage; }

step() { printf '\n== %s (%s)\n' "$1" "$(date +%H:%M:%S)" >&2; }
STARTED=$(date +%s)

step "setup: system packages and the actiond build"
bash "$ROOT/scripts/setup.sh"
(cd "$ROOT" && cargo build --release --locked)
BIN="$ROOT/target/release/actiond"

VENV="$ROOT/models/.venv-train"
if ! "$VENV/bin/python" -c "import tensorflow, tf2onnx" 2>/dev/null; then
  step "setup: the training venv ($VENV, from models/requirements-train.txt)"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet -r "$ROOT/models/requirements-train.txt"
fi

mkdir -p "$OUT"
TEST_ARGS=(); for t in "${TEST[@]}"; do TEST_ARGS+=(--test "$t"); done
TRUTH_ARGS=(); for t in "${TEST[@]}"; do TRUTH_ARGS+=(--truth "$t"); done

step "1/4 dataset: the labelled videos through $(basename "$PIPELINE")'s own source and windows"
"$BIN" dataset "$PIPELINE" "${DATA[@]}" "${TEST_ARGS[@]}" "${GAP[@]}" "${EMBEDDINGS[@]}" --seed "$SEED" \
  --out "$OUT/dataset" --force

step "2/4 training: ${HEADS:-no pixel head}${EMBEDDINGS:+ and embedding_lstm}, at most $BUDGET min each"
# Heads of an earlier run must not be evaluated with this one's.
rm -rf "$OUT/models" "$OUT/evaluation"
if [ -n "$HEADS" ]; then
  "$VENV/bin/python" "$ROOT/models/fit.py" --dataset "$OUT/dataset" --out "$OUT/models" --heads "$HEADS" \
    --budget-min "$BUDGET" --seed "$SEED" "${MOTION[@]}"
fi
if [ ${#EMBEDDINGS[@]} -gt 0 ]; then
  "$VENV/bin/python" "$ROOT/models/fit.py" --dataset "$OUT/dataset" --out "$OUT/models" --embeddings \
    --budget-min "$BUDGET" --seed "$SEED" "${MOTION[@]}"
fi

step "3/4 evaluation: every exported pipeline on the held-out videos, through the real daemon"
"$BIN" evaluate "$OUT"/models/*.toml "${TRUTH_ARGS[@]}" "${GAP[@]}" --out "$OUT/evaluation" --force >/dev/null
cp "$OUT/evaluation/report.md" "$OUT/evaluation/report.html" "$OUT/"

step "4/4 best.toml: the recommended head's pipeline"
python3 - "$OUT" "$ROOT/models/pipeline_file.py" <<'PY'
import json, subprocess, sys
from pathlib import Path
out, writer = Path(sys.argv[1]), sys.argv[2]
e = json.loads((out / "evaluation" / "evaluation.json").read_text())
best = next(h for h in e["heads"] if h["name"] == e["recommended"])
files = best["model"]["files"]
model = ["--model", files[0]] if len(files) == 1 else ["--encoder", files[0], "--head", files[1]]
subprocess.run([sys.executable, writer, "--dataset", str(out / "dataset"), *model,
                "--labels", str(out / "models" / "labels.txt"), "--out", str(out / "best.toml"),
                "--title", f"{best['name']}: the head actiond evaluate recommended ({e['rule']})."], check=True,
               stdout=subprocess.DEVNULL)
print(f"recommended: {best['name']} (macro-F1 {best['macro_f1']:.3f}, accuracy {best['accuracy']:.3f}, "
      f"{best['speed']['cpu_ms_per_frame']:.2f} CPU-ms per frame)")
PY
"$BIN" validate "$OUT/best.toml" >&2
echo "train.sh: $OUT/report.md, $OUT/report.html, $OUT/best.toml in $(( $(date +%s) - STARTED )) s" >&2
