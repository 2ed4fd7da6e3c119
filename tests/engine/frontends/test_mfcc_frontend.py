"""The MFCC frontend: streaming in any block size equals one offline push, and the coefficients are
librosa.feature.mfcc's on the same frames (S path without top_db, and the y path where top_db cannot bite)."""
from __future__ import annotations

import librosa
import numpy as np
import pytest

from recognizers.errors import ModelFileError
from recognizers.frontends.mfcc import MfccConfig, StreamingMfcc
from recognizers.frontends.registry import frontend_feature_size, make_frontend, offline_features

SR = 16000


def speech_like(seconds: float = 1.5, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    f0 = 120 + 40 * np.sin(2 * np.pi * 1.3 * t)
    x = sum(np.sin(2 * np.pi * np.cumsum(f0 * k) / SR) / k for k in range(1, 12))
    x = x * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t) ** 2) + 0.01 * rng.standard_normal(t.size)
    return (0.3 * x / np.max(np.abs(x))).astype(np.float32)


@pytest.mark.parametrize("cfg", [MfccConfig(), MfccConfig(win_ms=32.0, n_mels=64, n_mfcc=20, f_max_hz=8000.0),
                                 MfccConfig(sample_rate_hz=8000, n_fft=256, n_mels=26, f_max_hz=4000.0)])
def test_streaming_equals_offline(cfg):
    x = speech_like()
    whole = offline_features(cfg.to_json(), x)
    fe = make_frontend(cfg.to_json())
    rng = np.random.default_rng(1)
    parts, s = [], 0
    while s < x.size:
        n = int(rng.integers(1, 700))
        parts.append(fe.push(x[s:s + n]))
        s += n
    streamed = np.concatenate(parts)
    assert whole.shape == (1 + (x.size - cfg.span_length) // cfg.hop_length, cfg.n_mfcc)
    assert streamed.shape == whole.shape and streamed.dtype == np.float32
    np.testing.assert_allclose(streamed, whole, rtol=0, atol=1e-4)   # measured: identical
    fe.reset()
    np.testing.assert_allclose(fe.push(x), whole, rtol=0, atol=1e-4)


def librosa_kwargs(c: MfccConfig) -> dict:
    return dict(sr=c.sample_rate_hz, n_fft=c.n_fft, hop_length=c.hop_length, win_length=c.win_length,
                window="hann", center=False, n_mels=c.n_mels, fmin=c.f_min_hz, fmax=c.f_max_hz, power=2.0)


@pytest.mark.parametrize("cfg", [MfccConfig(), MfccConfig(n_mels=64, n_mfcc=30, f_max_hz=8000.0)])
def test_matches_librosa_mfcc_on_the_same_frames(cfg):
    x = speech_like(seed=2)
    ours = StreamingMfcc(cfg).push(x)
    mel = librosa.feature.melspectrogram(y=x, **librosa_kwargs(cfg))
    ref = librosa.feature.mfcc(S=librosa.power_to_db(mel, top_db=None), n_mfcc=cfg.n_mfcc).T
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-5 * np.abs(ref).max() + 1e-4)   # measured 3e-5 of 225
    # librosa's y path clips 80 dB below the loudest mel bin: this signal's range is smaller, so it matches too
    ref_y = librosa.feature.mfcc(y=x, n_mfcc=cfg.n_mfcc, **librosa_kwargs(cfg)).T
    np.testing.assert_allclose(ours, ref_y, rtol=0, atol=1e-5 * np.abs(ref).max() + 1e-4)   # measured 3e-5 of 225


def test_registered_with_feature_size_and_bad_settings_refused():
    assert frontend_feature_size({"type": "mfcc", "n_mfcc": 20}) == 20
    assert MfccConfig.from_json(MfccConfig().to_json()) == MfccConfig()
    for bad in ({"type": "mfcc", "n_mfcc": 50, "n_mels": 40}, {"type": "mfcc", "hop_ms": 1.0},
                {"type": "mfcc", "colour": 1}, {"type": "mfcc", "n_fft": "512"}):
        with pytest.raises(ModelFileError):
            make_frontend(bad)


def test_short_input_gives_no_frames():
    fe = StreamingMfcc()
    assert fe.push(np.zeros(100, np.float32)).shape == (0, 13)
    assert fe.push(np.zeros(412, np.float32)).shape == (1, 13)
