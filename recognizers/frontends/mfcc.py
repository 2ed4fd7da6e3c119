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

from dataclasses import dataclass

import numpy as np

from recognizers.errors import ModelFileError
from recognizers.frontends.log_mel import LogMelConfig

AMIN = 1e-10     # librosa.power_to_db's floor


@dataclass(frozen=True)
class MfccConfig(LogMelConfig):
    """Settings of the MFCC frontend (``model.json`` ``frontend``): the log-mel settings and bounds
    (:class:`~recognizers.frontends.log_mel.LogMelConfig`) plus ``n_mfcc`` cepstral coefficients; times in ms,
    frequencies in Hz."""

    n_mfcc: int = 13
    type: str = "mfcc"

    KIND = "MFCC"
    INTEGERS = ("sample_rate_hz", "n_fft", "n_mels", "n_mfcc")

    @property
    def feature_size(self) -> int:
        return self.n_mfcc

    def validate(self) -> None:
        super().validate()
        if not 1 <= self.n_mfcc <= self.n_mels:
            raise ModelFileError(f"inconsistent MFCC frontend settings (1 <= n_mfcc <= n_mels): {self.to_json()}")


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
