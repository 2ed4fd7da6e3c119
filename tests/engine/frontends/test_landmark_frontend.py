"""Landmark frontend: streaming == offline, invariances, mirrored hands, missing hands, config checks."""
import numpy as np
import pytest

from recognizers.data.gestures import TEMPLATE_HAND
from recognizers.errors import ModelFileError, VaultError
from recognizers.frontends.landmarks import HAND_FEATURES, LandmarkConfig, StreamingLandmarks
from recognizers.frontends.registry import frontend_feature_size, make_frontend, offline_features


def trajectory(rng, T=40, absent_rate=0.15):
    """Two hands moving along random smooth paths, with tracker jitter and dropped frames."""
    t = np.linspace(0, 1, T, dtype=np.float32)[:, None, None]
    right = TEMPLATE_HAND[None] + np.stack([0.2 * np.sin(3 * t[..., 0] + rng.uniform(0, 3)),
                                            0.1 * t[..., 0], 0 * t[..., 0]], -1)
    left = TEMPLATE_HAND[None] * [-1, 1, 1] + [0.8, 0, 0] + 0.05 * t * rng.normal(size=3)
    frames = np.stack([left, right], 1).astype(np.float32)
    frames += rng.normal(0, 0.002, frames.shape).astype(np.float32)
    drop = rng.random((T, 2)) < absent_rate
    frames[drop] = np.nan
    return frames


def test_streaming_equals_offline_for_any_block_sizes():
    rng = np.random.default_rng(0)
    frames = trajectory(rng)
    cfg = LandmarkConfig()
    offline = offline_features(cfg.to_json(), frames)
    assert offline.shape == (40, cfg.feature_size) and offline.dtype == np.float32
    fe = StreamingLandmarks(cfg)
    one_by_one = np.concatenate([fe.push(f) for f in frames])
    np.testing.assert_array_equal(one_by_one, offline)
    fe.reset()
    chunks, s = [], 0
    for n in (3, 0, 1, 17, 19):
        chunks.append(fe.push(frames[s:s + n]))
        s += n
    np.testing.assert_array_equal(np.concatenate(chunks), offline)


def test_features_do_not_depend_on_position_or_size():
    rng = np.random.default_rng(1)
    frames = trajectory(rng, absent_rate=0.1)
    moved = frames.copy()
    moved[..., :2] = (frames[..., :2] - 0.5) * 0.55 + [0.31, 0.62]
    moved[..., 2] = frames[..., 2] * 0.55
    a, b = offline_features({"type": "landmarks"}, frames), offline_features({"type": "landmarks"}, moved)
    np.testing.assert_allclose(a, b, rtol=1e-3, atol=2e-3)
    assert np.abs(a[:, 61:63]).max() > 0.5   # there is motion to compare


def test_mirrored_left_hand_gives_the_right_hands_features():
    rng = np.random.default_rng(2)
    right_only = trajectory(rng, absent_rate=0.0)
    right_only[:, 0] = np.nan
    mirrored = np.full_like(right_only, np.nan)
    mirrored[:, 0] = right_only[:, 1]
    mirrored[:, 0, :, 0] = 1.0 - right_only[:, 1, :, 0]
    f_right = offline_features({"type": "landmarks"}, right_only)
    f_left = offline_features({"type": "landmarks"}, mirrored)
    np.testing.assert_allclose(f_left[:, :HAND_FEATURES], f_right[:, HAND_FEATURES:2 * HAND_FEATURES],
                               rtol=1e-4, atol=1e-4)
    assert np.all(f_left[:, HAND_FEATURES:] == 0) and np.all(f_right[:, :HAND_FEATURES] == 0)


def test_missing_hands_are_explicit_and_never_make_jumps():
    rng = np.random.default_rng(3)
    frames = trajectory(rng, absent_rate=0.0)
    frames[5:8, 1] = np.nan           # right hand lost for three frames
    frames[10, 1] = 0.0               # a recorder's all-zero "no hand"
    frames[12, 0, 3, 1] = np.nan      # a partly missing hand counts as absent
    f = offline_features({"type": "landmarks"}, frames)
    r = HAND_FEATURES
    assert f[5:8, r].tolist() == [0, 0, 0] and np.all(f[5:8, r:2 * r] == 0)
    assert f[10, r] == 0 and f[12, 0] == 0
    assert np.all(f[8, r + 61:r + 64] == 0) and np.all(f[11, r + 61:r + 64] == 0)  # no velocity on return
    assert np.all(f[[5, 6, 7, 10, 12], 2 * r:] == 0)   # no hand-to-hand vector without both hands
    assert f[0, r] == 1 and np.all(f[0, r + 61:r + 64] == 0)   # first frame: no velocity
    assert np.all(np.isfinite(f))
    empty = offline_features({"type": "landmarks"}, np.full((4, 2, 21, 3), np.nan, np.float32))
    assert np.all(empty == 0)


def test_single_hand_input_goes_to_the_configured_slot():
    one = TEMPLATE_HAND[None].repeat(3, 0)
    f_right = StreamingLandmarks(LandmarkConfig()).push(one)
    f_left = StreamingLandmarks(LandmarkConfig(single_hand="left")).push(one)
    assert f_right[:, HAND_FEATURES].tolist() == [1, 1, 1] and f_right[:, 0].tolist() == [0, 0, 0]
    assert f_left[:, 0].tolist() == [1, 1, 1]
    assert StreamingLandmarks().push(TEMPLATE_HAND).shape == (1, 130)


@pytest.mark.parametrize("bad", [np.zeros((21, 2)), np.zeros((5, 3, 21, 3)), np.zeros((2, 20, 3)), "x"])
def test_wrong_shapes_are_refused_clearly(bad):
    with pytest.raises(VaultError, match="hand landmarks"):
        StreamingLandmarks().push(bad)


def test_config_round_trip_registry_and_bad_settings():
    cfg = LandmarkConfig(fps=25.0)
    assert LandmarkConfig.from_json(cfg.to_json()) == cfg
    assert frontend_feature_size(cfg.to_json()) == cfg.feature_size == 130
    fe = make_frontend(cfg.to_json())
    assert isinstance(fe, StreamingLandmarks) and fe.config.fps == 25.0
    for bad in ({"type": "landmarks", "fps": 0}, {"type": "landmarks", "fps": "30"},
                {"type": "landmarks", "colour": 1}, {"type": "landmarks", "single_hand": "both"},
                {"type": "logmel"}):
        with pytest.raises(ModelFileError):
            LandmarkConfig.from_json(bad)
