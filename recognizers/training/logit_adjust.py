"""Logit adjustment: decide as if every label were equally likely, whatever the training set's label shares.

A digit model trains on about fifteen times more ``_unknown_`` clips than clips of each digit, so its head
learns that prior, and a new voice's unsure digit falls to ``_unknown_`` (docs/unseen-speakers.md: every
miss of the speech-embedding digit folds is a digit called ``_unknown_``). Subtracting ``tau * log(prior)``
from each class's output bias removes the learned prior (Menon et al., "Long-tail learning via logit
adjustment", ICLR 2021). The prior is the label's *effective* share of the training loss: its clip count
(synthetic negatives included) times its class weight (``--class-weights sqrt``: 1/sqrt of its count).

It changes only the head's bias, so every path that runs the model (offline, streaming, the app, export)
decides the same way with no new setting to carry; ``model.json``'s ``training.logit_adjustment`` records the
counts, priors, ``tau`` and the shift, and applying it twice is refused.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from recognizers.errors import VaultError

__all__ = ["adjust_head", "bias_shift", "effective_priors", "training_counts"]


def effective_priors(counts: Mapping[str, int], labels: list[str], class_weights: str = "none") -> np.ndarray:
    """Each label's share of the training loss: ``count * weight``, normalised (``labels`` order)."""
    c = np.array([max(float(counts.get(lab, 0)), 1.0) for lab in labels])
    if class_weights == "sqrt":
        from recognizers.training.loop import sqrt_class_weights  # the weights training used
        c = c * sqrt_class_weights(c)
    elif class_weights not in ("", "none"):
        raise VaultError(f"class_weights {class_weights!r}: 'none' or 'sqrt'")
    return c / c.sum()


def bias_shift(priors: np.ndarray, tau: float) -> np.ndarray:
    """``-tau * log(prior)``, centred so the shifts average zero (only their differences matter)."""
    s = -tau * np.log(priors)
    return s - s.mean()


@torch.no_grad()
def adjust_head(net: torch.nn.Module, meta: dict, counts: Mapping[str, int], tau: float) -> dict:
    """Shift ``net``'s head bias by :func:`bias_shift` in place; returns the record for ``meta["training"]``.

    ``meta`` is the model's metadata (labels, ``training.config.class_weights``); a model already adjusted is
    refused, so a shift is never applied twice.
    """
    if not tau > 0:
        raise VaultError(f"logit adjustment tau {tau}: must be > 0")
    training = meta.get("training") or {}
    if training.get("logit_adjustment"):
        raise VaultError(f"{meta.get('name', 'model')}: its logits are already adjusted "
                         f"(tau {training['logit_adjustment'].get('tau')})")
    labels = list(meta["labels"])
    weights = str((training.get("config") or {}).get("class_weights", "none"))
    priors = effective_priors(counts, labels, weights)
    shift = bias_shift(priors, tau)
    net.head.bias += torch.as_tensor(shift, dtype=net.head.bias.dtype, device=net.head.bias.device)
    return {"tau": tau, "class_weights": weights,
            "counts": {lab: int(counts.get(lab, 0)) for lab in labels},
            "priors": {lab: round(float(p), 5) for lab, p in zip(labels, priors)},
            "bias_shift": {lab: round(float(s), 4) for lab, s in zip(labels, shift)}}


def training_counts(meta: dict, extensions: tuple[str, ...] | None = None) -> dict[str, int]:
    """Per-label counts of the items a model trained on: ``training.train_per_label`` when recorded, else
    rebuilt from its training record the way training split it (the data folder, excluded and validation
    groups, split seed), with the synthetic negatives counted as the label they trained as
    (``training.negatives_label``; older models: the unknown label). ``extensions``: the files the task reads
    (default: the model's task's)."""
    training = meta.get("training") or {}
    if training.get("train_per_label"):
        return {k: int(v) for k, v in training["train_per_label"].items()}
    from dataclasses import fields

    from recognizers.data.dataset_ops import task_extensions
    from recognizers.data.datasets import scan_dataset
    from recognizers.training.loop import TrainConfig, training_split, without_excluded
    data = training.get("data")
    if not data:
        raise VaultError(f"{meta.get('name', 'model')}: no training record to count its labels from")
    known = {f.name for f in fields(TrainConfig)}
    config = TrainConfig(**{k: v for k, v in (training.get("config") or {}).items() if k in known})
    examples = without_excluded(scan_dataset(data, extensions or task_extensions(meta.get("task", "speech"))), config)
    train_ex, _, _ = training_split(examples, config)
    counts: dict[str, int] = {lab: 0 for lab in meta.get("labels") or []}     # as train_per_label: every label
    for e in train_ex:
        counts[e.label] = counts.get(e.label, 0) + 1
    unk = training.get("negatives_label") or meta.get("unknown_label")    # older models: the unknown label
    if unk:
        counts[unk] = counts.get(unk, 0) + int(training.get("synthetic_negatives", 0))
    if len(train_ex) != training.get("n_train", len(train_ex)):
        raise VaultError(f"{data}: {len(train_ex)} training files now, the model's record says "
                         f"{training.get('n_train')}; the data changed since it trained")
    return counts
