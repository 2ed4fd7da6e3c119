"""silero-vad (MIT, a small trained LSTM) as a word endpointer with the interface of our own detector.

The speech probability comes from the ONNX model that the ``silero-vad`` wheel ships
(``silero_vad/data/silero_vad.onnx``), run with onnxruntime on one thread: nothing is downloaded and torch
is not imported. The network reads 512-sample chunks at 16 kHz (256 at 8 kHz) with 64 (32) samples of
the previous chunk as context, and keeps a ``(2, 1, 128)`` recurrent state between calls.

:class:`SileroVoiceDetector` turns those probabilities into the same :class:`~recognizers.decoders.vad.VadUpdate`
as :class:`~recognizers.decoders.vad.VoiceActivityDetector`, on the frontend's frame grid, so
:class:`~recognizers.decoders.words.Transcriber` can use either. Samples go in with :meth:`push_samples`
(before the frontend turns them into frames), frames are counted with :meth:`push`; frame ``k`` gets the
probability of the chunk holding the centre of its analysis span, so decisions lag the frames by at most
one chunk (32 ms), which the transcriber's hold-back covers. The segmentation follows silero's own
``get_speech_timestamps``: speech starts at ``threshold``, ends after ``hangover_ms`` below
``threshold - 0.15``; starts and ends are padded by ``pad_ms``. Length limits and utterance ends are as in
our detector. With ``stationary_test`` (default) a segment silero accepts is also put to our detector's
spectral-shape test (:mod:`recognizers.decoders.vad`, ``min_dynamics_db``) on the same log-mel frames: silero
alone opened words on short synthetic tones and notes (docs/vad.md).
"""
from __future__ import annotations

import importlib.util
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from recognizers.decoders.vad import VadConfig, VadSegment, VadUpdate, VoiceActivityDetector
from recognizers.errors import VaultError

MODEL_FILE = "silero_vad.onnx"   # the 8 kHz + 16 kHz model (the "_16k" files take 16 kHz only)


def silero_model_path() -> Path:
    """The ONNX file inside the installed ``silero-vad`` wheel (found without importing the package, whose
    ``__init__`` imports torch)."""
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise VaultError("silero-vad is not installed (pip install silero-vad); use --vad ours")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / MODEL_FILE
    if not path.is_file():
        raise VaultError(f"{path}: silero-vad's model file is missing; reinstall silero-vad")
    return path


class SileroProbability:
    """Streaming speech probability: ``push(samples) -> probabilities of the completed chunks``."""

    def __init__(self, sample_rate_hz: int = 16000):
        if sample_rate_hz not in (8000, 16000):
            raise VaultError(f"silero-vad reads 8 or 16 kHz audio, not {sample_rate_hz} Hz; use --vad ours")
        import onnxruntime as ort
        opts = ort.SessionOptions()
        opts.inter_op_num_threads = 1
        opts.intra_op_num_threads = 1
        opts.log_severity_level = 3
        self.session = ort.InferenceSession(str(silero_model_path()), sess_options=opts,
                                            providers=["CPUExecutionProvider"])
        self.sample_rate_hz = int(sample_rate_hz)
        self.chunk = 512 if sample_rate_hz == 16000 else 256
        self.context_size = 64 if sample_rate_hz == 16000 else 32
        self._sr = np.array(self.sample_rate_hz, dtype=np.int64)
        self.reset()

    def reset(self) -> None:
        self._state = np.zeros((2, 1, 128), np.float32)
        self._context = np.zeros(self.context_size, np.float32)
        self._buf = np.zeros(0, np.float32)
        self.chunks_done = 0

    def push(self, samples: np.ndarray) -> list[float]:
        self._buf = np.concatenate([self._buf, np.asarray(samples, np.float32).reshape(-1)])
        out = []
        while self._buf.size >= self.chunk:
            x = self._buf[:self.chunk]
            self._buf = self._buf[self.chunk:]
            inp = np.concatenate([self._context, x])[None, :]
            prob, self._state = self.session.run(None, {"input": inp, "state": self._state, "sr": self._sr})
            self._context = x[-self.context_size:].copy()
            out.append(float(prob.reshape(-1)[0]))
            self.chunks_done += 1
        return out


@dataclass
class SileroVadConfig:
    """Settings of :class:`SileroVoiceDetector`; times in ms, as in :class:`~recognizers.decoders.vad.VadConfig`."""

    hop_ms: float = 10.0
    threshold: float = 0.5          # silero's default speech probability
    neg_offset: float = 0.15        # a word ends below threshold - neg_offset (silero's default)
    onset_ms: float = 30.0          # frames at/above threshold (within onset_window_ms) that start a word
    onset_window_ms: float = 50.0
    pad_ms: float = 30.0            # silero's speech_pad_ms: starts move back, ends forward, this much
    hangover_ms: float = 100.0      # silero's min_silence_duration_ms
    min_word_ms: float = 100.0
    max_word_ms: float = 1500.0
    utterance_gap_ms: float = 600.0
    stationary_test: bool = True    # reject accepted segments whose spectral shape does not move (our test)

    def frames(self, ms: float) -> int:
        return max(1, int(round(ms / self.hop_ms)))

    def to_json(self) -> dict:
        return asdict(self)


class SileroVoiceDetector:
    """silero-vad behind the :class:`~recognizers.decoders.vad.VoiceActivityDetector` interface.

    ``hop_length`` and ``span_length`` (samples) describe the frontend's frames: frame ``k`` covers samples
    ``[k * hop_length, k * hop_length + span_length)``.
    """

    SILENCE, SPEECH, WAIT_QUIET = "silence", "speech", "wait_quiet"

    def __init__(self, config: SileroVadConfig | None = None, sample_rate_hz: int = 16000,
                 hop_length: int = 160, span_length: int = 400):
        self.config = c = config or SileroVadConfig()
        self.prob = SileroProbability(sample_rate_hz)
        self._hop = int(hop_length)
        self._centre = int(span_length) // 2
        self._onset_n = c.frames(c.onset_ms)
        # decisions lag the frames by up to one chunk: the transcriber's hold-back must cover it
        self._lag = int(np.ceil(self.prob.chunk / self._hop)) + 1
        self._onset_win = max(self._onset_n, c.frames(c.onset_window_ms)) + self._lag
        self._pad = c.frames(c.pad_ms)
        self._lookback = self._pad
        self._hang = c.frames(c.hangover_ms)
        self._min_len = c.frames(c.min_word_ms)
        self._max_len = c.frames(c.max_word_ms)
        self._utt_gap = c.frames(c.utterance_gap_ms)
        # our detector, fed the same log-mel frames, only for its spectral-shape history (_dynamics)
        self._shape = VoiceActivityDetector(VadConfig(hop_ms=c.hop_ms, max_word_ms=c.max_word_ms + 2 * c.pad_ms
                                                      + 100.0)) if c.stationary_test else None
        self.reset()

    def reset(self) -> None:
        self.prob.reset()
        self.frame = 0              # frames pushed
        self._decided = 0           # frames whose probability has been used
        self._chunk_probs: deque[float] = deque(maxlen=64)
        self._chunk_first = 0       # chunk index of _chunk_probs[0]
        self.state = self.SILENCE
        self.score = 0.0            # probability of the last decided frame, for displays
        self._recent: deque[float] = deque(maxlen=self._onset_win)
        self._start = 0
        self._last_active = 0
        self._onset = 0
        self._quiet_run = 0
        self._last_word_end: int | None = None
        self._in_utterance = False
        if self._shape is not None:
            self._shape.reset()

    @property
    def active(self) -> bool:
        return self.state == self.SPEECH

    @property
    def word_start(self) -> int | None:
        return self._start if self.state == self.SPEECH else None

    def push_samples(self, samples: np.ndarray) -> None:
        """Audio at the model's rate, pushed *before* the frames the frontend makes from it."""
        probs = self.prob.push(samples)
        for p in probs:
            if len(self._chunk_probs) == self._chunk_probs.maxlen:
                self._chunk_first += 1
            self._chunk_probs.append(p)

    def _frame_prob(self, k: int) -> float | None:
        c = (k * self._hop + self._centre) // self.prob.chunk
        if c >= self.prob.chunks_done:
            return None
        return self._chunk_probs[max(0, c - self._chunk_first)]

    def push(self, frames: np.ndarray) -> VadUpdate:
        """Count ``(n, n_mels)`` frames; decide every frame whose chunk probability is known."""
        upd = VadUpdate([], [], [])
        frames = np.asarray(frames)
        if frames.ndim == 2:
            self.frame += frames.shape[0]
            if self._shape is not None and frames.shape[0]:
                self._shape.push(frames)
        while self._decided < self.frame:
            p = self._frame_prob(self._decided)
            if p is None:
                break
            self._step(p, upd)
        return upd

    def _step(self, p: float, upd: VadUpdate) -> None:
        c = self.config
        t = self._decided
        self._decided += 1
        self.score = p
        self._recent.append(p)
        off = c.threshold - c.neg_offset
        if self.state == self.SILENCE:
            window = list(self._recent)[-max(self._onset_n, c.frames(c.onset_window_ms)):]
            hits = [i for i, v in enumerate(window) if v >= c.threshold]
            if len(hits) >= self._onset_n:
                first = t - (len(window) - 1) + hits[0]
                floor = (self._last_word_end + 1) if self._last_word_end is not None else 0
                start = max(first - self._pad, floor, 0)
                self.state = self.SPEECH
                self._start = start
                self._onset = first
                self._last_active = t
                self._in_utterance = True
                upd.starts.append(start)
            elif self._in_utterance and self._last_word_end is not None and t - self._last_word_end >= self._utt_gap:
                self._in_utterance = False
                upd.utterance_ends.append(t)
        elif self.state == self.SPEECH:
            if p >= off:
                self._last_active = t
            if t - self._start + 1 > self._max_len:
                upd.segments.append(VadSegment(self._start, t, t, False, "too long"))
                self.state = self.WAIT_QUIET
                self._quiet_run = 0
                self._last_word_end = t
            elif t - self._last_active >= self._hang:
                end = min(self._last_active + self._pad, t)
                ok = end - self._start + 1 >= self._min_len
                upd.segments.append(self._checked(VadSegment(self._start, end, t, ok, "" if ok else "too short",
                                                             onset_frame=self._onset,
                                                             last_active_frame=self._last_active)))
                self.state = self.SILENCE
                self._last_word_end = end
                self._recent.clear()
        else:
            self._quiet_run = self._quiet_run + 1 if p < off else 0
            if self._quiet_run >= self._hang:
                self.state = self.SILENCE
                self._recent.clear()

    def _checked(self, seg: VadSegment) -> VadSegment:
        """Our stationarity test on an accepted segment (its frames are in ``_shape``'s history)."""
        if seg.accepted and self._shape is not None and self._shape.config.min_dynamics_db > 0:
            seg.dynamics_db = self._shape._dynamics(seg.start_frame, seg.end_frame)
            if seg.dynamics_db is not None and seg.dynamics_db < self._shape.config.min_dynamics_db:
                seg.accepted, seg.reason = False, "stationary"
        return seg

    def finish(self) -> VadUpdate:
        """End of stream: decide the frames still waiting for a chunk (the partial chunk is zero-padded), then
        close an open word at its last active frame."""
        upd = VadUpdate([], [], [])
        rest = (-self.prob._buf.size) % self.prob.chunk
        if self.prob._buf.size:
            self.push_samples(np.zeros(rest, np.float32))
        while self._decided < self.frame and self._frame_prob(self._decided) is not None:
            self._step(self._frame_prob(self._decided), upd)
        if self.state == self.SPEECH:
            end = min(self._last_active + self._pad, max(self.frame - 1, self._last_active))
            n = end - self._start + 1
            ok = self._min_len <= n <= self._max_len
            upd.segments.append(self._checked(VadSegment(self._start, end, max(self.frame - 1, end), ok,
                                                         "" if ok else ("too short" if n < self._min_len
                                                                        else "too long"),
                                                         onset_frame=self._onset,
                                                         last_active_frame=self._last_active)))
            self._last_word_end = end
        if self._in_utterance:
            upd.utterance_ends.append(self.frame)
            self._in_utterance = False
        self.state = self.SILENCE
        self._decided = self.frame
        return upd
