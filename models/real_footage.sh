#!/usr/bin/env bash
# The real-footage table of models/README.md ("Your own footage"): five camera actions cut from
# real clips (models/real_footage.py), extracted with the default pipeline's settings, the
# seed's four heads trained from scratch with augmentation, two of them also without, and the
# motion-aware GAP-grid head with augmentation, then all of them compared by `actiond evaluate`
# on the held-out clips. Run from the repository root after `scripts/train.sh` made the training venv:
#   BUDGET_MIN=6 models/real_footage.sh /tmp/real-footage   # about 50 minutes on 2 cores
set -euo pipefail
OUT=${1:?give an output folder}
BUDGET_MIN=${BUDGET_MIN:-6}
PY=models/.venv-train/bin/python
BIN=target/release/actiond
HEADS=gap_grid_lstm,flatten_lstm,gap_lstm,convlstm
started=$(date +%s)

[ -d "$OUT/clips/test" ] || "$PY" models/real_footage.py --out "$OUT/clips" --per-class 80 --test-per-class 20
"$BIN" dataset pipelines/demo.toml --data "$OUT/clips/train" --test "$OUT/clips/test" --out "$OUT/dataset" --force
"$PY" models/fit.py --dataset "$OUT/dataset" --out "$OUT/plain" --heads gap_grid_lstm,flatten_lstm --budget-min "$BUDGET_MIN" --no-augment
"$PY" models/fit.py --dataset "$OUT/dataset" --out "$OUT/augment" --heads "$HEADS" --budget-min "$BUDGET_MIN"
"$PY" models/fit.py --dataset "$OUT/dataset" --out "$OUT/motion" --heads gap_grid_lstm --budget-min "$BUDGET_MIN" --motion
# Each variant's whole-model pipelines (the pairs give the same labels) get their folder's name,
# so the report tells them apart.
mkdir -p "$OUT/compare"
for v in plain augment motion; do
  for p in "$OUT/$v"/*.toml; do
    case "$p" in *_pair.toml) continue ;; esac
    sed "s#= \"\([^\"]*\.\(onnx\|txt\)\)\"#= \"../$v/\1\"#" "$p" > "$OUT/compare/${v}-$(basename "$p")"
  done
done
"$BIN" evaluate "$OUT"/compare/*.toml --truth "$OUT/clips/test" --out "$OUT/report" --force > /dev/null
echo "real_footage.sh: $OUT/report/report.md in $(( $(date +%s) - started )) s" >&2
