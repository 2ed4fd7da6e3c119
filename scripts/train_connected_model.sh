#!/usr/bin/env bash
# Train the shipped connected-digit model assets/models/digits-connected-en (CTC), starting from the
# log-mel single-word digit model it was first trained from (digits-en up to commit 7359bd7; the shipped digits-en
# now reads the speech embedding, and a CTC model reads log-mel), on the digit dataset of
# scripts/build_digit_data.py, and benchmark it.
#
# Usage: scripts/train_connected_model.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-assets/models/digits-connected-en}"
data="work/digits_data"
[ -f "$data/manifest.csv" ] || .venv/bin/python scripts/build_digit_data.py --dest "$data"
init=work/digits-en-logmel
if [ ! -f "$init/model.json" ]; then
  mkdir -p "$init"
  for f in model.json model.safetensors MODEL_CARD.md; do git show "7359bd7:assets/models/digits-en/$f" > "$init/$f"; done
fi
.venv/bin/lstm-vault train-connected --data "$data" --init "$init" --out "$out" \
  --epochs 20 --sequences-per-epoch 2000 --seed 0 --threads 1
.venv/bin/python -m recognizers.bench.connected --model "$out" --data "$data" --strings 200 \
  --non-speech-minutes 60
