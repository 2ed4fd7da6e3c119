#!/usr/bin/env python3
"""Apply ``train --logit-adjust TAU`` to a model that is already trained (recognizers/training/logit_adjust.py).

    python scripts/logit_adjust.py --model work/kfold/model_fold0 --out work/kfold/model_fold0_la [--tau 1]
    python scripts/logit_adjust.py --model assets/models/digits-en --in-place

The label counts come from the model's training record (``train_per_label``, or rebuilt from its data folder,
split and synthetic negatives; the data must be where it trained). The result equals training with
``--logit-adjust TAU``: the adjustment happens after the last epoch and touches only the head's bias.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", default="")
    ap.add_argument("--in-place", action="store_true")
    ap.add_argument("--tau", type=float, default=1.0)
    args = ap.parse_args(argv)
    from recognizers.errors import VaultError
    from recognizers.model_files import META, WEIGHTS, load_model, save_model
    from recognizers.training.logit_adjust import adjust_head, training_counts
    from recognizers.training.tasks import make_task_data
    if bool(args.out) == args.in_place:
        print("logit_adjust: give --out DIR or --in-place", file=sys.stderr)
        return 2
    try:
        m = load_model(args.model)
        task = make_task_data(m.task, frontend=m.frontend_config.get("type", "logmel")
                              if m.task == "speech" else "logmel")
        counts = training_counts(m.meta, task.extensions)
        net = m.network
        record = adjust_head(net, m.meta, counts, args.tau)
        meta = {k: v for k, v in m.meta.items() if k not in ("format", "format_version", "architecture",
                                                         "normalization")}
        meta["training"] = dict(meta["training"], logit_adjustment=record)
        out = Path(args.model) if args.in_place else Path(args.out)
        src = Path(args.model)
        kept = {f.name: f.read_bytes() for f in src.iterdir()          # the model card and any other files
                if f.is_file() and f.name not in (META, WEIGHTS)}
        save_model(out, net.cpu(), meta)   # atomic: the folder holds the old model or the new one
        for name, data in kept.items():
            (out / name).write_bytes(data)
    except VaultError as exc:
        print(f"logit_adjust: {exc}", file=sys.stderr)
        return 2
    print(f"{out}: head bias shifted by " + ", ".join(f"{k} {v:+.2f}" for k, v in record["bias_shift"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
