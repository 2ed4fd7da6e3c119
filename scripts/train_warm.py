#!/usr/bin/env python3
"""``lstm-vault train`` with the LSTM layers started from an existing model's weights (warm start).

The new model's head (its own labels) and feature normalisation are fresh; only the GateLSTM layers are copied, so
the source model must have the same frontend (40 log-mel bands; pass the same ``--f-max``), hidden size and layers.
Starting the Speech Commands model from the digit model's layers (trained on FSDD, Speech Commands v0.01 and
synthetic voices) makes a short training on two shared CPU cores reach in ~15 epochs what a cold start does not.

    python scripts/train_warm.py --init assets/models/digits-en -- --task speech --data DIR --out OUT --f-max 4000 ...

``--full`` (same labels, e.g. retraining digits-en on more speakers) also copies the linear head and the source's
feature normalisation, so training fine-tunes the whole network from where it was instead of a fresh head.

Everything after ``--`` goes to ``lstm-vault train`` unchanged; ``model.json`` gets ``training.init_from``.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--" not in argv:
        print("usage: train_warm.py --init MODEL -- <lstm-vault train arguments>", file=sys.stderr)
        return 2
    i = argv.index("--")
    ap = argparse.ArgumentParser()
    ap.add_argument("--init", required=True)
    ap.add_argument("--light-aug", action="store_true",
                    help="milder augmentation for already noisy crowd-sourced clips: tempo 0.85-1.2, noise on 40 %% "
                    "of clips at 10-40 dB SNR (default: tempo 0.75-1.4, noise on 70 %% at 5-40 dB)")
    ap.add_argument("--full", action="store_true",
                    help="also copy the head and the feature normalisation (the labels must be the same)")
    args = ap.parse_args(argv[:i])
    train_args = argv[i + 1:]

    from recognizers.cli.main import main as cli_main
    from recognizers.model_files import load_model
    from recognizers.nn.classifier import SequenceClassifier
    from recognizers.training import loop

    source = load_model(args.init)
    src = source.network.lstm.state_dict()

    def warm_classifier(arch, mean=None, std=None):
        if args.full:   # the source's normalisation: its weights were learnt on features scaled that way
            mean = source.network.feature_mean.cpu().numpy()
            std = source.network.feature_std.cpu().numpy()
        net = SequenceClassifier(arch, mean, std)
        net.lstm.load_state_dict(src)   # raises on a shape mismatch: different hidden size, layers or bands
        if args.full:
            net.head.load_state_dict(source.network.head.state_dict())   # raises if the class count differs
        return net

    loop.SequenceClassifier = warm_classifier
    light = {"tempo_range": (0.85, 1.2), "noise_prob": 0.4, "snr_db_range": (10.0, 40.0)}
    if args.light_aug:
        from recognizers.data import speech
        for k, v in light.items():
            setattr(speech.SpeechAugmentConfig, k, v)
            speech.SpeechAugmentConfig.__dataclass_fields__[k].default = v
        speech.SpeechAugmentConfig.__init__.__defaults__ = tuple(
            speech.SpeechAugmentConfig.__dataclass_fields__[f].default
            for f in speech.SpeechAugmentConfig.__dataclass_fields__)
    sys.argv = ["lstm-vault", "train"] + train_args
    rc = cli_main(["train"] + train_args)
    out = Path(train_args[train_args.index("--out") + 1])
    meta_path = out / "model.json"
    if rc == 0 and meta_path.is_file():
        meta = json.loads(meta_path.read_text())
        if args.full and meta["labels"] != source.labels:   # same count, other labels: the head means nothing
            import shutil
            shutil.rmtree(out)
            print(f"--full: labels {meta['labels']} differ from {args.init}'s {source.labels}", file=sys.stderr)
            return 2
        copied = "GateLSTM layers, head, feature normalisation" if args.full else "GateLSTM layers"
        meta.setdefault("training", {})["init_from"] = {"model": str(args.init), "copied": copied,
                                                        "script": "scripts/train_warm.py"}
        if args.light_aug:
            meta["training"]["augmentation_override"] = {k: list(v) if isinstance(v, tuple) else v
                                                         for k, v in light.items()}
        meta["training"]["command"] = "python " + " ".join(
            ["scripts/train_warm.py", "--init", args.init] + (["--light-aug"] if args.light_aug else [])
            + (["--full"] if args.full else []) + ["--"]
            + train_args)
        tmp = meta_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(meta, indent=1))
        tmp.replace(meta_path)
    return rc


if __name__ == "__main__":
    sys.exit(main())
