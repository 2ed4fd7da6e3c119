"""Connected digits: greedy CTC decoding of a stream (``ConnectedTranscriber``), for digit strings spoken
without pauses.

The single-word transcriber needs a pause (≥ 150 ms) between words, because each word is cut out by the
voice activity detector and classified on its own. Here the network itself says where the digits are:
trained with the connectionist temporal classification loss (Graves et al. 2006; :mod:`recognizers.training.ctc`)
it outputs per frame either a digit or *blank*, and a digit is read where a run of frames with that label ends.
The blank is the digit model's ``_unknown_`` output, so the app's probability bars keep their meaning ("nothing
/ noise"). :func:`recognizers.decoders.make_decoder` picks this decoder for models whose ``model.json`` says
``decoder.type = "ctc"``; ``python -m recognizers.bench.connected`` measures it on speakers the model never saw.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from recognizers.decoders.vad import VadConfig, VoiceActivityDetector
from recognizers.errors import DatasetError
from recognizers.events import DecodedStep, RecognitionEvent
from recognizers.model_files import UNKNOWN_LABEL, LoadedModel
from recognizers.streaming import StreamingRecognizer, StreamStep, merge_steps

__all__ = ["ConnectedDecoderConfig", "ConnectedTranscriber", "ctc_greedy", "is_ctc_model"]


def is_ctc_model(model: LoadedModel) -> bool:
    return str((model.meta.get("decoder") or {}).get("type", "")) == "ctc"


def ctc_greedy(probs: np.ndarray, blank: int) -> list[tuple[int, int, int, float]]:
    """Greedy CTC decoding of ``(frames, classes)``: ``(class, first frame, last frame, max prob)`` for each
    run of frames whose most probable class is the same non-blank class."""
    best = probs.argmax(axis=1)
    out, start = [], 0
    for t in range(1, best.size + 1):
        if t == best.size or best[t] != best[start]:
            if best[start] != blank:
                out.append((int(best[start]), start, t - 1, float(probs[start:t, best[start]].max())))
            start = t
    return out


@dataclass
class ConnectedDecoderConfig:
    min_confidence: float | None = None  # None: model.json's decoder.reject_threshold, else 0.5
    reset_after_ms: float = 500.0       # zero the LSTM state after this much silence (as training starts)
    max_string_ms: float = 15000.0
    heard_within_ms: float = 400.0      # a digit needs the detector active this recently (a unidirectional
                                        # network places a digit at its end, the last one after the voice)


class ConnectedTranscriber:
    """Streaming decoder for CTC digit models.

    The model's frames go to the network and to the voice activity detector. A digit is read where its
    run of frames ends; it comes out when the detector closes the stretch of sound it belongs to and
    accepts it (about 0.1 s after a string ends: the detector's hangover), so a steady tone or a
    music-like note that the network mistakes for a digit is dropped with its stretch. After
    ``reset_after_ms`` of silence the LSTM state is zeroed, so the network starts every utterance the
    way it was trained."""

    def __init__(self, model: LoadedModel, config: ConnectedDecoderConfig | None = None, trace: bool = True,
                 device: str | None = None):
        if not is_ctc_model(model):
            raise DatasetError(f"{model.name}: not a connected-digit (CTC) model")
        self.model = model
        self.config = config or ConnectedDecoderConfig()
        self.recognizer = StreamingRecognizer(model, trace=trace, device=device)
        fe = self.recognizer.frontend.config
        self.sample_rate_hz = int(fe.sample_rate_hz)
        # a digit string is one long "word" to the detector: no 1.5 s limit on it
        self.vad = VoiceActivityDetector(VadConfig(hop_ms=fe.hop_ms, max_word_ms=self.config.max_string_ms))
        self.blank = model.labels.index((model.meta.get("decoder") or {}).get("blank", UNKNOWN_LABEL))
        thr = self.config.min_confidence
        if thr is None:
            thr = float((model.meta.get("decoder") or {}).get("reject_threshold", 0.0) or 0.0) or 0.5
        self.min_confidence = thr
        self._hop_s = fe.hop_length / fe.sample_rate_hz
        self._span_s = fe.span_length / fe.sample_rate_hz
        self._reset_frames = int(round(self.config.reset_after_ms / 1000 / self._hop_s))
        self._heard_frames = int(round(self.config.heard_within_ms / 1000 / self._hop_s))
        self.reset()

    def reset(self) -> None:
        self.recognizer.reset()
        self.vad.reset()
        self._frame = 0
        self._run: tuple[int, int, float] | None = None     # (class, first frame, max prob) of the open run
        self._quiet = 0
        self._heard = False                                  # VAD active since the last state reset
        self._held: list[tuple[RecognitionEvent, int]] = []  # digits waiting for their stretch's verdict
        self._last_seg: tuple[int, bool] | None = None       # (end frame, accepted) of the last stretch

    def push(self, samples: Any) -> DecodedStep:
        frames = self.recognizer.frontend.push(np.asarray(samples, np.float32).reshape(-1))
        return self.push_frames(frames)

    def push_frames(self, frames: np.ndarray) -> DecodedStep:
        steps: list[StreamStep] = []
        heard_now: list[bool] = []       # per frame: the detector active now or within heard_within_ms
        cuts: list[int] = []             # frames before which the LSTM state is zeroed
        decided = []                     # segments the detector closed during this push
        for i in range(frames.shape[0]):
            decided += self.vad.push(frames[i:i + 1]).segments
            if self.vad.active:
                self._quiet, self._heard = 0, True
            else:
                self._quiet += 1
                if self._quiet >= self._reset_frames and self._heard:
                    cuts.append(i)
                    self._heard = False
            heard_now.append(self.vad.active or self._quiet <= self._heard_frames)
        start = 0
        for stop in cuts + [frames.shape[0]]:
            if stop > start:
                step = self.recognizer.push_features(frames[start:stop])
                steps.append(step)
                for k, p in enumerate(step.probabilities):
                    self._advance(self._frame + start + k, p, heard_now[start + k])
            if stop < frames.shape[0]:          # a long silence: start afresh, as training did
                if self._run is not None:
                    self._close(self._frame + stop - 1, heard_now[stop])
                self.recognizer.reset_state()
            start = stop
        self._frame += frames.shape[0]
        events = self._release(decided)
        step = merge_steps(steps, self.recognizer.frames_done, self.recognizer.frontend.feature_size,
                           len(self.model.labels))
        return DecodedStep(step, events, self.vad.active or self._run is not None or bool(self._held))

    def _release(self, decided: list) -> list[RecognitionEvent]:
        """Digits whose stretch of sound the detector has accepted (long enough, and not a steady tone or
        note: see :mod:`recognizers.decoders.vad`) come out; those under a rejected stretch, or under none, are
        dropped. A digit belongs to the stretch during which its run ends (or within ``heard_within_ms``
        after it, when no later stretch has begun)."""
        out: list[RecognitionEvent] = []
        for seg in decided:
            keep = []
            for ev, last in self._held:
                if last <= seg.end_frame + self._heard_frames and not self._in_open_segment(last):
                    if seg.accepted and last >= seg.start_frame:
                        out.append(ev)
                else:
                    keep.append((ev, last))
            self._held = keep
            self._last_seg = (seg.end_frame, seg.accepted)
        if not self.vad.active:         # runs ending after the last stretch closed
            keep = []
            for ev, last in self._held:
                if self._last_seg is not None and last <= self._last_seg[0] + self._heard_frames:
                    if self._last_seg[1]:
                        out.append(ev)
                elif self._frame - 1 - last <= self._heard_frames:
                    keep.append((ev, last))        # a stretch may still begin
            self._held = keep
        return out

    def _in_open_segment(self, last: int) -> bool:
        start = self.vad.word_start
        return start is not None and last >= start

    def _advance(self, t: int, p: np.ndarray, heard: bool) -> None:
        best = int(p.argmax())
        if self._run is not None and best != self._run[0]:
            self._close(t - 1, heard)
        if best != self.blank:
            if self._run is None:
                self._run = (best, t, float(p[best]))
            else:
                self._run = (best, self._run[1], max(self._run[2], float(p[best])))

    def _close(self, last: int, heard: bool) -> None:
        """End the open run at frame ``last``: a digit, held until its stretch of sound is accepted, if it
        is confident and the detector heard something within ``heard_within_ms``."""
        label, first, conf = self._run
        self._run = None
        if conf >= self.min_confidence and heard:
            ev = RecognitionEvent(self.model.labels[label], first * self._hop_s, last * self._hop_s + self._span_s,
                                  conf)
            self._held.append((ev, last))

    def flush(self) -> list[RecognitionEvent]:
        """End of stream: close the open run and the open stretch; the digits they hold come out."""
        if self._run is not None:
            self._close(self._frame - 1, self.vad.active or self._quiet <= self._heard_frames)
        return self._release(self.vad.finish().segments)
