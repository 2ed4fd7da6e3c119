"""LSTM Vault desktop app: capture, views and the glue between engine events and widgets.

Importing the package imports nothing else (the ``lstm-vault`` launcher lives here and must stay light);
:mod:`desktop_app.main` and :mod:`desktop_app.main_window` set up torch and Qt in the right order.
"""
__all__ = ["launcher", "main", "main_window"]
