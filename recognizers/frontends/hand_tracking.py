"""Hand tracking: RGB frames -> up to two hands of 21 landmarks each (MediaPipe Hands, fully offline).

MediaPipe 0.10.21 ships the palm-detection and hand-landmark models inside its wheel, and the legacy
``mp.solutions.hands`` graph loads them from there, so nothing is downloaded at run time.

Convention (selfie view). MediaPipe's handedness labels assume a *mirrored* image: a front camera frame
flipped horizontally, as a webcam preview shows it. The shipped arman gesture data was recorded that way
(its author flips the camera image before MediaPipe), and a model trained on it expects landmark ``x`` in
mirrored-image coordinates. So:

* frames given to :meth:`HandTracker.process` are taken to be the selfie view already (the GUI flips the
  camera frame with ``cv2.flip(frame, 1)`` for display and passes that same frame), unless the tracker
  is built with ``mirror=True``, which flips every frame before tracking (for unmirrored video files);
  landmarks are then in the coordinates of the *flipped* frame;
* ``Hand.handedness`` is then the person's real hand ("Right" is their right hand, seen on the right of
  the mirrored image), and :func:`hands_to_frame` puts it in slot 1 (slots: 0 left, 1 right).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recognizers.errors import VaultError

N_LANDMARKS = 21
SLOTS = ("Left", "Right")


@dataclass
class Hand:
    """One tracked hand: ``landmarks (21, 3)`` float32 in MediaPipe normalised image coordinates (x, y in
    [0, 1] of the frame's width/height, z relative depth with the wrist near 0, about x's scale)."""

    landmarks: np.ndarray
    handedness: str
    score: float


class HandTracker:
    """MediaPipe Hands in ``"video"`` mode (tracks between frames: fast and stable on a stream) or
    ``"image"`` mode (detects afresh in every frame: for unrelated photos)."""

    def __init__(self, mode: str = "video", max_hands: int = 2, min_detection_confidence: float = 0.5,
                 min_tracking_confidence: float = 0.5, model_complexity: int = 1, mirror: bool = False):
        if mode not in ("video", "image"):
            raise VaultError(f"hand tracking mode {mode!r}: use 'video' or 'image'")
        if not 1 <= int(max_hands) <= 4:
            raise VaultError(f"max_hands={max_hands!r}: use 1 to 4")
        if not 0.0 <= float(min_detection_confidence) <= 1.0:
            raise VaultError(f"min_detection_confidence={min_detection_confidence!r} is outside [0, 1]")
        import mediapipe as mp  # heavy; imported only when a tracker is made
        self.mode = mode
        self.max_hands = int(max_hands)
        self.mirror = bool(mirror)
        try:
            self._hands = mp.solutions.hands.Hands(
                static_image_mode=(mode == "image"), max_num_hands=self.max_hands,
                model_complexity=int(model_complexity), min_detection_confidence=float(min_detection_confidence),
                min_tracking_confidence=float(min_tracking_confidence))
        except (RuntimeError, ValueError, OSError) as exc:
            raise VaultError(f"MediaPipe hand tracking could not start: {mediapipe_reason(exc)}") from None

    def process(self, rgb: np.ndarray) -> list[Hand]:
        """Hands in one RGB frame ``(height, width, 3)`` uint8, highest score first."""
        if self._hands is None:
            raise VaultError("this hand tracker is closed")
        rgb = np.asarray(rgb)
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.shape[0] < 2 or rgb.shape[1] < 2:
            raise VaultError(f"hand tracking needs an RGB image (height, width, 3), got shape {rgb.shape}")
        if rgb.dtype != np.uint8:
            raise VaultError(f"hand tracking needs uint8 RGB pixels, got {rgb.dtype}")
        if self.mirror:
            rgb = rgb[:, ::-1]
        try:
            result = self._hands.process(np.ascontiguousarray(rgb))
        except RuntimeError as exc:     # its graph starts on the first frame: a model that fails to load
            raise VaultError(f"MediaPipe hand tracking failed: {mediapipe_reason(exc)}") from None
        hands = []
        for lm, cls in zip(result.multi_hand_landmarks or [], result.multi_handedness or []):
            pts = np.array([(p.x, p.y, p.z) for p in lm.landmark], dtype=np.float32)
            c = cls.classification[0]
            hands.append(Hand(pts, "Left" if c.label == "Left" else "Right", float(c.score)))
        return sorted(hands, key=lambda h: -h.score)

    def close(self) -> None:
        if self._hands is not None:
            hands, self._hands = self._hands, None
            try:
                hands.close()
            except RuntimeError:    # a graph that failed to start fails again on close: process() said why
                pass

    def __enter__(self) -> "HandTracker":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def mediapipe_reason(exc: BaseException) -> str:
    """One line from a MediaPipe error: its graph errors run over many lines ("Graph has errors: /
    Calculator::Open() for node ... failed: Failed to load resource: ....tflite / Can't find file: ...");
    the innermost "failed: " reason is the one that says what is wrong."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    for line in lines:
        if "failed: " in line:
            return line.rsplit("failed: ", 1)[1][:300]
    return (lines[-1] if lines else type(exc).__name__)[:300]


def empty_frame() -> np.ndarray:
    """A frame with no hands: ``(2, 21, 3)`` of NaN."""
    return np.full((2, N_LANDMARKS, 3), np.nan, np.float32)


def hands_to_frame(hands: list[Hand]) -> np.ndarray:
    """``(2, 21, 3)`` float32, slot 0 the left hand, slot 1 the right hand, NaN where absent.

    When MediaPipe labels two hands alike (it happens for crossed or partly hidden hands), the one
    further right in the (selfie-view) image goes to the right slot. Extra hands beyond two are dropped
    (lowest scores first).
    """
    out = empty_frame()
    hands = sorted(hands, key=lambda h: -h.score)[:2]
    if len(hands) == 2 and hands[0].handedness == hands[1].handedness:
        a, b = hands
        left, right = (a, b) if float(a.landmarks[0, 0]) <= float(b.landmarks[0, 0]) else (b, a)
        out[0], out[1] = left.landmarks, right.landmarks
        return out
    for h in hands:
        out[SLOTS.index(h.handedness)] = h.landmarks
    return out
