"""Speech examples for training: decoding, augmentation and log-mel features (the speech TaskData)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from recognizers.data import augment
from recognizers.data.datasets import Example
from recognizers.frontends.log_mel import LogMel, LogMelConfig
from recognizers.io.audio import load_audio
from recognizers.io.extensions import AUDIO_EXTENSIONS


@dataclass
class SpeechAugmentConfig:
    speed_range: tuple[float, float] = (0.85, 1.15)
    warp_range: tuple[float, float] = (0.88, 1.12)
    gain_db_range: tuple[float, float] = (-36.0, 6.0)
    tempo_range: tuple[float, float] = (0.75, 1.4)
    noise_prob: float = 0.7
    snr_db_range: tuple[float, float] = (5.0, 40.0)
    pad_max_s: float = 0.25


@dataclass
class SpeechTaskData:
    """Implements the TaskData protocol used by :mod:`recognizers.training.loop` for speech."""

    frontend: LogMelConfig = field(default_factory=LogMelConfig)
    augmentation: SpeechAugmentConfig = field(default_factory=SpeechAugmentConfig)
    task: str = "speech"
    extensions: tuple[str, ...] = AUDIO_EXTENSIONS
    spec_augment: bool = True

    def __post_init__(self):
        self._logmel = LogMel(self.frontend)

    @property
    def frontend_json(self) -> dict:
        return self.frontend.to_json()

    def load(self, example: Example) -> np.ndarray:
        x = load_audio(example.path, self.frontend.sample_rate_hz)
        peak = float(np.max(np.abs(x))) if x.size else 0.0
        if peak > 0:  # level differences are re-introduced by augmentation
            x = x / peak * 0.5
        return x

    def synthetic_negative(self, rng: np.random.Generator) -> np.ndarray:
        return augment.synthetic_non_speech(rng, self.frontend.sample_rate_hz)

    def features(self, raw: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """``(frames, n_mels)`` log-mel features; augmented when ``rng`` is given."""
        x = raw
        warp = 1.0
        if rng is not None:
            a = self.augmentation
            x = augment.speed_perturb(x, float(rng.uniform(*a.speed_range)))
            x = augment.pad_silence(x, rng, self.frontend.sample_rate_hz, a.pad_max_s)
            x = x * 10 ** (rng.uniform(*a.gain_db_range) / 20)
            if rng.random() < a.noise_prob:
                x = augment.add_noise(x, rng, float(rng.uniform(*a.snr_db_range)))
            else:
                x = x + 1e-5 * rng.standard_normal(x.size).astype(np.float32)
            x = np.clip(x, -1, 1).astype(np.float32)
            warp = float(rng.uniform(*a.warp_range))
        if x.size < self.frontend.span_length:
            x = np.concatenate([x, np.zeros(self.frontend.span_length - x.size, np.float32)])
        feats = self._logmel.mel_from_power(self._logmel.power(x), warp).numpy()
        if rng is not None:
            lo, hi = self.augmentation.tempo_range
            feats = augment.time_stretch(feats, float(np.exp(rng.uniform(np.log(lo), np.log(hi)))))
        return feats
