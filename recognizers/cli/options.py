"""Checks of command-line options that argparse's types let through (``inf``, ``nan``, ``cuda:99``), so that
every bad option is one line and exit 2, never a traceback from deep inside torch. No torch at import."""
from __future__ import annotations

import math

from recognizers.errors import VaultError
from recognizers.io.safe_text import safe_text


def finite_number(option: str, value: float, low: float | None = None, high: float | None = None,
                  low_open: bool = False) -> float:
    """``value`` if it is a finite number within ``[low, high]`` (``(low, high]`` with ``low_open``)."""
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise VaultError(f"{option} {safe_text(value)}: must be a finite number")
    if low is not None and (value <= low if low_open else value < low):
        raise VaultError(f"{option} {value:g}: must be {'above' if low_open else 'at least'} {low:g}")
    if high is not None and value > high:
        raise VaultError(f"{option} {value:g}: must be at most {high:g}")
    return float(value)


def device(name: str):
    """``recognizers.training.loop.resolve_device`` plus the checks it leaves to torch: a CUDA index that
    exists (``cuda:99`` on a one-GPU machine) and a well-formed name (``cuda:x``)."""
    import torch

    from recognizers.training.loop import resolve_device
    if not isinstance(name, str) or not name or not name.isprintable() or len(name) > 32:
        raise VaultError(f"--device {safe_text(name)!r}: use auto, cpu, cuda, cuda:N or mps")
    if name.startswith("cuda:"):
        index = name[5:]
        if not index.isdigit():
            raise VaultError(f"--device {safe_text(name)}: expected cuda:N with N a GPU number")
        n = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if int(index) >= n:
            raise VaultError(f"--device {name}: this machine has {n} CUDA GPU{'s' if n != 1 else ''}"
                             + (f" (cuda:0..cuda:{n - 1})" if n else "; use --device cpu or auto"))
    return resolve_device(name)


def check_input_duration(path, task: str, max_seconds: float, option: str = "--max-seconds",
                         fps: float = 30.0) -> None:
    """Refuse an input longer than ``max_seconds`` from its header, before it is decoded or tracked: offline
    features of a whole speech clip take about 40 MB per minute (a 3-hour file would need 8 GB), and a video
    is tracked frame by frame. Speech files, videos (the container's frame count and rate) and image folders
    are checked here; headers that cannot be read are left to the reader, which says why
    (:func:`recognizers.data.durations.check_input_seconds`)."""
    from recognizers.data.durations import check_input_seconds
    hint = ("trim it or raise the limit" + (" (or use 'lstm-vault transcribe', which streams)"
                                            if task == "speech" else ""))
    check_input_seconds(path, task, max_seconds, option, fps=fps, hint=hint)
