"""Digit strings without pauses for connected-digit (CTC) training and benchmarks: a pool of one-word clips
per speaker (:class:`DigitPool`) joined into strings of one speaker (:func:`make_sequence`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from recognizers.data import augment
from recognizers.frontends.log_mel import LogMel
from recognizers.io.audio import load_audio
from recognizers.io.extensions import AUDIO_EXTENSIONS

__all__ = ["DIGITS", "DIGIT_WORDS", "OTHER", "DigitPool", "SequenceShape", "features_of", "finish_sequence",
           "make_sequence",
           "voiced_part"]

DIGITS = [str(d) for d in range(10)]
OTHER = "_other_"          # DigitPool key of words that are not digits
DIGIT_WORDS = {w: str(i) for i, w in enumerate("zero one two three four five six seven eight nine".split())}


def voiced_part(x: np.ndarray, sample_rate_hz: int, floor_db: float = 35.0, margin_s: float = 0.02) -> np.ndarray:
    """The clip from its first to its last 10 ms frame within ``floor_db`` of the loudest one (± margin)."""
    hop = max(1, sample_rate_hz // 100)
    n = x.size // hop
    if n < 2:
        return x
    e = 10 * np.log10(np.mean(x[:n * hop].reshape(n, hop).astype(np.float64) ** 2, axis=1) + 1e-12)
    on = np.flatnonzero(e >= e.max() - floor_db)
    m = int(margin_s * sample_rate_hz)
    return x[max(0, on[0] * hop - m):min(x.size, (on[-1] + 1) * hop + m)]


@dataclass
class DigitPool:
    """Voiced parts of digit clips, by speaker and digit (peak-normalised to 0.5)."""

    clips: dict[str, dict[str, list[np.ndarray]]] = field(default_factory=dict)

    @property
    def speakers(self) -> list[str]:
        """Speakers with at least one digit."""
        return sorted(s for s, d in self.clips.items() if any(k in DIGITS for k in d))

    def n_clips(self) -> int:
        return sum(len(v) for d in self.clips.values() for k, v in d.items() if k in DIGITS)

    def others(self) -> list[np.ndarray]:
        return [x for d in self.clips.values() for x in d.get(OTHER, [])]

    @classmethod
    def from_folder(cls, data_dir: str | Path, sample_rate_hz: int, groups: set[str] | None = None,
                    exclude: set[str] = frozenset(), other_words: bool = False) -> "DigitPool":
        """Digits ``0``..``9`` (or ``zero``..``nine``) by speaker; with ``other_words``, every other label's
        clips too, under :data:`OTHER` (words the model must not read as digits)."""
        from recognizers.data.datasets import scan_dataset
        from recognizers.data.durations import check_training_clip
        pool = cls()
        for e in scan_dataset(data_dir, AUDIO_EXTENSIONS):
            label = DIGIT_WORDS.get(e.label, e.label)
            group = e.group or e.path.stem
            if group in exclude or (groups is not None and group not in groups):
                continue
            if label not in DIGITS:
                if not other_words:
                    continue
                label = OTHER
            check_training_clip(e.path, "speech")      # a clip over 60 s is refused from its header (memory)
            x = voiced_part(load_audio(e.path, sample_rate_hz), sample_rate_hz)
            peak = float(np.max(np.abs(x))) if x.size else 0.0
            if peak > 0:
                pool.clips.setdefault(group, {}).setdefault(label, []).append((x / peak * 0.5).astype(np.float32))
        return pool


class SequenceShape(Protocol):
    """What :func:`make_sequence` needs of a config (:class:`recognizers.training.ctc.ConnectedConfig` has it)."""

    min_digits: int
    max_digits: int
    gap_ms: tuple[float, float]
    lead_s: tuple[float, float]


def make_sequence(pool: DigitPool, speakers: list[str], rng: np.random.Generator, sample_rate_hz: int,
                  cfg: SequenceShape, augmented: bool) -> tuple[np.ndarray, list[str]]:
    """One speaker's digit string without pauses: ``(samples, digits)``."""
    sr = sample_rate_hz
    spk = speakers[int(rng.integers(len(speakers)))]
    have = sorted(k for k in pool.clips[spk] if k in DIGITS)
    n = int(rng.integers(cfg.min_digits, cfg.max_digits + 1))
    digits = [have[int(rng.integers(len(have)))] for _ in range(n)]
    out = np.zeros(int(rng.uniform(*cfg.lead_s) * sr), np.float32)
    for k, d in enumerate(digits):
        options = pool.clips[spk][d]
        x = options[int(rng.integers(len(options)))]
        if augmented:
            x = augment.speed_perturb(x, float(rng.uniform(0.9, 1.1))) * np.float32(10 ** (rng.uniform(-3, 3) / 20))
        if k:
            gap = int(rng.uniform(*cfg.gap_ms) / 1000 * sr)
            if gap >= 0:
                out = np.concatenate([out, np.zeros(gap, np.float32)])
            else:                                   # overlap: cross-fade the join
                ov = min(-gap, out.size, x.size)
                fade = np.linspace(0, 1, ov, dtype=np.float32)
                x = x.copy()
                x[:ov] = x[:ov] * fade + out[out.size - ov:] * (1 - fade)
                out = out[:out.size - ov]
        out = np.concatenate([out, x])
    out = np.concatenate([out, np.zeros(int(rng.uniform(*cfg.lead_s) * sr), np.float32)])
    return finish_sequence(out, rng, sr, augmented), digits


def finish_sequence(x: np.ndarray, rng: np.random.Generator, sr: int, augmented: bool) -> np.ndarray:
    """The end of every training string: with ``augmented``, a random level and noise; always a faint dither."""
    if augmented:
        x = x * np.float32(10 ** (rng.uniform(-24, 3) / 20))
        if rng.random() < 0.7:
            x = augment.add_noise(x, rng, float(rng.uniform(5, 40)))
    return np.clip(x + 1e-5 * rng.standard_normal(x.size).astype(np.float32), -1, 1).astype(np.float32)


def features_of(logmel: LogMel, x: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
    warp = float(rng.uniform(0.9, 1.1)) if rng is not None else 1.0
    if x.size < logmel.config.span_length:
        x = np.concatenate([x, np.zeros(logmel.config.span_length - x.size, np.float32)])
    with torch.inference_mode():
        return logmel.mel_from_power(logmel.power(x), warp).numpy()
