"""Reading video files and images as RGB frames with OpenCV (no Qt): one loop for the engine's hand tracking
and the app's file sources."""
from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from recognizers.errors import VaultError
from recognizers.io.extensions import IMAGE_EXTENSIONS

__all__ = ["MAX_VIDEO_SIDE", "VideoFile", "image_files", "read_image", "shrink"]

MAX_VIDEO_SIDE = 960           # larger frames are shrunk (hand landmarks are normalised: they need no more)
FPS_RANGE = (1.0, 1000.0)      # a container's frame rate outside this is not believed
MAX_DECLARED_FRAMES = 1e12     # a frame count above this is a damaged header, not a length


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
    implausible. ``frame_count`` is the container's frame count (None where it does not say), read before
    any frame is decoded, so that a long video can be refused before it is tracked.
    """

    def __init__(self, path: str | os.PathLike, default_fps: float = 30.0, max_side: int = MAX_VIDEO_SIDE):
        import cv2
        self.path = Path(path)
        self.max_side = int(max_side)
        if not self.path.is_file():
            raise VaultError(f"{self.path}: no such video file")
        if self.path.stat().st_size == 0:
            raise VaultError(f"{self.path}: empty video file")
        from recognizers.io.quiet import native_stderr_silenced
        with native_stderr_silenced():   # FFmpeg's "[mov,mp4 @ 0x...] moov atom not found" around our one line
            cap = cv2.VideoCapture(str(self.path))
        try:
            if not cap.isOpened():
                raise VaultError(f"{self.path}: cannot open as a video (corrupt or unsupported format)")
            fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
            count = float(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0.0)
        finally:
            cap.release()
        self.fps_declared = FPS_RANGE[0] <= fps <= FPS_RANGE[1]
        self.fps = fps if self.fps_declared else float(default_fps)
        # the container's frame count (an estimate for some formats), None where it does not say
        self.frame_count = int(count) if math.isfinite(count) and 1 <= count <= MAX_DECLARED_FRAMES else None

    @property
    def declared_seconds(self) -> float | None:
        """The length the container declares (frame count / frame rate), None when it does not say."""
        return None if self.frame_count is None else self.frame_count / self.fps

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
    check_image_size(path)
    from recognizers.io.quiet import native_stderr_silenced
    with native_stderr_silenced():     # libpng/libjpeg warnings on damaged files: our message says it
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    return None if bgr is None else _bgr_to_rgb(bgr, max_side)


MAX_IMAGE_PIXELS = 24_000_000      # 6000 x 4000 (a 24 MP photo); decoded as BGR that is 72 MB
# OpenCV's own limit (read on its first decode), for formats whose header we cannot read ourselves
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(MAX_IMAGE_PIXELS))


def image_size(path: str | os.PathLike) -> tuple[int, int] | None:
    """``(width, height)`` from the image's header, without decoding it (Pillow reads only the header on
    open); None if the header cannot be read (OpenCV then decides, and refuses damaged files)."""
    import struct
    import warnings
    try:
        with open(path, "rb") as f:
            head = f.read(24)
    except OSError:
        return None
    if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":     # even when later chunks are damaged
        return struct.unpack(">II", head[16:24])
    try:
        from PIL import Image
    except ImportError:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")     # DecompressionBombWarning: we decide below
            Image.MAX_IMAGE_PIXELS = None
            with Image.open(path) as im:
                return int(im.size[0]), int(im.size[1])
    except Exception:   # noqa: BLE001 - any unreadable header: OpenCV reports the file as corrupt
        return None


def _check_png_chunks(path: str | os.PathLike) -> None:
    """A PNG's chunks must fit in the file: libpng allocates a chunk's declared length before reading it, so
    a 500-byte file whose bytes after IHDR read as a 1.7 GB length made OpenCV peak at 1.7-3.8 GB."""
    import struct
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            if f.read(8) != b"\x89PNG\r\n\x1a\n":
                return
            pos = 8
            for _ in range(100_000):
                head = f.read(8)
                if len(head) < 8:
                    return          # truncated: OpenCV refuses it without a large allocation
                (length,) = struct.unpack(">I", head[:4])
                if length > size - pos - 12:
                    raise VaultError(f"{path}: damaged PNG (a chunk of {length} bytes in a file of {size})")
                if head[4:8] == b"IEND":
                    return
                pos += 12 + length
                f.seek(pos)
    except OSError:
        return


def check_image_size(path: str | os.PathLike) -> None:
    """VaultError if the header declares more than :data:`MAX_IMAGE_PIXELS` (checked before decoding: OpenCV
    allocates the declared size first, 3.4 GB for a 194 KB 40000 x 40000 PNG) or a PNG's chunks do not fit."""
    _check_png_chunks(path)
    size = image_size(path)
    if size is not None and size[0] * size[1] > MAX_IMAGE_PIXELS:
        raise VaultError(f"{path}: an image of {size[0]} x {size[1]} pixels is larger than the "
                         f"{MAX_IMAGE_PIXELS / 1e6:.0f} megapixels accepted")
