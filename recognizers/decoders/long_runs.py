"""Runs of speech too long for one word, read by a connected-digit (CTC) model (issue 16, item 8).

People say "three seven one nine" in one breath. The isolated-word :class:`~recognizers.decoders.words.Transcriber`
hears that as one run of speech longer than any word (its VAD's ``max_word_ms``) and takes nothing from it. When
the word model has a *companion* — a CTC model with the same frontend whose words are all words of the model
(``digits-connected-en`` for ``digits-en``) — such a run is kept (at most ``max_run_s``) and, when it ends, read
by the companion, offline on the same log-mel frames, from a zeroed state as it was trained. Its digits come out
as ordinary events with stream times.

:func:`find_companion` looks for that model beside the word model and among the shipped models.
"""
from __future__ import annotations

from collections import deque
from pathlib import Path

import numpy as np

from recognizers.decoders.ctc import ConnectedTranscriber, is_ctc_model
from recognizers.errors import VaultError
from recognizers.events import RecognitionEvent
from recognizers.model_files import LoadedModel, load_model, read_meta

__all__ = ["LongRunReader", "SHIPPED_MODELS", "find_companion", "fits_companion"]

SHIPPED_MODELS = Path(__file__).resolve().parents[2] / "assets" / "models"


def _words(model_labels: list[str], meta: dict) -> set[str]:
    blank = (meta.get("decoder") or {}).get("blank", "_unknown_")
    return {lab for lab in model_labels if lab != blank and not lab.startswith("_")}


def fits_companion(model: LoadedModel, meta: dict) -> bool:
    """True when ``meta`` (a ``model.json``) is a CTC speech model that can read ``model``'s long runs: the same
    sample rate (the same frontend, or one of its own run on the same samples), and every word it can say is one
    of ``model``'s labels."""
    decoder = meta.get("decoder") or {}
    if meta.get("task") != "speech" or decoder.get("type") != "ctc":
        return False
    fe, own = dict(meta.get("frontend") or {}), dict(model.frontend_config)
    # the same frontend, or its own frontend on the same samples (read by LongRunReader from the samples)
    if fe != own and fe.get("sample_rate_hz", 16000) != own.get("sample_rate_hz", 16000):
        return False
    words = _words(list(meta.get("labels") or []), meta)
    return bool(words) and words <= set(model.labels)


def find_companion(model: LoadedModel, device: str | None = None) -> LoadedModel | None:
    """The connected-digit model that reads ``model``'s too-long runs, or None: a model folder beside
    ``model``'s, else one of the shipped models (sorted by name; the first that fits). A folder that cannot be
    read is skipped: the companion is a help, never a reason to fail."""
    if model.task != "speech" or is_ctc_model(model):
        return None
    places: list[Path] = []
    if model.path is not None:
        places.append(Path(model.path).resolve().parent)
    if SHIPPED_MODELS.is_dir() and SHIPPED_MODELS.resolve() not in places:
        places.append(SHIPPED_MODELS.resolve())
    own = Path(model.path).resolve() if model.path is not None else None
    for place in places:
        try:
            folders = sorted(p for p in place.iterdir() if (p / "model.json").is_file())
        except OSError:
            continue
        for folder in folders:
            if own is not None and folder.resolve() == own:
                continue
            try:
                if fits_companion(model, read_meta(folder)):
                    return load_model(folder, device=device)
            except (VaultError, OSError, ValueError):
                continue
    return None


class LongRunReader:
    """Keeps the last ``max_run_s`` of frames; reads a run that the word VAD called too long with ``companion``.

    Frame indices are the word decoder's stream indices. ``begin(first)`` when the run is found too long,
    ``read(last)`` when it ends (or is at ``max_run_s``): the companion's words between ``first - pre_roll``
    and ``last``, as events in stream seconds.
    """

    def __init__(self, companion: LoadedModel, hop_s: float, pre_roll: int, max_run_s: float = 12.0,
                 device: str | None = None, frontend: dict | None = None):
        if not is_ctc_model(companion):
            raise VaultError(f"{companion.name}: not a connected-digit (CTC) model; it cannot read long runs")
        self.companion = companion
        self.decoder = ConnectedTranscriber(companion, trace=False, device=device)
        self.hop_s = float(hop_s)
        self.pre_roll = int(pre_roll)
        self.max_frames = max(1, int(round(max_run_s / self.hop_s)))
        # ``frontend`` (the word model's) differs from the companion's: the last ``max_run_s`` (+ pre-roll) of
        # *samples* are kept (push_samples), and a run is read by the companion's own frontend when it is read
        # (nothing is computed for the companion while no run is open)
        self.own_frontend = frontend is not None and dict(frontend) != dict(companion.frontend_config)
        if self.own_frontend:
            from recognizers.frontends.registry import make_frontend
            self.frontend = make_frontend(companion.frontend_config)
            self.rate = int(self.frontend.config.sample_rate_hz)
            self.max_samples = int(round((self.max_frames + self.pre_roll) * self.hop_s * self.rate))
        self.reset()

    def reset(self) -> None:
        if self.own_frontend:
            self.own_blocks: deque[np.ndarray] = deque()
            self.own_total = 0               # samples pushed since reset
            self.own_kept = 0                # samples held in own_blocks (the newest; bounded by max_samples)
        else:
            self.history = deque(maxlen=self.max_frames + self.pre_roll)
        self.pushed = 0                  # frames appended since reset (stream index of the next frame)
        self.first: int | None = None    # start of the open too-long run
        self.runs_read = 0

    def push_samples(self, samples: np.ndarray) -> None:
        """The stream's samples (only when the companion has its own frontend)."""
        if not self.own_frontend:
            return
        x = np.array(samples, dtype=np.float32).reshape(-1)
        self.own_blocks.append(x)
        self.own_total += x.size
        self.own_kept += x.size
        while self.own_kept - self.own_blocks[0].size >= self.max_samples:
            self.own_kept -= self.own_blocks.popleft().size

    @property
    def open(self) -> bool:
        return self.first is not None

    def append(self, frame: np.ndarray) -> None:
        if not self.own_frontend:
            self.history.append(frame)
        self.pushed += 1

    def begin(self, first: int) -> None:
        if self.first is None:
            self.first = int(first)

    def full(self) -> bool:
        """The open run has reached ``max_run_s``: read it now (a longer one is read piece by piece)."""
        return self.first is not None and self.pushed - self.first >= self.max_frames

    def read(self) -> list[RecognitionEvent]:
        """Read the open run up to the latest frame; closes it."""
        if self.first is None:
            return []
        if self.own_frontend:
            oldest = self.own_total - self.own_kept
            start = max(int(round(max(self.first - self.pre_roll, 0) * self.hop_s * self.rate)), oldest)
            self.first = None
            if self.own_total - start <= 0:
                return []
            x = np.concatenate(list(self.own_blocks))[start - oldest:]
            self.frontend.reset()
            frames = self.frontend.push(x)
            if frames.shape[0] == 0:
                return []
            offset = start / self.rate
        else:
            oldest = self.pushed - len(self.history)
            start = max(self.first - self.pre_roll, oldest)
            self.first = None
            if self.pushed - start <= 0:
                return []
            frames = np.stack(list(self.history)[start - oldest:])
            offset = start * self.hop_s
        d = self.decoder
        d.reset()
        events = list(d.push_frames(frames).events) + d.flush()
        self.runs_read += 1
        return [RecognitionEvent(e.label, e.start_s + offset, e.end_s + offset, e.confidence) for e in events]
