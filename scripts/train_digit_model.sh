#!/usr/bin/env bash
# Rebuild the shipped spoken-digit model assets/models/digits-en from local data only.
#   bash scripts/train_digit_model.sh [OUT_DIR]
# Needs ../shared/data/{fsdd,speech_commands_v0.01_sample} and the Debian packages espeak-ng, flite,
# festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts (synthetic extra speakers).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-assets/models/digits-en}"
data="work/digits_data"
[ -f "$data/manifest.csv" ] && [ -z "${REBUILD:-}" ] || .venv/bin/python scripts/build_digit_data.py --dest "$data"
# Validate on held-out Speech Commands speakers and synthetic voices; all four FSDD speakers train.
val=$(.venv/bin/python - "$data" <<'PY'
import csv, random, sys
groups = sorted({r["speaker"] for r in csv.DictReader(open(sys.argv[1] + "/manifest.csv"))})
rng = random.Random(0)
sc = [g for g in groups if g.startswith("sc-")]
tts = [g for g in groups if g.startswith("tts-")]
print(",".join(sorted(rng.sample(sc, len(sc) // 3) + rng.sample(tts, len(tts) // 6))))
PY
)
aliases=()
for pair in zero=0 one=1 two=2 three=3 four=4 five=5 six=6 seven=7 eight=8 nine=9; do aliases+=(--label-alias "$pair"); done
.venv/bin/lstm-vault train --task speech --data "$data" --out "$out" --val-groups "$val" \
  --epochs 60 --patience 15 --threads 1 --seed 0 --name digits-en "${aliases[@]}"
