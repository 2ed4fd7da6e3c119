"""Summaries of gate traces for displays: saturation fractions as in Karpathy, Johnson & Fei-Fei (2015),
"Visualizing and Understanding Recurrent Networks", Fig. 5 (left- vs right-saturated gates per unit)."""
from __future__ import annotations

import numpy as np

SIGMOID_GATES = ("i", "f", "o")


def saturation_fractions(values: np.ndarray, low: float = 0.1, high: float = 0.9
                         ) -> tuple[np.ndarray, np.ndarray]:
    """For gate activations ``(time, units)`` return per-unit fractions of time below ``low``
    (left-saturated) and above ``high`` (right-saturated). NaN rows (no data yet) are ignored; a unit with
    no data gets 0."""
    v = np.asarray(values, dtype=np.float32)
    if v.ndim != 2:
        raise ValueError(f"expected (time, units), got shape {v.shape}")
    valid = np.isfinite(v)
    n = np.maximum(valid.sum(axis=0), 1)
    with np.errstate(invalid="ignore"):
        below = ((v < low) & valid).sum(axis=0) / n
        above = ((v > high) & valid).sum(axis=0) / n
    return below.astype(np.float32), above.astype(np.float32)
