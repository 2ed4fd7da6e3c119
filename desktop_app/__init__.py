"""LSTM Vault desktop app: capture, views and the glue between engine events and widgets."""
from .qt_workarounds import protect_singletons

protect_singletons()   # before any widget exists: see qt_workarounds for the PySide6 6.12 bug it covers
