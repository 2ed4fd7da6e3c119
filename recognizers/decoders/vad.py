"""Streaming voice activity detection on log-mel frames, with an adaptive per-band noise floor.

No trained model: each frame's mel bands are grouped into a few sub-bands, each sub-band's level (dB) is
compared with a noise floor that follows the signal down quickly and up slowly (so steady noise, hum or a
fan becomes "floor" within seconds while a word, far shorter, does not), and the frame's *speech score* is
the mean excess over the floor across sub-bands (dB). Averaging over sub-bands makes a narrow tone score
lower than speech, whose energy spreads over many bands. Because the floor follows the lower envelope,
noise alone scores a little above 0 dB (more for brown noise, whose few low FFT bins fluctuate most); the
thresholds are therefore relative to the running mean score of non-speech frames. A word can only
*start* on frames where several sub-bands are well above their floor: a whistle, a beep or a pure tone
excites one or two, voiced speech (a fundamental and its harmonics) several.

Segments ("words") are cut with hysteresis and timing rules, all in milliseconds:

- a word starts when ``onset_ms`` worth of frames in the last ``onset_window_ms`` score at least
  ``onset_db``; its start is moved back over the preceding frames that still score ``offset_db`` or more
  (weak onsets such as /f/, /s/, /th/), at most ``lookback_ms``;
- it ends at its last frame scoring ``offset_db`` or more, once ``hangover_ms`` of quieter frames follow
  (the hangover bridges stop closures inside a word and must be shorter than the pauses between words);
- words shorter than ``min_word_ms`` or longer than ``max_word_ms`` are reported as rejected; after a
  too-long segment the detector waits for quiet before it can start again, so a continuous sound never
  produces a string of segments;
- a word whose spectrum does not move is reported as rejected (reason ``"stationary"``): for every pair of
  the word's loud frames ``dynamics_lag_ms`` apart, the change of the spectral *shape* (each frame's mel
  levels relative to its loudest band) is averaged over the mel bands that are ``active_band_db`` above
  their own noise floor in either frame, and the word's ``dynamics_quantile`` of those changes must reach
  ``min_dynamics_db``. Speech moves all the time (formant transitions, pitch, voicing, consonants), so
  nearly all of a spoken word's frame pairs change; a steady tone, a hum or a whistle does not change at
  all, and music-like notes only at the note changes, which a low quantile ignores. Level changes (a note
  decaying) do not count, since the shape is relative to the frame's loudest band;
- an utterance ends after ``utterance_gap_ms`` without speech.

Everything is O(1) per frame with fixed-size buffers, so a stream of any length runs in bounded memory.
Frame ``k`` covers samples ``[k * hop, k * hop + win)`` as in :mod:`recognizers.frontends.log_mel`.
"""
from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass

import numpy as np

DB_PER_NEPER_POWER = 10.0 / np.log(10.0)  # natural-log power -> dB


@dataclass
class VadConfig:
    """Settings of :class:`VoiceActivityDetector`; times in ms, levels in dB."""

    hop_ms: float = 10.0              # frame step of the features (taken from the frontend)
    n_subbands: int = 8               # mel bands are summed into this many sub-bands
    onset_db: float = 6.0             # score above the noise's own mean score that counts as speech onset
    offset_db: float = 3.0            # below this (above the noise's mean score) a frame is quiet
    min_onset_subbands: int = 3       # an onset frame needs this many sub-bands onset_db above the floor
    noise_score_ms: float = 500.0     # time constant of the running mean score of non-speech frames
    onset_ms: float = 30.0            # onset-level frames needed within the onset window to start a word
    onset_window_ms: float = 50.0
    lookback_ms: float = 100.0        # how far a confirmed start may move back over weaker frames
    hangover_ms: float = 100.0        # quiet time after the last active frame that ends a word
    min_word_ms: float = 100.0        # shorter segments (clicks, bumps) are rejected
    max_word_ms: float = 1500.0       # longer segments (tones, music, babble) are cut and rejected
    utterance_gap_ms: float = 600.0   # quiet time that ends an utterance
    floor_fall_ms: float = 100.0      # time constant of the floor when the level drops below it
    floor_rise_db_per_s: float = 3.0  # how fast the floor may climb (steady noise becomes floor)
    floor_rise_quiet_db_per_s: float = 12.0  # climb rate while waiting for quiet after a too-long segment
    min_level_db: float = -45.0       # frames whose loudest sub-band is below this never count as speech
    excess_cap_db: float = 20.0       # one very loud sub-band cannot carry the score alone
    min_dynamics_db: float = 0.8      # words whose spectral shape moves less are rejected (0: no test)
    dynamics_lag_ms: float = 40.0     # frame distance over which the shape change is measured
    dynamics_quantile: float = 0.25   # the share of a word's frame pairs allowed to be steadier
    active_band_db: float = 14.0      # a mel band counts for the shape change this far above its floor
    loud_frame_db: float = 25.0       # frames this far below the word's loudest frame are left out

    def frames(self, ms: float) -> int:
        return max(1, int(round(ms / self.hop_ms)))

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class VadSegment:
    """A detected word: frames ``start_frame..end_frame`` inclusive (stream frame indices).

    ``accepted`` is False for segments outside the duration limits (``reason`` says which);
    ``decided_frame`` is the frame at which the end was decided (``end_frame`` + hangover, or the cut).
    """

    start_frame: int
    end_frame: int
    decided_frame: int
    accepted: bool = True
    reason: str = ""
    dynamics_db: float | None = None  # the word's spectral-shape movement (None: too few frames to tell)
    # silero-vad only: the first frame at/above the speech threshold and the last one above the end threshold
    # (start_frame / end_frame add the padding), so a reader can tell a one-frame dip from a pause
    onset_frame: int | None = None
    last_active_frame: int | None = None

    @property
    def n_frames(self) -> int:
        return self.end_frame - self.start_frame + 1


@dataclass
class VadUpdate:
    """What one ``push`` found: word starts (frame indices), finished segments, utterance ends (frames)."""

    starts: list[int]
    segments: list[VadSegment]
    utterance_ends: list[int]


class VoiceActivityDetector:
    """``push(log_mel_frames)`` -> :class:`VadUpdate`. Frames are natural-log mel power, ``(n, n_mels)``
    (the un-normalised output of :class:`recognizers.frontends.log_mel.StreamingLogMel`)."""

    SILENCE, SPEECH, WAIT_QUIET = "silence", "speech", "wait_quiet"

    def __init__(self, config: VadConfig | None = None):
        self.config = config or VadConfig()
        c = self.config
        if not (c.offset_db <= c.onset_db and c.min_word_ms <= c.max_word_ms and c.n_subbands >= 1
                and 0.0 <= c.dynamics_quantile <= 1.0 and c.min_dynamics_db >= 0.0):
            raise ValueError(f"inconsistent VAD settings: {c.to_json()}")
        self._onset_n = c.frames(c.onset_ms)
        self._onset_win = max(self._onset_n, c.frames(c.onset_window_ms))
        self._lookback = c.frames(c.lookback_ms)
        self._hang = c.frames(c.hangover_ms)
        self._min_len = c.frames(c.min_word_ms)
        self._max_len = c.frames(c.max_word_ms)
        self._utt_gap = c.frames(c.utterance_gap_ms)
        self._fall = 1.0 - float(np.exp(-c.hop_ms / max(c.floor_fall_ms, 1e-3)))
        self._rise = c.floor_rise_db_per_s * c.hop_ms / 1000.0
        self._rise_quiet = c.floor_rise_quiet_db_per_s * c.hop_ms / 1000.0
        self._noise_rate = 1.0 - float(np.exp(-c.hop_ms / max(c.noise_score_ms, 1e-3)))
        self._lag = c.frames(c.dynamics_lag_ms)
        # per-frame history for the shape-change test: covers the longest word plus how far back a start moves
        self._hist_len = self._max_len + self._onset_win + self._lookback + self._hang + 2
        self.reset()

    def reset(self) -> None:
        self.frame = 0                      # index of the next frame
        self.state = self.SILENCE
        self.floor: np.ndarray | None = None
        self.score = 0.0                    # score of the last frame (dB), for displays
        self.noise_score = 1.5              # running mean score of non-speech frames (dB)
        self._recent: deque[float] = deque(maxlen=self._onset_win + self._lookback)
        self._spread: deque[int] = deque(maxlen=self._onset_win)
        self._start = 0
        self._last_active = 0
        self._quiet_run = 0
        self._last_word_end: int | None = None
        self._in_utterance = False
        self.band_floor: np.ndarray | None = None    # per mel band (dB), for the shape-change test
        self._shapes: deque[tuple[np.ndarray, np.ndarray]] = deque(maxlen=self._lag + 1)
        self._change: deque[float] = deque(maxlen=self._hist_len)  # shape change of frame t vs t - lag
        self._level: deque[float] = deque(maxlen=self._hist_len)   # frame level (dB)

    @property
    def active(self) -> bool:
        """True while inside a (not yet finished) word."""
        return self.state == self.SPEECH

    @property
    def word_start(self) -> int | None:
        return self._start if self.state == self.SPEECH else None

    def _subband_db(self, frames: np.ndarray) -> np.ndarray:
        n_mels = frames.shape[1]
        k = min(self.config.n_subbands, n_mels)
        edges = np.linspace(0, n_mels, k + 1).round().astype(int)
        power = np.exp(frames.astype(np.float64))
        sums = np.add.reduceat(power, edges[:-1], axis=1)
        return DB_PER_NEPER_POWER * np.log(sums + 1e-12)

    def push(self, log_mel: np.ndarray) -> VadUpdate:
        upd = VadUpdate([], [], [])
        log_mel = np.asarray(log_mel)
        if log_mel.ndim != 2 or log_mel.shape[0] == 0:
            return upd
        levels = self._subband_db(log_mel)
        mel_db = DB_PER_NEPER_POWER * log_mel.astype(np.float64)
        for x, m in zip(levels, mel_db):
            self._track_shape(m)
            self._step(x, upd)
        return upd

    def _track_shape(self, m: np.ndarray) -> None:
        """Per-band floor of the mel levels and the spectral-shape change against ``dynamics_lag_ms`` ago."""
        c = self.config
        if self.band_floor is None:
            self.band_floor = m.copy()
        else:
            rise = self._rise_quiet if self.state == self.WAIT_QUIET else self._rise
            f = self.band_floor
            self.band_floor = np.where(m < f, f + (m - f) * self._fall, f + np.minimum(m - f, rise))
        active = m >= self.band_floor + c.active_band_db
        shape = m - m.max()
        change = np.nan
        if len(self._shapes) == self._shapes.maxlen:
            old_shape, old_active = self._shapes[0]
            either = active | old_active
            if either.any():
                change = float(np.abs(shape - old_shape)[either].mean())
        self._shapes.append((shape, active))
        self._change.append(change)
        self._level.append(float(np.log10(np.sum(10 ** (m / 10)) + 1e-30) * 10))

    def _dynamics(self, first: int, last: int) -> float | None:
        """The ``dynamics_quantile`` of the shape changes between loud frames of frames first..last."""
        c = self.config
        newest = self.frame - 1
        k0 = len(self._change) - 1 - (newest - first)
        k1 = len(self._change) - 1 - (newest - last)
        if k0 < 0 or k1 < k0:
            return None
        level = np.array([self._level[k] for k in range(k0, k1 + 1)])
        change = np.array([self._change[k] for k in range(k0, k1 + 1)])
        loud = level >= level.max() - c.loud_frame_db
        pair = loud[self._lag:] & loud[:-self._lag] if len(loud) > self._lag else np.zeros(0, bool)
        vals = change[self._lag:][pair]
        vals = vals[np.isfinite(vals)]
        if vals.size < 3:
            return None
        return float(np.quantile(vals, c.dynamics_quantile))

    def _segment(self, start: int, end: int, decided: int, ok: bool, reason: str) -> VadSegment:
        seg = VadSegment(start, end, decided, ok, reason)
        if ok and self.config.min_dynamics_db > 0:
            seg.dynamics_db = self._dynamics(start, end)
            if seg.dynamics_db is not None and seg.dynamics_db < self.config.min_dynamics_db:
                seg.accepted, seg.reason = False, "stationary"
        return seg

    def _update_floor(self, x: np.ndarray) -> None:
        if self.floor is None:
            self.floor = x.copy()
            return
        rise = self._rise_quiet if self.state == self.WAIT_QUIET else self._rise
        below = x < self.floor
        self.floor = np.where(below, self.floor + (x - self.floor) * self._fall,
                              self.floor + np.minimum(x - self.floor, rise))

    def _step(self, x: np.ndarray, upd: VadUpdate) -> None:
        c = self.config
        t = self.frame
        self._update_floor(x)
        excess = np.clip(x - self.floor, 0.0, c.excess_cap_db)
        loud_enough = float(x.max()) >= c.min_level_db
        score = float(excess.mean()) if loud_enough else 0.0
        self.score = score
        spread = int(np.count_nonzero(excess >= c.onset_db)) if loud_enough else 0
        self._recent.append(score)
        self._spread.append(spread)
        self.frame += 1
        on = self.noise_score + c.onset_db
        off = self.noise_score + c.offset_db
        if self.state == self.SILENCE and score < off:
            self.noise_score += (score - self.noise_score) * self._noise_rate

        if self.state == self.SILENCE:
            window = list(self._recent)[-self._onset_win:]
            spreads = list(self._spread)[-len(window):]
            need = min(c.min_onset_subbands, len(self.floor))
            hits = [i for i, (s, k) in enumerate(zip(window, spreads)) if s >= on and k >= need]
            if len(hits) >= self._onset_n:
                first = t - (len(window) - 1) + hits[0]
                # move the start back over weaker but still active frames (weak consonant onsets)
                hist = list(self._recent)
                j = len(hist) - 1 - (t - first)
                start = first
                while j - 1 >= 0 and first - start < self._lookback and hist[j - 1] >= off:
                    j -= 1
                    start -= 1
                self.state = self.SPEECH
                self._start = start
                self._last_active = t
                self._in_utterance = True
                upd.starts.append(start)
            elif self._in_utterance and self._last_word_end is not None and t - self._last_word_end >= self._utt_gap:
                self._in_utterance = False
                upd.utterance_ends.append(t)
        elif self.state == self.SPEECH:
            if score >= off:
                self._last_active = t
            length = t - self._start + 1
            if length > self._max_len:
                upd.segments.append(VadSegment(self._start, t, t, False, "too long"))
                self.state = self.WAIT_QUIET
                self._quiet_run = 0
                self._last_word_end = t
            elif t - self._last_active >= self._hang:
                n = self._last_active - self._start + 1
                ok = n >= self._min_len
                upd.segments.append(self._segment(self._start, self._last_active, t, ok, "" if ok else "too short"))
                self.state = self.SILENCE
                self._last_word_end = self._last_active
                self._recent.clear()
                self._spread.clear()
        else:  # WAIT_QUIET: a too-long sound must stop before a new word can start
            self._quiet_run = self._quiet_run + 1 if score < off else 0
            if self._quiet_run >= self._hang:
                self.state = self.SILENCE
                self._recent.clear()
                self._spread.clear()

    def finish(self) -> VadUpdate:
        """End of stream: close an open word at its last active frame."""
        upd = VadUpdate([], [], [])
        if self.state == self.SPEECH:
            n = self._last_active - self._start + 1
            ok = self._min_len <= n <= self._max_len
            upd.segments.append(self._segment(self._start, self._last_active, max(self.frame - 1, self._last_active),
                                              ok, "" if ok else ("too short" if n < self._min_len else "too long")))
            self._last_word_end = self._last_active
        if self._in_utterance:
            upd.utterance_ends.append(self.frame)
            self._in_utterance = False
        self.state = self.SILENCE
        return upd
