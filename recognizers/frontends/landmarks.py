"""Landmark frontend: per-frame hand landmarks ``(2, 21, 3)`` -> features that do not depend on where the
hand is in the image or how large it appears, plus its motion.

Per hand slot (0 left, 1 right), ``HAND_FEATURES`` = 64 values:

* ``present`` (1): 1 when the hand was tracked in this frame, else 0 and every other value of the slot 0;
* ``shape`` (60): landmarks 1..20 minus the wrist, divided by the palm size (mean wrist->index/middle/
  pinky knuckle and index->pinky knuckle distance, 3-D), so position and apparent size cancel out. For the
  left hand ``x`` is negated, so a left hand and the mirror image of a right hand give the same values
  (one set of weights learns hand shapes for both sides; which side it is stays known from the slot);
* ``motion`` (3): wrist velocity ``(dx, dy)`` in palm sizes per second and ``d log(palm size)`` per second
  (moving towards or away from the camera), again with ``x`` negated for the left hand. They are 0 in the
  first frame of a stream and whenever the hand was absent in the previous frame (no made-up jumps).

Then 2 values for the two hands together: the right wrist minus the left wrist in mean palm sizes
(0 unless both are present). ``feature_size`` = 2 * 64 + 2 = 130.

Velocities need the previous frame, which the streaming class carries, so a stream pushed frame by frame
gives exactly the features of one push of the whole sequence. Time is frame index / ``fps``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from recognizers.errors import ModelFileError, VaultError
from recognizers.frontends.settings import check_frontend_json

N_LANDMARKS = 21
HAND_FEATURES = 1 + 3 * (N_LANDMARKS - 1) + 3
PAIR_FEATURES = 2
MIN_PALM = 1e-4           # a "hand" smaller than this (normalised units) is a tracking artefact
PALM_PAIRS = ((0, 5), (0, 9), (0, 17), (5, 17))


@dataclass(frozen=True)
class LandmarkConfig:
    """Settings of the landmark frontend (stored in ``model.json`` under ``frontend``).

    ``fps``: nominal frames per second of the landmark stream (velocities are per second, event times
    are frame index / fps). ``single_hand``: which slot a single-hand input ``(21, 3)`` fills.
    """

    fps: float = 30.0
    single_hand: str = "right"
    type: str = "landmarks"

    @property
    def feature_size(self) -> int:
        return 2 * HAND_FEATURES + PAIR_FEATURES

    @property
    def frames_per_second(self) -> float:
        return float(self.fps)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> "LandmarkConfig":
        check_frontend_json(cls, d, "landmarks", "landmark")
        try:
            cfg = cls(**d)
            ok = (isinstance(cfg.fps, (int, float)) and not isinstance(cfg.fps, bool)
                  and 1.0 <= float(cfg.fps) <= 1000.0 and cfg.single_hand in ("left", "right"))
        except TypeError as exc:
            raise ModelFileError(f"bad landmark frontend settings: {exc}") from None
        if not ok:
            raise ModelFileError(f"inconsistent landmark frontend settings: {d}")
        return cfg


def as_two_hand_frames(block, single_hand: str = "right") -> np.ndarray:
    """Any accepted landmark block as ``(time, 2, 21, 3)`` float32.

    Accepted: ``(2, 21, 3)`` one frame of both hands, ``(T, 2, 21, 3)``, and single-hand ``(21, 3)`` or
    ``(T, 21, 3)`` (placed in the ``single_hand`` slot). A 3-D block with a first axis of 2 is one
    two-hand frame, never two single-hand frames.
    """
    try:
        a = np.asarray(block, dtype=np.float32)
    except (TypeError, ValueError):
        raise VaultError("hand landmarks must be numeric arrays") from None
    if a.ndim == 2 and a.shape == (N_LANDMARKS, 3):
        a = a[None]
    if a.ndim == 3 and a.shape == (2, N_LANDMARKS, 3):
        return a[None]
    if a.ndim == 3 and a.shape[1:] == (N_LANDMARKS, 3):
        out = np.full((a.shape[0], 2, N_LANDMARKS, 3), np.nan, np.float32)
        out[:, 0 if single_hand == "left" else 1] = a
        return out
    if a.ndim == 4 and a.shape[1:] == (2, N_LANDMARKS, 3):
        return a
    raise VaultError(f"hand landmarks must be shaped (2, 21, 3), (time, 2, 21, 3), (21, 3) or "
                     f"(time, 21, 3); got {a.shape}")


def hand_geometry(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``frames (T, 2, 21, 3)`` -> ``present (T, 2)`` bool, ``wrist (T, 2, 3)``, ``palm (T, 2)``.

    A hand is present when all its values are finite, not all zero (some recorders write zeros for a
    missing hand) and its palm is not degenerate.
    """
    finite = np.all(np.isfinite(frames), axis=(2, 3))
    safe = np.where(np.isfinite(frames), frames, 0.0)
    nonzero = np.any(safe != 0, axis=(2, 3))
    palm = np.mean([np.linalg.norm(safe[:, :, a] - safe[:, :, b], axis=-1) for a, b in PALM_PAIRS], axis=0)
    present = finite & nonzero & (palm > MIN_PALM)
    return present, safe[:, :, 0], np.where(present, palm, 1.0)


class StreamingLandmarks:
    """Streaming landmark features: ``push`` one frame or many, get their features ``(frames, 130)``."""

    def __init__(self, config: LandmarkConfig | None = None):
        self.config = config or LandmarkConfig()
        self._mirror = np.array([-1.0, 1.0, 1.0], np.float32)
        self.reset()

    @property
    def feature_size(self) -> int:
        return self.config.feature_size

    def reset(self) -> None:
        self._prev_present = np.zeros(2, bool)
        self._prev_wrist = np.zeros((2, 3), np.float32)
        self._prev_palm = np.ones(2, np.float32)
        self.frames_emitted = 0

    def push(self, block) -> np.ndarray:
        frames = as_two_hand_frames(block, self.config.single_hand)
        T = frames.shape[0]
        out = np.zeros((T, self.feature_size), np.float32)
        if T == 0:
            return out
        present, wrist, palm = hand_geometry(frames)
        safe = np.where(np.isfinite(frames), frames, 0.0)
        fps = float(self.config.fps)
        prev_present = np.concatenate([self._prev_present[None], present[:-1]], 0)
        prev_wrist = np.concatenate([self._prev_wrist[None], wrist[:-1]], 0)
        prev_palm = np.concatenate([self._prev_palm[None], palm[:-1]], 0)
        moving = present & prev_present
        for s in (0, 1):
            sign = self._mirror if s == 0 else np.ones(3, np.float32)
            base = s * HAND_FEATURES
            p = present[:, s]
            shape = (safe[:, s, 1:] - wrist[:, s, None]) / palm[:, s, None, None] * sign
            vel = (wrist[:, s, :2] - prev_wrist[:, s, :2]) / palm[:, s, None] * fps * sign[:2]
            dscale = np.log(palm[:, s] / prev_palm[:, s]) * fps
            out[:, base] = p
            out[:, base + 1:base + 61] = np.where(p[:, None], shape.reshape(T, -1), 0.0)
            m = moving[:, s]
            out[:, base + 61:base + 63] = np.where(m[:, None], vel, 0.0)
            out[:, base + 63] = np.where(m, dscale, 0.0)
        both = present[:, 0] & present[:, 1]
        between = (wrist[:, 1, :2] - wrist[:, 0, :2]) / ((palm[:, 0] + palm[:, 1]) / 2)[:, None]
        out[:, 2 * HAND_FEATURES:] = np.where(both[:, None], between, 0.0)
        self._prev_present = present[-1].copy()
        self._prev_wrist = wrist[-1].astype(np.float32)
        self._prev_palm = palm[-1].astype(np.float32)
        self.frames_emitted += T
        return out

