"""GUI tests: cyclic garbage is collected on the GUI thread after every test.

Widgets of a finished test can be left in reference cycles; if a collection starts on a worker thread of a later
test (an inference thread importing MediaPipe, for one), their Qt destructors run there, and PySide6 6.11 can
deadlock waiting for the GIL (a test hung in ``Shiboken::GilState::acquire`` under ``gc_collect_main``)."""
from __future__ import annotations

import gc

import pytest


@pytest.fixture(autouse=True)
def _collect_qt_garbage_on_the_gui_thread():
    yield
    gc.collect()
