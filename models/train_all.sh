#!/bin/bash
# Retrain and export every shipped head, as it was done for the committed .onnx files.
# Run from the repository root with the two venvs of models/README.md:
#   TRAIN_PY=models/.venv-train/bin/python CHECK_PY=models/.venv-ort/bin/python models/train_all.sh
# Takes ~1.5-2 h on 2 cores; WORKDIR gets the cached data sets (~1.3 GB), logs and Keras weights.
# Only the encoder/head pairs, from the Keras weights of an earlier run (no training):
#   for h in flatten_lstm gap_lstm gap_grid_lstm; do
#     "$TRAIN_PY" models/train.py --head $h --export-pair "$WORKDIR/$h.weights.h5"; done
# The committed convlstm.onnx stopped after the epochs that fitted the time slot
# (see models/results/convlstm.json, "epochs"); pass that count here to reproduce it.
set -euo pipefail
TRAIN_PY=${TRAIN_PY:-models/.venv-train/bin/python}
CHECK_PY=${CHECK_PY:-models/.venv-ort/bin/python}
WORKDIR=${WORKDIR:-/tmp/actiond-train}
CONVLSTM_EPOCHS=${CONVLSTM_EPOCHS:-8}
mkdir -p "$WORKDIR"

"$TRAIN_PY" models/train.py --workdir "$WORKDIR" --head flatten_lstm  --train-n 9600 --data-n 9600 --epochs 5
"$TRAIN_PY" models/train.py --workdir "$WORKDIR" --head gap_lstm      --train-n 9600 --data-n 9600 --epochs 3
"$TRAIN_PY" models/train.py --workdir "$WORKDIR" --head gap_grid_lstm --train-n 9600 --data-n 9600 --epochs 8
"$TRAIN_PY" models/train.py --workdir "$WORKDIR" --head convlstm      --train-n 3200 --data-n 9600 --epochs "$CONVLSTM_EPOCHS"
# measured, not shipped (position via two coordinate channels): writes models/gap_coord_lstm{,.encoder,.head}.onnx too
# "$TRAIN_PY" models/train.py --workdir "$WORKDIR" --head gap_coord_lstm --train-n 9600 --data-n 9600 --epochs 8

"$CHECK_PY" models/check_onnx.py --workdir "$WORKDIR" flatten_lstm gap_lstm gap_grid_lstm convlstm
# train.py also wrote models/<head>.encoder.onnx + <head>.head.onnx for the TimeDistributed heads
"$CHECK_PY" models/check_pair.py flatten_lstm gap_lstm gap_grid_lstm
"$CHECK_PY" models/make_reference.py
"$CHECK_PY" models/bench.py
