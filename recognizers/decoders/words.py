"""Live transcription: a continuous audio stream -> recognised vocabulary words with times and confidence.

``Transcriber`` is the speech :class:`recognizers.events.Decoder`. Per pushed block of samples it:

1. runs the model's streaming frontend (samples -> 10 ms log-mel frames, exactly the offline frames);
2. runs the voice activity detector on those frames: ours (:mod:`recognizers.decoders.vad`, which also drops
   segments whose spectrum does not move: steady tones, hum, music-like notes) or silero-vad
   (:mod:`recognizers.decoders.silero_vad`, ``TranscriberConfig.detector = "silero"``, which reads the samples);
   both drop segments of the wrong length;
3. feeds every frame to the network exactly once, through the :class:`StreamingRecognizer`, but outside
   words it holds back a short *pre-roll* of frames. When the VAD confirms a word start, the LSTM state is
   zeroed and the network then sees the pre-roll and the word, like the padded single-word clips it was
   trained on. Inside a word frames go through the network as soon as they arrive (no added delay);
4. when the VAD ends the word (after its hangover of quiet frames), the word's class comes from the
   probabilities a few frames after the word's last active frame (the model classifies a clip from its
   last frame, and training clips end with 0-250 ms of padding). The event is emitted if the label is not
   the model's unknown label and the confidence reaches ``min_confidence``.

Times are seconds from the start of the stream (or the last ``reset``). All buffers are bounded by the
pre-roll and the VAD's maximum word length, so memory does not grow with the stream.
"""
from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from recognizers.decoders.long_runs import LongRunReader, fits_companion
from recognizers.decoders.silero_vad import SileroVadConfig, SileroVoiceDetector
from recognizers.decoders.vad import VadConfig, VadSegment, VoiceActivityDetector
from recognizers.errors import VaultError
from recognizers.events import DecodedStep, RecognitionEvent
from recognizers.frontends.registry import make_frontend
from recognizers.frontends.settings import has_mel_frames
from recognizers.model_files import LoadedModel
from recognizers.streaming import StreamingRecognizer, StreamStep, merge_steps


@dataclass
class TranscriberConfig:
    """Decoder settings (times in ms). ``min_confidence`` None: ``model.json``'s ``decoder.reject_threshold``
    if it is set above 0, else 0.5."""

    pre_roll_ms: float = 150.0      # frames before the detected start that the network sees
    decision_delay_ms: float = 80.0  # classify this long after the word's last active frame (<= hangover)
    decision_window_ms: float = 10.0  # average the probabilities over this much up to that frame
    min_confidence: float | None = None
    long_word_ms: float = 800.0     # a longer segment rejected as unknown goes to the long-run reader too
    long_run_max_s: float = 12.0    # the long-run reader reads at most this much at once (its buffer)
    vad: VadConfig = field(default_factory=VadConfig)
    detector: str = "silero"        # "silero" or "ours": measured, docs/vad.md
    # silero-vad on the embedding's 80 ms frames ends a word at one quiet frame, so a stop consonant's closure
    # can cut a word in two: a word that starts at most this many quiet frames after the last word and gets
    # the same label is that word's second half, not a second word (0: off; docs/unseen-speakers.md)
    same_word_dip_frames: int = 1
    # a frontend whose frame reads more than its hop (the speech embedding reads the last 0.78 s) shows the
    # network the word before inside a new word's first frames; isolated, those frames are computed again from
    # the samples after the last segment, with silence before them, as in the single-word clips the model was
    # trained on (docs/unseen-speakers.md)
    isolate_words: bool = True
    silero: SileroVadConfig = field(default_factory=SileroVadConfig)

    def to_json(self) -> dict:
        return asdict(self)


DEFAULT_MIN_CONFIDENCE = 0.5
# labels that are not words (the 12-class Speech Commands task's _silence_): rejected like the unknown label
NON_WORD_LABELS = ("_silence_",)


def spoken_words(model: LoadedModel) -> list[str]:
    """The labels a transcriber can emit: every label but the unknown one and the non-words."""
    return [lab for lab in model.labels if lab != model.unknown_label and lab not in NON_WORD_LABELS]


VAD_CHOICES = ("ours", "silero")


class Transcriber:
    """Streaming word transcriber for any speech model folder (labels from ``model.json``)."""

    def __init__(self, model: LoadedModel, config: TranscriberConfig | None = None, trace: bool = True,
                 device: str | None = None, long_runs: LoadedModel | None = None):
        if model.task != "speech":
            raise VaultError(f"{model.name}: is a {model.task} model; transcription needs a speech model")
        self.model = model
        self.config = config or TranscriberConfig()
        self.recognizer = StreamingRecognizer(model, trace=trace, device=device)
        fe_cfg = self.recognizer.frontend.config
        if not hasattr(fe_cfg, "hop_ms"):
            raise VaultError(f"{model.name}: transcription needs a log-mel audio frontend")
        self.sample_rate_hz = int(fe_cfg.sample_rate_hz)
        self.hop_s = fe_cfg.hop_length / fe_cfg.sample_rate_hz
        # the analysis window sits centred in the frame's span (max(win, n_fft) samples)
        span = getattr(fe_cfg, "span_length", fe_cfg.win_length)
        self._win_offset_s = (span - fe_cfg.win_length) / 2 / fe_cfg.sample_rate_hz
        self.win_s = fe_cfg.win_length / fe_cfg.sample_rate_hz
        vad_cfg = VadConfig(**{**asdict(self.config.vad), "hop_ms": self.hop_s * 1000.0})
        if self.config.detector not in VAD_CHOICES:
            raise VaultError(f"voice activity detector {self.config.detector!r}: choose "
                             f"{' or '.join(VAD_CHOICES)}")
        # our detector and silero's spectral-shape test read log-mel frames; a model on the pretrained speech
        # embedding (80 ms frames of 96 learnt values) has none, so silero alone finds its words
        mel_frames = has_mel_frames(model.frontend_config)
        if self.config.detector == "ours" and not mel_frames:
            raise VaultError(f"{model.name}: our voice activity detector reads log-mel frames and this model's "
                             f"frontend is {fe_cfg.type!r}; use silero-vad (--vad silero)")
        if self.config.detector == "silero":
            silero = {**asdict(self.config.silero), "hop_ms": vad_cfg.hop_ms}
            if not mel_frames:
                silero["stationary_test"] = False
            self.vad = SileroVoiceDetector(SileroVadConfig(**silero), self.sample_rate_hz, fe_cfg.hop_length, span)
        else:
            self.vad = VoiceActivityDetector(vad_cfg)
        self.labels = list(model.labels)
        self.unknown_index = self.labels.index(model.unknown_label) if model.unknown_label in self.labels else None
        self.non_word_indices = {i for i, lab in enumerate(self.labels) if lab in NON_WORD_LABELS}
        thr = self.config.min_confidence
        if thr is None:
            thr = float(model.meta.get("decoder", {}).get("reject_threshold", 0.0) or 0.0) or DEFAULT_MIN_CONFIDENCE
        self.min_confidence = float(thr)
        self._pre_roll = vad_cfg.frames(self.config.pre_roll_ms)
        self._delay = min(vad_cfg.frames(self.config.decision_delay_ms), self.vad._hang)
        self._window = vad_cfg.frames(self.config.decision_window_ms)
        # Frames held back outside words: pre-roll plus what the VAD may still move a start back over.
        self._hold = self._pre_roll + self.vad._onset_win + self.vad._lookback
        self._max_word = self.vad._max_len + self._hold + self.vad._hang + 2
        # isolated words: a second frontend computes a word's first frames again from the samples after the last
        # segment (only frames whose window reaches back into that segment differ; later ones are the stream's)
        hop, context = int(fe_cfg.hop_length), int(getattr(fe_cfg, "context_length", fe_cfg.hop_length))
        self._iso_frontend = None
        self._iso_frames = 0
        if self.config.isolate_words and context > hop:
            self._iso_frontend = make_frontend(model.frontend_config)
            self._iso_frames = -(-(context - hop) // hop)   # frames that read before the word's first frame
        # runs too long for a word go to a connected-digit companion model, when there is one (long_runs.py)
        self.long_runs: LongRunReader | None = None
        if long_runs is not None:
            if not fits_companion(model, long_runs.meta):
                raise VaultError(f"{long_runs.name}: cannot read {model.name}'s long runs (it needs a connected-digit "
                                 f"model with the same frontend whose words are labels of {model.name})")
            self.long_runs = LongRunReader(long_runs, self.hop_s, self._pre_roll, self.config.long_run_max_s,
                                           device=device, frontend=dict(model.frontend_config))
        self.reset()

    # ----------------------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget the stream (frontend, LSTM state, VAD, buffers); times restart at 0."""
        self.recognizer.reset()
        self.vad.reset()
        self._pending: deque[np.ndarray] = deque()   # frames not yet run, oldest first
        self._pending_start = 0                       # stream index of _pending[0]
        self._fed = 0                                 # frames run through the network
        self._word_probs: deque[np.ndarray] = deque(maxlen=self._max_word)
        self._word_first = 0                          # stream index of _word_probs[0]
        self.rejected: deque[dict] = deque(maxlen=64)  # recent rejected segments, for displays/debugging
        self.utterance_ends: deque[float] = deque(maxlen=64)  # times (s) where the VAD closed an utterance
        self._last_word: tuple[str, int] | None = None   # the last emitted label and its last active frame
        self._samples = np.zeros(0, np.float32)      # recent stream samples (isolated words), from _samples_at
        self._samples_at = 0
        self._iso_next = self._iso_end = 0           # the next and the end frame index computed in isolation
        self._prev_end: int | None = None            # the last active frame of the VAD's last segment
        if self.long_runs is not None:
            self.long_runs.reset()

    @property
    def frames_seen(self) -> int:
        return self.vad.frame

    @property
    def buffered_frames(self) -> int:
        """Frames held in buffers (bounded; for tests and displays)."""
        return len(self._pending) + len(self._word_probs)

    @property
    def buffered_samples(self) -> int:
        """Stream samples kept to compute a word's first frames again (isolated words; bounded)."""
        return int(self._samples.size)

    def frame_start_s(self, k: int) -> float:
        """Stream time of the first sample under frame ``k``'s analysis window."""
        return k * self.hop_s + self._win_offset_s

    def frame_end_s(self, k: int) -> float:
        """Stream time just after the last sample under frame ``k``'s analysis window."""
        return self.frame_start_s(k) + self.win_s

    # ----------------------------------------------------------------------------------------------
    def push(self, samples: Any) -> DecodedStep:
        """Append mono float32 samples at the model's rate (any block size)."""
        x = np.asarray(samples, dtype=np.float32).reshape(-1)
        if self._iso_frontend is not None:
            self._samples = np.concatenate([self._samples, x])
        if isinstance(self.vad, SileroVoiceDetector):
            self.vad.push_samples(x)     # silero reads the samples; its frames' probabilities come from them
        if self.long_runs is not None and self.long_runs.own_frontend:
            self.long_runs.push_samples(x)
        frames = self.recognizer.frontend.push(x)
        step = self._process(frames)
        if self._iso_frontend is not None:
            # keep what a word starting at a held-back frame needs (frame k's new samples begin at k * hop):
            # at most the held-back frames' samples and those not yet in a frame
            keep_from = (self._pending_start - self._iso_frames) * self.recognizer.frontend.config.hop_length
            if keep_from > self._samples_at:
                self._samples = self._samples[keep_from - self._samples_at:]
                self._samples_at = keep_from
        return step

    def push_frames(self, frames: np.ndarray) -> DecodedStep:
        """Append frames computed elsewhere by the same frontend (``(n, n_mels)`` log-mel); our VAD only."""
        if isinstance(self.vad, SileroVoiceDetector):
            raise VaultError("silero-vad reads samples: use push(samples), not push_frames")
        if self._iso_frontend is not None:
            raise VaultError("isolated words are computed again from the samples: use push(samples), not push_frames")
        if self.long_runs is not None and self.long_runs.own_frontend:
            raise VaultError("the long-run reader has its own frontend, which reads samples: use push(samples)")
        return self._process(np.asarray(frames, np.float32))

    def _process(self, frames: np.ndarray) -> DecodedStep:
        steps: list[StreamStep] = []
        events: list[RecognitionEvent] = []
        long_runs = self.long_runs
        for i in range(frames.shape[0]):
            k = self._pending_start + len(self._pending)     # this frame's stream index
            self._pending.append(self._isolated(k) if k < self._iso_end else frames[i])
            if long_runs is not None:
                long_runs.append(frames[i])
            upd = self.vad.push(frames[i:i + 1])
            self._note_segment_ends(upd.segments)   # before a start in the same update: the word before ended
            if long_runs is not None and long_runs.open:
                if upd.starts or self.vad.state == self.vad.SILENCE:
                    events.extend(long_runs.read())      # the too-long run has ended
                elif long_runs.full():                   # at its limit: read this piece, go on with the next
                    events.extend(long_runs.read())
                    long_runs.begin(long_runs.pushed)
            for start in upd.starts:
                self._begin_word(start, steps)
            self.utterance_ends.extend(self.frame_start_s(k) for k in upd.utterance_ends)
            if self.vad.active or upd.segments:
                steps.append(self._run_pending(len(self._pending)))
            for seg in upd.segments:
                ev = self._end_word(seg)
                if ev is not None:
                    events.append(ev)
                elif long_runs is not None and self._for_long_runs(seg):
                    long_runs.begin(seg.start_frame)
        if not self.vad.active and len(self._pending) > self._hold:
            steps.append(self._run_pending(len(self._pending) - self._hold))
        return DecodedStep(self._merge(steps), events, self.vad.active)

    def flush(self) -> list[RecognitionEvent]:
        """End of stream: finish an open word and run the held-back frames. The stream can go on after."""
        events = []
        self._run_pending(len(self._pending))
        upd = self.vad.finish()
        self.utterance_ends.extend(self.frame_start_s(k) for k in upd.utterance_ends)
        self._note_segment_ends(upd.segments)
        for seg in upd.segments:
            ev = self._end_word(seg)
            if ev is not None:
                events.append(ev)
            elif self.long_runs is not None and self._for_long_runs(seg):
                self.long_runs.begin(seg.start_frame)
        if self.long_runs is not None and self.long_runs.open:
            events.extend(self.long_runs.read())
        return events

    # ----------------------------------------------------------------------------------------------
    def _run_pending(self, n: int) -> StreamStep:
        n = min(n, len(self._pending))
        if n <= 0:
            return self._merge([])
        block = np.stack([self._pending.popleft() for _ in range(n)])
        step = self.recognizer.push_features(block)
        first = self._pending_start
        self._pending_start += n
        self._fed += n
        if self.vad.active or self._word_probs:
            for k in range(n):
                if first + k >= self._word_first:
                    self._word_probs.append(step.probabilities[k])
        return step

    def _begin_word(self, start: int, steps: list[StreamStep]) -> None:
        first = max(start - self._pre_roll, self._pending_start)
        # frames before the pre-roll still belong to the previous stretch of the stream
        steps.append(self._run_pending(first - self._pending_start))
        self.recognizer.reset_state()
        self._word_probs.clear()
        self._word_first = first
        self._iso_end = 0
        prev = self._prev_end
        if (self._iso_frontend is not None and self._pending_start == first and self._pending and prev is not None
                and prev + 1 > first - self._iso_frames):
            # the word's first frames read the last segment (the word before): compute them again from the
            # samples after that segment's last active frame, with silence before them (and no later than the
            # word's own first frame), as in the single-word clips the model was trained on
            start = max(min(prev + 1, first), first - self._iso_frames, self._samples_at // self._hop())
            self._iso_frontend.reset()
            self._iso_next, self._iso_end = start, start + self._iso_frames
            if start < first:                     # the quiet stretch before the word: context only
                hop = self._hop()
                self._iso_frontend.push(self._samples[start * hop - self._samples_at:first * hop - self._samples_at])
                self._iso_next = first
            for j in range(min(len(self._pending), self._iso_end - first)):
                self._pending[j] = self._isolated(first + j)

    def _note_segment_ends(self, segments: list[VadSegment]) -> None:
        for seg in segments:
            end = seg.last_active_frame if seg.last_active_frame is not None else seg.end_frame
            self._prev_end = end if self._prev_end is None else max(self._prev_end, end)

    def _hop(self) -> int:
        return int(self.recognizer.frontend.config.hop_length)

    def _isolated(self, k: int) -> np.ndarray:
        """Frame ``k`` of the current word computed by the isolated frontend (frames in order from the word's
        first; frame k's new samples are [k * hop, (k + 1) * hop))."""
        hop = self._hop()
        a, b = k * hop - self._samples_at, (k + 1) * hop - self._samples_at
        if k != self._iso_next or a < 0 or b > self._samples.size:
            raise VaultError(f"isolated word frame {k}: its samples were not kept")   # a bug, not bad input
        out = self._iso_frontend.push(self._samples[a:b])
        self._iso_next += 1
        if out.shape[0] != 1:
            raise VaultError(f"isolated word frame {k}: the frontend gave {out.shape[0]} frames for one hop")
        return out[0]

    def _end_word(self, seg: VadSegment) -> RecognitionEvent | None:
        probs = self._word_probs
        start_s = self.frame_start_s(seg.start_frame)
        end_s = self.frame_end_s(seg.end_frame)
        info = {"start_s": start_s, "end_s": end_s}
        if seg.dynamics_db is not None:
            info["dynamics_db"] = seg.dynamics_db
        try:
            if not seg.accepted:
                info["reason"] = seg.reason
                return None
            if not probs:
                info["reason"] = "no frames"
                return None
            k = seg.end_frame + self._delay - self._word_first
            k = min(max(k, 0), len(probs) - 1)
            p = np.mean([probs[i] for i in range(max(0, k - self._window + 1), k + 1)], axis=0)
            j = int(np.argmax(p))
            conf = float(p[j])
            label = self.labels[j]
            info.update(label=label, confidence=conf)
            if j == self.unknown_index or j in self.non_word_indices:
                info["reason"] = "unknown" if j == self.unknown_index else "not a word"
                return None
            if conf < self.min_confidence:
                info["reason"] = "low confidence"
                return None
            last, self._last_word = self._last_word, (label, seg.last_active_frame) \
                if seg.last_active_frame is not None else None
            if (self.config.same_word_dip_frames > 0 and last is not None and seg.onset_frame is not None
                    and last[0] == label
                    and seg.onset_frame - last[1] - 1 <= self.config.same_word_dip_frames):
                info["reason"] = "second half of the last word"
                return None
            info = {}
            return RecognitionEvent(label, start_s, end_s, conf)
        finally:
            if info:
                self.rejected.append(info)
            self._word_probs.clear()

    def _for_long_runs(self, seg: VadSegment) -> bool:
        """A segment no word was taken from that may hold several words: too long for one, or (rejected as
        unknown or unsure) at least ``long_word_ms`` long, like "four one one" said in one breath."""
        if not seg.accepted:
            return seg.reason == "too long"
        last = self.rejected[-1] if self.rejected else {}
        return (last.get("reason") in ("unknown", "low confidence")
                and seg.n_frames * self.hop_s * 1000.0 >= self.config.long_word_ms)

    def _merge(self, steps: list[StreamStep]) -> StreamStep:
        """One step for the whole push (what the GUI draws): the frames the network ran, in order."""
        return merge_steps(steps, self._fed, self.recognizer.model.network.arch.input_size, len(self.labels))
