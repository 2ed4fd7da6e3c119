"""Gesture spotting: a continuous landmark stream -> gesture events with start/end times and confidence.

Method: a sliding window re-classified every few frames, with hysteresis.

The gesture models are trained like the speech models, on whole short clips (arman: 30 frames) starting
from a zeroed LSTM state and classified at their last frame. A continuous camera stream has no clip
boundaries, and an LSTM that runs on from the previous gesture, or from minutes of idle hands, sees
states it never saw in training. So, every ``hop_frames`` frames, the spotter re-runs the network from a
zero state over the last ``window_frames`` frames (the training clip length): exactly the situation the
model was trained for, whenever a gesture fills the window. This costs one short forward pass (about a
millisecond for a 2x64 LSTM over 30 frames) every few frames, and its state never grows.

Window posteriors are noisy at gesture boundaries, so a gesture is reported only when the same label wins
``min_hits`` consecutive evaluations with at least ``min_confidence`` and is not the model's unknown label
("no gesture", trained on still, drifting and absent hands); it ends after ``release_misses`` evaluations
without it. The event spans from the start of the first supporting window (but not before the hands
appeared) to the end of the last one; its confidence is the mean winning probability over the support.
After an event the same label is suppressed until the window has slid past it, so one performance gives
one event. Windows in which hands are tracked in fewer than ``min_present`` of the frames are not
classified at all: absent hands produce nothing.

For the live view, the :class:`StreamingRecognizer` in ``self.recognizer`` also runs every frame (with
gate traces) and its LSTM state is zeroed when hands appear and after each event, so what the app plots
is the network on the current gesture, not on an unbounded history.
"""
from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass

import numpy as np
import torch

from recognizers.errors import VaultError
from recognizers.events import DecodedStep, RecognitionEvent
from recognizers.frontends.landmarks import as_two_hand_frames, hand_geometry
from recognizers.frontends.registry import make_frontend
from recognizers.model_files import LoadedModel
from recognizers.streaming import StreamingRecognizer, merge_steps

DEFAULT_WINDOW_FRAMES = 30
DEFAULT_MIN_CONFIDENCE = 0.7


@dataclass
class GestureSpotterConfig:
    """Decoder settings, in frames of the model's frame rate. ``window_frames``/``min_confidence`` None:
    from ``model.json``'s ``decoder`` (``window_frames``, ``reject_threshold`` if above 0), else 30 / 0.7."""

    window_frames: int | None = None
    hop_frames: int = 2
    min_confidence: float | None = None
    min_hits: int = 2
    release_misses: int = 2
    min_present: float = 0.6

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class _Segment:
    label: int
    first_hit: int
    last_hit: int
    confidences: list


class GestureSpotter:
    """Streaming gesture decoder for any gesture model folder (labels from ``model.json``)."""

    def __init__(self, model: LoadedModel, config: GestureSpotterConfig | None = None, trace: bool = True,
                 device: str | None = None):
        if model.task != "gesture":
            raise VaultError(f"{model.name}: is a {model.task} model; gesture spotting needs a gesture model")
        self.model = model
        self.config = cfg = config or GestureSpotterConfig()
        self.recognizer = StreamingRecognizer(model, trace=trace, device=device)
        self.fps = self.recognizer.frames_per_second
        self.labels = list(model.labels)
        self.unknown_index = self.labels.index(model.unknown_label) if model.unknown_label in self.labels else None
        dec = model.meta.get("decoder", {}) or {}
        self.window_frames = int(cfg.window_frames or dec.get("window_frames") or DEFAULT_WINDOW_FRAMES)
        thr = cfg.min_confidence
        if thr is None:
            thr = float(dec.get("reject_threshold", 0.0) or 0.0) or DEFAULT_MIN_CONFIDENCE
        self.min_confidence = float(thr)
        if self.window_frames < 2 or cfg.hop_frames < 1 or cfg.min_hits < 1 or cfg.release_misses < 1:
            raise VaultError(f"gesture spotter settings out of range: {cfg.to_json()}")
        self._window_frontend = make_frontend(model.frontend_config)
        self.reset()

    def reset(self) -> None:
        self.recognizer.reset()
        self._window: deque = deque(maxlen=self.window_frames)
        self._present: deque = deque(maxlen=self.window_frames)
        self._frame = 0               # index of the next frame
        self._hands_since = None      # frame at which the hands (re)appeared
        self._segment: _Segment | None = None
        self._misses = 0
        self._suppress: dict[int, int] = {}
        self.last_window_probabilities: np.ndarray | None = None

    @property
    def active(self) -> bool:
        return self._segment is not None and len(self._segment.confidences) >= self.config.min_hits

    def push(self, block) -> DecodedStep:
        """Push one frame ``(2, 21, 3)`` (or several ``(T, 2, 21, 3)``); returns the network's step for
        those frames and the gesture events that ended with them."""
        frames = as_two_hand_frames(block, self.recognizer.frontend.config.single_hand)
        steps, events = [], []
        present_any = hand_geometry(frames)[0].any(1) if frames.shape[0] else np.zeros(0, bool)
        for frame, present in zip(frames, present_any):
            if present and self._hands_since is None:
                self._hands_since = self._frame
                self.recognizer.reset_state()
            elif not present and not any(self._present):
                self._hands_since = None
            steps.append(self.recognizer.push(frame))
            self._window.append(frame)
            self._present.append(bool(present))
            self._frame += 1
            if self._frame % self.config.hop_frames == 0:
                events += self._evaluate()
        return DecodedStep(merge_steps(steps, self._frame, self.recognizer.frontend.feature_size, len(self.labels)),
                           events, self.active)

    def flush(self) -> list[RecognitionEvent]:
        """End of stream: report a gesture still in progress."""
        events = self._close()
        self._segment, self._misses = None, 0
        return events

    @torch.no_grad()
    def window_probabilities(self) -> np.ndarray | None:
        """Class probabilities of the current window from a zero state, or None when too few hands."""
        n = len(self._window)
        if n < max(2, self.window_frames // 2) or np.mean(self._present) < self.config.min_present:
            return None
        self._window_frontend.reset()
        feats = self._window_frontend.push(np.stack(self._window))
        net = self.model.network
        x = torch.from_numpy(feats)[None].to(self.recognizer.device)
        logits, _, _ = net(x)
        return torch.softmax(logits[0, -1], -1).cpu().numpy()

    def _evaluate(self) -> list[RecognitionEvent]:
        probs = self.window_probabilities()
        self.last_window_probabilities = probs
        now = self._frame - 1
        hit = None
        if probs is not None:
            k = int(np.argmax(probs))
            if k != self.unknown_index and probs[k] >= self.min_confidence and now >= self._suppress.get(k, -1):
                hit = k
        events: list[RecognitionEvent] = []
        seg = self._segment
        if seg is not None and hit == seg.label:
            seg.last_hit = now
            seg.confidences.append(float(probs[hit]))
            self._misses = 0
            return events
        if seg is not None:
            self._misses += 1
            if self._misses < self.config.release_misses and hit is None:
                return events
            events = self._close()
        if hit is not None:
            first = now - len(self._window) + 1
            if self._hands_since is not None:
                first = max(first, self._hands_since)
            self._segment = _Segment(hit, max(0, first), now, [float(probs[hit])])
            self._misses = 0
        return events

    def _close(self) -> list[RecognitionEvent]:
        seg, self._segment, self._misses = self._segment, None, 0
        if seg is None or len(seg.confidences) < self.config.min_hits:
            return []
        self._suppress[seg.label] = seg.last_hit + self.window_frames // 2
        self.recognizer.reset_state()
        return [RecognitionEvent(self.labels[seg.label], seg.first_hit / self.fps, (seg.last_hit + 1) / self.fps,
                                 float(np.mean(seg.confidences)))]
