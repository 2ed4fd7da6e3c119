"""How long an input is, read from its header before anything is decoded or tracked, and the per-file limits
that keep ``predict``, ``trace``, ``gestures``, ``eval`` and training in bounded memory and time.

* speech files: frames / sample rate from the audio header (libsndfile reads only the header);
* videos: ``CAP_PROP_FRAME_COUNT`` / ``CAP_PROP_FPS`` from the container (OpenCV opens it, decodes nothing);
  a container that does not say is left to the tracker, which stops once the limit is passed;
* image folders: the number of images at the model's frame rate;
* landmark ``.npz`` files: not read here (a file holds at most ``MAX_FRAMES`` frames, 50 MB; the loader
  checks the length after reading).

Unreadable headers give ``None``: the reader then says why in one line.
"""
from __future__ import annotations

import os
from pathlib import Path

from recognizers.errors import VaultError
from recognizers.io.safe_text import safe_text

__all__ = ["EVAL_MAX_SECONDS", "TRAIN_MAX_SECONDS", "check_input_seconds", "check_training_clip", "declared_seconds",
           "format_seconds"]

# Offline features of one clip take about 40 MB per minute over the process's ~0.7 GB: 10 minutes peak at
# about 1.1 GB (docs/hostile-inputs.md), well under the 2 GB a command may take.
EVAL_MAX_SECONDS = 600.0
# Training pads a batch to its longest clip and keeps every gate of every step for the backward pass
# (4 x hidden floats per layer, step and clip): one 60 s clip in a batch of 32 at 128 units is about 0.8 GB.
# Classification clips are words or gestures of a few seconds; a longer file is skipped as unreadable.
TRAIN_MAX_SECONDS = 60.0


def declared_seconds(path: str | os.PathLike, task: str, fps: float = 30.0) -> float | None:
    """The length of ``path`` in seconds as its header declares it, or None when the header does not say
    (or cannot be read, or the input is a landmark file). ``fps`` is the model's frame rate (image folders)."""
    p = Path(path)
    try:
        if task == "speech":
            import soundfile as sf

            from recognizers.io.quiet import native_stderr_silenced
            with native_stderr_silenced():
                info = sf.info(str(p) if os.name == "nt" else os.fsencode(p))
            return float(info.frames) / float(info.samplerate) if info.samplerate > 0 else None
        if task != "gesture":
            return None
        if p.is_dir():
            from recognizers.io.extensions import IMAGE_EXTENSIONS
            n = sum(1 for q in p.iterdir() if q.suffix.lower() in IMAGE_EXTENSIONS)
            return n / float(fps) if fps > 0 else None
        from recognizers.io.extensions import VIDEO_EXTENSIONS
        if p.suffix.lower() in VIDEO_EXTENSIONS and p.is_file():
            from recognizers.io.video import VideoFile
            return VideoFile(p, default_fps=fps).declared_seconds
    except VaultError:
        return None
    except Exception:   # noqa: BLE001 - an unreadable header: the reader gives the one-line reason
        return None
    return None


def check_input_seconds(path: str | os.PathLike, task: str, max_seconds: float, option: str = "--max-seconds",
                        fps: float = 30.0, hint: str = "trim it or raise the limit") -> None:
    """VaultError (one line naming the file) if the header of ``path`` declares more than ``max_seconds``."""
    seconds = declared_seconds(path, task, fps)
    if seconds is not None and seconds > max_seconds:
        raise VaultError(f"{safe_text(path)}: {format_seconds(seconds)} s is longer than {option} {max_seconds:g}; "
                         f"{hint}")


def format_seconds(seconds: float) -> str:
    """``1.3`` or ``3600``: a tenth where it matters next to a limit of a few seconds."""
    return f"{seconds:.1f}" if seconds < 100 else f"{seconds:.0f}"


def check_training_clip(path: str | os.PathLike, task: str, max_seconds: float = TRAIN_MAX_SECONDS) -> None:
    """VaultError if a training file's header declares more than ``max_seconds`` (the loops skip the file as
    unreadable and report it)."""
    check_input_seconds(path, task, max_seconds, "the training clip limit of", hint="a training example is one word "
                        "or gesture; split long recordings first")
