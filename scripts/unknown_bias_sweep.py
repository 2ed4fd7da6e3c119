#!/usr/bin/env python3
"""Digit accuracy against other-word rejection when ``_unknown_``'s log-probability is lowered by b at decision time.

A measurement only (no shipped setting): the test clips of fold K of ``eval_unseen_speakers.py`` (read from its
``kfold.json``), classified as ``lstm-vault eval`` does (0.2 s lead-in), for each model and b = 0..4.

    python scripts/unknown_bias_sweep.py --kfold work/kfold_old/kfold.json --fold 0 --test-data work/sc_digits_test \\
        assets/models/digits-en work/kfold_digits/model_fold0
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kfold", required=True, help="kfold.json with the fold's test_groups")
    ap.add_argument("--fold", default="0")
    ap.add_argument("--test-data", required=True, help="dataset with manifest.csv (path,label,speaker)")
    ap.add_argument("models", nargs="+")
    args = ap.parse_args(argv)
    from recognizers.model_files import load_model
    from recognizers.recognizer import Recognizer, load_input
    try:
        groups = set(json.loads(Path(args.kfold).read_text())[args.fold]["test_groups"])
        data = Path(args.test_data)
        with open(data / "manifest.csv", newline="") as f:
            rows = [r for r in csv.DictReader(f) if r["speaker"] in groups]
    except (OSError, KeyError, ValueError) as e:
        print(f"unknown_bias_sweep: {e}", file=sys.stderr)
        return 2
    for m in args.models:
        rec = Recognizer(load_model(m))
        labels = rec.model.labels
        u = labels.index("_unknown_")
        logp, y = [], []
        for r in rows:
            raw = load_input("speech", data / r["path"], rec.model.frontend_config)
            logp.append(np.log(rec.probabilities(rec.features(rec.padded(raw))) + 1e-9))
            y.append(labels.index(r["label"]))
        logp, y = np.array(logp), np.array(y)
        words = y != u
        for b in range(5):
            q = logp.copy()
            q[:, u] -= b
            pred = q.argmax(1)
            print(f"{m}  b={b}  words {np.mean(pred[words] == y[words]) * 100:.1f} %  "
                  f"_unknown_ rejected {np.mean(pred[~words] == u) * 100:.1f} %  all {np.mean(pred == y) * 100:.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
