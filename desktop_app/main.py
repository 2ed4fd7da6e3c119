"""Entry point: ``lstm-vault`` (no arguments), ``lstm-vault gui`` or ``python -m desktop_app``."""
from __future__ import annotations  # noqa: I001  (import order matters here, see below)

import argparse
import os
import sys

from . import one_blas_thread  # noqa: F401, I001  (first: one BLAS thread, before numpy or torch loads)

# torch before PySide6: once PySide6 is imported, shiboken's import hook reads the source of every module
# imported after it (to look for ``from __feature__``), and torch is over a thousand modules; importing it
# first takes about a quarter off the app's start-up (`lstm-vault bench --only startup_s`).
import torch  # noqa: F401, I001
from PySide6.QtWidgets import QApplication

from .qt_workarounds import protect_singletons

protect_singletons()   # before any widget exists: see qt_workarounds for the PySide6 6.12 bug it covers


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lstm-vault gui", description="Open the LSTM Vault desktop app.")
    p.add_argument("--model-speech", metavar="FOLDER", help="speech model folder (default: the shipped one)")
    p.add_argument("--model-gesture", metavar="FOLDER", help="gesture model folder (default: the shipped one)")
    p.add_argument("--mode", choices=("speech", "gesture"), help="start in this mode (default: the last used)")
    p.add_argument("--file", metavar="PATH", help="play this file (or image folder) as the source")
    return p


def check_args(args: argparse.Namespace) -> str | None:
    """The first problem with the command line (one line), or None. Bad arguments stop the app (exit 2)
    instead of being replaced silently by the remembered model or source."""
    from recognizers.errors import VaultError
    from recognizers.model_files import load_model
    mode = args.mode
    for task in ("speech", "gesture"):
        folder = getattr(args, f"model_{task}")
        if not folder:
            continue
        if not os.path.exists(folder):
            return f"--model-{task} {folder}: no such folder"
        try:
            load_model(folder, task=task)
        except VaultError as exc:
            return f"--model-{task} {folder}: {exc}"
        except Exception as exc:      # a damaged file: still one line
            return f"--model-{task} {folder}: {type(exc).__name__}: {exc}"
    if args.file:
        if not os.path.exists(args.file):
            return f"--file {args.file}: no such file or folder"
        if os.path.isdir(args.file) and mode != "gesture":
            return f"--file {args.file}: a folder of images plays in gesture mode only (add --mode gesture)"
    return None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    problem = check_args(args)
    if problem:
        print(f"lstm-vault: {problem}", file=sys.stderr)
        return 2
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "lstm-vault"])
    app.setOrganizationName("LSTM Vault")
    app.setApplicationName("LSTM Vault")
    from .main_window import MainWindow
    from .theme import apply_dark_theme
    apply_dark_theme(app)
    window = MainWindow(models={"speech": args.model_speech, "gesture": args.model_gesture}, mode=args.mode)
    if args.file and not window.use_file(args.file):
        print(f"lstm-vault: --file {args.file}: {window.errors[-1] if window.errors else 'cannot be played'}",
              file=sys.stderr)
        window.close()
        return 2
    window.show()
    if os.environ.get("LSTM_VAULT_REPORT_SHOWN"):   # for `lstm-vault bench` (startup_s)
        from PySide6.QtCore import QTimer
        QTimer.singleShot(0, lambda: print("lstm-vault: window shown", flush=True))
    if os.environ.get("LSTM_VAULT_REPORT_COUNTERS"):  # for `lstm-vault bench` (app_* keys, recognizers.bench.app)
        from .bench_probe import report_counters
        report_counters(window, os.environ.get("LSTM_VAULT_BENCH_TRAIN", ""))
    return int(app.exec())


if __name__ == "__main__":
    sys.exit(main())
