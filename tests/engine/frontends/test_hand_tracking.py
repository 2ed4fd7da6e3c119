"""Hand tracking on real photos and videos (../shared/data/hands), plus frame assembly and bad input."""
import numpy as np
import pytest
from testdata import shared_data

from recognizers.errors import VaultError
from recognizers.frontends.hand_tracking import Hand, HandTracker, hands_to_frame

PHOTOS = {"linto_hello": 1, "linto_iloveyou": 1, "linto_vectory": 1, "linto_okay": 2, "linto_thanks": 1,
          "mps_gesture_recognizer_hand_thumb_up": 1, "mps_gesture_recognizer_thumbs-up": 1}


def _rgb(path, max_side=None):
    import cv2
    bgr = cv2.imread(str(path))
    assert bgr is not None, path
    if max_side and max(bgr.shape[:2]) > max_side:
        s = max_side / max(bgr.shape[:2])
        bgr = cv2.resize(bgr, (int(bgr.shape[1] * s), int(bgr.shape[0] * s)))
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def test_a_hand_is_found_in_every_photo():
    folder = shared_data("hands")
    with HandTracker("image") as tracker:
        for stem, at_least in PHOTOS.items():
            path = next(folder.glob(stem + "*.*[gG]"))
            hands = tracker.process(_rgb(path))
            assert len(hands) >= at_least, path.name
            for h in hands:
                assert h.landmarks.shape == (21, 3) and h.landmarks.dtype == np.float32
                assert h.handedness in ("Left", "Right") and 0.5 <= h.score <= 1.0
                assert np.all((h.landmarks[:, :2] > -0.2) & (h.landmarks[:, :2] < 1.2))


@pytest.mark.parametrize("name,step", [("mps_hand_landmarker_test_video.mp4", 1),
                                       ("mps_gesture_recognizer_test_video.mp4", 2)])
def test_video_tracking_keeps_the_hand_once_it_appeared(name, step):
    import cv2
    path = shared_data("hands") / name
    cap = cv2.VideoCapture(str(path))
    found = []
    with HandTracker("video") as tracker:
        k = 0
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            if k % step == 0:
                small = cv2.resize(bgr, (640, 360))
                found.append(bool(tracker.process(cv2.cvtColor(small, cv2.COLOR_BGR2RGB))))
            k += 1
    cap.release()
    assert k > 150
    first = found.index(True)
    rate = float(np.mean(found[first:]))
    assert rate >= 0.9, f"{name}: hand in {rate:.0%} of the frames after it appeared"


def test_hands_to_frame_orders_left_right_and_marks_absence():
    a = np.full((21, 3), 0.3, np.float32)
    b = np.full((21, 3), 0.7, np.float32)
    f = hands_to_frame([Hand(b, "Right", 0.9), Hand(a, "Left", 0.8)])
    assert f.shape == (2, 21, 3) and f.dtype == np.float32
    assert np.all(f[0] == a) and np.all(f[1] == b)
    only = hands_to_frame([Hand(a, "Left", 0.9)])
    assert np.all(only[0] == a) and np.all(np.isnan(only[1]))
    assert np.all(np.isnan(hands_to_frame([])))
    same = hands_to_frame([Hand(b, "Right", 0.9), Hand(a, "Right", 0.6)])   # labelled alike: by position
    assert np.all(same[0] == a) and np.all(same[1] == b)


def test_mirror_flips_coordinates():
    photo = next(shared_data("hands").glob("linto_hello*.jpg"))
    rgb = _rgb(photo)
    with HandTracker("image", max_hands=1) as plain, HandTracker("image", max_hands=1, mirror=True) as flip:
        h0, h1 = plain.process(rgb)[0], flip.process(rgb)[0]
    assert abs(h0.landmarks[0, 0] - (1 - h1.landmarks[0, 0])) < 0.03
    assert h0.handedness != h1.handedness


def test_bad_frames_and_settings_are_refused():
    with pytest.raises(VaultError):
        HandTracker("stream")
    with HandTracker("image") as tracker:
        with pytest.raises(VaultError, match="RGB"):
            tracker.process(np.zeros((10, 10), np.uint8))
        with pytest.raises(VaultError, match="uint8"):
            tracker.process(np.zeros((10, 10, 3), np.float32))
        assert tracker.process(np.zeros((48, 64, 3), np.uint8)) == []
    with pytest.raises(VaultError, match="closed"):
        tracker.process(np.zeros((48, 64, 3), np.uint8))
