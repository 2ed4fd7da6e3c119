"""Work-around for a reference-count bug in the Qt bindings this app runs on.

PySide6 6.12.0 on CPython 3.11 returns ``None`` from every void method (``setText``, ``setData``…) and
``True`` from ``SignalInstance.emit()`` without taking a reference, as if they were immortal (they are on
CPython >= 3.12). Each call drops one reference; after a few thousand calls CPython aborts with "Fatal
Python error: none_dealloc: deallocating None" (or ``bool_dealloc``). A live view makes thousands of such
calls per second, so the app would die within seconds of drawing.

``protect_singletons()`` probes for the leak and, only where it is present, gives ``None``, ``True`` and
``False`` 2**40 extra references once: immortal in practice, as newer CPythons make them. That covers about
10**12 calls (decades at the app's rate) and changes nothing where the bug is absent.
"""
from __future__ import annotations

import ctypes
import sys
import sysconfig

EXTRA_REFERENCES = 1 << 40
PROBES = 64
_applied: bool | None = None


def pyside_leaks_singletons() -> bool:
    """True if void calls or signal emits lose references to None/True in this PySide6 build."""
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        signal = Signal()

    probe = _Probe()
    none0, true0 = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(PROBES):
        probe.setObjectName("probe")
        probe.signal.emit()
    lost_none = none0 - sys.getrefcount(None)
    lost_true = true0 - sys.getrefcount(True)
    return lost_none >= PROBES // 2 or lost_true >= PROBES // 2


def protect_singletons() -> bool:
    """Apply the work-around if needed (once per process); returns whether it is in effect."""
    global _applied
    if _applied is not None:
        return _applied
    _applied = False
    if sys.implementation.name != "cpython" or sys.version_info >= (3, 12) or sysconfig.get_config_var(
            "Py_GIL_DISABLED"):
        return False            # singletons are immortal there: nothing can run out
    if not pyside_leaks_singletons():
        return False
    for obj in (None, True, False):
        ctypes.c_ssize_t.from_address(id(obj)).value += EXTRA_REFERENCES   # ob_refcnt is the first field
    _applied = True
    return True
