"""Entry point: ``lstm-vault`` (no arguments), ``lstm-vault gui`` or ``python -m desktop_app``."""
from __future__ import annotations

import argparse
import os
import sys

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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "lstm-vault"])
    app.setOrganizationName("LSTM Vault")
    app.setApplicationName("LSTM Vault")
    from .main_window import MainWindow
    from .theme import apply_dark_theme
    apply_dark_theme(app)
    window = MainWindow(models={"speech": args.model_speech, "gesture": args.model_gesture}, mode=args.mode)
    if args.file:
        window.use_file(args.file)
    window.show()
    if os.environ.get("LSTM_VAULT_REPORT_SHOWN"):   # for `lstm-vault bench` (startup_s)
        from PySide6.QtCore import QTimer
        QTimer.singleShot(0, lambda: print("lstm-vault: window shown", flush=True))
    return int(app.exec())


if __name__ == "__main__":
    sys.exit(main())
