"""Driving the Qt event loop from a script (screenshots, benchmark probes, test apps run in a subprocess),
where pytest-qt's ``qtbot.waitUntil`` is not available."""
from __future__ import annotations

import time
from typing import Callable


def process_events_until(app, seconds: float, until: Callable[[], object] = lambda: False,
                         poll_s: float = 0.01) -> bool:
    """Process events for at most ``seconds``; return True as soon as ``until()`` is true."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        if until():
            return True
        time.sleep(poll_s)
    return bool(until())
