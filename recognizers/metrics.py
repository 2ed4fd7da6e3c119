"""Accuracy, per-class accuracy and confusion matrices."""
from __future__ import annotations

import numpy as np


def confusion_matrix(true: list[int], pred: list[int], n: int) -> np.ndarray:
    """``m[t, p]`` counts examples of true class ``t`` predicted as ``p``."""
    m = np.zeros((n, n), dtype=np.int64)
    for t, p in zip(true, pred):
        m[t, p] += 1
    return m


def report(true: list[int], pred: list[int], labels: list[str]) -> dict:
    m = confusion_matrix(true, pred, len(labels))
    n = int(m.sum())
    per_class = {labels[k]: (float(m[k, k] / m[k].sum()) if m[k].sum() else None) for k in range(len(labels))}
    return {"accuracy": float(np.trace(m) / n) if n else 0.0, "n": n, "labels": list(labels),
            "confusion": m.tolist(), "per_class_accuracy": per_class,
            "per_class_n": {labels[k]: int(m[k].sum()) for k in range(len(labels))}}


def format_report(r: dict) -> str:
    labels = r["labels"]
    w = max(6, max(len(x) for x in labels) + 1)
    lines = [f"accuracy {r['accuracy'] * 100:.2f}% on {r['n']} files"]
    if r.get("errors"):
        lines.append(f"{len(r['errors'])} unreadable files counted as wrong")
    lines.append("per class:")
    for lab in labels:
        acc = r["per_class_accuracy"][lab]
        lines.append(f"  {lab:<{w}} {'-' if acc is None else f'{acc * 100:6.2f}%'}  (n={r['per_class_n'][lab]})")
    lines.append("confusion (rows true, columns predicted):")
    lines.append(" " * (w + 2) + "".join(f"{lab[:5]:>6}" for lab in labels))
    for lab, row in zip(labels, r["confusion"]):
        lines.append(f"  {lab:<{w}}" + "".join(f"{v:>6}" for v in row))
    return "\n".join(lines)
