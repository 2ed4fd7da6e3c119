"""Keeping native libraries quiet around our one-line errors.

libmpg123 (inside libsndfile), FFmpeg (inside OpenCV) and MediaPipe's C++ logging write warnings straight
to file descriptor 2 ("Note: Illegal Audio-MPEG-Header ...", "[mp3float @ 0x...] ..."), bypassing Python,
so a damaged MP3 printed four lines before our one. :func:`native_stderr_silenced` points fd 2 at
``/dev/null`` while such a library decodes and restores it afterwards. While it is in effect, *any* thread's
writes to fd 2 are dropped too (the decode of one file takes milliseconds), which is why it wraps only the
decode calls, never our own messages.
"""
from __future__ import annotations

import contextlib
import os
import sys
import threading
from typing import Iterator

_lock = threading.Lock()


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Silence fd 2 (native libraries' warnings) for the duration of the block; a no-op where fd 2 cannot be
    duplicated (e.g. an embedded interpreter without a stderr)."""
    with _lock:
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError, AttributeError):
            yield
            return
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, 2)
            finally:
                os.close(devnull)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
