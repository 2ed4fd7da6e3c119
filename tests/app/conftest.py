"""GUI tests: after every test, cyclic garbage is collected on the GUI thread and no Qt thread is left running.

Widgets of a finished test can be left in reference cycles; if a collection starts on a worker thread of a later
test (an inference thread importing MediaPipe, for one), their Qt destructors run there, and PySide6 6.11 can
deadlock waiting for the GIL (a test hung in ``Shiboken::GilState::acquire`` under ``gc_collect_main``).

A QThread still running when its last reference goes (at the latest when the interpreter exits) aborts the whole
process ("QThread: Destroyed while thread is still running", exit code 134) after every test has passed. So a
test that leaves one running fails here, by name, once the thread has been stopped."""
from __future__ import annotations

import faulthandler
import gc
import sys

import pytest

ENDING_MS = 3_000
GRACE_MS = 20_000       # a worker finishing its last step (a cancelled training epoch) may take a while


_reported: set = set()


def running_qthreads() -> list:
    from PySide6.QtCore import QThread
    here = QThread.currentThread()
    found = []
    for obj in gc.get_objects():
        if issubclass(type(obj), QThread) and obj is not here:
            try:
                if obj.isRunning():
                    found.append(obj)
            except RuntimeError:        # its C++ object is already gone
                pass
    return found


def describe(thread) -> str:
    name = thread.objectName()
    return f"{type(thread).__name__}" + (f" {name!r}" if name else "")


@pytest.fixture(autouse=True)
def _collect_qt_garbage_and_threads():
    yield
    gc.collect()
    # A worker that has emitted its last signal may still be returning from run(): that is not a leak.
    left = [t for t in running_qthreads() if t not in _reported and not t.wait(ENDING_MS)]
    if not left:
        return
    names = [describe(t) for t in left]
    for t in left:                      # stop them, so that one leak does not abort the whole run
        cancel = getattr(t, "cancel", None)
        if callable(cancel):
            cancel()
        t.requestInterruption()
        t.quit()                        # threads running an event loop (a microphone's capture thread)
    stuck = [describe(t) for t in left if not t.wait(GRACE_MS)]
    if stuck:       # where it hangs, for the report; reported once, not again by every later test
        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        _reported.update(left)
    pytest.fail(f"the test left Qt threads running: {', '.join(names)}"
                + (f" (still running after {GRACE_MS} ms: {', '.join(stuck)})" if stuck else ""))
