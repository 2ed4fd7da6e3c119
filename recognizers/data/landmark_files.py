"""Landmark sequences from files: landmark ``.npz`` files, videos and image folders (tracked with MediaPipe)
-> ``(time, 2, 21, 3)`` float32, NaN where a hand is absent.

File layout: ``landmarks`` in MediaPipe's normalised image coordinates (selfie view, see
:mod:`recognizers.frontends.hand_tracking`), either ``(time, 21, 3)`` for one hand or ``(time, 2, 21, 3)`` for two
hands ordered left, right. Optional: ``handedness`` ("Left"/"Right", one for the file or one per frame) for
one-hand files (default right), and ``fps`` (the sequence is resampled to the model's frame rate when it differs).
"""
from __future__ import annotations

import math
import os
import zipfile
import zlib
from pathlib import Path

import numpy as np

from recognizers.errors import VaultError
from recognizers.frontends.hand_tracking import N_LANDMARKS, HandTracker, hands_to_frame
from recognizers.io.extensions import LANDMARK_EXTENSIONS, VIDEO_EXTENSIONS
from recognizers.io.video import VideoFile, image_files, read_image

__all__ = ["MAX_FRAMES", "load_gesture_input", "load_landmark_file", "resample_frames", "track_image_folder",
           "track_video"]

MAX_FRAMES = 100_000           # about an hour at 30 fps; longer inputs are refused, not truncated
MAX_COORDINATE = 1000.0        # |landmark value| above this is damage (normalised coordinates are about 0..1)
MIRROR_FILES = True            # videos/image folders are camera recordings: flip them to the selfie view


def resample_frames(frames: np.ndarray, n_out: int) -> np.ndarray:
    """``(T, 2, 21, 3)`` -> ``(n_out, 2, 21, 3)`` over the same time span, linear between frames where the
    hand is present in both neighbours, else the nearest frame (absence is kept, never invented)."""
    T = frames.shape[0]
    if n_out == T or T == 0:
        return frames.copy()
    n_out = max(1, int(n_out))
    u = np.linspace(0, T - 1, n_out) if n_out > 1 else np.zeros(1)
    lo = np.floor(u).astype(int)
    hi = np.minimum(lo + 1, T - 1)
    w = (u - lo).astype(np.float32)[:, None, None, None]
    interp = frames[lo] * (1 - w) + frames[hi] * w
    nearest = frames[np.rint(u).astype(int)]
    return np.where(np.isfinite(interp), interp, nearest).astype(np.float32)


def _slot_of(handedness) -> int:
    h = str(handedness).strip().lower()
    if h in ("left", "l"):
        return 0
    if h in ("right", "r"):
        return 1
    raise ValueError(h)


def load_landmark_file(path: str | os.PathLike, fps: float | None = None) -> np.ndarray:
    """Read a landmark ``.npz`` as ``(time, 2, 21, 3)`` float32 (NaN where a hand is absent).

    With ``fps`` given and an ``fps`` stored in the file, the sequence is resampled to ``fps``.
    Every problem (unreadable, corrupt, pickled, wrong shape, infinite values) is a one-line
    :class:`VaultError` naming the file; pickled object arrays are never loaded.
    """
    path = Path(path)
    if not path.is_file():
        raise VaultError(f"{path}: no such landmark file")
    try:
        with open(path, "rb") as f:
            magic = f.read(6)
        if magic.startswith(b"\x93NUMPY"):
            raise VaultError(f"{path}: a landmark file is an .npz archive with 'landmarks', not a bare array")
        if not magic.startswith((b"PK\x03\x04", b"PK\x05\x06")):
            raise VaultError(f"{path}: not an .npz landmark file (not a zip archive)")
        z = np.load(path, allow_pickle=False)
        if not isinstance(z, np.lib.npyio.NpzFile):
            raise VaultError(f"{path}: a landmark file is an .npz archive with 'landmarks', not a bare array")
        with z:
            if "landmarks" not in z.files:
                raise VaultError(f"{path}: no 'landmarks' array (has {sorted(z.files)[:5]})")
            for key in ("landmarks", "handedness", "fps"):
                if key in z.files:
                    _check_npy_member(path, z, key)
            lm = z["landmarks"]
            handedness = z["handedness"] if "handedness" in z.files else None
            file_fps = z["fps"] if "fps" in z.files else None
    except VaultError:
        raise
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise VaultError(f"{path}: holds pickled objects, which can run code and are refused") from None
        raise VaultError(f"{path}: damaged landmark file ({exc})") from None
    except (OSError, EOFError, zipfile.BadZipFile, zipfile.LargeZipFile, KeyError, NotImplementedError,
            RuntimeError, UnicodeDecodeError, zlib.error) as exc:
        # zipfile raises NotImplementedError (unknown compression), RuntimeError (encrypted member) ...
        raise VaultError(f"{path}: not a readable .npz landmark file ({exc.__class__.__name__})") from None
    if lm.dtype.kind not in "fiu":
        raise VaultError(f"{path}: 'landmarks' must be numbers, got {lm.dtype}")
    if lm.ndim == 3 and lm.shape[1:] == (N_LANDMARKS, 3):
        frames = np.full((lm.shape[0], 2, N_LANDMARKS, 3), np.nan, np.float32)
        slots = np.ones(lm.shape[0], int)
        if handedness is not None:
            try:
                h = np.atleast_1d(handedness)
                slots = (np.full(lm.shape[0], _slot_of(h[0])) if h.size == 1
                         else np.array([_slot_of(x) for x in h]))
            except ValueError:
                raise VaultError(f"{path}: 'handedness' must be 'Left' or 'Right' (one, or one per "
                                 f"frame)") from None
            if slots.shape[0] != lm.shape[0]:
                raise VaultError(f"{path}: {slots.shape[0]} handedness values for {lm.shape[0]} frames")
        frames[np.arange(lm.shape[0]), slots] = lm
    elif lm.ndim == 4 and lm.shape[1:] == (2, N_LANDMARKS, 3):
        frames = lm.astype(np.float32)
    else:
        raise VaultError(f"{path}: 'landmarks' must be (time, 21, 3) or (time, 2, 21, 3), got {lm.shape}")
    if frames.shape[0] == 0:
        raise VaultError(f"{path}: holds no frames")
    if frames.shape[0] > MAX_FRAMES:
        raise VaultError(f"{path}: {frames.shape[0]} frames is more than the {MAX_FRAMES} accepted")
    if np.any(np.isinf(frames)):
        raise VaultError(f"{path}: 'landmarks' holds infinite values (use NaN for an absent hand)")
    finite = frames[np.isfinite(frames)]
    if finite.size and float(np.max(np.abs(finite))) > MAX_COORDINATE:
        # landmarks are normalised image coordinates (about 0..1; z about the same scale); 1e38 overflows the
        # frontend's differences to inf and every probability to NaN
        raise VaultError(f"{path}: 'landmarks' values reach {float(np.max(np.abs(finite))):.3g}; hand landmarks "
                         f"are normalised image coordinates (|x| <= {MAX_COORDINATE:g})")
    if file_fps is not None and fps is not None:
        try:
            f = float(np.asarray(file_fps).reshape(-1)[0])
        except (ValueError, IndexError, TypeError):
            raise VaultError(f"{path}: 'fps' must be one positive number") from None
        if not 1.0 <= f <= 1000.0:
            raise VaultError(f"{path}: 'fps' {f} is outside 1..1000")
        if abs(f - fps) > 0.02 * fps:
            n_out = int(round(frames.shape[0] * fps / f))
            if n_out > MAX_FRAMES:   # a tiny file of many frames at 1 fps must not become gigabytes
                raise VaultError(f"{path}: {frames.shape[0]} frames at {f:g} fps are {n_out} frames at "
                                 f"{fps:g} fps, more than the {MAX_FRAMES} accepted")
            frames = resample_frames(frames, n_out)
    return frames


MAX_MEMBER_BYTES = MAX_FRAMES * 2 * N_LANDMARKS * 3 * 8   # the largest array a landmark file may hold


def _check_npy_member(path: Path, z, key: str) -> None:
    """Read the header of array ``key`` of an open .npz and refuse it before numpy allocates anything:
    pickled objects, a member that is not an array, or a declared shape larger than any landmark file."""
    member = key if key in z.zip.namelist() else key + ".npy"   # the member numpy itself would read
    try:
        with z.zip.open(member) as f:
            version = np.lib.format.read_magic(f)   # ValueError when the member is not an .npy array
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                raise VaultError(f"{path}: '{key}' uses .npy format {version}, which is not supported")
    except VaultError:
        raise
    except Exception as exc:  # noqa: BLE001 - numpy parses the header with ast/tokenize: any error is possible
        raise VaultError(f"{path}: '{key}' is not a readable array ({type(exc).__name__})") from None
    if dtype.hasobject:
        raise VaultError(f"{path}: '{key}' holds pickled objects, which can run code and are refused")
    n = 1
    for d in shape:
        n *= int(d)
    if n * max(1, dtype.itemsize) > MAX_MEMBER_BYTES:
        raise VaultError(f"{path}: '{key}' declares shape {shape} of {dtype}, larger than any landmark file")


def _too_long(path, frames: int, fps: float, max_seconds: float, option: str) -> VaultError:
    from recognizers.data.durations import format_seconds
    from recognizers.io.safe_text import safe_text
    return VaultError(f"{safe_text(path)}: {frames} frames ({format_seconds(frames / fps)} s at {fps:g} fps) is "
                      f"longer than {option} {max_seconds:g}; trim it or raise the limit")


def track_video(path: str | os.PathLike, fps: float | None = None, mirror: bool = MIRROR_FILES,
                on_frame=None, max_seconds: float | None = None,
                option: str = "--max-seconds") -> tuple[np.ndarray, float]:
    """Track hands through a video file: ``(frames (T, 2, 21, 3), video fps)``.

    With ``fps`` given, the landmark sequence is resampled from the video's rate to ``fps``.
    ``on_frame(index, frame (2, 21, 3))`` is called per decoded frame (at the video's own rate).
    With ``max_seconds``, a video whose container declares a longer length is refused before anything is
    tracked, and one whose container does not say is refused as soon as tracking passes the limit (never
    tracked to its end). Either way at most :data:`MAX_FRAMES` frames are tracked.
    """
    video = VideoFile(path, default_fps=float(fps or 30.0))
    limit = MAX_FRAMES
    if max_seconds is not None:
        limit = min(limit, int(math.floor(max_seconds * video.fps + 1e-6)))
        if video.frame_count is not None and video.frame_count > limit:
            raise _too_long(video.path, video.frame_count, video.fps, max_seconds, option)
    if video.frame_count is not None and video.frame_count > MAX_FRAMES:
        raise VaultError(f"{video.path}: {video.frame_count} frames is more than the {MAX_FRAMES} accepted; "
                         f"trim it first")
    out = []
    with HandTracker("video", mirror=mirror) as tracker:
        for rgb in video.frames():
            if len(out) >= limit:
                if max_seconds is not None and limit < MAX_FRAMES:
                    raise _too_long(video.path, len(out) + 1, video.fps, max_seconds, option)
                raise VaultError(f"{video.path}: longer than {MAX_FRAMES} frames; trim it first")
            frame = hands_to_frame(tracker.process(rgb))
            if on_frame is not None:
                on_frame(len(out), frame)
            out.append(frame)
    if not out:
        raise VaultError(f"{video.path}: no frames could be decoded (empty or corrupt video)")
    frames = np.stack(out)
    if fps is not None and abs(video.fps - fps) > 0.02 * fps:
        frames = resample_frames(frames, int(round(frames.shape[0] * fps / video.fps)))
    return frames, video.fps


def track_image_folder(folder: str | os.PathLike, mirror: bool = MIRROR_FILES, max_seconds: float | None = None,
                       fps: float = 30.0, option: str = "--max-seconds") -> np.ndarray:
    """Track hands through the images of a folder, in file-name order, as consecutive frames (at ``fps``:
    more than ``max_seconds`` of them are refused before tracking)."""
    files = image_files(folder)
    if len(files) > MAX_FRAMES:
        raise VaultError(f"{folder}: more than {MAX_FRAMES} images")
    if max_seconds is not None and len(files) > max_seconds * fps:
        raise _too_long(folder, len(files), fps, max_seconds, option)
    from recognizers.io.video import check_image_size
    for p in files:     # every header before MediaPipe starts: a bomb is refused at once, in one line
        check_image_size(p)
    out = []
    with HandTracker("video", mirror=mirror) as tracker:
        for p in files:
            rgb = read_image(p)
            if rgb is None:
                raise VaultError(f"{p}: cannot read this image (corrupt or unsupported)")
            out.append(hands_to_frame(tracker.process(rgb)))
    return np.stack(out)


def load_gesture_input(path: str | os.PathLike, frontend_json: dict, max_seconds: float | None = None,
                       option: str = "--max-seconds", mirror: bool = MIRROR_FILES) -> np.ndarray:
    """Raw ``(time, 2, 21, 3)`` landmarks of an ``.npz`` sequence, a video, or a folder of images
    (the input loader that ``predict``/``eval``/``trace``/``gestures`` use for gesture models). With
    ``max_seconds``, longer inputs are refused: videos and image folders before they are tracked."""
    path = Path(path)
    fps = float(frontend_json.get("fps", 30.0)) if isinstance(frontend_json, dict) else 30.0
    if path.is_dir():
        return track_image_folder(path, mirror=mirror, max_seconds=max_seconds, fps=fps, option=option)
    if not path.exists():
        raise VaultError(f"{path}: no such file or folder")
    suffix = path.suffix.lower()
    if suffix in LANDMARK_EXTENSIONS:
        frames = load_landmark_file(path, fps)
        if max_seconds is not None and frames.shape[0] > max_seconds * fps:
            raise _too_long(path, frames.shape[0], fps, max_seconds, option)
        return frames
    if suffix in VIDEO_EXTENSIONS:
        return track_video(path, fps, mirror=mirror, max_seconds=max_seconds, option=option)[0]
    raise VaultError(f"{path}: not a gesture input (use a landmark .npz, a video "
                     f"({'/'.join(VIDEO_EXTENSIONS[:4])}, …) or a folder of images)")
