"""Recording labelled takes into a folder-per-label dataset, safely: ``record_take()``, ``RecordingSession``.

A *take* is one example: a speech clip (16 kHz mono 16-bit WAV, trimmed to its voiced part plus a small
margin) or a gesture's landmark sequence (``.npz`` with ``landmarks (time, 2, 21, 3)`` and ``fps``, and
optionally the camera video next to it as ``.mp4``). Takes are written to ``DATA/<label>/`` under the name
``<speaker-or-session>__<timestamp>.<ext>``, which :mod:`recognizers.data.datasets` reads as the take's group,
so a validation split keeps speakers/sessions apart without any extra file.

Nothing is lost: every file is written to a temporary name starting with "." in the same folder (the
dataset scanner ignores such names), flushed to disk with ``fsync`` and then renamed into place, so a
crash or a kill leaves each take either complete or absent. Any write error (full disk, unwritable
folder) becomes a one-line :class:`RecordingError` and leaves the earlier takes untouched.

:class:`RecordingSession` cuts a live stream (audio blocks, or one landmark frame per video frame) into a
run of takes with a countdown before each. Its clock is the stream itself (samples or frames received),
never the wall clock, so a file played as if live records exactly the same takes every time.
"""
from __future__ import annotations

import contextlib
import csv
import errno
import os
import queue
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from recognizers.errors import VaultError
from recognizers.io.paths import pid_alive

DATASET_RATE_HZ = 16000          # speech takes are stored at this rate, mono, 16-bit
MARGIN_MS = 150.0                # kept before and after the voiced part of a speech take
FRAME_MS = 10.0                  # energy frames for trimming
MIN_VOICED_MS = 60.0             # shorter bursts (clicks) do not count as voice
RESERVED_LABELS = ("_unknown_",)
SPEAKER_RX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-]*$")


class RecordingError(VaultError):
    """A take that could not be written (the message says where and why), or invalid recording settings."""


# ---------------------------------------------------------------------------------------------------------
# Names
def check_label(label: str) -> str:
    """A label usable as a folder name, or RecordingError saying why not (one plain path component: see
    :func:`recognizers.io.paths.check_component`)."""
    from recognizers.io.paths import check_component
    label = (label or "").strip() if isinstance(label, str) or label is None else label
    if not label:
        raise RecordingError("choose a label for the takes")
    check_component(label, "label", RecordingError)
    if label in RESERVED_LABELS:
        raise RecordingError(f"label {label!r} is reserved for 'none of these' (training adds it)")
    return label


def check_speaker(speaker: str) -> str:
    """Speaker/session ids become the first part of take names, so they must survive that round trip:
    letters, digits and '-' (no '__', which separates the id from the rest of the name)."""
    speaker = (speaker or "").strip()
    if not speaker:
        raise RecordingError("enter a speaker or session name (it keeps validation honest)")
    if not SPEAKER_RX.match(speaker):
        raise RecordingError(f"speaker/session {speaker!r}: use letters, digits and '-' only")
    return speaker


def take_stem(speaker: str, when: float | None = None) -> str:
    """``<speaker>__<YYYYmmdd-HHMMSS-mmm>`` (local time; sorting by name sorts by recording time)."""
    when = time.time() if when is None else when
    ms = int(round((when - int(when)) * 1000)) % 1000
    return f"{check_speaker(speaker)}__{time.strftime('%Y%m%d-%H%M%S', time.localtime(when))}-{ms:03d}"


# ---------------------------------------------------------------------------------------------------------
# Atomic files
def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _why(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "the disk is full"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "the folder is not writable"
    return exc.strerror or str(exc)


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path (".<name>.tmp<suffix>" beside ``path``); on success fsync it and rename it to
    ``path``; on any error remove it and raise RecordingError naming ``path``."""
    path = Path(path)
    # the writer's pid in the name: recover_dataset() removes the leftovers of writers that are gone
    tmp = path.with_name(f".{path.stem[:180]}.{os.getpid()}.tmp{path.suffix}")
    try:
        yield tmp
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise RecordingError(f"could not save {path.name} in {path.parent}: {_why(exc)}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def write_wav_atomic(path: Path, samples: np.ndarray, sample_rate_hz: int = DATASET_RATE_HZ) -> None:
    """A take as 16-bit WAV, fsynced and renamed into place (:func:`atomic_path`)."""
    from recognizers.io.audio import write_wav
    with atomic_path(path) as tmp:
        write_wav(tmp, samples, sample_rate_hz)


def write_landmarks_atomic(path: Path, landmarks: np.ndarray, fps: float) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, landmarks=np.asarray(landmarks, np.float32), fps=np.float32(fps))


def write_video_atomic(path: Path, frames: list[np.ndarray], fps: float) -> None:
    """RGB uint8 frames -> MP4 (OpenCV's mp4v codec, available in every opencv wheel)."""
    import cv2
    if not frames:
        return
    h, w = frames[0].shape[:2]
    with atomic_path(path) as tmp:
        out = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), float(fps), (w, h))
        if not out.isOpened():
            raise OSError(errno.EIO, "the video encoder could not open the file")
        try:
            for rgb in frames:
                if rgb.shape[:2] != (h, w):
                    rgb = cv2.resize(rgb, (w, h))
                out.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        finally:
            out.release()
        if not tmp.is_file() or tmp.stat().st_size == 0:
            raise OSError(errno.EIO, "the video encoder wrote nothing")


# ---------------------------------------------------------------------------------------------------------
# Trimming speech to its voiced part
def voiced_span(samples: np.ndarray, sample_rate_hz: int, margin_ms: float = MARGIN_MS
                ) -> tuple[int, int] | None:
    """``(start, end)`` sample indices of the voiced part plus ``margin_ms`` each side, or None if silent.

    An energy rule, not the streaming VAD: a take is short and complete, so its own quiet frames give the
    noise level. Frames (10 ms) count as voiced when their level is 12 dB over the take's 10th-percentile
    level (or 20 dB under its loudest frame if that is lower: a take voiced throughout has no quiet frames),
    within 35 dB of its loudest frame and above -55 dBFS; runs shorter than 60 ms (clicks) are
    ignored. The span runs from the first to the last voiced frame (pauses inside a word are kept).
    """
    x = np.asarray(samples, np.float32).reshape(-1)
    hop = max(1, int(sample_rate_hz * FRAME_MS / 1000))
    n = x.size // hop
    if n == 0:
        return None
    power = np.mean(np.square(x[: n * hop].reshape(n, hop), dtype=np.float64), axis=1)
    db = 10 * np.log10(power + 1e-12)
    # a take voiced throughout has no quiet frames to measure the noise by: then 20 dB below its peak
    threshold = max(min(np.percentile(db, 10) + 12.0, db.max() - 20.0), db.max() - 35.0, -55.0)
    voiced = db > threshold
    min_run = max(1, int(round(MIN_VOICED_MS / FRAME_MS)))
    runs, k = [], 0
    while k < n:
        if voiced[k]:
            j = k
            while j < n and voiced[j]:
                j += 1
            if j - k >= min_run:
                runs.append((k, j))
            k = j
        else:
            k += 1
    if not runs:
        return None
    margin = int(sample_rate_hz * margin_ms / 1000)
    return max(0, runs[0][0] * hop - margin), min(x.size, runs[-1][1] * hop + margin)


def trim_to_voice(samples: np.ndarray, sample_rate_hz: int, margin_ms: float = MARGIN_MS) -> np.ndarray | None:
    """The voiced part of a take with ``margin_ms`` either side, or None if nothing was voiced."""
    span = voiced_span(samples, sample_rate_hz, margin_ms)
    return None if span is None else np.asarray(samples, np.float32)[span[0]:span[1]]


# ---------------------------------------------------------------------------------------------------------
# Takes and the dataset writer
@dataclass
class Take:
    """One captured example, before it is written. Speech: ``samples`` at ``rate`` Hz; gesture:
    ``landmarks (time, 2, 21, 3)`` at ``rate`` frames/s and optionally the RGB ``video`` frames."""

    task: str
    label: str
    speaker: str
    rate: float
    samples: np.ndarray | None = None
    landmarks: np.ndarray | None = None
    video: list[np.ndarray] | None = None
    index: int = 0                   # position in its session (1-based)


@dataclass
class SavedTake:
    path: Path
    label: str
    speaker: str
    duration_s: float
    index: int = 0
    video_path: Path | None = None


class NoVoiceError(RecordingError):
    """A speech take in which nothing was voiced: it is not saved."""


class DatasetWriter:
    """Writes takes into ``root/<label>/``; keeps ``root/manifest.csv`` in step when the dataset has one
    (a manifest lists every example, so a take missing from it would be invisible to training)."""

    def __init__(self, root: str | os.PathLike, margin_ms: float = MARGIN_MS):
        self.root = Path(root)
        self.margin_ms = float(margin_ms)
        self._lock = threading.Lock()

    def ensure_writable(self) -> None:
        """Create the dataset folder if needed and repair what a kill left (:func:`recover_dataset`);
        RecordingError if it cannot hold files."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self.root / f".write-test-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise RecordingError(f"cannot record into {self.root}: {_why(exc)}") from None
        except ValueError:      # a NUL in the folder name
            raise RecordingError(f"cannot record into {self.root!r}: not a valid folder name") from None
        recover_dataset(self.root)

    def _target(self, label: str, speaker: str, suffix: str) -> Path:
        folder = self.root / check_label(label)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RecordingError(f"cannot create {folder}: {_why(exc)}") from None
        stem = take_stem(speaker)
        path, k = folder / f"{stem}{suffix}", 1
        while path.exists():
            k += 1
            path = folder / f"{stem}-{k}{suffix}"
        return path

    def write(self, take: Take) -> SavedTake:
        with self._lock:
            saved = self._write_speech(take) if take.task == "speech" else self._write_gesture(take)
            add_to_manifest(self.root, saved.path, saved.label, saved.speaker)
            return saved

    def _write_speech(self, take: Take) -> SavedTake:
        from recognizers.io.audio import resample
        x = np.asarray(take.samples, np.float32).reshape(-1)
        if int(take.rate) != DATASET_RATE_HZ:
            x = resample(x, int(take.rate), DATASET_RATE_HZ)
        trimmed = trim_to_voice(x, DATASET_RATE_HZ, self.margin_ms)
        if trimmed is None:
            raise NoVoiceError(f"take {take.index}: nothing was heard, so it was not saved")
        path = self._target(take.label, take.speaker, ".wav")
        write_wav_atomic(path, trimmed, DATASET_RATE_HZ)
        return SavedTake(path, take.label, take.speaker, trimmed.size / DATASET_RATE_HZ, take.index)

    def _write_gesture(self, take: Take) -> SavedTake:
        lm = np.asarray(take.landmarks, np.float32)
        if lm.ndim != 4 or lm.shape[0] == 0:
            raise RecordingError(f"take {take.index}: no landmark frames were captured")
        path = self._target(take.label, take.speaker, ".npz")
        video_path = None
        if take.video:   # the video first: a kill between the two leaves an orphan video, never a bare take
            video_path = path.with_suffix(".mp4")
            write_video_atomic(video_path, take.video, take.rate)
        write_landmarks_atomic(path, lm, take.rate)
        return SavedTake(path, take.label, take.speaker, lm.shape[0] / take.rate, take.index, video_path)


def record_take(root: str | os.PathLike, take: Take, margin_ms: float = MARGIN_MS) -> SavedTake:
    """Write one take into the dataset at ``root`` (see :class:`DatasetWriter`)."""
    return DatasetWriter(root, margin_ms).write(take)


TAKE_EXTENSIONS = (".wav", ".npz")
_TMP_RX = re.compile(r"^\..*\.(\d+)\.tmp(\.[A-Za-z0-9]+)?$")
_OLD_TMP_RX = re.compile(r"^\..+\.tmp(\.[A-Za-z0-9]+)?$")


@dataclass
class Recovery:
    """What :func:`recover_dataset` repaired."""

    removed_temp_files: int = 0
    added_to_manifest: int = 0
    dropped_from_manifest: int = 0


def recover_dataset(root: str | os.PathLike, stale_after_s: float = 600.0) -> Recovery:
    """Repair what a kill during a write can leave in a dataset folder:

    * hidden temporary files (``.<name>.<pid>.tmp<ext>``) of writers that no longer run (or, for older
      names without a pid, older than ``stale_after_s``) are deleted;
    * when the dataset has a ``manifest.csv``, takes on disk in label folders that it does not list (the
      take is renamed into place before the manifest is rewritten) are added, and rows whose file is gone
      are dropped, so the manifest lists exactly the takes there are.
    """
    root = Path(root)
    out = Recovery()
    now = time.time()
    try:
        folders = [root] + [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]
    except OSError:
        return out
    on_disk: dict[str, tuple[str, Path]] = {}
    for folder in folders:
        try:
            entries = list(folder.iterdir())
        except OSError:
            continue
        for p in entries:
            name = p.name
            m = _TMP_RX.match(name)
            try:
                if m and not pid_alive(int(m.group(1))) or (
                        not m and _OLD_TMP_RX.match(name) and now - p.lstat().st_mtime > stale_after_s):
                    if p.is_file() or p.is_symlink():
                        p.unlink()
                        out.removed_temp_files += 1
                    continue
            except (OSError, ValueError):
                continue
            if folder is not root and not name.startswith(".") and p.suffix.lower() in TAKE_EXTENSIONS \
                    and p.is_file():
                on_disk[f"{folder.name}/{name}"] = (folder.name, p)
    manifest = root / "manifest.csv"
    if not manifest.is_file():
        return out
    try:
        rows = read_manifest(manifest)
    except (OSError, UnicodeDecodeError, csv.Error):
        return out          # an unreadable manifest is reported by the dataset scanner, not rewritten here
    listed = {r.get("path") for r in rows}
    keep = []
    for r in rows:
        rel = r.get("path") or ""
        try:
            exists = bool(rel) and "\x00" not in rel and (root / rel).is_file()
        except (OSError, ValueError):
            exists = False
        if exists or not (rel.lower().endswith(TAKE_EXTENSIONS) and "/" in rel):
            keep.append(r)      # rows we cannot judge are kept; only takes that are gone are dropped
        else:
            out.dropped_from_manifest += 1
    from recognizers.data.datasets import group_from_name
    for rel in sorted(set(on_disk) - listed):
        label, p = on_disk[rel]
        keep.append({"path": rel, "label": label, "group": group_from_name(p.stem) or ""})
        out.added_to_manifest += 1
    if out.added_to_manifest or out.dropped_from_manifest:
        write_manifest(manifest, keep)
    return out


def add_to_manifest(root: Path, path: Path, label: str, group: str) -> None:
    """Append ``path`` to ``root/manifest.csv`` if the dataset has one (rewritten atomically)."""
    manifest = Path(root) / "manifest.csv"
    if not manifest.is_file():
        return
    rows = read_manifest(manifest)
    rel = Path(path).relative_to(root).as_posix()
    rows = [r for r in rows if r.get("path") != rel] + [{"path": rel, "label": label, "group": group}]
    write_manifest(manifest, rows)


def read_manifest(manifest: Path) -> list[dict[str, str]]:
    with open(manifest, newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def write_manifest(manifest: Path, rows: list[dict[str, str]]) -> None:
    fields = ["path", "label", "group"]
    with atomic_path(manifest) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=fields)
            w.writeheader()
            for r in rows:
                w.writerow({"path": r.get("path", ""), "label": r.get("label", ""),
                            "group": r.get("group") or r.get("speaker") or ""})


# ---------------------------------------------------------------------------------------------------------
# A run of takes cut from a live stream
@dataclass
class RecordingSettings:
    """``take_s`` of stream per take after ``countdown_s`` of countdown, ``n_takes`` times."""

    task: str
    label: str
    speaker: str
    n_takes: int = 1
    take_s: float = 2.0
    countdown_s: float = 3.0
    keep_video: bool = False

    def validate(self) -> "RecordingSettings":
        if self.task not in ("speech", "gesture"):
            raise RecordingError(f"unknown task {self.task!r}")
        self.label = check_label(self.label)
        self.speaker = check_speaker(self.speaker)
        if not 1 <= int(self.n_takes) <= 1000:
            raise RecordingError("takes: choose 1 to 1000")
        if not 0.2 <= float(self.take_s) <= 60.0:
            raise RecordingError("take length: choose 0.2 to 60 s")
        if not 0.0 <= float(self.countdown_s) <= 30.0:
            raise RecordingError("countdown: choose 0 to 30 s")
        return self


@dataclass
class SessionStatus:
    """What a cue shows: ``phase`` is "countdown", "recording" or "done"; times in stream seconds."""

    phase: str
    take: int                 # 1-based take in progress (or the last one when done)
    n_takes: int
    seconds_left: float       # in this phase
    captured: int = 0         # takes handed on for saving
    cancelled: bool = False


class RecordingSession:
    """Feed it the stream with ``push_audio(samples)`` or ``push_frame(landmarks, rgb)``; it calls
    ``on_take(Take)`` for every finished take (on the pushing thread: hand the write to another thread,
    e.g. :class:`BackgroundSaver`, if that thread must not wait for the disk)."""

    def __init__(self, settings: RecordingSettings, rate: float, on_take: Callable[[Take], Any]):
        self.settings = settings.validate()
        self.rate = float(rate)           # samples/s (speech) or frames/s (gesture)
        self.on_take = on_take
        self._lock = threading.Lock()
        self._countdown_n = int(round(settings.countdown_s * self.rate))
        self._take_n = max(1, int(round(settings.take_s * self.rate)))
        self._take = 1
        self._phase = "countdown" if self._countdown_n > 0 else "recording"
        self._pos = 0                     # units (samples/frames) into the current phase
        self._parts: list[np.ndarray] = []
        self._video: list[np.ndarray] = []
        self._captured = 0
        self._cancelled = False

    @property
    def done(self) -> bool:
        return self._phase == "done"

    def status(self) -> SessionStatus:
        with self._lock:
            total = self._countdown_n if self._phase == "countdown" else self._take_n
            left = max(0, total - self._pos) / self.rate if self._phase != "done" else 0.0
            return SessionStatus(self._phase, self._take, self.settings.n_takes, left, self._captured,
                                 self._cancelled)

    def cancel(self) -> None:
        """Stop now; the take in progress is dropped (takes already captured are still saved)."""
        with self._lock:
            self._cancelled = True
            self._phase = "done"
            self._parts, self._video = [], []

    def push_audio(self, samples: np.ndarray) -> None:
        x = np.asarray(samples, np.float32).reshape(-1)
        while x.size and not self.done:
            x = self._consume(x, None)

    def push_frame(self, landmarks: np.ndarray, rgb: np.ndarray | None = None) -> None:
        if not self.done:
            self._consume(np.asarray(landmarks, np.float32)[None], rgb)

    def _consume(self, units: np.ndarray, rgb: np.ndarray | None) -> np.ndarray:
        """Use what the current phase needs of ``units`` (samples, or one frame); return the rest."""
        finished = None
        with self._lock:
            if self._phase == "countdown":
                k = min(units.shape[0], self._countdown_n - self._pos)
                self._pos += k
                if self._pos >= self._countdown_n:
                    self._phase, self._pos = "recording", 0
                return units[k:]
            k = min(units.shape[0], self._take_n - self._pos)
            self._parts.append(units[:k].copy())
            if rgb is not None and self.settings.keep_video:
                self._video.append(rgb)
            self._pos += k
            if self._pos >= self._take_n:
                finished = self._finish_take()
        if finished is not None:
            self.on_take(finished)
        return units[k:]

    def _finish_take(self) -> Take:
        s = self.settings
        data = np.concatenate(self._parts, 0)
        take = Take(s.task, s.label, s.speaker, self.rate, index=self._take,
                    samples=data if s.task == "speech" else None,
                    landmarks=data if s.task == "gesture" else None,
                    video=self._video or None)
        self._parts, self._video = [], []
        self._captured += 1
        if self._take >= s.n_takes:
            self._phase = "done"
        else:
            self._take += 1
            self._phase = "countdown" if self._countdown_n > 0 else "recording"
        self._pos = 0
        return take


@dataclass
class SaveOutcome:
    take: int
    saved: SavedTake | None = None
    error: str = ""
    skipped: bool = False            # nothing voiced: not an error, but nothing was written


class BackgroundSaver:
    """Writes takes on its own thread, in order; ``outcomes()`` returns what happened since the last call."""

    def __init__(self, writer: DatasetWriter):
        self.writer = writer
        self._queue: queue.Queue = queue.Queue()
        self._outcomes: list[SaveOutcome] = []
        self._lock = threading.Lock()
        self._pending = 0
        self._thread = threading.Thread(target=self._run, name="take-writer", daemon=True)
        self._thread.start()

    def submit(self, take: Take) -> None:
        with self._lock:
            self._pending += 1
        self._queue.put(take)

    @property
    def pending(self) -> int:
        with self._lock:
            return self._pending

    def _run(self) -> None:
        while True:
            take = self._queue.get()
            if take is None:
                return
            try:
                out = SaveOutcome(take.index, saved=self.writer.write(take))
            except NoVoiceError as exc:
                out = SaveOutcome(take.index, error=str(exc), skipped=True)
            except VaultError as exc:
                out = SaveOutcome(take.index, error=str(exc))
            except Exception as exc:   # never lose the message: the window shows it
                out = SaveOutcome(take.index, error=f"take {take.index}: {type(exc).__name__}: {exc}")
            with self._lock:
                self._outcomes.append(out)
                self._pending -= 1

    def outcomes(self) -> list[SaveOutcome]:
        with self._lock:
            out, self._outcomes = self._outcomes, []
        return out

    def close(self, timeout_s: float = 10.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout_s)

