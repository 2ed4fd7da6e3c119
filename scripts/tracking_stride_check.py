#!/usr/bin/env python3
"""Does tracking hands in 1 frame of N (landmarks interpolated between) change what the app recognises?

The app tracks about 10 frames a second (``desktop_app.inference_worker.tracking_stride``: 1 in 3 at 30 fps) to
keep gesture mode's CPU down (issue 16). Two checks, on data a user never gave us:

1. every arman sequence (``../shared/data/dynamic_gestures_arman``, 30 fps) with frames dropped and
   interpolated as the app does, classified by the shipped model: accuracy and the share of decisions that
   stay the same as with every frame;
2. real videos (``../shared/data/hands/*.mp4``, resampled to 30 fps): MediaPipe's landmarks on frames tracked
   at stride N against tracking every frame (MediaPipe's tracking uses the previous tracked frame, so a
   longer gap could lose the hand).

    .venv/bin/python scripts/tracking_stride_check.py [--strides 1,2,3]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"


def interpolate_untracked(frames: np.ndarray, stride: int) -> np.ndarray:
    """What the app's model gets: frames 0, s, 2s, ... (and the last) tracked, the ones between linear."""
    if stride == 1:
        return frames
    out = frames.copy()
    tracked = list(range(0, frames.shape[0], stride))
    if tracked[-1] != frames.shape[0] - 1:
        tracked.append(frames.shape[0] - 1)
    from desktop_app.inference_worker import interpolate_frames  # the app's own interpolation
    for a, b in zip(tracked[:-1], tracked[1:]):
        for i in range(a + 1, b):
            out[i] = interpolate_frames(frames[a], frames[b], (i - a) / (b - a))
    return out


def check_arman(strides: list[int]) -> None:
    from recognizers.data.importers import import_arman
    from recognizers.data.landmark_files import load_landmark_file
    from recognizers.model_files import load_model
    from recognizers.recognizer import Recognizer
    tmp = Path(tempfile.mkdtemp(prefix="stride-check-"))
    import_arman(SHARED / "dynamic_gestures_arman", tmp / "train", 0.3, tmp / "test")
    rec = Recognizer(load_model(REPO / "assets" / "models" / "gestures-arman6"))
    for part in ("test", "train"):
        files = sorted((tmp / part).glob("*/*.npz"))
        base = None
        for s in strides:
            labels = [rec.decide(rec.probabilities(rec.features(interpolate_untracked(load_landmark_file(f), s)))).label
                      for f in files]
            base = labels if base is None else base
            right = sum(lab == f.parent.name for lab, f in zip(labels, files))
            same = sum(a == b for a, b in zip(labels, base))
            print(f"arman {part} ({len(files)} sequences), stride {s}: accuracy {100 * right / len(files):.1f} %, "
                  f"same decision as stride {strides[0]}: {same}/{len(files)}", flush=True)


def check_videos(strides: list[int]) -> None:
    import cv2

    from recognizers.frontends.hand_tracking import HandTracker, hands_to_frame
    for path in sorted((SHARED / "hands").glob("*.mp4")):
        cap = cv2.VideoCapture(str(path))
        fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
        raw = []
        while True:
            ok, f = cap.read()
            if not ok:
                break
            raw.append(cv2.flip(cv2.cvtColor(cv2.resize(f, (640, 480)), cv2.COLOR_BGR2RGB), 1))
        idx = np.floor(np.arange(0, len(raw) * 30.0 / fps) * fps / 30.0).astype(int)
        frames = [raw[i] for i in idx]
        tracked = {}
        for s in strides:
            with HandTracker(mode="video", max_hands=2) as t:
                tracked[s] = {i: hands_to_frame(t.process(frames[i])) for i in range(0, len(frames), s)}
        common = [i for i in range(0, len(frames), int(np.lcm.reduce(strides)))]
        for s in strides[1:]:
            d, lost, swapped = [], 0, 0
            for i in common:
                ref, got = tracked[strides[0]][i], tracked[s][i]
                for k in range(2):
                    a = ref[k]
                    if not np.isfinite(a[0, 0]):
                        continue
                    size = np.linalg.norm(a[9, :2] - a[0, :2])
                    # each hand against the nearest hand found at this stride, whichever slot it is in
                    dist = [np.linalg.norm(a[:, :2] - got[j][:, :2], axis=-1).mean() / size
                            for j in range(2) if np.isfinite(got[j][0, 0])]
                    if not dist:
                        lost += 1
                        continue
                    j = int(np.argmin(dist))
                    swapped += [j for j in range(2) if np.isfinite(got[j][0, 0])][j] != k
                    d.append(min(dist))
            print(f"{path.name}: stride {s} vs {strides[0]} on {len(common)} common frames: landmark distance / hand "
                  f"size median {np.median(d):.3f}, p90 {np.percentile(d, 90):.3f} (nearest hand); hands lost {lost}, "
                  f"in the other slot {swapped}", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--strides", default="1,2,3")
    ap.add_argument("--videos-only", action="store_true")
    args = ap.parse_args()
    strides = [int(s) for s in args.strides.split(",")]
    if not SHARED.is_dir():
        print(f"needs {SHARED}", file=sys.stderr)
        return 2
    if not args.videos_only:
        check_arman(strides)
    check_videos(strides)
    return 0


if __name__ == "__main__":
    sys.exit(main())
