#!/usr/bin/env bash
# The real-footage table of models/README.md ("Your own footage"): five camera actions cut from
# real clips (models/real_footage.py), extracted with the default pipeline's settings, then the
# variants below trained and all of them compared by `actiond evaluate` on the held-out clips.
# Run from the repository root after `scripts/train.sh` made the training venv:
#   models/real_footage.sh /tmp/real-footage   # about 35 minutes on 2 cores
#   VARIANTS="transfer transfer_motion" models/real_footage.sh /tmp/real-footage   # 2 minutes
# Every head gets an epoch budget (EPOCHS, default 10, with early stopping after 3 epochs without
# a better validation loss), so other work on the machine changes the time, not the result;
# BUDGET_MIN (default 15) only caps a run that goes wrong. ConvLSTM, whose epoch takes minutes,
# gets CONVLSTM_MIN (default 10) instead, and the report says how many epochs that was.
# Variants (VARIANTS, default all): plain (gap_grid_lstm, flatten_lstm from scratch, no
# augmentation), augment (the four heads with augmentation), motion (motion-aware gap_grid_lstm),
# transfer / transfer_motion (the temporal head alone on the embeddings of the shipped
# gap_grid_lstm encoder, trained on the synthetic set: the stand-in for a user's backbone).
set -euo pipefail
OUT=${1:?give an output folder}
EPOCHS=${EPOCHS:-10}
BUDGET_MIN=${BUDGET_MIN:-15}
CONVLSTM_MIN=${CONVLSTM_MIN:-10}
VARIANTS=${VARIANTS:-plain augment motion transfer transfer_motion}
PY=models/.venv-train/bin/python
BIN=target/release/actiond
started=$(date +%s)
wants() { [[ " $VARIANTS " == *" $1 "* ]]; }
fit() { "$PY" models/fit.py --epochs "$EPOCHS" --budget-min "$BUDGET_MIN" "$@"; }

[ -d "$OUT/clips/test" ] || "$PY" models/real_footage.py --out "$OUT/clips" --per-class 80 --test-per-class 20
if wants plain || wants augment || wants motion; then
  "$BIN" dataset pipelines/demo.toml --data "$OUT/clips/train" --test "$OUT/clips/test" --out "$OUT/dataset" --force
fi
if wants transfer || wants transfer_motion; then
  # The same settings as demo.toml (64x64 stretch, T = 10, stride 5), with every frame's embedding.
  "$BIN" dataset pipelines/gap_grid_lstm_pair.toml --embeddings --data "$OUT/clips/train" --test "$OUT/clips/test" \
    --out "$OUT/dataset-embeddings" --force
fi
wants plain && fit --dataset "$OUT/dataset" --out "$OUT/plain" --heads gap_grid_lstm,flatten_lstm --no-augment
if wants augment; then
  fit --dataset "$OUT/dataset" --out "$OUT/augment" --heads gap_grid_lstm,flatten_lstm,gap_lstm
  # Into the same folder (labels.txt is the same); its own time cap, after the first.
  fit --dataset "$OUT/dataset" --out "$OUT/augment" --heads convlstm --budget-min "$CONVLSTM_MIN"
fi
wants motion && fit --dataset "$OUT/dataset" --out "$OUT/motion" --heads gap_grid_lstm --motion
wants transfer && fit --dataset "$OUT/dataset-embeddings" --out "$OUT/transfer" --embeddings
wants transfer_motion && fit --dataset "$OUT/dataset-embeddings" --out "$OUT/transfer_motion" --embeddings --motion
# Each variant's pipelines get their folder's name, so the report tells them apart. The pixel
# heads' pairs give the same labels as their whole models and are left out.
rm -rf "$OUT/compare"
mkdir -p "$OUT/compare"
for v in $VARIANTS; do
  for p in "$OUT/$v"/*.toml; do
    case "$p" in *_pair.toml) continue ;; esac
    sed "s#= \"\([^\"]*\.\(onnx\|txt\)\)\"#= \"../$v/\1\"#" "$p" > "$OUT/compare/${v}-$(basename "$p")"
  done
done
"$BIN" evaluate "$OUT"/compare/*.toml --truth "$OUT/clips/test" --out "$OUT/report" --force > /dev/null
echo "real_footage.sh: $OUT/report/report.md in $(( $(date +%s) - started )) s" >&2
