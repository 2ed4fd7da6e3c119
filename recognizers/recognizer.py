"""Offline recognition with a loaded model: file -> features -> probabilities, labels, traces.

Used by ``predict``, ``eval`` and ``trace``; the live path is :mod:`recognizers.streaming`, and both run
the same frontend and network.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from recognizers.errors import VaultError
from recognizers.frontends.registry import frontend_config, make_frontend
from recognizers.model_files import LoadedModel

# Below one step of 16-bit audio nothing was recorded: a file like that holds no word, and what the network
# says about a constant log-floor input it never trained on is arbitrary, so it gets the unknown label.
SILENCE_PEAK = 1.0 / 32768
_NO_SIGNAL: dict[str, Callable[[Any], bool]] = {
    "speech": lambda x: x.size == 0 or float(np.max(np.abs(x))) < SILENCE_PEAK,
}


# Clip classification of speech starts on a short lead-in of near-silence (model.json "decoder" ->
# "lead_silence_s"; trained models get DEFAULT_LEAD_SILENCE_S, older files 0). Training clips have 0-250 ms of
# silence before the word and a live stream always has sound before a word, so the LSTM meets a word's onset in
# a state that has heard background; a clip trimmed to the word (FSDD, trimmed recordings) would otherwise
# start on the cold zero state. Leave-one-speaker-out on FSDD: 76.0 -> 81.3 % (README).
DEFAULT_LEAD_SILENCE_S = 0.2
# ... and is read a little after its end ("tail_silence_s" of the same near-silence after it): training clips end
# with 0-250 ms of silence, and live words are classified 80 ms after their last voiced frame, so the decision frame
# has heard the word's end. Read on the clip's own last frame, a word trimmed tight (FSDD) is decided before the
# network has heard all of it. digits-en's recipe without theo, on his takes 3-49: 87.0 -> 98.1 %; commands-en on
# its 19 validation speakers 96.8 -> 97.9 % (docs/unseen-speakers.md, session 12).
DEFAULT_TAIL_SILENCE_S = 0.1
LEAD_DITHER = 1e-5      # the level of the dither training adds to clean clips


def lead_silence(n_samples: int) -> np.ndarray:
    """``n_samples`` of near-silence (fixed seed: a clip's prediction is reproducible)."""
    rng = np.random.default_rng(0)
    return (LEAD_DITHER * rng.standard_normal(max(0, n_samples))).astype(np.float32)


def _decoder_number(model: LoadedModel, decoder: Any, key: str, lo: float, hi: float) -> float:
    """``decoder[key]`` (0 when absent) checked to be a number in ``[lo, hi]``; else a clear error."""
    value = decoder.get(key, 0.0) if isinstance(decoder, dict) else None
    try:
        x = float(value if value is not None else "nan")
    except (TypeError, ValueError):
        x = float("nan")
    if not lo <= x <= hi:
        raise VaultError(f"{model.path}: model.json decoder.{key} must be a number from {lo:g} to {hi:g}, "
                         f"got {value!r}")
    return x


def load_input(task: str, path: str | os.PathLike, frontend: dict) -> Any:
    """The raw input the task's frontend accepts: speech samples at the frontend's rate, or gesture landmarks
    ``(time, 2, 21, 3)`` from a landmark file, a video or a folder of images."""
    path = Path(path)
    if task == "speech":
        from recognizers.io.audio import load_audio
        return load_audio(path, int(frontend.get("sample_rate_hz", 16000)))
    if task == "gesture":
        from recognizers.data.landmark_files import load_gesture_input
        return load_gesture_input(path, frontend)
    raise VaultError(f"no file reader for {task} models")


@dataclass
class Prediction:
    label: str
    confidence: float
    top: list[tuple[str, float]]
    rejected: bool = False


class Recognizer:
    def __init__(self, model: LoadedModel):
        self.model = model
        self.labels = model.labels
        self.unknown = model.unknown_label
        decoder = model.meta.get("decoder") or {}
        self.reject_threshold = _decoder_number(model, decoder, "reject_threshold", 0.0, 1.0)
        speech = model.task == "speech"
        self.lead_silence_s = _decoder_number(model, decoder, "lead_silence_s", 0.0, 5.0) if speech else 0.0
        self.tail_silence_s = _decoder_number(model, decoder, "tail_silence_s", 0.0, 5.0) if speech else 0.0
        self.device = next(model.network.parameters()).device

    def features(self, raw: Any) -> np.ndarray:
        fe = make_frontend(self.model.frontend_config)
        return fe.push(raw)

    def features_from_file(self, path: str | os.PathLike) -> np.ndarray:
        return self.features(load_input(self.model.task, path, self.model.frontend_config))

    @torch.no_grad()
    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """Class probabilities after the last frame; ``(classes,)``."""
        if features.shape[0] == 0:
            p = np.zeros(len(self.labels), np.float32)
            if self.unknown is not None:
                p[self.labels.index(self.unknown)] = 1.0
            else:
                p[:] = 1.0 / len(self.labels)
            return p
        x = torch.from_numpy(np.ascontiguousarray(features, np.float32))[None].to(self.device)
        logits, _, _ = self.model.network(x)
        return torch.softmax(logits[0, -1], -1).cpu().numpy()

    def decide(self, probs: np.ndarray, k: int = 3) -> Prediction:
        order = np.argsort(-probs)
        top = [(self.labels[j], float(probs[j])) for j in order[:k]]
        label, conf = top[0]
        rejected = False
        if self.unknown is not None and label != self.unknown and conf < self.reject_threshold:
            label, rejected = self.unknown, True
        return Prediction(label, conf, top, rejected)

    def predict_file(self, path: str | os.PathLike, k: int = 3) -> Prediction:
        raw = load_input(self.model.task, path, self.model.frontend_config)
        no_signal = _NO_SIGNAL.get(self.model.task)
        if no_signal is not None and (no_signal(raw) or self._shorter_than_a_frame(raw)):
            nothing = np.zeros((0, self.model.network.arch.input_size), np.float32)
            return self.decide(self.probabilities(nothing), k)
        return self.decide(self.probabilities(self.features(self.padded(raw))), k)

    def _shorter_than_a_frame(self, raw: Any) -> bool:
        """A clip too short for one analysis frame holds no word, lead-in or not."""
        return self.lead_silence_s > 0 and np.size(raw) < frontend_config(self.model.frontend_config).span_length

    def with_lead_in(self, raw: Any) -> Any:
        """A speech clip with the model's lead-in of near-silence before it (unchanged when there is none)."""
        return self._with_silence(raw, self.lead_silence_s, before=True)

    def padded(self, raw: Any) -> Any:
        """A speech clip as it is classified: the lead-in before it and the tail of near-silence after it."""
        return self._with_silence(self.with_lead_in(raw), self.tail_silence_s, before=False)

    def _with_silence(self, raw: Any, seconds: float, before: bool) -> Any:
        if seconds <= 0:
            return raw
        rate = int(self.model.frontend_config.get("sample_rate_hz", 16000))
        quiet = lead_silence(int(round(seconds * rate)))
        return np.concatenate([quiet, raw] if before else [raw, quiet])

    @torch.no_grad()
    def trace(self, features: np.ndarray) -> dict[str, np.ndarray]:
        """The normalised network input and every gate of every layer, each ``(time, …)``."""
        if features.shape[0] == 0:
            raise VaultError("the input is too short to give a single feature frame; nothing to trace")
        net = self.model.network
        x = torch.from_numpy(np.ascontiguousarray(features, np.float32))[None].to(self.device)
        xn = net.normalize(x)
        logits, _, traces = net(xn, trace=True, normalized=True)
        out = {"input": xn[0].cpu().numpy(), "probabilities": torch.softmax(logits[0], -1).cpu().numpy()}
        for k, tr in enumerate(traces):
            for name, v in tr.as_dict().items():
                out[f"layer{k}_{name}"] = v[0].cpu().numpy()
        return out
