"""``lstm-vault`` engine commands (argparse and printing; the work is done in the engine's packages).

``desktop_app.launcher`` opens the app for ``lstm-vault`` alone or ``lstm-vault gui``; everything else comes here.

Every user error (bad file, bad model, bad option) prints one line and exits with status 2.
"""
from __future__ import annotations

import argparse
import json
import sys

from recognizers.io.safe_text import safe_text

EXIT_USER_ERROR = 2


def _add_train(sub):
    p = sub.add_parser("train", help="train a model on a folder-per-label dataset")
    p.add_argument("--task", choices=["speech", "gesture"], required=True)
    p.add_argument("--data", required=True, help="DATA/<label>/<file> (or FSDD's flat layout)")
    p.add_argument("--out", required=True, help="model folder to write")
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--patience", type=int, default=12, help="early stopping: epochs without improvement")
    p.add_argument("--hidden", type=int, default=128, help="LSTM units per layer")
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    p.add_argument("--val-fraction", type=float, default=0.2,
                   help="share of groups that validate for early stopping; 0: no validation, train all "
                        "files for exactly --epochs epochs and keep the last")
    p.add_argument("--val-groups", default=None, help="comma-separated speakers/sessions to validate on")
    p.add_argument("--exclude-groups", default=None,
                   help="comma-separated speakers/sessions to leave out entirely (e.g. a test speaker)")
    p.add_argument("--negatives", type=float, default=0.15,
                   help="synthetic non-target examples (noise, tones, silence) as a fraction of the data")
    p.add_argument("--reject-threshold", type=float, default=0.0,
                   help="below this confidence a prediction becomes the unknown label")
    p.add_argument("--label-alias", action="append", default=[], metavar="NAME=LABEL",
                   help="also accept folder NAME as LABEL at evaluation (e.g. zero=0)")
    p.add_argument("--f-max", type=float, default=None, help="speech: highest mel frequency in Hz")
    p.add_argument("--class-weights", choices=["none", "sqrt"], default="none",
                   help="sqrt: weigh each label's loss by 1/sqrt(its share of the clips) (for a rare-word vocabulary "
                        "beside a large _unknown_)")
    p.add_argument("--logit-adjust", type=float, default=0.0, metavar="TAU",
                   help="after training, subtract TAU x log(each label's share of the training loss) from the head's "
                        "bias, so a rare label is not lost to a large _unknown_ (1: decide as if all labels were "
                        "equally likely; default 0: off)")
    p.add_argument("--frontend", choices=["logmel", "speech-embedding"], default="logmel",
                   help="speech: log-mel, or the pretrained speech embedding (hears new voices far better; "
                        "docs/unseen-speakers.md)")
    p.add_argument("--context-prob", type=float, default=0.0, metavar="P",
                   help="speech embedding: this share of the waveform-augmented clips is preceded by the end of "
                        "another clip and a pause, as words in a live stream are (default 0: off)")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--name", default="")
    p.add_argument("--workers", type=int, default=0,
                   help="read and featurise files on demand in N worker processes instead of holding the "
                        "dataset in memory (for large datasets)")
    p.add_argument("--feature-cache", default=None, metavar="DIR",
                   help="with --workers: folder caching un-augmented features between epochs and runs "
                        "(default ~/.cache/lstm-vault/features; 'off' disables it)")


def _add_common(sub):
    p = sub.add_parser("eval", help="accuracy, per-class accuracy and confusion matrix on a folder")
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--json", action="store_true")
    p.add_argument("--device", default="cpu")
    p.add_argument("--max-seconds", type=float, default=600.0,
                   help="files longer than this (read from the header, before decoding) are not decoded and "
                        "count as unreadable (offline features of a clip take ~40 MB per minute)")
    p = sub.add_parser("predict", help="top-k labels of one file")
    p.add_argument("--model", required=True)
    p.add_argument("file")
    p.add_argument("-k", "--top", type=int, default=3)
    p.add_argument("--json", action="store_true")
    p.add_argument("--max-seconds", type=float, default=1800.0,
                   help="refuse longer inputs (offline features of a whole clip take ~40 MB per minute)")
    p = sub.add_parser("trace", help="save the network input and every gate of every layer to .npz")
    p.add_argument("--model", required=True)
    p.add_argument("file")
    p.add_argument("--out", required=True)
    p.add_argument("--max-seconds", type=float, default=600.0, help="refuse longer inputs (trace size)")
    p = sub.add_parser("import-fsdd", help="convert FSDD's flat layout into DATA/<digit>/ folders")
    p.add_argument("source")
    p.add_argument("dest")
    p = sub.add_parser("gui", help="open the desktop app")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lstm-vault", description="See inside LSTM sequence classifiers.")
    sub = parser.add_subparsers(dest="command")
    _add_train(sub)
    _add_common(sub)
    for extra in _EXTRA_COMMANDS:
        extra[0](sub)
    return parser


# Other modules add commands here: (add_parser(sub), run(args) -> int, name)
_EXTRA_COMMANDS: list = []


# Each registers its commands with ``register_cli() -> [(add_parser(sub), run(args) -> int, name)]``; none may
# import torch at module level (``lstm-vault --help`` stays fast).
COMMAND_MODULES = ("recognizers.cli.gestures", "recognizers.cli.transcribe", "recognizers.bench.engine",
                   "recognizers.cli.export", "recognizers.cli.connected", "recognizers.cli.insight",
                   "recognizers.cli.adapt")


def _load_extra_commands() -> None:
    """Import the optional command modules once (``main`` may run many times in one process, e.g. tests)."""
    import importlib
    import importlib.util
    if _EXTRA_COMMANDS:
        return
    for mod in COMMAND_MODULES:
        if importlib.util.find_spec(mod) is None:   # a command module not (yet) in this install
            continue
        m = importlib.import_module(mod)
        if hasattr(m, "register_cli"):
            _EXTRA_COMMANDS.extend(m.register_cli())


def cmd_train(args) -> int:
    from recognizers.cli.options import device, finite_number
    from recognizers.io.paths import check_output_folder
    from recognizers.training.loop import TerminalProgress, TrainConfig, train
    device(args.device)     # cuda:99, cuda:x: one line before any data is read
    for opt, v, lo, hi in (("--lr", args.lr, 0.0, 10.0), ("--dropout", args.dropout, 0.0, 0.99),
                           ("--val-fraction", args.val_fraction, 0.0, 0.9), ("--negatives", args.negatives, 0.0, 10.0),
                           ("--reject-threshold", args.reject_threshold, 0.0, 1.0)):
        finite_number(opt, v, lo, hi)
    if args.f_max is not None:
        finite_number("--f-max", args.f_max, 0.0, 48000.0, low_open=True)
    check_output_folder(args.out, "--out")
    progress = TerminalProgress()
    aliases = {}
    for a in args.label_alias:
        if "=" not in a:
            from recognizers.errors import VaultError
            raise VaultError(f"--label-alias {a!r}: expected NAME=LABEL")
        k, v = a.split("=", 1)
        aliases[k] = v
    cfg = TrainConfig(hidden_size=args.hidden, num_layers=args.layers, dropout=args.dropout, epochs=args.epochs,
                      patience=args.patience, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                      device=args.device, val_fraction=args.val_fraction,
                      val_groups=args.val_groups.split(",") if args.val_groups else None,
                      exclude_groups=args.exclude_groups.split(",") if args.exclude_groups else None,
                      negatives=args.negatives, reject_threshold=args.reject_threshold,
                      label_aliases=aliases, threads=args.threads, name=args.name,
                      workers=args.workers, feature_cache=args.feature_cache, class_weights=args.class_weights,
                      logit_adjust=args.logit_adjust)
    from recognizers.training.tasks import make_task_data
    if args.frontend != "logmel" and (args.task != "speech" or args.f_max is not None):
        from recognizers.errors import VaultError
        raise VaultError("--frontend speech-embedding is for --task speech, without --f-max")
    if args.context_prob and (args.frontend != "speech-embedding" or not 0 < args.context_prob <= 1):
        from recognizers.errors import VaultError
        raise VaultError("--context-prob is a share in (0, 1] for --frontend speech-embedding")
    task = make_task_data(args.task, f_max=args.f_max, frontend=args.frontend, context_prob=args.context_prob)
    res = train(task, args.data, args.out, cfg, on_epoch=progress.epoch, on_batch=progress.batch,
                log=progress.message, command="lstm-vault " + " ".join(sys.argv[1:]))
    if res.model_dir is not None:   # None on the non-zero ranks of a torchrun launch: rank 0 saves
        what = ("best validation accuracy" if res.validation.get("n") else
                "no validation set; final training accuracy (augmented)")
        progress.message(f"saved {res.model_dir}: {what} {res.best_val_acc * 100:.2f}% "
                         f"after {res.epochs_run} epochs in {res.seconds:.0f} s")
    return 0


def _refuse_ctc(model) -> None:
    """``eval`` and ``predict`` classify whole clips; a connected-digit (CTC) model reads strings instead."""
    from recognizers.decoders.ctc import is_ctc_model
    from recognizers.errors import VaultError
    if is_ctc_model(model):
        raise VaultError(f"{model.path}: a connected-digit (CTC) model reads digit strings: use "
                         f"'lstm-vault transcribe --model {model.path} AUDIO' or "
                         f"'python -m recognizers.bench.connected'")


def _gesture_fps(model) -> float:
    return float(model.frontend_config.get("fps", 30.0)) if model.task == "gesture" else 30.0


def _gesture_input(model, path, max_seconds: float):
    """A gesture model's input, with MediaPipe's own log lines left out of stderr and videos or image folders
    longer than ``--max-seconds`` refused before tracking (or as soon as tracking passes the limit, where the
    container does not say how long it is)."""
    from recognizers.data.landmark_files import load_gesture_input
    from recognizers.io.quiet import native_chatter_filtered
    with native_chatter_filtered():
        return load_gesture_input(path, model.frontend_config, max_seconds=max_seconds)


def cmd_eval(args) -> int:
    from recognizers.cli.options import device, finite_number
    from recognizers.metrics import format_report
    from recognizers.model_files import load_model
    from recognizers.training.evaluate import evaluate
    finite_number("--max-seconds", args.max_seconds, 0.0, 24 * 3600.0, low_open=True)
    model = load_model(args.model, device=device(args.device))
    _refuse_ctc(model)
    r = evaluate(model, args.data, max_seconds=args.max_seconds)
    for e in r["errors"]:       # each unreadable or too long file: one line naming it (it counts as wrong)
        print(f"lstm-vault eval: {safe_text(e)} (counted as wrong)", file=sys.stderr)
    if args.json:
        print(json.dumps(r))
    else:
        print(format_report(r))
    return 0


def cmd_predict(args) -> int:
    from recognizers.cli.options import check_input_duration, finite_number
    from recognizers.model_files import load_model
    from recognizers.recognizer import Recognizer
    finite_number("--max-seconds", args.max_seconds, 0.0, 24 * 3600.0, low_open=True)
    model = load_model(args.model)
    _refuse_ctc(model)
    check_input_duration(args.file, model.task, args.max_seconds, fps=_gesture_fps(model))
    rec = Recognizer(model)
    if model.task == "gesture":     # videos and image folders: refused before (or while) tracking, quietly
        raw = _gesture_input(model, args.file, args.max_seconds)
        p = rec.decide(rec.probabilities(rec.features(raw)), k=max(1, args.top))
    else:
        p = rec.predict_file(args.file, k=max(1, args.top))
    import math

    from recognizers.errors import VaultError
    if not all(math.isfinite(q) for _, q in p.top) or not math.isfinite(p.confidence):
        raise VaultError(f"{args.file}: the model's output is not a number for this input (values out of range?)")
    if args.json:   # allow_nan=False: never emit NaN, which is not JSON
        print(json.dumps({"file": safe_text(args.file), "label": p.label, "confidence": p.confidence,
                          "rejected": p.rejected, "top": [{"label": l, "probability": q} for l, q in p.top]},
                         allow_nan=False))
    else:
        print(f"{safe_text(args.file)}: {safe_text(p.label)}"
              + (" (below the confidence threshold)" if p.rejected else ""))
        for l, q in p.top:
            print(f"  {safe_text(l):<12} {q * 100:6.2f}%  " + "#" * int(round(q * 30)))
    return 0


def cmd_trace(args) -> int:
    import numpy as np

    from recognizers.errors import VaultError
    from recognizers.frontends.registry import make_frontend
    from recognizers.model_files import load_model
    from recognizers.recognizer import Recognizer
    model = load_model(args.model)
    from recognizers.cli.options import check_input_duration, finite_number
    finite_number("--max-seconds", args.max_seconds, 0.0, 24 * 3600.0, low_open=True)
    check_input_duration(args.file, model.task, args.max_seconds, fps=_gesture_fps(model))
    rec = Recognizer(model)
    feats = (rec.features(_gesture_input(model, args.file, args.max_seconds)) if model.task == "gesture"
             else rec.features_from_file(args.file))
    fps = float(getattr(make_frontend(model.frontend_config).config, "frames_per_second", 0)
                or model.meta.get("frontend", {}).get("fps") or 100.0)
    if feats.shape[0] > args.max_seconds * fps:
        raise VaultError(f"{args.file}: {feats.shape[0] / fps:.0f} s is longer than --max-seconds "
                         f"{args.max_seconds:.0f}; trim it or raise the limit")
    from recognizers.io.paths import check_output_file, write_atomically
    out = check_output_file(args.out, "--out")      # before the work: never rename over /dev/null or a FIFO
    tr = rec.trace(feats)
    write_atomically(out, lambda tmp: np.savez_compressed(tmp, labels=np.asarray(model.labels), **tr),
                     "--out", suffix=".npz")
    print(f"wrote {safe_text(out)}: {feats.shape[0]} frames, {model.network.arch.num_layers} layers × "
          f"{model.network.arch.hidden_size} units")
    return 0


def cmd_import_fsdd(args) -> int:
    from recognizers.data.datasets import import_fsdd
    n = import_fsdd(args.source, args.dest)
    print(f"imported {n} files into {safe_text(args.dest)}")
    return 0


def cmd_gui(args) -> int:
    """The app is not part of the engine: ``lstm-vault`` (the launcher in ``desktop_app``) opens it."""
    print("lstm-vault: the desktop app opens with 'lstm-vault' or 'lstm-vault gui' (python -m recognizers "
          "runs engine commands only)", file=sys.stderr)
    return EXIT_USER_ERROR


COMMANDS = {"train": cmd_train, "eval": cmd_eval, "predict": cmd_predict, "trace": cmd_trace,
            "import-fsdd": cmd_import_fsdd, "gui": cmd_gui}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    _load_extra_commands()
    parser = build_parser()
    if argv and argv[0] == "gui":
        return cmd_gui(None)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    runners = dict(COMMANDS)
    for _add, run, name in _EXTRA_COMMANDS:
        runners[name] = run
    from recognizers.errors import VaultError
    try:
        return runners[args.command](args)
    except VaultError as exc:
        from recognizers.io.safe_text import safe_text
        print(f"lstm-vault {args.command}: error: {safe_text(exc)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print(f"lstm-vault {args.command}: interrupted; nothing half-written was left behind", file=sys.stderr)
        return 130
    except MemoryError:
        print(f"lstm-vault {args.command}: error: out of memory", file=sys.stderr)
        return EXIT_USER_ERROR


if __name__ == "__main__":
    sys.exit(main())
