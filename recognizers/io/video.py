"""Reading video files and images as RGB frames with OpenCV (no Qt): one loop for the engine's hand tracking
and the app's file sources."""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from recognizers.errors import VaultError
from recognizers.io.extensions import IMAGE_EXTENSIONS

__all__ = ["MAX_VIDEO_SIDE", "VideoFile", "image_files", "read_image", "shrink"]

MAX_VIDEO_SIDE = 960           # larger frames are shrunk (hand landmarks are normalised: they need no more)
FPS_RANGE = (1.0, 1000.0)      # a container's frame rate outside this is not believed


def shrink(rgb: np.ndarray, max_side: int = MAX_VIDEO_SIDE) -> np.ndarray:
    """``rgb`` scaled down (area interpolation) so that its longer side is at most ``max_side``."""
    h, w = rgb.shape[:2]
    if max(h, w) <= max_side:
        return rgb
    import cv2
    s = max_side / max(h, w)
    return cv2.resize(rgb, (max(2, int(w * s)), max(2, int(h * s))), interpolation=cv2.INTER_AREA)


def _bgr_to_rgb(bgr: np.ndarray, max_side: int) -> np.ndarray:
    import cv2
    h, w = bgr.shape[:2]
    if max(h, w) > max_side:
        s = max_side / max(h, w)
        bgr = cv2.resize(bgr, (max(2, int(w * s)), max(2, int(h * s))), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


class VideoFile:
    """A video file opened for reading: ``fps`` and ``frames()``, RGB ``uint8`` frames ``(h, w, 3)``.

    Opening checks that the file exists, is not empty and that OpenCV can decode it; each problem is one
    :class:`VaultError` naming the file. ``default_fps`` stands in when the container's rate is missing or
    implausible.
    """

    def __init__(self, path: str | os.PathLike, default_fps: float = 30.0, max_side: int = MAX_VIDEO_SIDE):
        import cv2
        self.path = Path(path)
        self.max_side = int(max_side)
        if not self.path.is_file():
            raise VaultError(f"{self.path}: no such video file")
        if self.path.stat().st_size == 0:
            raise VaultError(f"{self.path}: empty video file")
        cap = cv2.VideoCapture(str(self.path))
        try:
            if not cap.isOpened():
                raise VaultError(f"{self.path}: cannot open as a video (corrupt or unsupported format)")
            fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        finally:
            cap.release()
        self.fps = fps if FPS_RANGE[0] <= fps <= FPS_RANGE[1] else float(default_fps)

    def frames(self) -> Iterator[np.ndarray]:
        """Decode the file from its start, frame by frame, until the first frame that cannot be read."""
        import cv2
        cap = cv2.VideoCapture(str(self.path))
        try:
            while True:
                ok, bgr = cap.read()
                if not ok or bgr is None:
                    return
                yield _bgr_to_rgb(bgr, self.max_side)
        finally:
            cap.release()


def image_files(folder: str | os.PathLike) -> list[Path]:
    """The images of ``folder`` in file-name order (the frame order of an image-folder "video")."""
    folder = Path(folder)
    if not folder.is_dir():
        raise VaultError(f"{folder}: no such folder")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise VaultError(f"{folder}: no images ({'/'.join(IMAGE_EXTENSIONS)}) in this folder")
    return files


def read_image(path: str | os.PathLike, max_side: int = MAX_VIDEO_SIDE) -> np.ndarray | None:
    """An image file as RGB ``uint8`` (shrunk to ``max_side``), or ``None`` if OpenCV cannot decode it."""
    import cv2
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    return None if bgr is None else _bgr_to_rgb(bgr, max_side)
