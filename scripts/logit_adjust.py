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
    from recognizers.model_files import load_model, save_model
    from recognizers.training.logit_adjust import adjust_head, training_counts
    if bool(args.out) == args.in_place:
        print("logit_adjust: give --out DIR or --in-place", file=sys.stderr)
        return 2
    try:
        m = load_model(args.model)
        net = m.network
        record = adjust_head(net, m.meta, training_counts(m.meta), args.tau)
        meta = dict(m.meta, training=dict(m.meta["training"], logit_adjustment=record))
        out = Path(args.model) if args.in_place else Path(args.out)
        card = Path(args.model) / "MODEL_CARD.md"
        card_text = card.read_bytes() if card.is_file() and not args.in_place else None
        save_model(out, net.cpu(), meta)   # atomic; a model card already in the folder is kept
        if card_text is not None:
            (out / card.name).write_bytes(card_text)
    except VaultError as exc:
        print(f"logit_adjust: {exc}", file=sys.stderr)
        return 2
    print(f"{out}: head bias shifted by " + ", ".join(f"{k} {v:+.2f}" for k, v in record["bias_shift"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
