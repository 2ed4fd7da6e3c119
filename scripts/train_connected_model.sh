#!/usr/bin/env bash
# Train the shipped connected-digit model assets/models/digits-connected-en (CTC), starting from the
# single-word digit model, on the digit dataset of scripts/build_digit_data.py, and benchmark it.
#
# Usage: scripts/train_connected_model.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-assets/models/digits-connected-en}"
data="work/digits_data"
[ -f "$data/manifest.csv" ] || .venv/bin/python scripts/build_digit_data.py --dest "$data"
.venv/bin/lstm-vault train-connected --data "$data" --init assets/models/digits-en --out "$out" \
  --epochs 20 --sequences-per-epoch 2000 --seed 0 --threads 1
.venv/bin/python -m recognizers.bench.connected --model "$out" --data "$data" --strings 200 \
  --non-speech-minutes 60
