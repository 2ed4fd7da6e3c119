"""Accuracy, per-class accuracy, confusion matrices, and word alignment counts (substitutions, deletions,
insertions)."""
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


def align_counts(ref: list[str], hyp: list[str]) -> tuple[int, int, int]:
    """(substitutions, deletions, insertions) of the minimum edit distance alignment."""
    n, m = len(ref), len(hyp)
    d = np.zeros((n + 1, m + 1), np.int64)
    d[:, 0] = np.arange(n + 1)
    d[0, :] = np.arange(m + 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            d[i, j] = min(d[i - 1, j - 1] + (ref[i - 1] != hyp[j - 1]), d[i - 1, j] + 1, d[i, j - 1] + 1)
    s = dl = ins = 0
    i, j = n, m
    while i > 0 or j > 0:
        if i > 0 and j > 0 and d[i, j] == d[i - 1, j - 1] + (ref[i - 1] != hyp[j - 1]):
            s += ref[i - 1] != hyp[j - 1]
            i, j = i - 1, j - 1
        elif i > 0 and d[i, j] == d[i - 1, j] + 1:
            dl += 1
            i -= 1
        else:
            ins += 1
            j -= 1
    return int(s), int(dl), int(ins)
