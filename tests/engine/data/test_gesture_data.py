"""Gesture data: landmark files, videos, augmentation, "no gesture" examples and the importers."""
import csv

import numpy as np
import pytest
from testdata import shared_data

from recognizers.data import gestures as gesture_data
from recognizers.data.datasets import Example, group_split, scan_dataset
from recognizers.data.gestures import (
    TEMPLATE_HAND,
    GestureAugmentConfig,
    GestureTaskData,
    augment_sequence,
    flip_hand_side,
)
from recognizers.data.importers import import_arman, import_kazuhito
from recognizers.data.landmark_files import load_gesture_input, load_landmark_file, resample_frames
from recognizers.errors import DatasetError, VaultError
from recognizers.recognizer import load_input


def test_one_and_two_hand_files_load_as_two_hand_sequences(tmp_path):
    one = np.repeat(TEMPLATE_HAND[None], 6, 0)
    np.savez(tmp_path / "right.npz", landmarks=one)
    np.savez(tmp_path / "left.npz", landmarks=one, handedness="Left")
    np.savez(tmp_path / "per_frame.npz", landmarks=one, handedness=np.array(["Left", "Right"] * 3))
    two = np.full((5, 2, 21, 3), np.nan, np.float32)
    two[:, 0] = TEMPLATE_HAND
    np.savez(tmp_path / "two.npz", landmarks=two)
    r = load_landmark_file(tmp_path / "right.npz")
    assert r.shape == (6, 2, 21, 3) and np.all(np.isnan(r[:, 0])) and np.allclose(r[:, 1], TEMPLATE_HAND)
    assert np.allclose(load_landmark_file(tmp_path / "left.npz")[:, 0], TEMPLATE_HAND)
    pf = load_landmark_file(tmp_path / "per_frame.npz")
    assert np.isfinite(pf[0, 0]).all() and np.isnan(pf[0, 1]).all() and np.isfinite(pf[1, 1]).all()
    np.testing.assert_array_equal(load_landmark_file(tmp_path / "two.npz"), two)


def test_fps_is_converted_to_the_models_rate(tmp_path):
    x = np.repeat(TEMPLATE_HAND[None], 15, 0)
    x[:, :, 0] += np.linspace(0, 0.14, 15)[:, None]
    np.savez(tmp_path / "a.npz", landmarks=x, fps=15.0)
    y = load_landmark_file(tmp_path / "a.npz", fps=30.0)
    assert y.shape[0] == 30
    np.testing.assert_allclose(y[-1, 1], x[-1], atol=1e-6)
    assert load_landmark_file(tmp_path / "a.npz").shape[0] == 15


def test_resample_keeps_absence_and_interpolates_presence():
    x = np.repeat(TEMPLATE_HAND[None, None], 4, 0).repeat(2, 1)
    x[:, 0] = np.nan
    x[:, 1, :, 0] += np.arange(4)[:, None] * 0.1
    y = resample_frames(x, 7)
    assert np.all(np.isnan(y[:, 0]))
    np.testing.assert_allclose(y[1, 1, :, 0], TEMPLATE_HAND[:, 0] + 0.05, atol=1e-6)


def _bad_files(tmp_path):
    (tmp_path / "empty.npz").write_bytes(b"")
    (tmp_path / "corrupt.npz").write_bytes(b"PK\x03\x04 this is not a zip archive at all")
    np.save(tmp_path / "bare.npy", np.zeros((3, 21, 3)))
    (tmp_path / "bare.npz").write_bytes((tmp_path / "bare.npy").read_bytes())
    np.savez(tmp_path / "nokey.npz", points=np.zeros((3, 21, 3)))
    np.savez(tmp_path / "shape.npz", landmarks=np.zeros((3, 20, 3)))
    np.savez(tmp_path / "noframes.npz", landmarks=np.zeros((0, 2, 21, 3)))
    np.savez(tmp_path / "inf.npz", landmarks=np.full((3, 21, 3), np.inf))
    np.savez(tmp_path / "text.npz", landmarks=np.array([["a"] * 3] * 21))
    np.savez(tmp_path / "pickled.npz", landmarks=np.array([{"x": 1}, None], dtype=object))
    np.savez(tmp_path / "hand.npz", landmarks=np.zeros((3, 21, 3)), handedness="both")
    return ["empty", "corrupt", "bare", "nokey", "shape", "noframes", "inf", "text", "pickled", "hand"]


def test_bad_landmark_files_get_one_clear_error_naming_the_file(tmp_path):
    for name in _bad_files(tmp_path):
        with pytest.raises(VaultError) as exc:
            load_landmark_file(tmp_path / f"{name}.npz")
        msg = str(exc.value)
        assert f"{name}.npz" in msg and "\n" not in msg, msg


def test_bad_videos_and_folders_are_refused(tmp_path):
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "corrupt.mp4").write_bytes(np.random.default_rng(0).bytes(5000))
    (tmp_path / "frames").mkdir()
    (tmp_path / "frames" / "0001.jpg").write_bytes(b"not a jpeg")
    (tmp_path / "nothing").mkdir()
    (tmp_path / "notes.txt").write_text("hello")
    fe = {"type": "landmarks", "fps": 30.0}
    for name in ("empty.mp4", "corrupt.mp4", "frames", "nothing", "notes.txt", "missing.mp4"):
        with pytest.raises(VaultError) as exc:
            load_input("gesture", tmp_path / name, fe)
        assert name in str(exc.value)


def test_video_input_tracks_hands():
    video = shared_data("hands") / "mps_hand_landmarker_test_video.mp4"
    frames = load_gesture_input(video, {"type": "landmarks", "fps": 12.5})   # half the video's 25 fps
    assert frames.shape[1:] == (2, 21, 3) and 95 <= frames.shape[0] <= 106
    present = np.isfinite(frames[:, :, 0, 0]).any(1)
    assert present.mean() > 0.8


def test_image_folder_input(tmp_path):
    import shutil
    hands = shared_data("hands")
    for k, p in enumerate(sorted(hands.glob("linto_*.jpg"))[:3]):
        shutil.copy(p, tmp_path / f"{k:03d}.jpg")
    frames = load_gesture_input(tmp_path, {"type": "landmarks"})
    assert frames.shape == (3, 2, 21, 3) and np.isfinite(frames[:, :, 0, 0]).any(1).all()


def test_task_data_features_augmentation_and_negatives(tmp_path):
    x = np.repeat(TEMPLATE_HAND[None], 30, 0)
    x[:, :, 0] += np.linspace(0, 0.2, 30)[:, None]
    np.savez(tmp_path / "a.npz", landmarks=x)
    task = GestureTaskData()
    raw = task.load(Example(tmp_path / "a.npz", "swipe"))
    clean = task.features(raw)
    assert clean.shape == (30, task.frontend.feature_size)
    np.testing.assert_array_equal(clean, task.features(raw))
    rng = np.random.default_rng(0)
    augmented = [task.features(raw, rng) for _ in range(20)]
    assert len({a.shape[0] for a in augmented}) > 3                  # speed / crop change the length
    assert all(np.isfinite(a).all() for a in augmented)
    assert not any(np.array_equal(a[:clean.shape[0]], clean) for a in augmented if a.shape == clean.shape)
    negs = [task.synthetic_negative(rng) for _ in range(40)]
    assert all(n.ndim == 4 and n.shape[1:] == (2, 21, 3) and n.shape[0] >= 20 for n in negs)
    assert any(np.isnan(n).all() for n in negs) and any(np.isfinite(n).any() for n in negs)
    # still/drifting hands move far less than the swipe
    def speed(f):
        return np.abs(f[:, 64 + 61:64 + 63]).mean()
    moving = [speed(task.features(n)) for n in negs if np.isfinite(n[:, 1]).all()]
    assert moving and np.median(moving) < speed(clean)


def _flat_hand(tilt_deg=0.0):
    """A flat right hand (z = 0) pointing up in the image, thumb to its right, turned by tilt_deg."""
    pts = np.zeros((21, 2), np.float32)
    for f, dx in enumerate([0.04, 0.02, 0.0, -0.015, -0.03]):     # thumb, index, middle, ring, pinky
        for j in range(4):
            pts[1 + 4 * f + j] = [dx * (1 + 0.3 * j), -0.04 - 0.015 * j - (0.02 if f else -0.02)]
    th = np.deg2rad(tilt_deg)
    rot = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]], np.float32)
    hand = np.zeros((21, 3), np.float32)
    hand[:, :2] = pts @ rot.T + [0.5, 0.6]
    return hand


def test_flip_hand_side_turns_the_hand_about_its_long_axis():
    rng = np.random.default_rng(0)
    x = np.full((12, 2, 21, 3), np.nan, np.float32)
    x[:, 0] = TEMPLATE_HAND * [-1, 1, 1] + [0.9, 0, 0]
    x[:, 1] = _flat_hand(25.0)
    x[:, :, :, :2] += np.linspace(0, 0.1, 12, dtype=np.float32)[:, None, None, None]    # the hands move
    x += rng.normal(0, 0.002, x.shape).astype(np.float32)
    x[4, 1] = np.nan                                   # absent frames stay absent
    x[7, 0] = np.nan
    y = flip_hand_side(x)
    np.testing.assert_array_equal(np.isnan(y), np.isnan(x))
    np.testing.assert_array_equal(y[:, :, 0], x[:, :, 0])                          # the wrist track
    np.testing.assert_allclose(flip_hand_side(y), x, atol=1e-5)                    # twice: the original
    assert not np.allclose(y[:, 1], x[:, 1], equal_nan=True)
    # the thumb tip (4) crosses the wrist->MCP9 axis; the middle fingertip (12) stays on it
    def side(f, k):
        return np.cross(f[:, 1, 9, :2] - f[:, 1, 0, :2], f[:, 1, k, :2] - f[:, 1, 0, :2])
    ok = np.isfinite(x[:, 1, 0, 0])
    assert np.all(np.sign(side(x, 4)[ok]) == -np.sign(side(y, 4)[ok]))
    np.testing.assert_allclose(np.linalg.norm(y[:, 1] - y[:, 1, :1], axis=-1)[ok],     # a rigid turn
                               np.linalg.norm(x[:, 1] - x[:, 1, :1], axis=-1)[ok], atol=1e-5)
    # depth relative to the wrist is negated; only the chosen slot changes
    np.testing.assert_allclose((y - y[:, :, :1])[..., 2][ok[:, None].repeat(2, 1)],
                               -(x - x[:, :, :1])[..., 2][ok[:, None].repeat(2, 1)], atol=1e-6)
    np.testing.assert_array_equal(flip_hand_side(x, (1,))[:, 0], x[:, 0])


def test_flip_side_augmentation_only_when_asked(monkeypatch):
    x = np.repeat(np.stack([TEMPLATE_HAND * [-1, 1, 1] + [0.9, 0, 0], _flat_hand()])[None], 10, 0)
    x[2] = np.nan
    none = GestureAugmentConfig(crop_prob=0, speed_range=(1, 1), rotate_deg=0, scale_range=(1, 1),
                                aspect_range=(1, 1), shift=0, jitter_range=(0, 0), drop_prob=0, lead_in_prob=0)
    np.testing.assert_allclose(augment_sequence(x, np.random.default_rng(0), none), x, atol=1e-6)
    none.flip_side_prob = 1.0
    np.testing.assert_allclose(augment_sequence(x, np.random.default_rng(0), none), flip_hand_side(x), atol=1e-6)

    def fail(*args, **kwargs):
        raise AssertionError("flipped with flip_side_prob 0")
    monkeypatch.setattr(gesture_data, "flip_hand_side", fail)
    for seed in range(20):                              # p = 0 (the default) never flips
        augment_sequence(x, np.random.default_rng(seed), GestureAugmentConfig())



def test_flip_side_only_for_the_chosen_labels(monkeypatch):
    x = np.repeat(np.stack([TEMPLATE_HAND * [-1, 1, 1] + [0.9, 0, 0], _flat_hand()])[None], 10, 0)
    a = GestureAugmentConfig(crop_prob=0, speed_range=(1, 1), rotate_deg=0, scale_range=(1, 1),
                             aspect_range=(1, 1), shift=0, jitter_range=(0, 0), drop_prob=0, lead_in_prob=0,
                             flip_side_prob=1.0, flip_side_labels=("follow",))
    rng = np.random.default_rng(0)
    np.testing.assert_allclose(augment_sequence(x, rng, a, "follow"), flip_hand_side(x), atol=1e-6)
    np.testing.assert_allclose(augment_sequence(x, rng, a, "stop"), x, atol=1e-6)
    np.testing.assert_allclose(augment_sequence(x, rng, a), x, atol=1e-6)          # no label given: not chosen
    a.flip_side_labels = ()                                                          # () = every label, as before
    np.testing.assert_allclose(augment_sequence(x, rng, a, "stop"), flip_hand_side(x), atol=1e-6)
    np.testing.assert_allclose(augment_sequence(x, rng, a), flip_hand_side(x), atol=1e-6)
    # a label that is not chosen draws no random numbers: the rest of the augmentation is as with p = 0
    b = GestureAugmentConfig(flip_side_prob=0.5, flip_side_labels=("follow",))
    for seed in range(5):
        np.testing.assert_array_equal(augment_sequence(x, np.random.default_rng(seed), b, "stop"),
                                      augment_sequence(x, np.random.default_rng(seed), GestureAugmentConfig()))


def test_training_passes_the_label_to_tasks_that_take_it(tmp_path):
    from recognizers.training.loop import TrainConfig, train
    from recognizers.training.tasks import augmented_features
    x = np.repeat(TEMPLATE_HAND[None], 12, 0)
    x[:, :, 0] += np.linspace(0, 0.2, 12)[:, None]
    for label in ("follow", "stop"):
        (tmp_path / label).mkdir()
        for k in range(2):
            np.savez(tmp_path / label / f"s{k}.npz", landmarks=x + k * 0.01)
    seen = []

    class Recording(GestureTaskData):
        def features(self, raw, rng=None, *, label=None):
            if rng is not None:
                seen.append(label)
            return super().features(raw, rng, label=label)

    class NoLabel(GestureTaskData):        # a task with the plain TaskData signature (like speech)
        def features(self, raw, rng=None):
            return super().features(raw, rng)

    augmented_features(NoLabel(), x, np.random.default_rng(0), "follow")            # not passed: no TypeError
    cfg = TrainConfig(hidden_size=8, num_layers=1, epochs=1, batch_size=4, val_fraction=0, negatives=0.5,
                      device="cpu", feature_cache="off")
    train(Recording(), tmp_path, None, cfg)
    assert sorted(seen) == ["_unknown_", "_unknown_", "follow", "follow", "stop", "stop"]
    train(NoLabel(), tmp_path, None, cfg)
    from recognizers.training.clip_dataset import ClipDataset  # the --workers path
    seen.clear()
    items = [(e, 1) for e in scan_dataset(tmp_path, (".npz",))][:1]
    ClipDataset(Recording(), items, 0, None, labels=["follow", "stop"])[(0, 1)]
    assert seen == ["stop"]


def _fake_arman(path, n_per_class=9):
    rng = np.random.default_rng(0)
    X, y, seq = [], [], []
    for label in ("stop", "turn_left"):
        for s in range(1, n_per_class + 1):
            x = np.zeros((30, 126))
            x[:, :63] = (TEMPLATE_HAND + [0.1, 0, 0]).reshape(-1)          # Holistic "left" block
            x[:, 63:] = (TEMPLATE_HAND * [-1, 1, 1] + [0.9, 0, 0]).reshape(-1)
            x[3, 63:] = 0                                                   # a missing hand
            X.append(x + rng.normal(0, 1e-3, x.shape) * (x != 0))
            y.append(label)
            seq.append(s)
    np.savez(path, X=np.array(X), y=np.array(y), seq_id=np.array(seq), classes=np.array(["stop", "turn_left"]))


def test_arman_import_swaps_holistic_blocks_and_holds_out_whole_blocks(tmp_path):
    _fake_arman(tmp_path / "dhgr6_raw_2hands.npz")
    n, m = import_arman(tmp_path, tmp_path / "train", 0.3, tmp_path / "test")
    assert (n, m) == (12, 6)
    f = load_landmark_file(tmp_path / "train" / "stop" / "dhgr6_s001.npz")
    assert f.shape == (30, 2, 21, 3)
    assert f[0, 1, 0, 0] > f[0, 0, 0, 0]            # the right slot holds the hand on the image's right
    assert np.all(np.isnan(f[3, 0])) and np.isfinite(f[3, 1]).all()
    train = scan_dataset(tmp_path / "train", (".npz",))
    test = scan_dataset(tmp_path / "test", (".npz",))
    assert {e.group for e in train}.isdisjoint({e.group for e in test})
    assert len({e.group for e in train}) == 4 and len({e.group for e in test}) == 2   # blocks of 3
    assert sorted(e.path.stem for e in test if e.label == "stop") == ["dhgr6_s004", "dhgr6_s005", "dhgr6_s006"]
    tr, va, desc = group_split(train, 0.3, 0)
    assert {e.group for e in tr}.isdisjoint({e.group for e in va}) and va and "grouped" in desc


def test_arman_import_of_the_real_data(tmp_path):
    src = shared_data("dynamic_gestures_arman")
    n, m = import_arman(src, tmp_path / "train", 0.3, tmp_path / "test")
    assert n + m == 126 and 30 <= m <= 42
    labels = sorted(p.name for p in (tmp_path / "train").iterdir() if p.is_dir())
    assert labels == ["follow", "move_backward", "move_forward", "stop", "turn_left", "turn_right"]
    f = load_landmark_file(next((tmp_path / "train" / "stop").glob("*.npz")))
    right_x = np.nanmean(f[:, 1, 0, 0])
    left_x = np.nanmean(f[:, 0, 0, 0])
    assert right_x > left_x      # selfie view: the right hand is on the right


def test_kazuhito_import_and_refusals(tmp_path):
    src = tmp_path / "kz"
    src.mkdir()
    rows = [[k % 2] + list(np.round(np.random.default_rng(k).uniform(-1, 1, 42), 4)) for k in range(64)]
    rows.sort(key=lambda r: r[0])
    with open(src / "keypoint.csv", "w", newline="") as f:
        csv.writer(f).writerows(rows)
    (src / "keypoint_classifier_label.csv").write_text("\ufeffOpen\nClose\n", encoding="utf-8")
    n, m = import_kazuhito(src, tmp_path / "out", 0.5, tmp_path / "held", frames=8, sequences_per_group=1)
    assert n + m == 8 and m > 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if p.is_dir()) == ["close", "open"]
    f = load_landmark_file(next((tmp_path / "out" / "open").glob("*.npz")))
    assert f.shape == (8, 2, 21, 3) and np.all(np.isnan(f[:, 0])) and np.isfinite(f[:, 1]).all()
    (src / "point_history.csv").write_text("0,0,0\n")
    with pytest.raises(DatasetError, match="fingertip"):
        import_kazuhito(src / "point_history.csv", tmp_path / "x")
    with pytest.raises(DatasetError):
        import_kazuhito(tmp_path / "nowhere", tmp_path / "x")
    with pytest.raises(DatasetError):
        import_arman(tmp_path / "kz", tmp_path / "x")
