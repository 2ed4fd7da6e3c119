"""Where blocks come from: microphones and cameras (listed by name), or files played as if live.

Every source runs on its own thread and hands blocks to a *sink* (the inference worker) through
``sink.offer(block) -> bool``, which never blocks. File sources pace themselves with the wall clock, so
a WAV file or an MP4 clip behaves exactly like a live device (and can be paused, unlike the world).
"""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from PySide6.QtCore import QObject, QThread, Qt, Signal, Slot
from PySide6.QtMultimedia import (QAudioDevice, QAudioFormat, QAudioSource, QCamera, QCameraDevice,
                                  QMediaCaptureSession, QMediaDevices, QtAudio, QVideoSink)

from recognizers.errors import VaultError

AUDIO_FILE_EXTENSIONS = (".wav", ".flac", ".mp3", ".ogg")
VIDEO_FILE_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")
BLOCK_MS = 20.0
IMAGE_FOLDER_FPS = 15.0
MAX_VIDEO_WIDTH = 960   # larger frames are scaled down before tracking: the hands need no more


class SourceError(VaultError):
    """A device or file that cannot be used as a source."""


class Sink(Protocol):
    def offer(self, block: Any) -> bool: ...

    def end_of_stream(self) -> None: ...


class Source(QObject):
    """Base: ``start(sink)``, ``stop()``, ``set_paused()`` (files only)."""

    failed = Signal(str)
    finished = Signal()
    kind = "audio"          # or "video"
    is_live = True

    def __init__(self, label: str):
        super().__init__()
        self.label = label

    def start(self, sink: Sink) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        pass

    def set_paused(self, paused: bool) -> None:
        pass


# ---------------------------------------------------------------------------------------------------------
# Files, paced in real time
class PacedFileSource(Source):
    """Plays ``self._blocks()`` on a thread at wall-clock speed; subclasses yield ``(block, seconds)``."""

    is_live = False

    def __init__(self, label: str):
        super().__init__(label)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._resume = threading.Event()
        self._resume.set()
        self.blocks_sent = 0

    def _blocks(self):
        raise NotImplementedError

    def start(self, sink: Sink) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._play, args=(sink,), name=f"source:{self.label}",
                                        daemon=True)
        self._thread.start()

    def _play(self, sink: Sink) -> None:
        t_next = time.monotonic()
        try:
            for block, seconds in self._blocks():
                if not self._resume.is_set():
                    paused_at = time.monotonic()
                    while not self._resume.wait(0.05):
                        if self._stop.is_set():
                            return
                    t_next += time.monotonic() - paused_at
                delay = t_next - time.monotonic()
                if delay > 0 and self._stop.wait(delay):
                    return
                if self._stop.is_set():
                    return
                sink.offer(block)
                self.blocks_sent += 1
                t_next += seconds
        except Exception as exc:
            self.failed.emit(f"{self.label}: {exc}")
            return
        sink.end_of_stream()
        self.finished.emit()

    def set_paused(self, paused: bool) -> None:
        if paused:
            self._resume.clear()
        else:
            self._resume.set()

    def stop(self) -> None:
        self._stop.set()
        self._resume.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=3.0)
        self._thread = None


class AudioFileSource(PacedFileSource):
    """A WAV/FLAC/MP3 file decoded to mono at ``sample_rate_hz`` and played in ``BLOCK_MS`` blocks."""

    kind = "audio"

    def __init__(self, path: str | Path, sample_rate_hz: int = 16000, tail_silence_s: float = 0.4):
        from recognizers.audio_io import load_audio
        path = Path(path)
        super().__init__(path.name)
        self.path = path
        self.sample_rate_hz = int(sample_rate_hz)
        samples = load_audio(path, self.sample_rate_hz)   # AudioFileError (a VaultError) names the problem
        # a little silence after the file lets the word detector hear the end of the last word
        self.samples = np.concatenate([samples, np.zeros(int(tail_silence_s * sample_rate_hz), np.float32)])

    @property
    def duration_s(self) -> float:
        return self.samples.size / self.sample_rate_hz

    def _blocks(self):
        n = int(self.sample_rate_hz * BLOCK_MS / 1000)
        for s in range(0, self.samples.size, n):
            block = self.samples[s:s + n]
            yield block, block.size / self.sample_rate_hz


def _fit_width(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    if w <= MAX_VIDEO_WIDTH:
        return rgb
    import cv2
    return cv2.resize(rgb, (MAX_VIDEO_WIDTH, int(round(h * MAX_VIDEO_WIDTH / w))), interpolation=cv2.INTER_AREA)


class VideoFileSource(PacedFileSource):
    """An MP4/AVI clip decoded with OpenCV and played at the clip's frame rate (RGB uint8 frames)."""

    kind = "video"

    def __init__(self, path: str | Path):
        import cv2
        path = Path(path)
        super().__init__(path.name)
        self.path = path
        if not path.is_file():
            raise SourceError(f"{path}: no such video file")
        cap = cv2.VideoCapture(str(path))
        ok = cap.isOpened()
        self.fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0) if ok else 0.0
        ok = ok and cap.read()[0]
        cap.release()
        if not ok:
            raise SourceError(f"{path}: not a readable video file")
        if not 1.0 <= self.fps <= 240.0:
            self.fps = 30.0

    def _blocks(self):
        import cv2
        cap = cv2.VideoCapture(str(self.path))
        try:
            while True:
                ok, bgr = cap.read()
                if not ok:
                    return
                yield _fit_width(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)), 1.0 / self.fps
        finally:
            cap.release()


class ImageFolderSource(PacedFileSource):
    """A folder of images (sorted by name) played as video frames at ``fps``."""

    kind = "video"

    def __init__(self, folder: str | Path, fps: float = IMAGE_FOLDER_FPS):
        folder = Path(folder)
        super().__init__(folder.name + "/")
        if not folder.is_dir():
            raise SourceError(f"{folder}: no such folder")
        self.files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
        if not self.files:
            raise SourceError(f"{folder}: holds no images ({', '.join(IMAGE_EXTENSIONS)})")
        self.fps = float(fps)

    def _blocks(self):
        import cv2
        for p in self.files:
            bgr = cv2.imread(str(p), cv2.IMREAD_COLOR)
            if bgr is None:
                continue   # an unreadable file in a folder of frames is skipped, like a dropped frame
            yield _fit_width(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)), 1.0 / self.fps


def file_source(path: str | Path, mode: str, sample_rate_hz: int = 16000) -> PacedFileSource:
    """The file source for ``mode`` ("speech" or "gesture"), or SourceError saying why not."""
    path = Path(path)
    if mode == "speech":
        if path.suffix.lower() not in AUDIO_FILE_EXTENSIONS:
            raise SourceError(f"{path.name}: speech mode plays audio files ({', '.join(AUDIO_FILE_EXTENSIONS)})")
        return AudioFileSource(path, sample_rate_hz)
    if path.is_dir():
        return ImageFolderSource(path)
    if path.suffix.lower() not in VIDEO_FILE_EXTENSIONS:
        raise SourceError(f"{path.name}: gesture mode plays videos ({', '.join(VIDEO_FILE_EXTENSIONS)}) "
                          f"or folders of images")
    return VideoFileSource(path)


# ---------------------------------------------------------------------------------------------------------
# Live devices
def list_microphones() -> list[QAudioDevice]:
    return list(QMediaDevices.audioInputs())


def list_cameras() -> list[QCameraDevice]:
    return list(QMediaDevices.videoInputs())


NO_MICROPHONE = ("No microphone found: no audio server is running, or it has no input device. "
                 "You can still play a WAV, FLAC or MP3 file.")
NO_CAMERA = "No camera found. You can still play an MP4/AVI video or a folder of images."


class _AudioReader(QObject):
    """Lives on the capture thread: owns the QAudioSource and cuts what it reads into fixed blocks."""

    failed = Signal(str)

    def __init__(self, device: QAudioDevice, sample_rate_hz: int, sink: Sink):
        super().__init__()
        self.device = device
        self.rate = sample_rate_hz
        self.sink = sink
        self.block = int(sample_rate_hz * BLOCK_MS / 1000)
        self._pending = np.zeros(0, np.float32)
        self.audio: QAudioSource | None = None
        self.io = None
        self.blocks_read = 0

    @Slot()
    def begin(self) -> None:
        fmt = QAudioFormat()
        fmt.setSampleRate(self.rate)
        fmt.setChannelCount(1)
        fmt.setSampleFormat(QAudioFormat.SampleFormat.Int16)
        if not self.device.isFormatSupported(fmt):
            fmt = self.device.preferredFormat()
        self.format = fmt
        self.audio = QAudioSource(self.device, fmt, self)
        self.audio.setBufferSize(int(fmt.bytesForDuration(200_000)))   # 200 ms: capture never waits on us
        self.io = self.audio.start()
        if self.io is None or self.audio.error() != QtAudio.Error.NoError:
            self.failed.emit(f"{self.device.description()}: could not start recording ({self.audio.error().name})")
            return
        self.io.readyRead.connect(self._read)

    def _convert(self, raw: bytes) -> np.ndarray:
        f = self.format
        sf = f.sampleFormat()
        S = QAudioFormat.SampleFormat
        if sf == S.Int16:
            x = np.frombuffer(raw, np.int16).astype(np.float32) / 32768.0
        elif sf == S.Int32:
            x = np.frombuffer(raw, np.int32).astype(np.float32) / 2147483648.0
        elif sf == S.Float:
            x = np.frombuffer(raw, np.float32).copy()
        else:
            x = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
        ch = max(1, f.channelCount())
        x = x[: x.size // ch * ch].reshape(-1, ch).mean(axis=1)
        if f.sampleRate() != self.rate:
            from recognizers.audio_io import resample
            x = resample(x, f.sampleRate(), self.rate)
        return x.astype(np.float32, copy=False)

    @Slot()
    def _read(self) -> None:
        raw = bytes(self.io.readAll().data())
        if not raw:
            return
        buf = np.concatenate([self._pending, self._convert(raw)])
        n = buf.size // self.block * self.block
        for s in range(0, n, self.block):
            self.sink.offer(buf[s:s + self.block])
            self.blocks_read += 1
        self._pending = buf[n:]

    @Slot()
    def end(self) -> None:
        if self.audio is not None:
            self.audio.stop()
            self.audio.deleteLater()
            self.audio = None


class MicrophoneSource(Source):
    """A system microphone (Qt Multimedia) recorded on its own thread at the model's sample rate."""

    kind = "audio"

    def __init__(self, device: QAudioDevice, sample_rate_hz: int = 16000):
        super().__init__(device.description())
        self.device = device
        self.sample_rate_hz = int(sample_rate_hz)
        self._thread: QThread | None = None
        self._reader: _AudioReader | None = None

    @property
    def blocks_read(self) -> int:
        return self._reader.blocks_read if self._reader is not None else 0

    def start(self, sink: Sink) -> None:
        self._thread = QThread()
        self._thread.setObjectName(f"capture:{self.label}")
        self._reader = _AudioReader(self.device, self.sample_rate_hz, sink)
        self._reader.moveToThread(self._thread)
        self._reader.failed.connect(self.failed)
        self._thread.started.connect(self._reader.begin)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is None:
            return
        if self._thread.isRunning():
            from PySide6.QtCore import QMetaObject
            QMetaObject.invokeMethod(self._reader, "end", Qt.ConnectionType.BlockingQueuedConnection)
        self._thread.quit()
        self._thread.wait(3000)
        self._thread = None
        self._reader = None


class CameraSource(Source):
    """A system camera through Qt Multimedia. Frames are converted to RGB arrays on the thread that
    delivers them (a direct connection), never on the GUI thread."""

    kind = "video"

    def __init__(self, device: QCameraDevice):
        super().__init__(device.description())
        self.device = device
        self.camera: QCamera | None = None

    def start(self, sink: Sink) -> None:
        self._sink = sink
        self.camera = QCamera(self.device)
        self.session = QMediaCaptureSession()
        self.video_sink = QVideoSink()
        self.session.setCamera(self.camera)
        self.session.setVideoSink(self.video_sink)
        self.video_sink.videoFrameChanged.connect(self._on_frame, Qt.ConnectionType.DirectConnection)
        self.camera.errorOccurred.connect(lambda _e, text: self.failed.emit(f"{self.label}: {text}"))
        self.camera.start()

    def _on_frame(self, frame) -> None:
        from PySide6.QtGui import QImage
        img = frame.toImage()
        if img.isNull():
            return
        img = img.convertToFormat(QImage.Format.Format_RGB888)
        w, h, bpl = img.width(), img.height(), img.bytesPerLine()
        arr = np.frombuffer(img.constBits(), np.uint8, count=h * bpl).reshape(h, bpl)[:, :w * 3]
        self._sink.offer(_fit_width(arr.reshape(h, w, 3).copy()))

    def stop(self) -> None:
        if self.camera is not None:
            self.camera.stop()
            self.video_sink.videoFrameChanged.disconnect(self._on_frame)
            self.camera = None
