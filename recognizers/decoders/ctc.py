"""Connected digits: digit strings spoken without pauses, by the same kind of LSTM trained with CTC.

The single-word transcriber needs a pause (≥ 150 ms) between words, because each word is cut out by the
voice activity detector and classified on its own. Here the network itself says where the digits are:
trained with the connectionist temporal classification loss (Graves et al. 2006) on strings of 1–5 digit
clips of one speaker joined without pauses (−20 … +60 ms gaps), it outputs per frame either a digit or
*blank*, and a digit is read where a run of frames with that label ends (greedy CTC decoding). The blank
is the digit model's ``_unknown_`` output, so the app's probability bars keep their meaning ("nothing
/ noise"). Training starts from the single-word model (same frontend, normalisation and LSTM; the head's
rows carry over), so it converges in minutes.

- :func:`train_connected` / ``lstm-vault train-connected``: the training;
- :class:`ConnectedTranscriber`: the streaming decoder (the app's transcript view and
  ``lstm-vault transcribe`` pick it for models whose ``model.json`` says ``decoder.type = "ctc"``);
- ``python -m recognizers.bench.connected``: digit and string accuracy on speakers the model never saw.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from recognizers.bench.transcription import align_counts
from recognizers.data import augment
from recognizers.decoders.vad import VadConfig, VoiceActivityDetector
from recognizers.errors import DatasetError
from recognizers.events import DecodedStep, RecognitionEvent
from recognizers.frontends.log_mel import LogMel, LogMelConfig
from recognizers.io.audio import load_audio
from recognizers.io.extensions import AUDIO_EXTENSIONS
from recognizers.model_files import UNKNOWN_LABEL, LoadedModel, load_model, save_model
from recognizers.streaming import StreamingRecognizer, StreamStep, merge_steps

DIGITS = [str(d) for d in range(10)]
OTHER = "_other_"          # DigitPool key of words that are not digits
DIGIT_WORDS = {w: str(i) for i, w in enumerate("zero one two three four five six seven eight nine".split())}


def is_ctc_model(model: LoadedModel) -> bool:
    return str((model.meta.get("decoder") or {}).get("type", "")) == "ctc"


# ---- data ------------------------------------------------------------------------------------------------
def voiced_part(x: np.ndarray, sample_rate_hz: int, floor_db: float = 35.0, margin_s: float = 0.02) -> np.ndarray:
    """The clip from its first to its last 10 ms frame within ``floor_db`` of the loudest one (± margin)."""
    hop = max(1, sample_rate_hz // 100)
    n = x.size // hop
    if n < 2:
        return x
    e = 10 * np.log10(np.mean(x[:n * hop].reshape(n, hop).astype(np.float64) ** 2, axis=1) + 1e-12)
    on = np.flatnonzero(e >= e.max() - floor_db)
    m = int(margin_s * sample_rate_hz)
    return x[max(0, on[0] * hop - m):min(x.size, (on[-1] + 1) * hop + m)]


@dataclass
class DigitPool:
    """Voiced parts of digit clips, by speaker and digit (peak-normalised to 0.5)."""

    clips: dict[str, dict[str, list[np.ndarray]]] = field(default_factory=dict)

    @property
    def speakers(self) -> list[str]:
        """Speakers with at least one digit."""
        return sorted(s for s, d in self.clips.items() if any(k in DIGITS for k in d))

    def n_clips(self) -> int:
        return sum(len(v) for d in self.clips.values() for k, v in d.items() if k in DIGITS)

    def others(self) -> list[np.ndarray]:
        return [x for d in self.clips.values() for x in d.get(OTHER, [])]

    @classmethod
    def from_folder(cls, data_dir: str | Path, sample_rate_hz: int, groups: set[str] | None = None,
                    exclude: set[str] = frozenset(), other_words: bool = False) -> "DigitPool":
        """Digits ``0``..``9`` (or ``zero``..``nine``) by speaker; with ``other_words``, every other label's
        clips too, under :data:`OTHER` (words the model must not read as digits)."""
        from recognizers.data.datasets import scan_dataset
        pool = cls()
        for e in scan_dataset(data_dir, AUDIO_EXTENSIONS):
            label = DIGIT_WORDS.get(e.label, e.label)
            group = e.group or e.path.stem
            if group in exclude or (groups is not None and group not in groups):
                continue
            if label not in DIGITS:
                if not other_words:
                    continue
                label = OTHER
            x = voiced_part(load_audio(e.path, sample_rate_hz), sample_rate_hz)
            peak = float(np.max(np.abs(x))) if x.size else 0.0
            if peak > 0:
                pool.clips.setdefault(group, {}).setdefault(label, []).append((x / peak * 0.5).astype(np.float32))
        return pool


@dataclass
class ConnectedConfig:
    epochs: int = 20
    sequences_per_epoch: int = 2000
    val_sequences: int = 300
    batch_size: int = 16
    lr: float = 1e-3
    min_digits: int = 1
    max_digits: int = 5
    gap_ms: tuple[float, float] = (-20.0, 60.0)     # between digits: negative = overlapping (cross-faded)
    lead_s: tuple[float, float] = (0.1, 0.4)
    negatives: float = 0.1                          # share of sequences without speech (empty target)
    other_words: float = 0.1                        # share of sequences of 1-2 non-digit words (empty target)
    seed: int = 0
    threads: int = 0
    val_groups: list[str] | None = None             # None: the initial model's validation groups
    exclude_groups: list[str] | None = None


def make_sequence(pool: DigitPool, speakers: list[str], rng: np.random.Generator, sample_rate_hz: int,
                  cfg: ConnectedConfig, augmented: bool) -> tuple[np.ndarray, list[str]]:
    """One speaker's digit string without pauses: ``(samples, digits)``."""
    sr = sample_rate_hz
    spk = speakers[int(rng.integers(len(speakers)))]
    have = sorted(k for k in pool.clips[spk] if k in DIGITS)
    n = int(rng.integers(cfg.min_digits, cfg.max_digits + 1))
    digits = [have[int(rng.integers(len(have)))] for _ in range(n)]
    out = np.zeros(int(rng.uniform(*cfg.lead_s) * sr), np.float32)
    for k, d in enumerate(digits):
        options = pool.clips[spk][d]
        x = options[int(rng.integers(len(options)))]
        if augmented:
            x = augment.speed_perturb(x, float(rng.uniform(0.9, 1.1))) * np.float32(10 ** (rng.uniform(-3, 3) / 20))
        if k:
            gap = int(rng.uniform(*cfg.gap_ms) / 1000 * sr)
            if gap >= 0:
                out = np.concatenate([out, np.zeros(gap, np.float32)])
            else:                                   # overlap: cross-fade the join
                ov = min(-gap, out.size, x.size)
                fade = np.linspace(0, 1, ov, dtype=np.float32)
                x = x.copy()
                x[:ov] = x[:ov] * fade + out[out.size - ov:] * (1 - fade)
                out = out[:out.size - ov]
        out = np.concatenate([out, x])
    out = np.concatenate([out, np.zeros(int(rng.uniform(*cfg.lead_s) * sr), np.float32)])
    return _finish(out, rng, sr, augmented), digits


def _finish(x: np.ndarray, rng: np.random.Generator, sr: int, augmented: bool) -> np.ndarray:
    if augmented:
        x = x * np.float32(10 ** (rng.uniform(-24, 3) / 20))
        if rng.random() < 0.7:
            x = augment.add_noise(x, rng, float(rng.uniform(5, 40)))
    return np.clip(x + 1e-5 * rng.standard_normal(x.size).astype(np.float32), -1, 1).astype(np.float32)


def features_of(logmel: LogMel, x: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
    warp = float(rng.uniform(0.9, 1.1)) if rng is not None else 1.0
    if x.size < logmel.config.span_length:
        x = np.concatenate([x, np.zeros(logmel.config.span_length - x.size, np.float32)])
    with torch.inference_mode():
        return logmel.mel_from_power(logmel.power(x), warp).numpy()


# ---- decoding --------------------------------------------------------------------------------------------
def ctc_greedy(probs: np.ndarray, blank: int) -> list[tuple[int, int, int, float]]:
    """Greedy CTC decoding of ``(frames, classes)``: ``(class, first frame, last frame, max prob)`` for each
    run of frames whose most probable class is the same non-blank class."""
    best = probs.argmax(axis=1)
    out, start = [], 0
    for t in range(1, best.size + 1):
        if t == best.size or best[t] != best[start]:
            if best[start] != blank:
                out.append((int(best[start]), start, t - 1, float(probs[start:t, best[start]].max())))
            start = t
    return out


@dataclass
class ConnectedDecoderConfig:
    min_confidence: float | None = None  # None: model.json's decoder.reject_threshold, else 0.5
    reset_after_ms: float = 500.0       # zero the LSTM state after this much silence (as training starts)
    max_string_ms: float = 15000.0
    heard_within_ms: float = 400.0      # a digit needs the detector active this recently (a unidirectional
                                        # network places a digit at its end, the last one after the voice)


class ConnectedTranscriber:
    """Streaming decoder for CTC digit models.

    The model's frames go to the network and to the voice activity detector. A digit is read where its
    run of frames ends; it comes out when the detector closes the stretch of sound it belongs to and
    accepts it (about 0.1 s after a string ends: the detector's hangover), so a steady tone or a
    music-like note that the network mistakes for a digit is dropped with its stretch. After
    ``reset_after_ms`` of silence the LSTM state is zeroed, so the network starts every utterance the
    way it was trained."""

    def __init__(self, model: LoadedModel, config: ConnectedDecoderConfig | None = None, trace: bool = True,
                 device: str | None = None):
        if not is_ctc_model(model):
            raise DatasetError(f"{model.name}: not a connected-digit (CTC) model")
        self.model = model
        self.config = config or ConnectedDecoderConfig()
        self.recognizer = StreamingRecognizer(model, trace=trace, device=device)
        fe = self.recognizer.frontend.config
        self.sample_rate_hz = int(fe.sample_rate_hz)
        # a digit string is one long "word" to the detector: no 1.5 s limit on it
        self.vad = VoiceActivityDetector(VadConfig(hop_ms=fe.hop_ms, max_word_ms=self.config.max_string_ms))
        self.blank = model.labels.index((model.meta.get("decoder") or {}).get("blank", UNKNOWN_LABEL))
        thr = self.config.min_confidence
        if thr is None:
            thr = float((model.meta.get("decoder") or {}).get("reject_threshold", 0.0) or 0.0) or 0.5
        self.min_confidence = thr
        self._hop_s = fe.hop_length / fe.sample_rate_hz
        self._span_s = fe.span_length / fe.sample_rate_hz
        self._reset_frames = int(round(self.config.reset_after_ms / 1000 / self._hop_s))
        self._heard_frames = int(round(self.config.heard_within_ms / 1000 / self._hop_s))
        self.reset()

    def reset(self) -> None:
        self.recognizer.reset()
        self.vad.reset()
        self._frame = 0
        self._run: tuple[int, int, float] | None = None     # (class, first frame, max prob) of the open run
        self._quiet = 0
        self._heard = False                                  # VAD active since the last state reset
        self._held: list[tuple[RecognitionEvent, int]] = []  # digits waiting for their stretch's verdict
        self._last_seg: tuple[int, bool] | None = None       # (end frame, accepted) of the last stretch

    def push(self, samples: Any) -> DecodedStep:
        frames = self.recognizer.frontend.push(np.asarray(samples, np.float32).reshape(-1))
        return self.push_frames(frames)

    def push_frames(self, frames: np.ndarray) -> DecodedStep:
        steps: list[StreamStep] = []
        heard_now: list[bool] = []       # per frame: the detector active now or within heard_within_ms
        cuts: list[int] = []             # frames before which the LSTM state is zeroed
        decided = []                     # segments the detector closed during this push
        for i in range(frames.shape[0]):
            decided += self.vad.push(frames[i:i + 1]).segments
            if self.vad.active:
                self._quiet, self._heard = 0, True
            else:
                self._quiet += 1
                if self._quiet >= self._reset_frames and self._heard:
                    cuts.append(i)
                    self._heard = False
            heard_now.append(self.vad.active or self._quiet <= self._heard_frames)
        start = 0
        for stop in cuts + [frames.shape[0]]:
            if stop > start:
                step = self.recognizer.push_features(frames[start:stop])
                steps.append(step)
                for k, p in enumerate(step.probabilities):
                    self._advance(self._frame + start + k, p, heard_now[start + k])
            if stop < frames.shape[0]:          # a long silence: start afresh, as training did
                if self._run is not None:
                    self._close(self._frame + stop - 1, heard_now[stop])
                self.recognizer.reset_state()
            start = stop
        self._frame += frames.shape[0]
        events = self._release(decided)
        step = merge_steps(steps, self.recognizer.frames_done, self.recognizer.frontend.feature_size,
                           len(self.model.labels))
        return DecodedStep(step, events, self.vad.active or self._run is not None or bool(self._held))

    def _release(self, decided: list) -> list[RecognitionEvent]:
        """Digits whose stretch of sound the detector has accepted (long enough, and not a steady tone or
        note: see :mod:`recognizers.decoders.vad`) come out; those under a rejected stretch, or under none, are
        dropped. A digit belongs to the stretch during which its run ends (or within ``heard_within_ms``
        after it, when no later stretch has begun)."""
        out: list[RecognitionEvent] = []
        for seg in decided:
            keep = []
            for ev, last in self._held:
                if last <= seg.end_frame + self._heard_frames and not self._in_open_segment(last):
                    if seg.accepted and last >= seg.start_frame:
                        out.append(ev)
                else:
                    keep.append((ev, last))
            self._held = keep
            self._last_seg = (seg.end_frame, seg.accepted)
        if not self.vad.active:         # runs ending after the last stretch closed
            keep = []
            for ev, last in self._held:
                if self._last_seg is not None and last <= self._last_seg[0] + self._heard_frames:
                    if self._last_seg[1]:
                        out.append(ev)
                elif self._frame - 1 - last <= self._heard_frames:
                    keep.append((ev, last))        # a stretch may still begin
            self._held = keep
        return out

    def _in_open_segment(self, last: int) -> bool:
        start = self.vad.word_start
        return start is not None and last >= start

    def _advance(self, t: int, p: np.ndarray, heard: bool) -> None:
        best = int(p.argmax())
        if self._run is not None and best != self._run[0]:
            self._close(t - 1, heard)
        if best != self.blank:
            if self._run is None:
                self._run = (best, t, float(p[best]))
            else:
                self._run = (best, self._run[1], max(self._run[2], float(p[best])))

    def _close(self, last: int, heard: bool) -> None:
        """End the open run at frame ``last``: a digit, held until its stretch of sound is accepted, if it
        is confident and the detector heard something within ``heard_within_ms``."""
        label, first, conf = self._run
        self._run = None
        if conf >= self.min_confidence and heard:
            ev = RecognitionEvent(self.model.labels[label], first * self._hop_s, last * self._hop_s + self._span_s,
                                  conf)
            self._held.append((ev, last))

    def flush(self) -> list[RecognitionEvent]:
        """End of stream: close the open run and the open stretch; the digits they hold come out."""
        if self._run is not None:
            self._close(self._frame - 1, self.vad.active or self._quiet <= self._heard_frames)
        return self._release(self.vad.finish().segments)


# ---- training --------------------------------------------------------------------------------------------
def _batch(seqs: list[tuple[np.ndarray, list[str]]], labels: list[str], pad: np.ndarray):
    lengths = [f.shape[0] for f, _ in seqs]
    T = max(lengths)
    x = np.tile(pad, (len(seqs), T, 1)).astype(np.float32)
    for b, (f, _) in enumerate(seqs):
        x[b, :f.shape[0]] = f
    targets = [labels.index(d) for _, ds in seqs for d in ds]
    target_lengths = [len(ds) for _, ds in seqs]
    return (torch.from_numpy(x), torch.tensor(targets, dtype=torch.long), torch.tensor(lengths),
            torch.tensor(target_lengths))


def evaluate_sequences(net, seqs: list[tuple[np.ndarray, list[str]]], labels: list[str], blank: int
                       ) -> dict[str, float]:
    """Greedy-decoded digit accuracy ((N - S - D - I) / N) and string accuracy over feature sequences."""
    n = s = d = i = exact = 0
    net.eval()
    with torch.inference_mode():
        for f, digits in seqs:
            logits, _, _ = net(torch.from_numpy(f)[None])
            hyp = [labels[c] for c, *_ in ctc_greedy(torch.softmax(logits[0], -1).numpy(), blank)]
            ds, dd, di = align_counts(digits, hyp)
            n, s, d, i = n + len(digits), s + ds, d + dd, i + di
            exact += hyp == digits
    return {"digit_accuracy": (n - s - d - i) / max(1, n), "string_accuracy": exact / max(1, len(seqs)),
            "substitutions": s, "deletions": d, "insertions": i, "digits": n, "strings": len(seqs)}


def train_connected(data_dir: str | Path, init_model: str | Path, out_dir: str | Path | None,
                    cfg: ConnectedConfig, log: Callable[[str], None] = print) -> dict:
    """Fine-tune the single-word digit model ``init_model`` into a CTC model of connected digits."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    base = load_model(init_model, task="speech")
    labels = list(base.labels)
    missing = [d for d in DIGITS if d not in labels]
    if missing or UNKNOWN_LABEL not in labels:
        raise DatasetError(f"{init_model}: needs the labels 0..9 and {UNKNOWN_LABEL} (missing {missing})")
    blank = labels.index(UNKNOWN_LABEL)
    fe_cfg = LogMelConfig.from_json(base.frontend_config)
    sr = fe_cfg.sample_rate_hz
    logmel = LogMel(fe_cfg)
    base_cfg = (base.meta.get("training") or {}).get("config") or {}
    val_groups = set(cfg.val_groups if cfg.val_groups is not None else base_cfg.get("val_groups") or [])
    exclude = set(cfg.exclude_groups or [])
    t0 = time.time()
    train_pool = DigitPool.from_folder(data_dir, sr, exclude=val_groups | exclude, other_words=True)
    others = train_pool.others()
    val_pool = DigitPool.from_folder(data_dir, sr, groups=val_groups) if val_groups else DigitPool()
    if not train_pool.speakers:
        raise DatasetError(f"{data_dir}: no digit clips (labels 0..9 or zero..nine) to train on")
    log(f"digit clips: {train_pool.n_clips()} of {len(train_pool.speakers)} training speakers "
        f"(+ {len(others)} clips of other words), "
        f"{val_pool.n_clips()} of {len(val_pool.speakers)} validation speakers ({time.time() - t0:.0f} s)")
    vrng = np.random.default_rng(10_000 + cfg.seed)
    val = [make_sequence(val_pool, val_pool.speakers, vrng, sr, cfg, augmented=False)
           for _ in range(cfg.val_sequences)] if val_pool.speakers else []
    val = [(features_of(logmel, x, None), ds) for x, ds in val]
    net = base.network
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    ctc = torch.nn.CTCLoss(blank=blank, zero_infinity=True)
    pad = net.feature_mean.numpy()
    best, best_state, history = -math.inf, None, []
    for epoch in range(1, cfg.epochs + 1):
        t_ep = time.time()
        net.train()
        tot, nb = 0.0, 0
        for _ in range(math.ceil(cfg.sequences_per_epoch / cfg.batch_size)):
            seqs = []
            for _ in range(cfg.batch_size):
                u = rng.random()
                if u < cfg.negatives:
                    x, ds = _finish(augment.synthetic_non_speech(rng, sr), rng, sr, True), []
                elif u < cfg.negatives + cfg.other_words and others:
                    words = [others[int(rng.integers(len(others)))] for _ in range(int(rng.integers(1, 3)))]
                    gap = np.zeros(int(rng.uniform(0.0, 0.3) * sr), np.float32)
                    lead = np.zeros(int(rng.uniform(*cfg.lead_s) * sr), np.float32)
                    x = np.concatenate([lead] + [y for w in words for y in (w, gap)] + [lead])
                    x, ds = _finish(x, rng, sr, True), []
                else:
                    x, ds = make_sequence(train_pool, train_pool.speakers, rng, sr, cfg, augmented=True)
                seqs.append((features_of(logmel, x, rng), ds))
            x, targets, in_len, tgt_len = _batch(seqs, labels, pad)
            logits, _, _ = net(x)
            loss = ctc(torch.log_softmax(logits, -1).transpose(0, 1), targets, in_len, tgt_len)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            tot, nb = tot + loss.item(), nb + 1
        metrics = evaluate_sequences(net, val, labels, blank) if val else {"digit_accuracy": -tot / nb}
        history.append({"epoch": epoch, "loss": tot / nb, **metrics, "seconds": round(time.time() - t_ep, 1)})
        log(f"epoch {epoch}/{cfg.epochs}: CTC loss {tot / nb:.3f}, validation digit accuracy "
            f"{metrics['digit_accuracy']:.1%}, strings {metrics.get('string_accuracy', 0):.1%} "
            f"({time.time() - t_ep:.0f} s)")
        if metrics["digit_accuracy"] > best:
            best = metrics["digit_accuracy"]
            best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
    net.load_state_dict(best_state)
    net.eval()
    final = evaluate_sequences(net, val, labels, blank) if val else {}
    result = {"validation": final, "history": history, "seconds": round(time.time() - t0)}
    if out_dir is not None:
        meta = {k: base.meta[k] for k in ("task", "labels", "unknown_label", "label_aliases", "frontend")
                if k in base.meta}
        meta.update(name=Path(out_dir).name, decoder={"type": "ctc", "blank": UNKNOWN_LABEL,
                                                      "reject_threshold": 0.5},
                    training={"init_model": str(init_model), "data": str(data_dir),
                              "config": {**asdict(cfg), "val_groups": sorted(val_groups)},
                              "n_train_clips": train_pool.n_clips(), "n_other_word_clips": len(others),
                              "train_speakers": len(train_pool.speakers),
                              "history": history, "seconds": result["seconds"]},
                    metrics={"validation_digit_accuracy": final.get("digit_accuracy"),
                             "validation_string_accuracy": final.get("string_accuracy")},
                    created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        save_model(out_dir, net, meta)
        result["model_dir"] = str(out_dir)
    return result
