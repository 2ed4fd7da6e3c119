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
