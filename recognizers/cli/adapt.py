"""``lstm-vault adapt``: argument parsing and printing only (no torch at import time); the work is in
:mod:`recognizers.training.adapt`."""
from __future__ import annotations

import sys


def _add_parser(sub) -> None:
    p = sub.add_parser(
        "adapt", help="fine-tune a model on one person's takes (\"adapt to my voice\") without forgetting others",
        description="Adapt MODEL to one person: DIR holds folder-per-label takes (e.g. 3 per word) with the "
                    "model's label names. The weights are pulled back towards the original (L2-SP) and train "
                    "for a few epochs at a low learning rate on augmented copies of the takes; the model's "
                    "frontend and normalisation are kept. Epochs, lr, L2-SP and negatives default to the "
                    "recipe measured for the model's frontend (speech embedding: 10, 1e-3, 0.003, 0; log-mel "
                    "and landmarks: 6, 5e-4, 0.1, 0.15). The adapted model's model.json ('adaptation') and "
                    "MODEL_CARD.md record what it was adapted on.")
    p.add_argument("--model", required=True, help="model folder to adapt")
    p.add_argument("--data", required=True, metavar="DIR", help="DIR/<label>/<take> of one person")
    p.add_argument("--out", required=True, metavar="MODEL2", help="model folder to write (a new one)")
    p.add_argument("--epochs", type=int, default=None, help="default: the model's recipe")
    p.add_argument("--lr", type=float, default=None, help="default: the model's recipe")
    p.add_argument("--l2sp", type=float, default=None,
                   help="strength of the pull towards the original weights (default: the model's recipe)")
    p.add_argument("--negatives", type=float, default=None,
                   help="synthetic non-speech examples for _unknown_, as a fraction of the repeated takes "
                        "(default: the model's recipe)")
    p.add_argument("--repeats", type=int, default=8, help="augmented copies of every take per epoch")
    p.add_argument("--trainable", choices=["all", "last", "head"], default="all",
                   help="which weights change: all, the last LSTM layer and the head, or the head only")
    p.add_argument("--replay", default=None, metavar="DIR",
                   help="optional folder of other data (e.g. the original training set) mixed into every epoch")
    p.add_argument("--replay-per-epoch", type=int, default=0, help="replay files per epoch (0: as many as takes)")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)


def _run(args) -> int:
    from recognizers.training.adapt import AdaptConfig, adapt
    cfg = AdaptConfig(epochs=args.epochs, lr=args.lr, l2sp=args.l2sp, repeats=args.repeats,
                      negatives=args.negatives,
                      trainable=args.trainable, replay_dir=args.replay, replay_per_epoch=args.replay_per_epoch,
                      seed=args.seed, threads=args.threads)

    def on_epoch(e):
        print(f"epoch {e.epoch}/{e.epochs}  loss {e.loss:.3f}  train {e.accuracy * 100:5.1f}%  {e.seconds:4.1f}s",
              file=sys.stderr, flush=True)

    r = adapt(args.model, args.data, args.out, cfg, on_epoch=on_epoch,
              log=lambda s: print(s, file=sys.stderr, flush=True),
              command="lstm-vault " + " ".join(sys.argv[1:]))
    print(f"wrote {r.model_dir} in {r.seconds:.1f} s (the takes: {r.takes_accuracy_before * 100:.1f} % before, "
          f"{r.takes_accuracy_after * 100:.1f} % after)")
    return 0


def register_cli():
    return [(_add_parser, _run, "adapt")]
