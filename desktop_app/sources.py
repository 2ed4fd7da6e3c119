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
from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal, Slot
from PySide6.QtMultimedia import (
    QAudioDevice,
    QAudioFormat,
    QAudioSource,
    QCamera,
    QCameraDevice,
    QMediaCaptureSession,
    QMediaDevices,
    QtAudio,
    QVideoSink,
)

from recognizers.errors import VaultError
from recognizers.io.extensions import AUDIO_EXTENSIONS, IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, describe
from recognizers.io.video import VideoFile, image_files, read_image, shrink

BLOCK_MS = 20.0
READ_MS = 40                # the microphone is read this often (see _AudioReader.begin): two blocks a read
IMAGE_FOLDER_FPS = 15.0


class SourceError(VaultError):
    """A device or file that cannot be used as a source."""


class Sink(Protocol):
    def offer(self, block: Any) -> bool: ...

    def end_of_stream(self) -> None: ...


class Source(QObject):
    """Base: ``start(sink)``, ``stop()``, ``set_paused()`` (files only)."""

    failed = Signal(str)
    finished = Signal()
    lost = Signal(str)        # a live device stopped delivering (unplugged, audio server gone): one line
    recovered = Signal(str)   # ... and delivers again
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
        from recognizers.io.audio import load_audio
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


class VideoFileSource(PacedFileSource):
    """A video clip decoded by the engine's :class:`~recognizers.io.video.VideoFile` and played at the clip's
    frame rate (RGB uint8 frames)."""

    kind = "video"

    def __init__(self, path: str | Path):
        path = Path(path)
        super().__init__(path.name)
        self.path = path
        try:
            self.video = VideoFile(path)
        except VaultError as exc:
            raise SourceError(str(exc)) from None
        if next(iter(self.video.frames()), None) is None:
            raise SourceError(f"{path}: not a readable video file")
        self.fps = self.video.fps

    def _blocks(self):
        for rgb in self.video.frames():
            yield rgb, 1.0 / self.fps


class ImageFolderSource(PacedFileSource):
    """A folder of images (sorted by name) played as video frames at ``fps``."""

    kind = "video"

    def __init__(self, folder: str | Path, fps: float = IMAGE_FOLDER_FPS):
        folder = Path(folder)
        super().__init__(folder.name + "/")
        if not folder.is_dir():
            raise SourceError(f"{folder}: no such folder")
        try:
            self.files = image_files(folder)
        except VaultError:
            raise SourceError(f"{folder}: holds no images ({describe(IMAGE_EXTENSIONS, 7)})") from None
        self.fps = float(fps)

    def _blocks(self):
        for p in self.files:
            rgb = read_image(p)
            if rgb is None:
                continue   # an unreadable file in a folder of frames is skipped, like a dropped frame
            yield rgb, 1.0 / self.fps


def file_source(path: str | Path, mode: str, sample_rate_hz: int = 16000) -> PacedFileSource:
    """The file source for ``mode`` ("speech" or "gesture"), or SourceError saying why not."""
    path = Path(path)
    if mode == "speech":
        if path.suffix.lower() not in AUDIO_EXTENSIONS:
            raise SourceError(f"{path.name}: speech mode plays audio files ({describe(AUDIO_EXTENSIONS, 6)})")
        return AudioFileSource(path, sample_rate_hz)
    if path.is_dir():
        return ImageFolderSource(path)
    if path.suffix.lower() not in VIDEO_EXTENSIONS:
        raise SourceError(f"{path.name}: gesture mode plays videos ({describe(VIDEO_EXTENSIONS, 5)}) "
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
NO_AUDIO_SERVER = ("No microphone found: no audio server (PulseAudio or PipeWire) is running. Start one, then "
                   "press “Restart”. You can still play a WAV, FLAC or MP3 file.")
LATE_AUDIO_SERVER = ("An audio server is running now, but it started after LSTM Vault, and Qt only looks for one "
                     "at start-up: close and reopen the app to use its microphones.")
LATE_SERVER_MIC = "default microphone (audio server started after the app)"
LATE_SERVER_NOTICE = ("An audio server started after LSTM Vault: Qt only looks for one at start-up, so the server's "
                      "default microphone is recorded through PortAudio. To use another input, make it the "
                      "server's default, or reopen the app to list them all.")


def audio_server_socket() -> str | None:
    """The PulseAudio-protocol socket (PulseAudio, or PipeWire's pipewire-pulse) this process would use."""
    import os
    server = os.environ.get("PULSE_SERVER", "")
    if server.startswith("unix:"):
        return server[5:]
    if server:
        return None          # a TCP server: not probed
    run = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
    return os.path.join(run, "pulse", "native")


def audio_server_running() -> bool | None:
    """True when an audio server answers on its socket now, False when none does, None when unknown
    (a TCP server). A plain socket probe: it does not touch Qt's audio backend."""
    import socket
    path = audio_server_socket()
    if path is None:
        return None
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        try:
            sock.connect(path)
        except OSError:
            return False
    return True


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
        self._poll: QTimer | None = None
        self.blocks_read = 0
        self.last_data_t: float | None = None   # monotonic time of the last bytes read (None: none yet)
        self.start_failed = False

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
        self.audio.setBufferSize(int(fmt.bytesForDuration(400_000)))   # 400 ms: capture never waits on us
        self.io = self.audio.start()
        if self.io is None or self.audio.error() != QtAudio.Error.NoError:
            self.start_failed = True
            self.failed.emit(f"{self.device.description()}: could not start recording ({self.audio.error().name})")
            return
        # polled every READ_MS rather than on readyRead: PulseAudio hands Qt 5 ms fragments, and a Python
        # call per fragment (~200 a second) cost 9 % of a core on the capture thread (issue 16); the 400 ms
        # buffer holds ten polls' worth. The inference thread runs 40 ms batches anyway.
        self._poll = QTimer(self)
        self._poll.setInterval(READ_MS)
        self._poll.timeout.connect(self._read)
        self._poll.start()

    def _convert(self, raw: bytes) -> np.ndarray:
        f = self.format
        sf = f.sampleFormat()
        S = QAudioFormat.SampleFormat
        if sf == S.Int16:
            x = np.multiply(np.frombuffer(raw, np.int16), np.float32(1 / 32768.0), dtype=np.float32)
        elif sf == S.Int32:
            x = np.frombuffer(raw, np.int32).astype(np.float32) / 2147483648.0
        elif sf == S.Float:
            x = np.frombuffer(raw, np.float32).copy()
        else:
            x = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
        ch = max(1, f.channelCount())
        if ch > 1:
            x = x[: x.size // ch * ch].reshape(-1, ch).mean(axis=1)
        if f.sampleRate() != self.rate:
            from recognizers.io.audio import resample
            x = resample(x, f.sampleRate(), self.rate)
        return x.astype(np.float32, copy=False)

    @Slot()
    def _read(self) -> None:
        if self.io is None:
            return
        raw = bytes(self.io.readAll().data())
        if not raw:
            return
        self.last_data_t = time.monotonic()
        buf = np.concatenate([self._pending, self._convert(raw)])
        n = buf.size // self.block * self.block
        for s in range(0, n, self.block):
            self.sink.offer(buf[s:s + self.block])
            self.blocks_read += 1
        self._pending = buf[n:]

    @Slot()
    def end(self) -> None:
        if self._poll is not None:
            self._poll.stop()
            self._poll = None
        self.io = None
        if self.audio is not None:
            self.audio.stop()
            self.audio.deleteLater()
            self.audio = None

    def error_name(self) -> str:
        """The QAudioSource's error ('' when none); read from the supervising (GUI) thread."""
        audio = self.audio
        if self.start_failed:
            return "could not start"
        if audio is None:
            return ""
        err = audio.error()
        return "" if err == QtAudio.Error.NoError else err.name


class _PortAudioReader:
    """The microphone through PortAudio (``sounddevice``, ALSA's ``pulse`` device) instead of Qt: used to
    reopen a microphone after the audio server was restarted, which Qt 6.11 cannot do in the same process
    (its PulseAudio context is retried once, about 3 s after the server died, and stays dead if the server
    is not back by then; opening a QAudioSource on it then aborts the process). PulseAudio's source is
    chosen by name (``PULSE_SOURCE``). Blocks are cut and handed to the sink on PortAudio's thread."""

    def __init__(self, pulse_source: str, sample_rate_hz: int, sink: Sink):
        self.pulse_source = pulse_source
        self.rate = int(sample_rate_hz)
        self.sink = sink
        self.block = int(sample_rate_hz * BLOCK_MS / 1000)
        self._pending = np.zeros(0, np.float32)
        self.stream = None
        self.blocks_read = 0
        self.last_data_t: float | None = None
        self.start_failed = False
        self.error_text = ""

    def begin(self) -> None:
        import os
        try:
            import sounddevice as sd
            # a fresh PortAudio, so nothing of the dead server's connection is reused
            sd._terminate()
            sd._initialize()
            old = os.environ.get("PULSE_SOURCE")
            if self.pulse_source:        # read by libpulse when the stream connects ("": the server's default)
                os.environ["PULSE_SOURCE"] = self.pulse_source
            try:
                device = next((i for i, d in enumerate(sd.query_devices())
                               if d["name"] in ("pulse", "default") and d["max_input_channels"] > 0), None)
                if device is None:
                    raise RuntimeError("PortAudio lists no 'pulse' input")
                self.stream = sd.InputStream(device=device, samplerate=self.rate, channels=1, dtype="float32",
                                             blocksize=self.block, callback=self._callback)
                self.stream.start()
            finally:
                if old is None:
                    os.environ.pop("PULSE_SOURCE", None)
                else:
                    os.environ["PULSE_SOURCE"] = old
        except Exception as exc:          # sounddevice/PortAudio missing, source absent, server refused
            self.start_failed = True
            self.error_text = f"{exc}".splitlines()[0] if str(exc) else type(exc).__name__
            self.end()

    def _callback(self, indata, frames, _time, _status) -> None:
        self.last_data_t = time.monotonic()
        buf = np.concatenate([self._pending, np.asarray(indata[:, 0], np.float32)])
        n = buf.size // self.block * self.block
        for s in range(0, n, self.block):
            self.sink.offer(buf[s:s + self.block])
            self.blocks_read += 1
        self._pending = buf[n:]

    def end(self) -> None:
        stream, self.stream = self.stream, None
        if stream is not None:
            try:
                stream.abort()
                stream.close()
            except Exception:
                pass

    def error_name(self) -> str:
        if self.start_failed:
            return "could not start"
        stream = self.stream
        if stream is not None and not stream.active:
            return "stream stopped"
        return ""


class DeviceSupervisor(QObject):
    """Watches a live device source from the GUI thread and brings it back after it disappears.

    Lost when the device leaves the system's device list (unplugged, or PulseAudio moved the stream to
    another source), when its stream reports an error, or when no data came for ``stall_s`` (an audio
    server that died leaves Qt's stream "active" but silent). While lost it closes the stream and, every
    ``retry_s``, reopens it on the device of the same id once that is listed again; the first data from
    the new stream is the recovery. The source supplies ``_open()``, ``_close()``, ``_present()``,
    ``_last_data_t()`` and ``_error()``.
    """

    def __init__(self, source: "LiveDeviceSource", what: str, stall_s: float = 2.0, first_data_s: float = 5.0,
                 retry_s: float = 1.0, probe_s: float = 4.0, tick_ms: int = 250):
        super().__init__()
        self.source = source
        self.what = what
        self.stall_s, self.first_data_s, self.retry_s, self.probe_s = stall_s, first_data_s, retry_s, probe_s
        self.lost_reason = ""          # '' while healthy
        self.losses = 0
        self.recoveries = 0
        self._opened_at = time.monotonic()
        self._open = True
        self._last_try = 0.0
        self.timer = QTimer(self)
        self.timer.setInterval(tick_ms)
        self.timer.timeout.connect(self.tick)

    def started(self) -> None:
        self._opened_at = time.monotonic()
        self._open = True
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def _why_unhealthy(self, now: float) -> str:
        src = self.source
        if not src._present():
            return "disconnected"
        err = src._error()
        if err:
            return err
        last = src._last_data_t()
        if last is None:
            return "no data since it was opened" if now - self._opened_at > self.first_data_s else ""
        if now - max(last, self._opened_at) > self.stall_s:
            return f"no data for {now - last:.0f} s"
        return ""

    @Slot()
    def tick(self) -> None:
        now = time.monotonic()
        src = self.source
        if not self.lost_reason:
            why = self._why_unhealthy(now)
            if why:
                self.lost_reason = why
                self.losses += 1
                src._close()
                self._open = False
                self._last_try = now
                src.lost.emit(f"{src.label}: {self.what} lost ({why}) — waiting for it to come back")
            return
        if self._open:
            last = src._last_data_t()
            if src._present() and not src._error() and last is not None and last > self._opened_at:
                self.lost_reason = ""
                self.recoveries += 1
                src.recovered.emit(f"{src.label}: {self.what} is back")
            elif now - self._opened_at > self.probe_s or src._error() or not src._present():
                src._close()
                self._open = False
                self._last_try = now
        elif now - self._last_try >= self.retry_s:
            self._last_try = now
            if src._can_reopen() and src._present(refresh=True):
                self._opened_at = now
                self._open = True
                src._open()


class LiveDeviceSource(Source):
    """A device that can disappear and come back (see :class:`DeviceSupervisor`)."""

    what = "device"

    def _open(self) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError

    def _present(self, refresh: bool = False) -> bool:
        raise NotImplementedError

    def _last_data_t(self) -> float | None:
        raise NotImplementedError

    def _error(self) -> str:
        return ""

    def _can_reopen(self) -> bool:
        return True

    @property
    def lost_reason(self) -> str:
        sup = getattr(self, "supervisor", None)
        return sup.lost_reason if sup is not None else ""


def audio_server_reachable() -> bool:
    """Does the PulseAudio (or pipewire-pulse) socket accept connections? Qt's PulseAudio backend aborts
    the whole process (libpulse: "Assertion 'c' failed ... pa_context_get_state()") when a stream is opened
    while the server is gone, so a lost microphone is reopened only once this is True."""
    import os
    import socket
    import sys
    if not sys.platform.startswith("linux"):
        return True
    server = os.environ.get("PULSE_SERVER", "")
    if server.startswith("unix:"):
        path = server[len("unix:"):]
    elif server:
        return True           # a TCP server: nothing cheap to check, let Qt try
    else:
        path = os.path.join(os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}", "pulse", "native")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(0.2)
    try:
        sock.connect(path)
        return True
    except OSError:
        return False
    finally:
        sock.close()


def _same_device(a, b) -> bool:
    return bytes(a.id().data()) == bytes(b.id().data()) or a.description() == b.description()


class MicrophoneSource(LiveDeviceSource):
    """A system microphone (Qt Multimedia) recorded on its own thread at the model's sample rate.
    Supervised: a microphone that disappears is reported (``lost``) and reopened when it is back."""

    kind = "audio"
    what = "microphone"

    def __init__(self, device: QAudioDevice | None, sample_rate_hz: int = 16000, label: str | None = None):
        """``device`` None: the audio server's default source through PortAudio (LateServerMicrophone)."""
        super().__init__(label or device.description())
        self.device = device
        self.sample_rate_hz = int(sample_rate_hz)
        self._thread: QThread | None = None
        self._reader: _AudioReader | _PortAudioReader | None = None
        self._blocks_before = 0          # blocks read by streams closed since start
        # Once the audio server was seen gone, Qt's audio is not touched again in this process (see
        # _PortAudioReader): reopens go through PortAudio, presence is the server's socket.
        self.server_was_lost = device is None
        self.pulse_source = "" if device is None else bytes(device.id().data()).decode(errors="replace")
        self._sink: Sink | None = None
        self.supervisor = DeviceSupervisor(self, self.what)

    @property
    def blocks_read(self) -> int:
        return self._blocks_before + (self._reader.blocks_read if self._reader is not None else 0)

    def start(self, sink: Sink) -> None:
        self._sink = sink
        self._open()
        self.supervisor.started()

    def _open(self) -> None:
        if self.server_was_lost:
            self._reader = _PortAudioReader(self.pulse_source, self.sample_rate_hz, self._sink)
            self._reader.begin()
            return
        # One capture thread for the source's whole life (Qt's audio never comes back after an audio server
        # restart, whichever thread owns it: see _PortAudioReader).
        from PySide6.QtCore import QMetaObject
        if self._thread is None:
            self._thread = QThread()
            self._thread.setObjectName(f"capture:{self.label}")
            self._thread.start()
        self._reader = _AudioReader(self.device, self.sample_rate_hz, self._sink)
        self._reader.moveToThread(self._thread)
        if not self.supervisor.lost_reason:     # while lost, failed reopen attempts are not news
            self._reader.failed.connect(self.failed)
        QMetaObject.invokeMethod(self._reader, "begin", Qt.ConnectionType.QueuedConnection)

    def _close(self) -> None:
        """Stop the stream (the capture thread keeps running until ``stop``)."""
        if self._reader is None:
            return
        if isinstance(self._reader, _PortAudioReader):
            self._reader.end()
        elif self._thread is not None and self._thread.isRunning():
            from PySide6.QtCore import QMetaObject
            QMetaObject.invokeMethod(self._reader, "end", Qt.ConnectionType.BlockingQueuedConnection)
        self._blocks_before += self._reader.blocks_read
        if isinstance(self._reader, QObject):
            self._reader.deleteLater()
        self._reader = None

    def _present(self, refresh: bool = False) -> bool:
        if self.server_was_lost:
            # Qt's device list is frozen at the dead server; a source that is missing on the new one
            # shows as a stream that cannot start, and the supervisor tries again.
            return audio_server_reachable()
        for d in QMediaDevices.audioInputs():
            if _same_device(d, self.device):
                if refresh:
                    self.device = d     # after an audio server restart the old handle may be stale
                return True
        return False

    def _last_data_t(self) -> float | None:
        return self._reader.last_data_t if self._reader is not None else None

    def _error(self) -> str:
        return self._reader.error_name() if self._reader is not None else ""

    def _can_reopen(self) -> bool:
        if audio_server_reachable():
            return True
        # From now on reopen through PortAudio, never through Qt (that would abort the process); without
        # PortAudio (libportaudio2) every reopen fails and the microphone stays reported lost.
        self.server_was_lost = True
        return False

    def stop(self) -> None:
        self.supervisor.stop()
        self._close()
        if self._thread is not None:
            self._thread.quit()
            self._thread.wait(3000)
            self._thread = None


class CameraSource(LiveDeviceSource):
    """A system camera through Qt Multimedia. Frames are converted to RGB arrays on the thread that
    delivers them (a direct connection), never on the GUI thread. Supervised like the microphone."""

    kind = "video"
    what = "camera"

    def __init__(self, device: QCameraDevice):
        super().__init__(device.description())
        self.device = device
        self.camera: QCamera | None = None
        self._last_frame_t: float | None = None
        self._camera_error = ""
        self.supervisor = DeviceSupervisor(self, self.what, stall_s=3.0, first_data_s=8.0, probe_s=8.0)

    def start(self, sink: Sink) -> None:
        self._sink = sink
        self._open()
        self.supervisor.started()

    def _present(self, refresh: bool = False) -> bool:
        for d in QMediaDevices.videoInputs():
            if _same_device(d, self.device):
                if refresh:
                    self.device = d
                return True
        return False

    def _last_data_t(self) -> float | None:
        return self._last_frame_t

    def _error(self) -> str:
        return self._camera_error

    def _close(self) -> None:
        if self.camera is not None:
            self.camera.stop()
            try:
                self.video_sink.videoFrameChanged.disconnect(self._on_frame)
            except (RuntimeError, TypeError):
                pass
            self.camera = None
        self._last_frame_t = None

    def _on_error(self, _error, text: str) -> None:
        self._camera_error = text or "camera error"

    def _open(self) -> None:
        self._camera_error = ""
        self._last_frame_t = None
        self.camera = QCamera(self.device)
        self.session = QMediaCaptureSession()
        self.video_sink = QVideoSink()
        self.session.setCamera(self.camera)
        self.session.setVideoSink(self.video_sink)
        self.video_sink.videoFrameChanged.connect(self._on_frame, Qt.ConnectionType.DirectConnection)
        self.camera.errorOccurred.connect(self._on_error)   # the supervisor reports it and reopens
        self.camera.start()

    def _on_frame(self, frame) -> None:
        from PySide6.QtGui import QImage
        img = frame.toImage()
        if img.isNull():
            return
        self._last_frame_t = time.monotonic()
        img = img.convertToFormat(QImage.Format.Format_RGB888)
        w, h, bpl = img.width(), img.height(), img.bytesPerLine()
        arr = np.frombuffer(img.constBits(), np.uint8, count=h * bpl).reshape(h, bpl)[:, :w * 3]
        self._sink.offer(shrink(arr.reshape(h, w, 3).copy()))

    def stop(self) -> None:
        self.supervisor.stop()
        self._close()


class LateServerMicrophone(MicrophoneSource):
    """The audio server's default microphone for a server that started after the app (issue 16, item 2).

    Qt Multimedia looks for an audio server once, at start-up; one that appears later is never listed, and
    touching Qt's audio then has crashed Python (``../shared/IO.md``). PortAudio's ALSA ``pulse`` device
    connects to the server when its stream opens, so this source records through :class:`_PortAudioReader`
    only (as a microphone reopened after a server restart does) and never touches Qt's audio."""

    def __init__(self, sample_rate_hz: int = 16000):
        super().__init__(None, sample_rate_hz, LATE_SERVER_MIC)     # always PortAudio, never Qt
