"""What the views draw, filled by the capture and inference threads and read by the GUI timer.

Everything is held in bounded ring buffers under one lock; ``snapshot()`` hands the GUI an ordered copy
of the selected layer so drawing never holds the lock and never sees a half-written step.
"""
from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from recognizers.events import DecodedStep, RecognitionEvent

from .ring_buffers import RingBuffer

GATES = ("i", "f", "g", "o", "c", "h")
LEVEL_WINDOW_S = 0.05
SILENCE_DB = -90.0


@dataclass
class Counters:
    """Health of the stream, shown in the status bar."""

    blocks_received: int = 0        # audio blocks or video frames that reached the inference thread
    frames_run: int = 0             # network frames computed
    dropped_audio_blocks: int = 0
    dropped_video_frames: int = 0
    inference_ms: float = 0.0       # smoothed time per block on the inference thread


@dataclass
class Snapshot:
    """An ordered copy of the live data for one redraw. Times are seconds since the stream started."""

    now_s: float
    frame_rate_hz: float
    labels: list[str]
    counters: Counters
    waveform: np.ndarray | None = None          # (samples,)
    waveform_t0_s: float = 0.0
    sample_rate_hz: int | None = None
    level_db: float = SILENCE_DB
    features: np.ndarray | None = None          # (frames, features) the network saw (normalised)
    frames_t0_s: float = 0.0                    # time of features[0] and of every gate row 0
    gates: dict[str, np.ndarray] = field(default_factory=dict)  # "i".."h" -> (frames, units), one layer
    probabilities: np.ndarray | None = None     # (classes,) of the newest frame
    active: bool = False
    events: list[RecognitionEvent] = field(default_factory=list)
    image: np.ndarray | None = None             # (H, W, 3) uint8 RGB, newest video frame
    hands: list = field(default_factory=list)   # engine Hand objects for that frame
    image_serial: int = 0                       # changes when a new image arrives


class LiveState:
    """Bounded live data of one stream (one mode, one model)."""

    def __init__(self, labels: list[str], frame_rate_hz: float, window_s: float = 6.0,
                 sample_rate_hz: int | None = None, feature_size: int = 0, num_layers: int = 0,
                 units: int = 0, max_events: int = 200):
        self.lock = threading.Lock()
        self.labels = list(labels)
        self.frame_rate_hz = float(frame_rate_hz)
        self.sample_rate_hz = sample_rate_hz
        self.window_s = float(window_s)
        n_frames = max(2, int(round(window_s * frame_rate_hz)))
        self.waveform = RingBuffer(int(window_s * sample_rate_hz)) if sample_rate_hz else None
        self.features = RingBuffer(n_frames, (feature_size,)) if feature_size else None
        self.gates = {f"layer{k}_{g}": RingBuffer(n_frames, (units,))
                      for k in range(num_layers) for g in GATES} if units else {}
        self.num_layers = num_layers
        self.probabilities: np.ndarray | None = None
        self.active = False
        self.events: deque[RecognitionEvent] = deque(maxlen=max_events)
        self.image: np.ndarray | None = None
        self.hands: list = []
        self.image_serial = 0
        self.video_frames = 0          # frames of the video stream that reached the inference thread
        self.counters = Counters()

    # ---- writers (capture / inference threads) ------------------------------------------------------
    def count_drop(self, kind: str) -> None:
        with self.lock:
            if kind == "audio":
                self.counters.dropped_audio_blocks += 1
            else:
                self.counters.dropped_video_frames += 1

    def add_audio(self, samples: np.ndarray, blocks: int = 1) -> None:
        """``samples``: ``blocks`` capture blocks (the inference thread batches them)."""
        if self.waveform is None:
            return
        with self.lock:
            self.waveform.extend(samples)
            self.counters.blocks_received += blocks

    def add_image(self, rgb: np.ndarray, hands: list) -> None:
        with self.lock:
            self.image = rgb
            self.hands = list(hands)
            self.image_serial += 1
            self.video_frames += 1
            self.counters.blocks_received += 1

    def count_received(self) -> None:
        """A video frame reached the inference thread but was not tracked (see inference_worker). It is
        still a frame of the stream: the stream's clock counts it (with tracking at 15 of 30 frames a second
        the clock ran at half speed, and the gate views, drawn up to "now", went blank after 10 s)."""
        with self.lock:
            self.counters.blocks_received += 1
            self.video_frames += 1

    def add_step(self, decoded: DecodedStep, elapsed_s: float = 0.0) -> None:
        step = decoded.step
        with self.lock:
            c = self.counters
            c.inference_ms = 0.9 * c.inference_ms + 0.1 * elapsed_s * 1000.0 if c.inference_ms else elapsed_s * 1e3
            self.active = bool(decoded.active)
            self.events.extend(decoded.events)
            n = step.n_frames
            if n == 0:
                return
            c.frames_run += n
            if self.features is not None:
                self.features.extend(step.features)
            for key, buf in self.gates.items():
                if key in step.gates:
                    buf.extend(step.gates[key])
            self.probabilities = np.asarray(step.probabilities[-1], np.float32).copy()

    def add_events(self, events: list[RecognitionEvent]) -> None:
        with self.lock:
            self.events.extend(events)
            self.active = False

    # ---- reader (GUI thread) -------------------------------------------------------------------------
    def now_s(self) -> float:
        if self.waveform is not None:
            return self.waveform.total / float(self.sample_rate_hz)
        if self.features is not None and self.video_frames == 0:
            return self.features.total / self.frame_rate_hz
        return self.video_frames / self.frame_rate_hz

    def snapshot(self, layer: int = 0, frames: bool = True) -> Snapshot:
        """A copy for one redraw; ``frames=False`` leaves out the features and gate arrays (a redraw of the
        light views only: copying 6 s of six gates 30 times a second was wasted work, issue 16)."""
        with self.lock:
            snap = Snapshot(now_s=self.now_s(), frame_rate_hz=self.frame_rate_hz, labels=self.labels,
                            counters=Counters(**vars(self.counters)), active=self.active,
                            events=list(self.events), image=self.image, hands=list(self.hands),
                            image_serial=self.image_serial, sample_rate_hz=self.sample_rate_hz)
            if self.waveform is not None:
                snap.waveform = self.waveform.latest()
                snap.waveform_t0_s = self.waveform.first_index / float(self.sample_rate_hz)
                n = int(LEVEL_WINDOW_S * self.sample_rate_hz)
                tail = snap.waveform[-n:]
                if tail.size:
                    rms = float(np.sqrt(np.mean(np.square(tail, dtype=np.float64))))
                    snap.level_db = max(SILENCE_DB, 20.0 * np.log10(rms + 1e-12))
            if self.features is not None:
                snap.frames_t0_s = self.features.first_index / self.frame_rate_hz
                if frames:
                    snap.features = self.features.latest()
            for g in GATES if frames else ():
                buf = self.gates.get(f"layer{layer}_{g}")
                if buf is not None:
                    snap.gates[g] = buf.latest()
            if self.probabilities is not None:
                snap.probabilities = self.probabilities.copy()
        return snap
