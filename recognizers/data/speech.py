"""Speech examples for training: decoding, augmentation and features (the speech TaskData).

Two frontends: log-mel (augmented in the waveform and in the filterbank, recomputed for every epoch) and the
pretrained speech embedding (:mod:`recognizers.frontends.speech_embedding`). An embedding costs about 30 ms per
clip on one core, so for that frontend most epochs reuse each clip's clean embedding (memoised in memory, with a
random 0-250 ms of trailing silence and small Gaussian noise in embedding space), and only a share
``audio_prob`` (15 %) of the clips is augmented in the waveform (speed, gain, noise) and embedded afresh.
"""
from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

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
    # speech-embedding frontend only (see the module docstring)
    audio_prob: float = 0.15
    embedding_noise: float = 0.1     # noise sigma = this x 3.0 (0.3: ~5 % of a value's spread, std ~6)
    # speech-embedding, waveform-augmented clips only: this share is preceded by the end of an earlier training
    # clip and a pause, as words in a stream are (the embedding's 0.78 s window still hears the previous word when
    # the live transcriber starts a new one); the network sees the clip from 2 frames before it, as live
    context_prob: float = 0.0
    context_s: tuple[float, float] = (0.1, 0.7)     # how much of the earlier clip's end
    context_gap_s: tuple[float, float] = (0.15, 0.8)  # the pause after it (the live benchmark's pauses)


@dataclass
class SpeechTaskData:
    """Implements the TaskData protocol used by :mod:`recognizers.training.loop` for speech."""

    frontend: Any = field(default_factory=LogMelConfig)   # LogMelConfig or SpeechEmbeddingConfig
    augmentation: SpeechAugmentConfig = field(default_factory=SpeechAugmentConfig)
    task: str = "speech"
    extensions: tuple[str, ...] = AUDIO_EXTENSIONS
    spec_augment: bool = True

    def __post_init__(self):
        self._embedding = getattr(self.frontend, "type", "logmel") == "speech-embedding"
        if self._embedding:
            from recognizers.frontends.speech_embedding import StreamingSpeechEmbedding
            self._stream = StreamingSpeechEmbedding(self.frontend)
            self._memo: OrderedDict[bytes, np.ndarray] = OrderedDict()
            self._recent: list[np.ndarray] = []      # earlier clips, for context_prob
            self.spec_augment = False
        else:
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

    def _embed(self, x: np.ndarray) -> np.ndarray:
        if x.size < self.frontend.hop_length:      # at least one frame
            x = np.concatenate([x, np.zeros(self.frontend.hop_length - x.size, np.float32)])
        self._stream.reset()
        return self._stream.push(x)

    def _embedding_features(self, raw: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        if rng is None:
            return self._embed(raw)
        a = self.augmentation
        sr = self.frontend.sample_rate_hz
        earlier = self._recent[int(rng.integers(0, len(self._recent)))] if self._recent else None
        if a.context_prob > 0:       # a pool of 64 earlier clips, each new one replacing a random one
            if len(self._recent) < 64:
                self._recent.append(raw)
            else:
                self._recent[int(rng.integers(0, 64))] = raw
        if rng.random() < a.audio_prob:
            x = augment.speed_perturb(raw, float(rng.uniform(*a.speed_range)))
            x = augment.pad_silence(x, rng, sr, a.pad_max_s)
            start = 0
            if earlier is not None and rng.random() < a.context_prob:
                tail = earlier[-max(1, int(rng.uniform(*a.context_s) * sr)):]
                tail = tail * np.float32(10 ** (rng.uniform(-12.0, 0.0) / 20))
                gap = np.zeros(int(rng.uniform(*a.context_gap_s) * sr), np.float32)
                start = tail.size + gap.size
                x = np.concatenate([tail.astype(np.float32), gap, x])
            x = x * 10 ** (rng.uniform(*a.gain_db_range) / 20)
            if rng.random() < a.noise_prob:
                x = augment.add_noise(x, rng, float(rng.uniform(*a.snr_db_range)))
            feats = self._embed(np.clip(x, -1, 1).astype(np.float32))
            if start:
                hop = self.frontend.hop_length
                feats = feats[min(max(0, (start - 2 * hop) // hop), feats.shape[0] - 1):]
        else:
            key = hashlib.blake2b(np.ascontiguousarray(raw, np.float32).tobytes(), digest_size=16).digest()
            padded = self._memo.get(key)
            if padded is None:
                padded = self._embed(np.concatenate([raw, np.zeros(int(a.pad_max_s * sr), np.float32)]))
                self._memo[key] = padded
                if len(self._memo) > 200_000:       # about 1 GB of 1 s clips; a bound, not expected
                    self._memo.popitem(last=False)
            extra = padded.shape[0] - self._stream_frames(raw.size)
            keep = padded.shape[0] - extra + int(rng.integers(0, max(extra, 0) + 1))
            feats = padded[:max(keep, 1)]
        if a.embedding_noise > 0:
            feats = feats + (a.embedding_noise * 3.0 * rng.standard_normal(feats.shape)).astype(np.float32)
        return feats

    def _stream_frames(self, n_samples: int) -> int:
        return n_samples // self.frontend.hop_length

    def features(self, raw: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """``(frames, feature_size)`` features (log-mel or embeddings); augmented when ``rng`` is given."""
        if self._embedding:
            return self._embedding_features(raw, rng)
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
