"""Log-mel frontend: streaming in blocks of any size gives exactly the offline frames; configs are checked."""
import json

import numpy as np
import pytest
import torch

from recognizers.errors import ModelFileError
from recognizers.frontends.log_mel import LOG_FLOOR, LogMel, LogMelConfig, StreamingLogMel
from recognizers.frontends.registry import frontend_feature_size, make_frontend, offline_features

TOL = 1e-5


def _signal(n, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 16000
    x = 0.3 * np.sin(2 * np.pi * (300 + 900 * t) * t) + 0.05 * rng.standard_normal(n)
    return x.astype(np.float32)


def _stream(fe, x, sizes):
    out, pos, j = [], 0, 0
    while pos < x.size:
        b = int(sizes[j % len(sizes)])
        out.append(fe.push(x[pos:pos + b]))
        pos += b
        j += 1
    return np.concatenate(out, 0) if out else np.zeros((0, fe.feature_size), np.float32)


@pytest.mark.parametrize("block", [1, 7, 160, 399, 400, 401, 512, 4096])
def test_streaming_blocks_equal_offline(block):
    x = _signal(4000 if block == 1 else 16000, seed=block)
    offline = LogMel()(x)
    fe = StreamingLogMel()
    got = _stream(fe, x, [block])
    assert got.shape == offline.shape
    np.testing.assert_allclose(got, offline, atol=TOL, rtol=0)
    assert fe.frames_emitted == offline.shape[0]


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_streaming_random_blocks_equal_offline(seed):
    rng = np.random.default_rng(seed)
    x = _signal(int(rng.integers(8000, 24000)), seed)
    sizes = rng.integers(0, 900, size=200)  # includes empty pushes
    got = _stream(StreamingLogMel(), x, sizes)
    np.testing.assert_allclose(got, LogMel()(x), atol=TOL, rtol=0)


def test_streaming_with_nondefault_window_and_hop():
    cfg = LogMelConfig(win_ms=32.0, hop_ms=12.5, n_fft=512, n_mels=24, f_max_hz=7000.0)
    x = _signal(12345, 7)
    got = _stream(StreamingLogMel(cfg), x, [37, 401, 3])
    np.testing.assert_allclose(got, LogMel(cfg)(x), atol=TOL, rtol=0)


def test_frames_are_emitted_as_soon_as_their_last_sample_arrives():
    cfg = LogMelConfig()
    fe = StreamingLogMel(cfg)
    x = _signal(3000)
    assert fe.push(x[:cfg.span_length - 1]).shape[0] == 0
    assert fe.push(x[cfg.span_length - 1:cfg.span_length]).shape[0] == 1
    assert fe.push(x[cfg.span_length:cfg.span_length + cfg.hop_length - 1]).shape[0] == 0
    assert fe.push(x[cfg.span_length + cfg.hop_length - 1:cfg.span_length + cfg.hop_length]).shape[0] == 1


def test_reset_starts_a_new_stream():
    fe = StreamingLogMel()
    x = _signal(5000)
    first = fe.push(x)
    fe.push(_signal(333, 5))
    fe.reset()
    assert fe.frames_emitted == 0
    np.testing.assert_allclose(fe.push(x), first, atol=TOL, rtol=0)


@pytest.mark.parametrize("n", [0, 1, 399, 400, 511, 512, 513, 671, 672, 673, 16000, 16001])
def test_frame_count_formula(n):
    cfg = LogMelConfig()
    expected = 0 if n < cfg.span_length else 1 + (n - cfg.span_length) // cfg.hop_length
    lm = LogMel(cfg)
    assert lm.num_frames(n) == expected
    feats = lm(np.zeros(n, np.float32) + 0.01)
    assert feats.shape == (expected, cfg.n_mels)
    assert offline_features(cfg.to_json(), np.zeros(n, np.float32)).shape == (expected, cfg.n_mels)


def test_span_is_the_larger_of_window_and_fft():
    assert LogMelConfig().span_length == 512  # win 400 < n_fft 512
    cfg = LogMelConfig(win_ms=40.0, n_fft=640)
    assert cfg.win_length == 640 and cfg.span_length == 640
    assert LogMelConfig(hop_ms=10.0).frames_per_second == pytest.approx(100.0)


def test_features_are_log_mel_of_the_power_spectrum():
    """Cross-check one frame against a direct numpy computation (hann window, centred in n_fft)."""
    cfg = LogMelConfig()
    lm = LogMel(cfg)
    x = _signal(2000)
    feats = lm(x)
    k = 2
    frame = x[k * cfg.hop_length: k * cfg.hop_length + cfg.n_fft].astype(np.float64)
    win = np.zeros(cfg.n_fft)
    left = (cfg.n_fft - cfg.win_length) // 2
    win[left:left + cfg.win_length] = torch.hann_window(cfg.win_length, dtype=torch.float64).numpy()
    power = np.abs(np.fft.rfft(frame * win)) ** 2
    ref = np.log(power @ lm.mel.fb.double().numpy() + LOG_FLOOR)
    np.testing.assert_allclose(feats[k], ref, atol=1e-3, rtol=1e-4)
    silent = lm(np.zeros(1000, np.float32))
    np.testing.assert_allclose(silent, np.log(LOG_FLOOR), atol=1e-6)


def test_warp_one_is_the_plain_filterbank_and_other_warps_differ():
    lm = LogMel()
    p = lm.power(_signal(4000))
    np.testing.assert_array_equal(lm.mel_from_power(p, 1.0).numpy(), lm(_signal(4000)))
    assert np.abs(lm.mel_from_power(p, 1.1).numpy() - lm.mel_from_power(p).numpy()).max() > 0.01


def test_config_json_round_trip():
    cfg = LogMelConfig(win_ms=30.0, hop_ms=15.0, n_mels=32, f_min_hz=50.0, f_max_hz=7600.0)
    d = json.loads(json.dumps(cfg.to_json()))
    assert d["type"] == "logmel" and d["sample_rate_hz"] == 16000
    assert LogMelConfig.from_json(d) == cfg
    assert frontend_feature_size(d) == 32
    fe = make_frontend(d)
    assert isinstance(fe, StreamingLogMel) and fe.config == cfg


@pytest.mark.parametrize("bad", [
    {"type": "spectrogram"},       # not a registered frontend (mfcc is one now)
    {"n_mels": 0},
    {"n_mels": 1000},
    {"hop_ms": 0.0},
    {"hop_ms": 50.0},                 # hop longer than the window
    {"win_ms": 40.0, "n_fft": 256},   # window longer than the FFT
    {"f_max_hz": 9000.0},             # above Nyquist
    {"f_min_hz": 5000.0, "f_max_hz": 4000.0},
    {"sample_rate_hz": 4000},
    {"colour": "blue"},               # unknown setting
    {"n_mels": "40"},                 # wrong types
    {"win_ms": "25"},
    {"sample_rate_hz": None},
    {"n_fft": 512.5},
    {"win_ms": float("nan")},
    {"f_max_hz": float("inf")},
    {"n_mels": True},
])
def test_bad_configs_raise_model_file_error(bad):
    d = {**LogMelConfig().to_json(), **bad}
    with pytest.raises(ModelFileError):
        LogMelConfig.from_json(d)
    with pytest.raises(ModelFileError):
        frontend_feature_size(d, "somewhere/model.json")


def test_not_a_dict_is_refused():
    with pytest.raises(ModelFileError):
        LogMelConfig.from_json(["logmel"])
    with pytest.raises(ModelFileError, match="unknown feature frontend"):
        frontend_feature_size("logmel")
