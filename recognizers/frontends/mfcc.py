"""MFCC frontend (``"type": "mfcc"`` in ``model.json``): librosa's MFCC convention, streamed.

The coefficients are those of ``librosa.feature.mfcc(S=librosa.power_to_db(mel, top_db=None), n_mfcc=...)``
with ``mel = librosa.feature.melspectrogram(y, center=False, ...)``: a periodic Hann window of ``win_length``
centred in ``n_fft`` samples, the power spectrum, librosa's Slaney mel filterbank (``librosa.filters.mel``),
``10 log10(max(1e-10, power))`` dB and an orthonormal DCT-II (``scipy.fft.dct``, which librosa calls).
``top_db`` clipping is left out on purpose: it is relative to the loudest frame of the *whole* input, so
a stream could not know it; without it every frame depends only on its own samples.

Frame ``k`` covers samples ``[k * hop, k * hop + span)`` with ``span = max(win, n_fft)`` as in
:mod:`recognizers.frontends.log_mel`; a stream pushed in blocks of any size yields exactly the frames of
one offline push (tested), as soon as their last sample arrives. NumPy only: no torch on this path.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import numpy as np

from recognizers.errors import ModelFileError
from recognizers.frontends.log_mel import MAX_HOP_MS, MAX_WIN_MS, MIN_HOP_MS

AMIN = 1e-10     # librosa.power_to_db's floor


@dataclass(frozen=True)
class MfccConfig:
    """Settings of the MFCC frontend (``model.json`` ``frontend``); times in ms, frequencies in Hz."""

    sample_rate_hz: int = 16000
    win_ms: float = 25.0
    hop_ms: float = 10.0
    n_fft: int = 512
    n_mels: int = 40
    n_mfcc: int = 13
    f_min_hz: float = 20.0
    f_max_hz: float = 4000.0

    type: str = "mfcc"

    @property
    def win_length(self) -> int:
        return int(round(self.sample_rate_hz * self.win_ms / 1000))

    @property
    def hop_length(self) -> int:
        return int(round(self.sample_rate_hz * self.hop_ms / 1000))

    @property
    def span_length(self) -> int:
        return max(self.win_length, self.n_fft)

    @property
    def feature_size(self) -> int:
        return self.n_mfcc

    @property
    def frames_per_second(self) -> float:
        return self.sample_rate_hz / self.hop_length

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> "MfccConfig":
        if not isinstance(d, dict) or d.get("type", "mfcc") != "mfcc":
            raise ModelFileError(f"frontend type {d.get('type') if isinstance(d, dict) else d!r} is not 'mfcc'")
        unknown = set(d) - {f.name for f in fields(cls)}
        if unknown:
            raise ModelFileError(f"unknown MFCC frontend settings: {sorted(unknown)}")
        try:
            cfg = cls(**d)
        except TypeError as exc:
            raise ModelFileError(f"bad MFCC frontend settings: {exc}") from None
        cfg.validate()
        return cfg

    def validate(self) -> None:
        ints = ("sample_rate_hz", "n_fft", "n_mels", "n_mfcc")
        nums = ("win_ms", "hop_ms", "f_min_hz", "f_max_hz")
        if (not all(isinstance(getattr(self, k), int) and not isinstance(getattr(self, k), bool) for k in ints)
                or not all(isinstance(getattr(self, k), (int, float)) and not isinstance(getattr(self, k), bool)
                           and math.isfinite(getattr(self, k)) for k in nums)):
            raise ModelFileError(f"MFCC frontend settings of the wrong type: {self.to_json()}")
        # the log-mel frontend's bounds on memory and time (docs/hostile-inputs.md)
        if not MIN_HOP_MS <= self.hop_ms <= MAX_HOP_MS:
            raise ModelFileError(f"MFCC hop_ms {self.hop_ms} is outside {MIN_HOP_MS}..{MAX_HOP_MS} ms")
        if not 0 < self.win_ms <= MAX_WIN_MS or self.n_fft > MAX_WIN_MS / 1000 * self.sample_rate_hz * 1.5:
            raise ModelFileError(f"MFCC window {self.win_ms} ms / n_fft {self.n_fft} is longer than "
                                 f"{MAX_WIN_MS:.0f} ms at {self.sample_rate_hz} Hz")
        ok = (8000 <= self.sample_rate_hz <= 96000 and 1 <= self.n_mels <= 256 and 1 <= self.n_mfcc <= self.n_mels
              and 0 < self.hop_length <= self.win_length <= self.n_fft <= 8192
              and 0 <= self.f_min_hz < self.f_max_hz <= self.sample_rate_hz / 2)
        if not ok:
            raise ModelFileError(f"inconsistent MFCC frontend settings: {self.to_json()}")


class StreamingMfcc:
    """``push(samples)`` any block size -> ``(new_frames, n_mfcc)`` float32; ``offline_features`` is one push."""

    def __init__(self, config: MfccConfig | None = None):
        import librosa
        self.config = c = config or MfccConfig()
        window = librosa.filters.get_window("hann", c.win_length, fftbins=True)
        self._window = librosa.util.pad_center(window, size=c.n_fft).astype(np.float64)
        self._mel_fb = librosa.filters.mel(sr=c.sample_rate_hz, n_fft=c.n_fft, n_mels=c.n_mels, fmin=c.f_min_hz,
                                           fmax=c.f_max_hz).T.astype(np.float64)      # (n_fft/2 + 1, n_mels)
        self._buf = np.zeros(0, np.float32)
        self.frames_emitted = 0

    @property
    def feature_size(self) -> int:
        return self.config.n_mfcc

    def reset(self) -> None:
        self._buf = np.zeros(0, np.float32)
        self.frames_emitted = 0

    def push(self, samples: np.ndarray) -> np.ndarray:
        c = self.config
        buf = np.concatenate([self._buf, np.asarray(samples, np.float32).reshape(-1)])
        n = 0 if buf.size < c.span_length else (buf.size - c.span_length) // c.hop_length + 1
        if n == 0:
            self._buf = buf
            return np.zeros((0, c.n_mfcc), np.float32)
        out = mfcc_frames(buf[:(n - 1) * c.hop_length + c.span_length], c, self._window, self._mel_fb)
        self._buf = buf[n * c.hop_length:]
        self.frames_emitted += n
        return out


def mfcc_frames(samples: np.ndarray, config: MfccConfig, window: np.ndarray, mel_fb: np.ndarray) -> np.ndarray:
    """Every complete frame of ``samples`` -> ``(frames, n_mfcc)`` (each frame computed on its own, so any
    split of a stream into pushes gives the same numbers)."""
    import scipy.fft
    c = config
    left = (c.span_length - c.n_fft) // 2      # win > n_fft is refused by validate, so this is 0
    frames = np.lib.stride_tricks.sliding_window_view(samples.astype(np.float64), c.n_fft)[left::c.hop_length]
    power = np.abs(np.fft.rfft(frames * window, axis=-1)) ** 2
    db = 10.0 * np.log10(np.maximum(AMIN, power @ mel_fb))
    return scipy.fft.dct(db, type=2, norm="ortho", axis=-1)[:, :c.n_mfcc].astype(np.float32)
