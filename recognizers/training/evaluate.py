"""Evaluate a model on a labelled folder: every file counts, unreadable ones as wrong."""
from __future__ import annotations

import os
from typing import Callable

from recognizers import metrics
from recognizers.data.datasets import scan_dataset
from recognizers.data.durations import EVAL_MAX_SECONDS, check_input_seconds
from recognizers.errors import VaultError
from recognizers.model_files import LoadedModel
from recognizers.recognizer import Recognizer

UNREADABLE = "<unreadable>"


def _extensions(task: str) -> tuple[str, ...]:
    if task == "speech":
        from recognizers.io.extensions import AUDIO_EXTENSIONS
        return AUDIO_EXTENSIONS
    from recognizers.io.extensions import LANDMARK_EXTENSIONS as GESTURE_FILE_EXTENSIONS
    return GESTURE_FILE_EXTENSIONS


def true_label(label: str, model: LoadedModel) -> str:
    """Map a folder's label to the model's: itself, an alias (``zero`` -> ``0``), or the unknown label."""
    if label in model.labels:
        return label
    alias = model.meta.get("label_aliases", {}).get(label)
    if alias in model.labels:
        return alias
    if model.unknown_label is not None:
        return model.unknown_label
    return label


def evaluate(model: LoadedModel, data_dir: str | os.PathLike,
             progress: Callable[[int, int], None] | None = None,
             max_seconds: float = EVAL_MAX_SECONDS, option: str = "--max-seconds") -> dict:
    """Accuracy and confusion of ``model`` on ``data_dir``. A file longer than ``max_seconds`` (from its
    header, before decoding: one 3-hour file would take 8 GB of features) counts as unreadable, like a file
    that cannot be read; ``r["errors"]`` holds one line naming each."""
    examples = scan_dataset(data_dir, _extensions(model.task))
    fps = float(model.frontend_config.get("fps", 30.0)) if model.task == "gesture" else 30.0
    rec = Recognizer(model)
    labels = list(model.labels)
    truths, preds, errors = [], [], []
    for j, e in enumerate(examples):
        t = true_label(e.label, model)
        if t not in labels:
            labels.append(t)
        try:
            check_input_seconds(e.path, model.task, max_seconds, option, fps=fps)
            p = rec.predict_file(e.path).label
        except VaultError as exc:
            errors.append(str(exc))
            p = UNREADABLE
            if p not in labels:
                labels.append(p)
        truths.append(labels.index(t))
        preds.append(labels.index(p))
        if progress:
            progress(j + 1, len(examples))
    r = metrics.report(truths, preds, labels)
    r["errors"] = errors
    r["model"] = str(model.path)
    r["data"] = str(data_dir)
    return r
