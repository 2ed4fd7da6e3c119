"""Qt threads that must outlive the object that started them: a QThread whose last reference goes while it
still runs aborts the whole process ("QThread: Destroyed while thread is still running")."""
from __future__ import annotations

from PySide6.QtCore import QThread


def keep_until_finished(thread: QThread, kept: set) -> None:
    """Hold ``thread`` in ``kept`` until it finishes (nothing is held when it has already ended)."""
    if thread.isRunning():
        kept.add(thread)
        thread.finished.connect(lambda: kept.discard(thread))
