"""Augmentations (pure functions of an input and a ``numpy.random.Generator``).

They exist to make a model trained on a handful of speakers work for voices it never heard:
speed perturbation (tempo and pitch together), vocal-tract-length warping (done in the log-mel
frontend), level changes, coloured noise, random silence around the word, and SpecAugment masks.
"""
from __future__ import annotations

import numpy as np


def colored_noise(n: int, rng: np.random.Generator, exponent: float) -> np.ndarray:
    """Noise with power spectrum ~ 1/f**exponent (0 white, 1 pink, 2 brown), unit RMS."""
    if n <= 0:
        return np.zeros(0, np.float32)
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n)
    f[0] = f[1] if n > 1 else 1.0
    spec = spec / f ** (exponent / 2)
    x = np.fft.irfft(spec, n)
    return (x / (np.sqrt(np.mean(x ** 2)) + 1e-12)).astype(np.float32)


def speed_perturb(x: np.ndarray, factor: float) -> np.ndarray:
    """Play ``factor`` times faster (pitch rises with it), as Kaldi's speed perturbation."""
    if abs(factor - 1.0) < 1e-3:
        return x
    import torch
    import torchaudio.functional as AF
    new = int(round(100 / factor))
    return AF.resample(torch.from_numpy(np.ascontiguousarray(x, np.float32)), 100, new).numpy()


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0


def add_noise(x: np.ndarray, rng: np.random.Generator, snr_db: float) -> np.ndarray:
    level = rms(x)
    if level <= 0:
        level = 1e-3
    noise = colored_noise(x.size, rng, float(rng.choice([0.0, 1.0, 2.0])))
    return x + noise * level / (10 ** (snr_db / 20))


def pad_silence(x: np.ndarray, rng: np.random.Generator, sample_rate_hz: int, max_s: float = 0.25
                ) -> np.ndarray:
    a = int(rng.uniform(0, max_s) * sample_rate_hz)
    b = int(rng.uniform(0, max_s) * sample_rate_hz)
    return np.concatenate([np.zeros(a, np.float32), x, np.zeros(b, np.float32)])


def time_stretch(features: np.ndarray, factor: float) -> np.ndarray:
    """Resample a ``(frames, features)`` sequence in time: ``factor`` > 1 speaks faster (fewer frames).

    Changes tempo without changing pitch or formants (speed perturbation changes all three)."""
    T = features.shape[0]
    if T < 2 or abs(factor - 1.0) < 1e-3:
        return features
    n = max(2, int(round(T / factor)))
    pos = np.linspace(0, T - 1, n)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, T - 1)
    w = (pos - lo)[:, None].astype(np.float32)
    return (features[lo] * (1 - w) + features[hi] * w).astype(np.float32)


def spec_augment(features: np.ndarray, rng: np.random.Generator, fill: np.ndarray,
                 time_masks: int = 2, max_time: int = 8, freq_masks: int = 2, max_freq: int = 5
                 ) -> np.ndarray:
    """SpecAugment (Park et al. 2019): masked bands/frames are set to ``fill`` (the feature mean)."""
    y = features.copy()
    T, F = y.shape
    for _ in range(freq_masks):
        w = int(rng.integers(0, max_freq + 1))
        if 0 < w < F:
            f0 = int(rng.integers(0, F - w + 1))
            y[:, f0:f0 + w] = fill[f0:f0 + w]
    for _ in range(time_masks):
        w = int(rng.integers(0, min(max_time, T // 5) + 1)) if T >= 5 else 0
        if w > 0:
            t0 = int(rng.integers(0, T - w + 1))
            y[t0:t0 + w] = fill
    return y


def synthetic_non_speech(rng: np.random.Generator, sample_rate_hz: int) -> np.ndarray:
    """A random clip that is not speech: silence, coloured noise, tones, chirps, clicks, noise bursts."""
    n = int(rng.uniform(0.3, 1.5) * sample_rate_hz)
    t = np.arange(n) / sample_rate_hz
    kind = int(rng.integers(0, 7))
    level = 10 ** rng.uniform(-3.5, -0.7)
    if kind == 0:
        x = float(rng.choice([0.0, 1e-5, 1e-4])) * rng.standard_normal(n).astype(np.float32)
    elif kind == 1:
        x = colored_noise(n, rng, float(rng.uniform(0, 2)))
    elif kind == 2:
        f0 = rng.uniform(80, 3000)
        x = sum(np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 6.3)) / k for k in range(1, int(rng.integers(1, 6)) + 1))
    elif kind == 3:
        f0, f1 = rng.uniform(100, 3500, size=2)
        x = np.sin(2 * np.pi * (f0 * t + (f1 - f0) * t ** 2 / (2 * t[-1] + 1e-9)))
    elif kind == 4:
        x = np.zeros(n)
        for _ in range(int(rng.integers(1, 8))):
            i = int(rng.integers(0, n))
            x[i:i + 40] += rng.standard_normal(min(40, n - i)) * np.exp(-np.arange(min(40, n - i)) / 8)
    elif kind == 5:
        env = np.clip(np.sin(2 * np.pi * rng.uniform(2, 6) * t), 0, None) ** 2
        x = colored_noise(n, rng, float(rng.uniform(0, 2))) * env
    else:  # "music-like": a few notes with harmonics
        x = np.zeros(n)
        seg = max(1, n // int(rng.integers(2, 6)))
        for s in range(0, n, seg):
            f0 = 110 * 2 ** (int(rng.integers(0, 36)) / 12)
            tt = t[s:s + seg] - t[s]
            x[s:s + seg] = sum(np.sin(2 * np.pi * f0 * k * tt) / k ** 1.5 for k in range(1, 5)) * np.exp(-3 * tt)
    x = np.asarray(x, np.float32)
    if kind == 0:  # true (near-)digital silence: keep it that quiet
        return x
    peak = np.max(np.abs(x)) + 1e-9
    return (x / peak * level).astype(np.float32)
