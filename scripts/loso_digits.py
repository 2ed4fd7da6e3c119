#!/usr/bin/env python3
"""Leave-one-speaker-out evaluation of the digit recipe on FSDD's four speakers.

For each FSDD speaker S: train on the digit dataset (scripts/build_digit_data.py) with every clip of S
left out (early stopping uses other held-out speakers, never S), then evaluate on S's 500 FSDD clips.

    python scripts/loso_digits.py --data work/digits_data --out work/loso [--speakers theo,jackson] \
        [-- --epochs 60 --patience 15 --threads 1 --seed 0]

Validation groups default to the shipped model's (never an FSDD speaker).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("LSTM_VAULT_SHARED_DATA", REPO.parent / "shared" / "data"))
SPEAKERS = ["jackson", "nicolas", "theo", "yweweler"]


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    extra = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--speakers", default=",".join(SPEAKERS))
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if "--val-groups" not in extra:
        # Validate on the shipped model's held-out groups (Speech Commands speakers + synthetic voices):
        # a plain grouped split would put a whole second FSDD speaker into validation, so a fold would
        # train on only two FSDD speakers.
        shipped = json.loads((REPO / "assets" / "models" / "digits-en" / "model.json").read_text())
        extra += ["--val-groups", ",".join(shipped["training"]["config"]["val_groups"])]
    results = {}
    exe = [sys.executable, "-m", "recognizers"]
    for spk in args.speakers.split(","):
        model = out / f"model_without_{spk}"
        t0 = time.time()
        subprocess.run(exe + ["train", "--task", "speech", "--data", args.data, "--out", str(model),
                              "--exclude-groups", f"fsdd-{spk}"] + extra, check=True)
        train_s = time.time() - t0
        with tempfile.TemporaryDirectory() as td:
            for p in sorted((SHARED / "fsdd" / "recordings").glob(f"*_{spk}_*.wav")):
                (Path(td) / p.name).symlink_to(p.resolve())
            r = subprocess.run(exe + ["eval", "--model", str(model), "--data", td, "--json"],
                               check=True, capture_output=True, text=True)
        rep = json.loads(r.stdout)
        results[spk] = {"accuracy": rep["accuracy"], "n": rep["n"], "train_seconds": round(train_s),
                        "per_class": rep["per_class_accuracy"]}
        print(f"== {spk}: {rep['accuracy'] * 100:.2f}% of {rep['n']} (trained in {train_s:.0f} s)", flush=True)
        (out / "loso.json").write_text(json.dumps(results, indent=1))
    accs = [r["accuracy"] for r in results.values()]
    summary = {"mean_accuracy": sum(accs) / len(accs), "per_speaker": {k: v["accuracy"] for k, v in results.items()}}
    print(json.dumps(summary, indent=1))
    results["_summary"] = summary
    (out / "loso.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
