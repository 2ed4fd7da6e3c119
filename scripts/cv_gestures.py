#!/usr/bin/env python
"""Grouped k-fold cross-validation of the gesture recipe on the arman raw two-hand data.

Folds are whole recording blocks: the importer cuts each label's sequences, in recording order, into
blocks of 3 consecutive recordings (groups ``dhgr6-<label>-b<k>``), and fold ``k`` holds out block ``k``
of *every* label. By default each fold trains like the shipped recipe (``scripts/train_gesture_model.sh``):
on all remaining blocks for exactly ``--epochs`` epochs, no validation. With ``--early-stopping`` it
validates on the next remaining block of every label instead and keeps the best epoch (the old recipe).

* default: only the 90 training sequences (the shipped model's held-out test blocks b1 and b4 are not
  even imported), 5 folds: use this to choose a recipe without looking at the test set;
* ``--all``: all 126 sequences, 7 folds: a less noisy estimate of the final recipe to report (it includes
  the test blocks, so it must not be used to choose anything).

Usage: .venv/bin/python scripts/cv_gestures.py [--all] [--seeds N] [--json OUT] [recipe options]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from recognizers.data.datasets import scan_dataset  # noqa: E402
from recognizers.data.gestures import GestureAugmentConfig, GestureTaskData  # noqa: E402
from recognizers.data.importers import import_arman  # noqa: E402
from recognizers.model_files import load_model  # noqa: E402
from recognizers.recognizer import Recognizer  # noqa: E402
from recognizers.training.loop import TrainConfig, train  # noqa: E402


def block_of(group: str) -> int:
    return int(group.rsplit("-b", 1)[1])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--source", default="../shared/data/dynamic_gestures_arman")
    p.add_argument("--all", action="store_true", help="all 126 sequences (reporting only, see above)")
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--dropout", type=float, default=0.3)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--epochs", type=int, default=80)
    p.add_argument("--patience", type=int, default=50, help="with --early-stopping")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--negatives", type=float, default=0.3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--seeds", type=int, default=1, help="repeat every fold with seeds seed, seed+1, ...")
    p.add_argument("--early-stopping", action="store_true",
                   help="validate on one more block per label and keep the best epoch (the old recipe)")
    p.add_argument("--rotate", type=float, default=None, help="augmentation: rotation range in degrees")
    p.add_argument("--scale", type=float, nargs=2, default=None, help="augmentation: scale range")
    p.add_argument("--aspect", type=float, nargs=2, default=None, help="augmentation: aspect range")
    p.add_argument("--speed", type=float, nargs=2, default=None, help="augmentation: speed range")
    p.add_argument("--flip-side-prob", type=float, default=None,
                   help="augmentation: chance per hand of turning it to show its other side (palm <-> back)")
    p.add_argument("--flip-side-labels", default=None,
                   help="comma-separated labels whose sequences --flip-side-prob may flip (default: all labels)")
    p.add_argument("--folds", default=None, help="comma-separated block numbers to run (default: all)")
    p.add_argument("--json", default=None, help="write the per-fold report here")
    args = p.parse_args(argv)
    torch.set_num_threads(1)

    aug = GestureAugmentConfig()
    for name, val in (("rotate_deg", args.rotate), ("scale_range", args.scale), ("aspect_range", args.aspect),
                      ("speed_range", args.speed), ("flip_side_prob", args.flip_side_prob)):
        if val is not None:
            setattr(aug, name, tuple(val) if isinstance(val, list) else val)
    if args.flip_side_labels:
        aug.flip_side_labels = tuple(x.strip() for x in args.flip_side_labels.split(",") if x.strip())
    t_all = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        if args.all:
            import_arman(args.source, data)
        else:   # exactly the shipped recipe's training part; its test blocks stay out of this process
            import_arman(args.source, data, holdout_fraction=0.3, holdout_dest=Path(tmp) / "unused")
        examples = scan_dataset(data, (".npz",))
        blocks = sorted({block_of(e.group) for e in examples})
        run = [int(b) for b in args.folds.split(",")] if args.folds else blocks
        folds, conf = [], Counter()
        for k, seed in [(k, args.seed + r) for r in range(args.seeds) for k in run]:
            rest = [b for b in blocks if b != k]
            v = next((b for b in rest if b > k), rest[0])      # next remaining block (cyclic) validates
            test_groups = sorted({e.group for e in examples if block_of(e.group) == k})
            val_groups = sorted({e.group for e in examples if block_of(e.group) == v})
            if not args.early_stopping:
                v, val_groups = None, None
            cfg = TrainConfig(hidden_size=args.hidden, num_layers=args.layers, dropout=args.dropout,
                              epochs=args.epochs, patience=args.patience, batch_size=args.batch_size, lr=args.lr,
                              seed=seed, device="cpu", threads=1, negatives=args.negatives,
                              val_fraction=0.2 if args.early_stopping else 0.0,
                              exclude_groups=test_groups, val_groups=val_groups, name=f"cv-b{k}")
            task = GestureTaskData(augmentation=aug)
            t0 = time.time()
            res = train(task, data, Path(tmp) / f"model-b{k}", cfg)
            rec = Recognizer(load_model(res.model_dir))
            test = [e for e in examples if block_of(e.group) == k]
            errors = []
            for e in test:
                pred = rec.predict_file(e.path).label
                conf[(e.label, pred)] += 1
                if pred != e.label:
                    errors.append(f"{e.path.parent.name}/{e.path.stem}->{pred}")
            acc = 1 - len(errors) / len(test)
            folds.append({"block": k, "seed": seed, "validation_block": v, "n": len(test), "accuracy": acc,
                          "validation_accuracy": res.best_val_acc, "epochs_run": res.epochs_run,
                          "seconds": round(time.time() - t0, 1), "errors": errors})
            print(f"fold b{k} seed {seed} (val {v}): {acc * 100:5.1f}% of {len(test)}  "
                  f"{'train' if v is None else 'val'} {res.best_val_acc * 100:5.1f}%  "
                  f"{res.epochs_run} epochs {time.time() - t0:4.0f}s  {' '.join(errors)}", flush=True)
    n = sum(f["n"] for f in folds)
    n_ok = sum(round(f["accuracy"] * f["n"]) for f in folds)
    accs = [f["accuracy"] for f in folds]
    report = {"data": "all 126 sequences" if args.all else "90 training sequences (test blocks excluded)",
              "recipe": {k: v for k, v in vars(args).items() if k not in ("json", "source", "folds")},
              "augmentation": {k: v for k, v in vars(aug).items()},
              "folds": folds, "pooled_accuracy": n_ok / max(1, n), "mean_fold_accuracy": float(np.mean(accs)),
              "std_fold_accuracy": float(np.std(accs)), "n": n,
              "confusions": {f"{a}->{b}": c for (a, b), c in sorted(conf.items()) if a != b},
              "seconds": round(time.time() - t_all, 1)}
    print(f"pooled {n_ok}/{n} = {report['pooled_accuracy'] * 100:.1f}%  mean over folds "
          f"{report['mean_fold_accuracy'] * 100:.1f}% (sd {report['std_fold_accuracy'] * 100:.1f})  "
          f"confusions {report['confusions']}  {report['seconds']:.0f}s")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
