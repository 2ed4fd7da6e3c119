"""LSTM Vault desktop app: capture, views and the glue between engine events and widgets."""
# torch before PySide6: once PySide6 is imported, shiboken's import hook reads the source of every module
# imported after it (to look for ``from __feature__``), and torch is over a thousand modules; importing it
# first takes about a quarter off the app's start-up (`lstm-vault bench --only startup_s`).
import torch  # noqa: F401

from .qt_workarounds import protect_singletons

protect_singletons()   # before any widget exists: see qt_workarounds for the PySide6 6.12 bug it covers
