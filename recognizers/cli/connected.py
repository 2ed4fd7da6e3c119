"""``lstm-vault train-connected``: fine-tune a spoken-digit model into a connected-digit (CTC) model.

    lstm-vault train-connected --data DIR --init assets/models/digits-en --out MODEL_DIR [--epochs 15]

``DIR`` is a folder-per-label dataset with the digits as ``0``..``9`` (or ``zero``..``nine``) and speaker
groups (manifest.csv / speakers.csv / FSDD names); strings of one speaker's digits are built from it on
the fly. Validation uses the initial model's validation speakers unless ``--val-groups`` says otherwise.
The result transcribes with ``lstm-vault transcribe`` and in the app like any speech model.
"""
from __future__ import annotations

from recognizers.errors import VaultError


def _add_parser(sub) -> None:
    p = sub.add_parser("train-connected", help="train a connected-digit (CTC) model from a digit model")
    p.add_argument("--data", required=True, help="DATA/<digit>/<file> with speaker groups")
    p.add_argument("--init", required=True, help="single-word digit model to start from (labels 0..9, _unknown_)")
    p.add_argument("--out", required=True, help="model folder to write")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--sequences-per-epoch", type=int, default=2000)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--val-groups", default=None, help="comma-separated speakers to validate on")
    p.add_argument("--exclude-groups", default=None, help="comma-separated speakers to leave out entirely")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0)


def run(args) -> int:
    from recognizers.training.ctc import ConnectedConfig, train_connected
    if args.epochs < 1 or args.sequences_per_epoch < 1 or args.batch_size < 1 or not args.lr > 0:
        raise VaultError("--epochs, --sequences-per-epoch and --batch-size must be at least 1, --lr above 0")
    def split(s):
        return ([g for g in s.split(",") if g] if s else None)
    cfg = ConnectedConfig(epochs=args.epochs, sequences_per_epoch=args.sequences_per_epoch,
                          batch_size=args.batch_size, lr=args.lr, seed=args.seed, threads=args.threads,
                          val_groups=split(args.val_groups), exclude_groups=split(args.exclude_groups))
    res = train_connected(args.data, args.init, args.out, cfg, log=lambda s: print(s, flush=True))
    v = res["validation"]
    if v:
        print(f"saved {args.out}: validation digit accuracy {v['digit_accuracy']:.1%}, strings "
              f"{v['string_accuracy']:.1%} ({v['strings']} strings), {res['seconds']} s")
    else:
        print(f"saved {args.out} (no validation speakers), {res['seconds']} s")
    return 0


def register_cli() -> list:
    return [(_add_parser, run, "train-connected")]
