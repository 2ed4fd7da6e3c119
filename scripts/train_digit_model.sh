#!/usr/bin/env bash
# Rebuild the shipped speech models from local data only (nothing downloaded), on the pretrained speech embedding:
#   bash scripts/train_digit_model.sh [digits|commands|both]     (default both)
# digits-en:   0-9 + _unknown_  from FSDD (4 speakers) + Speech Commands v0.01 sample + v0.02 test part
# commands-en: the 12-class Speech Commands task from the v0.01 sample + the v0.02 test part
# Needs ../shared/data/{fsdd,speech_commands_v0.01_sample,speech_commands_v0.02_test_part}. About 6 min
# (commands) and 12 min (digits) on one CPU thread. The log-mel recipe of earlier releases (synthetic voices,
# scripts/build_digit_data.py) is in git history (git show 7359bd7:scripts/train_digit_model.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-both}"
py=.venv/bin/python
val() {   # a tenth of the Speech Commands speakers validate (early stopping), chosen with a fixed seed
  "$py" - "$1" <<'PY'
import csv, random, sys
g = sorted({r["speaker"].strip() for r in csv.DictReader(open(sys.argv[1] + "/manifest.csv")) if r["speaker"].startswith("sc-")})
print(",".join(sorted(random.Random(0).sample(g, len(g) // 10))))
PY
}
common=(--frontend speech-embedding --epochs 8 --patience 3 --threads 1 --seed 0)
if [ "$what" = digits ] || [ "$what" = both ]; then
  "$py" scripts/build_speech_data.py --vocab digits --fsdd --dest work/digits_emb_data
  aliases=()
  for pair in zero=0 one=1 two=2 three=3 four=4 five=5 six=6 seven=7 eight=8 nine=9; do aliases+=(--label-alias "$pair"); done
  .venv/bin/lstm-vault train --task speech --data work/digits_emb_data --out assets/models/digits-en \
    --val-groups "$(val work/digits_emb_data)" "${common[@]}" --class-weights sqrt --logit-adjust 1 \
    --name digits-en "${aliases[@]}"
fi
if [ "$what" = commands ] || [ "$what" = both ]; then
  "$py" scripts/build_speech_data.py --vocab commands --dest work/commands_data
  .venv/bin/lstm-vault train --task speech --data work/commands_data --out assets/models/commands-en \
    --val-groups "$(val work/commands_data)" "${common[@]}" --name commands-en
fi
