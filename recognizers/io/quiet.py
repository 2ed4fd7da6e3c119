"""Keeping native libraries quiet around our one-line errors.

libmpg123 (inside libsndfile), FFmpeg (inside OpenCV) and MediaPipe's C++ logging write warnings straight
to file descriptor 2 ("Note: Illegal Audio-MPEG-Header ...", "[mp3float @ 0x...] ..."), bypassing Python,
so a damaged MP3 printed four lines before our one. :func:`native_stderr_silenced` points fd 2 at
``/dev/null`` while such a library decodes and restores it afterwards. While it is in effect, *any* thread's
writes to fd 2 are dropped too (the decode of one file takes milliseconds), which is why it wraps only the
decode calls, never our own messages. :func:`native_chatter_filtered` instead keeps fd 2 for the length of
a hand-tracking run and drops only MediaPipe's own start-up and log lines from it.
"""
from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
import time
from typing import Iterator

LATE_LINES_S = 0.3          # how long a failed filtered block waits for other threads' last lines
_lock = threading.RLock()   # re-entrant: a decode silenced inside a filtered tracking run


@contextlib.contextmanager
def _fd2_kept() -> Iterator[int | None]:
    """A duplicate of fd 2, put back onto fd 2 and closed when the block ends (None, and nothing done, where fd 2
    cannot be duplicated, e.g. an embedded interpreter without a stderr)."""
    with _lock:
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError, AttributeError):
            yield None
            return
        try:
            yield saved
        finally:
            with contextlib.suppress(OSError, ValueError, AttributeError):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Silence fd 2 (native libraries' warnings) for the duration of the block; a no-op where fd 2 cannot be
    duplicated (e.g. an embedded interpreter without a stderr)."""
    with _fd2_kept() as saved:
        if saved is not None:
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, 2)
            finally:
                os.close(devnull)
        yield


# What MediaPipe, TFLite and absl print on fd 2 while hands are tracked: start-up chatter and notes about the
# graph, all at INFO/WARNING level ("INFO: Created TensorFlow Lite XNNPACK delegate for CPU.", "WARNING: All
# log messages before absl::InitializeLog() ...", "W0000 00:00:... inference_feedback_manager.cc:114] ...",
# "W0000 ... landmark_projection_calculator.cc:186] ..." at the first frame with a hand), and FFmpeg's notes
# on frames it decodes ("[h264 @ 0x...] ..."). Error (E) and fatal (F) log lines are kept.
NATIVE_CHATTER = re.compile(
    rb"^(INFO: |WARNING: All log messages before absl::InitializeLog\(\)"
    rb"|[IW]\d{4} [\d:.]+ +\d+ [\w./-]+:\d+\] "
    rb"|\[[\w ,.-]+ @ 0x[0-9a-fA-F]+\] )")


# When the block fails, MediaPipe's own error report of the same failure (an absl E/F line and its continuation
# lines) is dropped too: the caller's one-line error names it ("MediaPipe hand tracking failed: Failed to load
# resource: ...").
NATIVE_ERROR_DETAIL = re.compile(
    rb"^([EF]\d{4} [\d:.]+ +\d+ [\w./-]+:\d+\] |Calculator::Open\(\) for node |Can't find file: )")


@contextlib.contextmanager
def native_chatter_filtered(pattern: re.Pattern[bytes] = NATIVE_CHATTER) -> Iterator[None]:
    """Collect fd 2 in a temporary file for the duration of the block, then write back every line that does
    not match ``pattern`` (MediaPipe's start-up and INFO/WARNING log lines by default).

    For a whole tracking run, where MediaPipe logs from its own threads at unpredictable frames (the first
    frame, the first frame with a hand), so that a silence around one call is not enough. Nothing else is
    lost: our own messages, Python warnings and other libraries' lines come out after the block, in order.
    Not for long-lived use (the app), since fd 2 output is delayed until the block ends."""
    import tempfile
    with _fd2_kept() as saved:
        if saved is None:
            yield
            return
        try:
            buffer = tempfile.TemporaryFile()
        except OSError:
            yield
            return
        with buffer:
            os.dup2(buffer.fileno(), 2)
            failed = False
            try:
                yield
            except BaseException:
                # a failing native library (MediaPipe's graph) may still be logging from its own threads: give
                # those lines a moment to land in the buffer; our one-line error says what they say
                failed = True
                time.sleep(LATE_LINES_S)
                raise
            finally:
                with contextlib.suppress(OSError, ValueError, AttributeError):
                    sys.stderr.flush()
                os.dup2(saved, 2)
                buffer.seek(0)
                kept = [line for line in buffer.read().splitlines(keepends=True)
                        if not pattern.match(line) and not (failed and NATIVE_ERROR_DETAIL.match(line))]
                if kept:
                    with contextlib.suppress(OSError):
                        os.write(2, b"".join(kept))
