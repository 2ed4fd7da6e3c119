"""The inference thread: takes capture blocks from a bounded queue and runs the mode's pipeline.

Capture threads call ``offer`` which never blocks: when the queue is full the block is dropped and
counted (shown in the status bar), so neither slow inference nor slow drawing can stall capture.
One loop serves both modes; a pipeline says what a block is (audio samples or a video frame).
"""
from __future__ import annotations

import queue
import time
from typing import Any, Callable

import numpy as np
from PySide6.QtCore import QThread, Signal

from recognizers.decoders import make_decoder
from recognizers.events import Decoder
from recognizers.model_files import LoadedModel

from .live_state import LiveState

_END = object()
# Speech: capture blocks (20 ms) go through the decoder in batches of at least AUDIO_BATCH (and up to
# MAX_AUDIO_BATCH when the queue has fallen behind). The decoder's results do not depend on how the samples
# are cut (checked on the shipped model with 20, 40 and 60 ms blocks: the same words, times and
# confidences), and each push costs a fixed overhead (silero's ONNX call, the log-mel frontend, Python), so
# 40 ms batches take about a third off the inference thread on silence (issue 16) for 20 ms more latency.
AUDIO_BATCH = 2
MAX_AUDIO_BATCH = 10
BATCH_WAIT_S = 0.06         # the longest wait for the rest of a batch (a paused or ending source)
# Gesture: MediaPipe costs about 24 ms of CPU a frame, so a 30 fps video tracked in full took 80 % of a
# core by itself (issue 16). Hands are tracked in about MAX_TRACK_FPS frames a second (at least that many);
# the frames between two tracked ones get landmarks interpolated between them (up to two frames later), so
# the model still gets every frame at its rate. While a take is recorded (a ``tap``) every frame is tracked.
# Measured (docs/app-performance.md): tracking 1 frame in 3 and interpolating leaves every one of the 126
# arman sequences' decisions unchanged, and MediaPipe's landmarks on the tracked frames of a real video
# within 1.6 % of the hand's size (p90) of tracking every frame.
MAX_TRACK_FPS = 10.0


def tracking_stride(fps: float | None) -> int:
    """Track one frame in this many, for a video at ``fps`` (None: a camera, taken as 30 fps)."""
    return max(1, int((fps or 30.0) / MAX_TRACK_FPS + 1e-9))


def interpolate_frames(a: np.ndarray, b: np.ndarray, w: float) -> np.ndarray:
    """Landmark frames ``(2, 21, 3)``: ``a + w (b - a)`` per hand slot; a slot missing in ``b`` keeps ``a``
    (NaN stays NaN where ``a`` has no hand)."""
    out = a + np.float32(w) * (b - a)
    missing = np.isnan(out)
    out[missing] = a[missing]
    return out.astype(np.float32, copy=False)


class LivePipeline:
    """One capture block -> the mode's decoder -> the live state the views draw.

    ``kind`` says what a block is: ``"audio"`` (float32 mono samples at the model's rate, fed to the decoder as
    they are) or ``"video"`` (an RGB frame: the engine's HandTracker turns it into landmarks ``(2, 21, 3)`` on
    this thread first). The recorder listens through ``tap``: ``tap(samples)`` or ``tap(landmarks, rgb)``.
    """

    def __init__(self, state: LiveState, decoder: Decoder | None, kind: str):
        if kind not in ("audio", "video"):
            raise ValueError(f"kind {kind!r}: 'audio' or 'video'")
        self.state = state
        self.decoder = decoder
        self.kind = kind
        self.tracker = None
        self.note = ""
        self.tap: Callable[..., None] | None = None
        self.track_every = 1            # video: track hands in one frame of this many (tracking_stride)
        self._seen = 0                  # video frames received
        self._held: list[np.ndarray] = []       # untracked frames waiting for the next tracked one
        self._last_frame: np.ndarray | None = None   # landmarks of the last tracked frame

    def start(self) -> None:
        if self.kind == "video":
            from recognizers.frontends.hand_tracking import HandTracker
            self.tracker = HandTracker(mode="video", max_hands=2)

    def _input(self, block: np.ndarray, blocks: int = 1) -> tuple[np.ndarray | None, tuple]:
        """The decoder's input for ``block`` and the ``tap`` arguments."""
        if self.kind == "audio":
            self.state.add_audio(block, blocks)
            return block, (block,)
        from recognizers.frontends.hand_tracking import hands_to_frame
        hands = self.tracker.process(block) if self.tracker is not None else []
        self.state.add_image(block, hands)
        frame = hands_to_frame(hands) if self.tracker is not None else None
        return frame, (frame, block)

    def process(self, block: np.ndarray, blocks: int = 1) -> None:
        """Run one capture block (audio: or ``blocks`` of them, concatenated)."""
        if self.kind == "video" and self.tracker is not None and (self.track_every > 1 or self._held):
            self._process_strided(block)
            return
        t = time.perf_counter()
        x, tap_args = self._input(block, blocks)
        if self.kind == "audio":
            t = time.perf_counter()          # speech: the decoder's time only (the waveform copy is not inference)
        tap = self.tap
        if tap is not None and x is not None:
            tap(*tap_args)
        if self.decoder is not None and x is not None:
            decoded = self.decoder.push(x)
            self.state.add_step(decoded, (time.perf_counter() - t) / blocks)    # per capture block

    def _process_strided(self, rgb: np.ndarray) -> None:
        from recognizers.frontends.hand_tracking import hands_to_frame
        self._seen += 1
        tracking_all = self.tap is not None       # a take is being recorded: every frame is tracked
        if not tracking_all and (self._seen - 1) % self.track_every and len(self._held) < self.track_every:
            self._held.append(rgb)
            self.state.count_received()
            return
        t = time.perf_counter()
        hands = self.tracker.process(rgb)
        self.state.add_image(rgb, hands)          # the camera view shows the tracked frames
        frame = hands_to_frame(hands)
        prev, held = self._last_frame, self._held
        self._held = []
        n = len(held) + 1
        for j, held_rgb in enumerate(held):
            self._push_frame(frame if prev is None else interpolate_frames(prev, frame, (j + 1) / n), held_rgb,
                             (time.perf_counter() - t) / n)
        self._push_frame(frame, rgb, (time.perf_counter() - t) / n)
        self._last_frame = frame

    def _push_frame(self, frame: np.ndarray, rgb: np.ndarray, elapsed_s: float) -> None:
        tap = self.tap
        if tap is not None:
            tap(frame, rgb)
        if self.decoder is not None:
            t = time.perf_counter()
            decoded = self.decoder.push(frame)
            self.state.add_step(decoded, elapsed_s + time.perf_counter() - t)

    def finish(self) -> None:
        if self._held and self._last_frame is not None:     # the stream's last frames were not tracked
            for held_rgb in self._held:
                self._push_frame(self._last_frame, held_rgb, 0.0)
        self._held = []
        if self.decoder is not None:
            self.state.add_events(self.decoder.flush())

    def close(self) -> None:
        if self.tracker is not None:
            self.tracker.close()
            self.tracker = None


def make_pipeline(task: str, state: LiveState, model: LoadedModel | None, device: str = "cpu",
                  vad: str | None = None) -> tuple[LivePipeline, str]:
    """The live pipeline of a mode (``"speech"`` or ``"gesture"``) with the decoder ``model`` needs; ``vad``
    (``"ours"``/``"silero"``, None: the engine's default) picks the isolated-word decoder's detector."""
    decoder = make_decoder(model, device=device, vad=vad) if model is not None else None
    return LivePipeline(state, decoder, "audio" if task == "speech" else "video"), ""


class InferenceWorker(QThread):
    """Owns the decoder; consumes a bounded queue of capture blocks. Thread-safe ``offer``."""

    failed = Signal(str)        # a one-line message for the window
    note = Signal(str)          # informational (e.g. a missing optional module)
    stream_ended = Signal()     # a file source played to its end and the decoder was flushed

    def __init__(self, pipeline: LivePipeline, queue_size: int | None = None):
        super().__init__()
        self.pipeline = pipeline
        self.state = pipeline.state
        if queue_size is None:
            queue_size = 100 if pipeline.kind == "audio" else 2   # ~2 s of 20 ms blocks; latest video frames
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self._running = True

    @property
    def decoder(self) -> Decoder | None:
        return self.pipeline.decoder

    def offer(self, block: Any) -> bool:
        """Called by capture threads. Never blocks; returns False (and counts a drop) if the queue is full."""
        try:
            self._queue.put_nowait(block)
            return True
        except queue.Full:
            self.state.count_drop(self.pipeline.kind)
            return False

    def end_of_stream(self) -> None:
        try:
            self._queue.put(_END, timeout=2.0)
        except queue.Full:
            pass

    def set_device(self, device: str) -> None:
        """Move the model to ``device`` while the stream runs (the recogniser's lock makes it safe)."""
        if self.decoder is not None:
            self.decoder.recognizer.set_device(device)

    def stop(self, timeout_ms: int = 5000) -> bool:
        """Ask the loop to end and wait up to ``timeout_ms``; True when the thread has ended."""
        self._running = False
        return self.wait(timeout_ms)

    def cancel(self) -> None:
        """Ask the loop to end without waiting."""
        self._running = False

    def _batch(self, first: np.ndarray) -> tuple[list[np.ndarray], bool]:
        """``first`` and the audio blocks after it (AUDIO_BATCH, more when the queue is behind), and whether
        the stream ended after them."""
        parts = [first]
        while len(parts) < MAX_AUDIO_BATCH:
            try:
                if len(parts) < AUDIO_BATCH:
                    nxt = self._queue.get(timeout=BATCH_WAIT_S)
                else:
                    nxt = self._queue.get_nowait()
            except queue.Empty:
                break
            if nxt is _END:
                return parts, True
            parts.append(nxt)
        return parts, False

    def run(self) -> None:
        try:
            self.pipeline.start()
        except Exception as exc:  # the input still shows; the window says what failed
            self.failed.emit(f"could not start {self.pipeline.kind} processing: {exc}")
        if self.pipeline.note:
            self.note.emit(self.pipeline.note)
        last_error = ""
        while self._running and not self.isInterruptionRequested():
            try:
                item = self._queue.get(timeout=0.05)
            except queue.Empty:
                continue
            try:
                if item is _END:
                    self.pipeline.finish()
                    self.stream_ended.emit()
                elif self.pipeline.kind == "audio":
                    parts, ended = self._batch(item)
                    self.pipeline.process(parts[0] if len(parts) == 1 else np.concatenate(parts), len(parts))
                    if ended:
                        self.pipeline.finish()
                        self.stream_ended.emit()
                else:
                    self.pipeline.process(item)
            except Exception as exc:
                msg = f"inference failed: {type(exc).__name__}: {exc}"
                if msg != last_error:       # say it once, not 50 times a second
                    self.failed.emit(msg)
                    last_error = msg
        try:
            self.pipeline.close()
        except Exception:
            pass
