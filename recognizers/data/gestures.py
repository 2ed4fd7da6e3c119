"""The gesture TaskData: augmentation of landmark sequences and synthetic "no gesture" sequences for training
(the sequences themselves come from :mod:`recognizers.data.landmark_files`).

Dataset layout: ``DATA/<label>/<name>.npz`` holding ``landmarks`` in MediaPipe's normalised image
coordinates (selfie view, see :mod:`recognizers.frontends.hand_tracking`), either ``(time, 21, 3)`` for one hand or
``(time, 2, 21, 3)`` for two hands ordered left, right, with NaN where a hand is absent in a frame.
Optional: ``handedness`` ("Left"/"Right", one for the file or one per frame) for one-hand files (default
right), and ``fps`` (the sequence is resampled to the model's frame rate when it differs).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from recognizers.data.datasets import Example
from recognizers.data.landmark_files import load_landmark_file, resample_frames
from recognizers.frontends.hand_tracking import N_LANDMARKS
from recognizers.frontends.landmarks import (
    MIN_PALM,
    LandmarkConfig,
    StreamingLandmarks,
    as_two_hand_frames,
    hand_geometry,
)
from recognizers.io.extensions import LANDMARK_EXTENSIONS

GESTURE_FILE_EXTENSIONS = LANDMARK_EXTENSIONS


# A relaxed open right hand (selfie view) from a real MediaPipe frame; used for "no gesture" examples
# when no recorded poses are at hand.
TEMPLATE_HAND = np.array([
    [0.543, 0.490, 0.000], [0.552, 0.451, 0.000], [0.554, 0.411, -0.004], [0.550, 0.375, -0.007],
    [0.545, 0.346, -0.010], [0.535, 0.402, -0.013], [0.513, 0.361, -0.019], [0.500, 0.348, -0.020],
    [0.490, 0.343, -0.020], [0.523, 0.417, -0.016], [0.499, 0.372, -0.020], [0.485, 0.355, -0.021],
    [0.476, 0.347, -0.021], [0.513, 0.436, -0.017], [0.491, 0.394, -0.019], [0.478, 0.375, -0.019],
    [0.469, 0.366, -0.019], [0.504, 0.457, -0.017], [0.487, 0.425, -0.018], [0.479, 0.410, -0.017],
    [0.474, 0.399, -0.016]], np.float32)


@dataclass
class GestureAugmentConfig:
    """Training augmentation. Mirroring (swap hands and flip x) is off by default: it turns
    direction-carrying gestures (turn_left/turn_right) into each other."""

    crop_prob: float = 0.5
    crop_keep: tuple[float, float] = (0.8, 1.0)
    speed_range: tuple[float, float] = (0.7, 1.4)
    rotate_deg: float = 15.0
    scale_range: tuple[float, float] = (0.6, 1.5)
    aspect_range: tuple[float, float] = (0.85, 1.18)
    shift: float = 0.15
    jitter_range: tuple[float, float] = (0.0, 0.004)
    drop_prob: float = 0.5
    drop_rate_max: float = 0.08
    mirror_prob: float = 0.0
    lead_in_prob: float = 0.2
    flip_side_prob: float = 0.0   # per hand: turned to show the camera its other side (palm <-> back)
    # labels whose sequences may be flipped (e.g. ("follow",): beckoning works with either side of the
    # hand, "stop" is defined by the palm facing out); () = every label (and label-less calls)
    flip_side_labels: tuple[str, ...] = ()


def _hand_poses(frames: np.ndarray) -> np.ndarray:
    """Frames with at least one hand present (up to 8, spread over the sequence)."""
    present, _, _ = hand_geometry(frames)
    idx = np.flatnonzero(present.any(1))
    if idx.size == 0:
        return np.zeros((0, 2, N_LANDMARKS, 3), np.float32)
    return frames[idx[np.linspace(0, idx.size - 1, min(8, idx.size)).astype(int)]].copy()


def _similarity(frames: np.ndarray, rng: np.random.Generator, a: GestureAugmentConfig) -> np.ndarray:
    """Rotate, scale (with slight aspect change) and shift all hands of a sequence together."""
    pts = frames[..., :2]
    finite = np.isfinite(pts[..., 0])
    if not finite.any():
        return frames
    centre = np.array([pts[..., 0][finite].mean(), pts[..., 1][finite].mean()], np.float32)
    th = np.deg2rad(rng.uniform(-a.rotate_deg, a.rotate_deg))
    s = rng.uniform(*a.scale_range)
    asp = rng.uniform(*a.aspect_range)
    m = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]], np.float32) * s
    m[0] *= np.sqrt(asp)
    m[1] /= np.sqrt(asp)
    shift = rng.uniform(-a.shift, a.shift, size=2).astype(np.float32)
    out = frames.copy()
    out[..., :2] = (pts - centre) @ m.T + centre + shift
    out[..., 2] = frames[..., 2] * s
    return out


def flip_hand_side(frames: np.ndarray, slots=(0, 1)) -> np.ndarray:
    """The hands in ``slots`` turned 180 degrees about their own long axis, as if the same gesture were
    made with the other side of the hand (palm or back) to the camera; the wrist track is unchanged.

    Per hand, the x-y part of each landmark is reflected across the line through the wrist (landmark 0)
    along the hand's wrist->middle-finger-knuckle (landmark 9) direction and its depth is negated
    relative to the wrist's (a proper rotation, so a right hand stays a right hand). The direction is the
    mean wrist->knuckle vector of the sequence, not each frame's: the flip is then one fixed linear map of
    the wrist-relative shape, so it adds none of the tracker's frame-to-frame noise of landmark 9 and
    does not swing when the hand bends towards the camera and the wrist->knuckle line gets short (its
    price: an in-plane turn of the hand during the gesture is mirrored too). Applying it twice gives the
    input back; NaN (absent) frames stay NaN and all-zero ones stay zero.

    Like the landmark frontend (palm sizes are 3-D distances in normalised units) this treats x and y as
    one scale, i.e. it ignores the image's aspect ratio r (unknown here): in pixels it is exact for a
    vertical or horizontal hand axis, and otherwise it also stretches the shape, at worst (axis at 45
    degrees) by r along one diagonal and 1/r along the other, a change of the kind the aspect
    augmentation makes anyway.
    """
    present, _, _ = hand_geometry(frames)
    out = frames.copy()
    for s in slots:
        ok = present[:, s]
        if not ok.any():
            continue
        hand = frames[:, s]
        axis = (hand[ok, 9, :2] - hand[ok, 0, :2]).mean(0)
        norm = float(np.linalg.norm(axis))
        if norm < MIN_PALM:   # no direction to turn about
            continue
        u = (axis / norm).astype(np.float32)
        rel = hand - hand[:, :1]                         # wrist-relative, (T, 21, 3)
        along = rel[..., :2] @ u                         # (T, 21)
        out[:, s, :, :2] = hand[:, :1, :2] + 2 * along[..., None] * u - rel[..., :2]
        out[:, s, :, 2] = hand[:, :1, 2] - rel[..., 2]
    return out


def augment_sequence(frames: np.ndarray, rng: np.random.Generator, a: GestureAugmentConfig,
                     label: str | None = None) -> np.ndarray:
    """A randomly altered copy of ``frames``; ``label`` (the example's label) matters only for
    ``a.flip_side_labels``: with that set, sequences of other labels (or of no given label) are never
    flipped and draw no random numbers for it."""
    x = frames
    # draws nothing at p=0 (or for a label not chosen): the default recipe's random stream is unchanged
    if a.flip_side_prob > 0 and (not a.flip_side_labels or label in a.flip_side_labels):
        flip = np.flatnonzero(rng.random(2) < a.flip_side_prob)
        if flip.size:
            x = flip_hand_side(x, tuple(flip))
    T = x.shape[0]
    if T > 4 and rng.random() < a.crop_prob:
        keep = max(2, int(round(T * rng.uniform(*a.crop_keep))))
        s = int(rng.integers(0, T - keep + 1))
        x = x[s:s + keep]
    x = resample_frames(x, max(2, int(round(x.shape[0] / rng.uniform(*a.speed_range)))))
    if rng.random() < a.lead_in_prob:  # the hands appear just before the gesture starts
        lead = np.full((int(rng.integers(1, max(2, x.shape[0] // 4))),) + x.shape[1:], np.nan, np.float32)
        x = np.concatenate([lead, x])
    x = _similarity(x, rng, a)
    if rng.random() < a.mirror_prob:
        x = x[:, ::-1].copy()
        x[..., 0] = 1.0 - x[..., 0]
        x[..., 2] = x[..., 2]
    sigma = rng.uniform(*a.jitter_range)
    if sigma > 0:
        x = x + rng.normal(0, sigma, size=x.shape).astype(np.float32)
    if rng.random() < a.drop_prob:
        drop = rng.random(x.shape[:2]) < rng.uniform(0, a.drop_rate_max)
        x = np.where(drop[..., None, None], np.nan, x)
    return x.astype(np.float32)


def synthetic_no_gesture(rng: np.random.Generator, poses: np.ndarray, length: tuple[int, int] = (20, 45)
                         ) -> np.ndarray:
    """A "no gesture" sequence: no hands, a still hand (with tracker jitter), a slow drift, or a hand
    that flickers in and out of tracking. ``poses (n, 2, 21, 3)``: real frames to take hand shapes from."""
    T = int(rng.integers(length[0], length[1] + 1))
    kind = rng.choice(["absent", "still", "drift", "flicker"], p=[0.15, 0.45, 0.25, 0.15])
    if kind == "absent":
        return np.full((T, 2, N_LANDMARKS, 3), np.nan, np.float32)
    if poses.shape[0]:
        pose = poses[int(rng.integers(0, poses.shape[0]))].copy()
    else:
        pose = np.full((2, N_LANDMARKS, 3), np.nan, np.float32)
        pose[1] = TEMPLATE_HAND
        if rng.random() < 0.5:
            pose[0] = TEMPLATE_HAND * [-1, 1, 1] + [1.0 - 0.2, 0, 0]
    if rng.random() < 0.3:  # sometimes only one of the two hands is up
        pose[int(rng.integers(0, 2))] = np.nan
    x = np.repeat(pose[None], T, 0)
    x = _similarity(x, rng, GestureAugmentConfig(rotate_deg=20, scale_range=(0.6, 1.5)))
    palm = 0.07
    if kind == "drift":
        direction = rng.normal(size=2)
        direction /= np.linalg.norm(direction) + 1e-9
        total = rng.uniform(0.1, 0.8) * palm   # well below the sweeps of a gesture
        ramp = np.linspace(0, 1, T, dtype=np.float32)[:, None, None, None]
        x[..., :2] = x[..., :2] + ramp * (direction * total).astype(np.float32)
    x = x + rng.normal(0, rng.uniform(0.0005, 0.003), size=x.shape).astype(np.float32)
    if kind == "flicker":
        drop = rng.random((T, 2)) < rng.uniform(0.2, 0.6)
        x = np.where(drop[..., None, None], np.nan, x)
    elif rng.random() < 0.4:  # hands entering or leaving the view: what a sliding window sees most
        cut = int(rng.integers(1, T // 2 + 1))
        if rng.random() < 0.5:
            x[:cut] = np.nan
        else:
            x[T - cut:] = np.nan
    return x.astype(np.float32)


@dataclass
class GestureTaskData:
    """Implements the TaskData protocol of :mod:`recognizers.training.loop` for hand gestures."""

    frontend: LandmarkConfig = field(default_factory=LandmarkConfig)
    augmentation: GestureAugmentConfig = field(default_factory=GestureAugmentConfig)
    task: str = "gesture"
    extensions: tuple[str, ...] = GESTURE_FILE_EXTENSIONS
    spec_augment: bool = False

    def __post_init__(self):
        self._poses: list[np.ndarray] = []

    @property
    def frontend_json(self) -> dict:
        return self.frontend.to_json()

    def load(self, example: Example) -> np.ndarray:
        frames = load_landmark_file(example.path, self.frontend.fps)
        self._poses.append(_hand_poses(frames))   # hand shapes for the "no gesture" examples
        return frames

    def features(self, raw: np.ndarray, rng: np.random.Generator | None = None, *,
                 label: str | None = None) -> np.ndarray:
        """``(frames, feature_size)`` landmark features; augmented when ``rng`` is given. ``label``: the
        example's label, which training passes for label-conditional augmentation (``flip_side_labels``)."""
        x = as_two_hand_frames(raw, self.frontend.single_hand)
        if rng is not None:
            x = augment_sequence(x, rng, self.augmentation, label)
        return StreamingLandmarks(self.frontend).push(x)

    def synthetic_negative(self, rng: np.random.Generator) -> np.ndarray:
        poses = np.concatenate(self._poses[-2000:], 0) if self._poses else np.zeros((0, 2, N_LANDMARKS, 3))
        return synthetic_no_gesture(rng, poses)
