"""What a modality gives the training loop: the ``TaskData`` protocol, and the built-in speech and gesture tasks.

The loop (:mod:`recognizers.training.loop`) knows nothing about audio or hands: reading files, augmentation,
features and synthetic negatives all come from a ``TaskData`` (:class:`recognizers.data.speech.SpeechTaskData`,
:class:`recognizers.data.gestures.GestureTaskData`).
"""
from __future__ import annotations

import functools
import inspect
from typing import Any, Protocol

import numpy as np

from recognizers.data.datasets import Example

__all__ = ["TaskData", "augmented_features", "make_task_data"]


class TaskData(Protocol):
    task: str
    extensions: tuple[str, ...]
    spec_augment: bool

    @property
    def frontend_json(self) -> dict: ...

    def load(self, example: Example) -> Any: ...

    # A task may also accept a keyword ``label`` (the example's label name; the unknown label for synthetic
    # negatives) for label-conditional augmentation: training passes it, via augmented_features, only to
    # tasks whose ``features`` has that parameter (the gesture task does; speech does not).
    def features(self, raw: Any, rng: np.random.Generator | None = None) -> np.ndarray: ...

    def synthetic_negative(self, rng: np.random.Generator) -> Any: ...


@functools.lru_cache(maxsize=None)
def _features_take_label(task_type: type) -> bool:
    try:
        return "label" in inspect.signature(task_type.features).parameters
    except (TypeError, ValueError):
        return False


def augmented_features(task: TaskData, raw: Any, rng: np.random.Generator, label: str | None) -> np.ndarray:
    """``task.features(raw, rng)``, with ``label=label`` added if the task's ``features`` accepts it."""
    if label is not None and _features_take_label(type(task)):
        return task.features(raw, rng, label=label)
    return task.features(raw, rng)



SPEECH_FRONTENDS = ("logmel", "speech-embedding")


def make_task_data(task: str, f_max: float | None = None, frontend: str = "logmel",
                   context_prob: float = 0.0) -> TaskData:
    """The built-in task for ``"speech"`` (log-mel, optional highest mel frequency ``f_max`` in Hz; or
    ``frontend="speech-embedding"``, the pretrained embedding, whose augmented clips a share ``context_prob`` of
    gets an earlier clip's end before it) or ``"gesture"`` (hand landmarks)."""
    if task == "speech":
        from recognizers.data.speech import SpeechAugmentConfig, SpeechTaskData
        if frontend == "speech-embedding":
            from recognizers.frontends.speech_embedding import SpeechEmbeddingConfig
            return SpeechTaskData(frontend=SpeechEmbeddingConfig(),
                                  augmentation=SpeechAugmentConfig(context_prob=context_prob))
        from recognizers.frontends.log_mel import LogMelConfig
        fe = LogMelConfig() if f_max is None else LogMelConfig(f_max_hz=f_max)
        fe.validate()
        return SpeechTaskData(frontend=fe)
    from recognizers.data.gestures import GestureTaskData
    return GestureTaskData()
