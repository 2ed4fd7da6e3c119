"""Benchmark of live transcription: word accuracy, insertions per hour of non-speech, latency.

    python -m recognizers.bench.transcription --model MODEL_DIR [--data ../shared/data/fsdd] [--json]

- **Word accuracy**: long streams made of FSDD digits of speakers the model never saw (the held-out
  validation speakers recorded in ``model.json``, or ``--speakers``), each clip at a random level, separated
  by random pauses (150-800 ms), with coloured background noise (white, pink, brown in turn) at each SNR.
  The SNR is the mean power of the spoken clips over the noise power. The hypothesis is aligned to the
  reference words by edit distance: accuracy = (N - S - D - I) / N.
- **Insertions per hour** on non-speech: sounds from :func:`recognizers.data.augment.synthetic_non_speech`
  (silence, noise, tones, chirps, clicks, noise bursts, music-like notes) with random gaps over a quiet
  noise background. Optionally (``--oov``) the non-digit words of Speech Commands: how many are
  (wrongly) transcribed.
- **Latency**: for each recognised word, the stream time from the word's true end (end of its clip) to the
  end of the block whose ``push`` emitted it, plus that ``push``'s compute time. Blocks of ``--block-ms``
  (10 ms) are pushed, so the figure includes up to one block of waiting.

This is a benchmark: it prints numbers and asserts nothing. Run it with one thread on a shared machine.
"""
from __future__ import annotations

import argparse
import ast
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from recognizers.data import augment
from recognizers.decoders.words import NON_WORD_LABELS, Transcriber, TranscriberConfig, spoken_words
from recognizers.events import RecognitionEvent
from recognizers.io.audio import load_audio
from recognizers.io.extensions import AUDIO_EXTENSIONS
from recognizers.metrics import align_counts
from recognizers.model_files import LoadedModel, load_model

NOISE_COLOURS = (0.0, 1.0, 2.0)  # white, pink, brown


@dataclass
class Reference:
    label: str
    start_s: float
    end_s: float


@dataclass
class StreamResult:
    n_ref: int
    substitutions: int
    deletions: int
    insertions: int
    latencies_s: list[float] = field(default_factory=list)
    compute_s: list[float] = field(default_factory=list)
    audio_s: float = 0.0
    wall_s: float = 0.0

    @property
    def accuracy(self) -> float:
        return (self.n_ref - self.substitutions - self.deletions - self.insertions) / max(1, self.n_ref)


# ------------------------------------------------------------------------------------------------
# Test streams
def unseen_speakers(model: LoadedModel) -> list[str]:
    """Speakers the model never trained on, from ``model.json``: validation groups and excluded groups."""
    tr = model.meta.get("training", {}) or {}
    cfg = tr.get("config", {}) or {}
    out: list[str] = []
    for key in ("val_groups", "exclude_groups"):
        out += [g for g in (cfg.get(key) or []) if g not in out]
    split = str(tr.get("split", ""))
    if not out and split.startswith("held-out groups"):
        try:
            out = list(ast.literal_eval(split[len("held-out groups"):].strip()))
        except (ValueError, SyntaxError):
            pass
    return out


def load_clips(data_dir: str | Path, speakers: list[str], sample_rate_hz: int,
               vocabulary: list[str] | None = None, limit: int = 0, seed: int = 0
               ) -> list[tuple[str, np.ndarray]]:
    """(label, samples) of the files of ``speakers`` in a folder-per-label or FSDD dataset (all of them, or
    ``limit`` chosen at random)."""
    from recognizers.data.datasets import scan_dataset
    examples = [e for e in scan_dataset(data_dir, AUDIO_EXTENSIONS) if e.group in set(speakers)]
    if vocabulary is not None:
        examples = [e for e in examples if e.label in vocabulary]
    examples = sorted(examples, key=lambda e: str(e.path))
    if limit:
        examples = [examples[j] for j in np.random.default_rng(seed).permutation(len(examples))[:limit]]
    return [(e.label, load_audio(e.path, sample_rate_hz)) for e in examples]


def build_word_stream(clips: list[tuple[str, np.ndarray]], rng: np.random.Generator, sample_rate_hz: int,
                      pause_s: tuple[float, float] = (0.15, 0.8), snr_db: float | None = None,
                      noise_colour: float = 1.0, gain_db: tuple[float, float] = (-12.0, 0.0),
                      lead_s: float = 0.5, tail_s: float = 0.8) -> tuple[np.ndarray, list[Reference]]:
    """Concatenate clips with random pauses; add background noise at ``snr_db`` (None: faint dither).

    Each clip is peak-normalised to 0.5 and then scaled by a random gain in ``gain_db``.
    """
    sr = sample_rate_hz
    parts, refs, pos = [np.zeros(int(lead_s * sr), np.float32)], [], int(lead_s * sr)
    speech_energy, speech_n = 0.0, 0
    for k, (label, x) in enumerate(clips):
        if k:
            gap = int(rng.uniform(*pause_s) * sr)
            parts.append(np.zeros(gap, np.float32))
            pos += gap
        peak = float(np.max(np.abs(x))) or 1.0
        y = (x / peak * 0.5 * 10 ** (rng.uniform(*gain_db) / 20)).astype(np.float32)
        parts.append(y)
        refs.append(Reference(label, pos / sr, (pos + y.size) / sr))
        speech_energy += float(np.sum(y.astype(np.float64) ** 2))
        speech_n += y.size
        pos += y.size
    parts.append(np.zeros(int(tail_s * sr), np.float32))
    audio = np.concatenate(parts)
    if snr_db is None:
        audio = audio + 1e-5 * rng.standard_normal(audio.size).astype(np.float32)
    else:
        p_speech = speech_energy / max(1, speech_n)
        noise = augment.colored_noise(audio.size, rng, noise_colour)
        audio = audio + noise * np.float32(np.sqrt(p_speech / 10 ** (snr_db / 10)))
    return np.clip(audio, -1, 1).astype(np.float32), refs


def build_non_speech_stream(seconds: float, rng: np.random.Generator, sample_rate_hz: int,
                            background_db: float = -60.0) -> np.ndarray:
    """``seconds`` of synthetic non-speech sounds with random gaps (0.1-1 s) over quiet coloured noise."""
    sr = sample_rate_hz
    n = int(seconds * sr)
    out = np.zeros(n, np.float32)
    pos = 0
    while pos < n:
        pos += int(rng.uniform(0.1, 1.0) * sr)
        x = augment.synthetic_non_speech(rng, sr)
        m = min(x.size, n - pos)
        if m <= 0:
            break
        out[pos:pos + m] += x[:m]
        pos += m
    chunk = 60 * sr  # background noise made a minute at a time, colour changing each minute
    for s in range(0, n, chunk):
        m = min(chunk, n - s)
        out[s:s + m] += augment.colored_noise(m, rng, float(rng.choice(NOISE_COLOURS))) * 10 ** (background_db / 20)
    return np.clip(out, -1, 1)


# ------------------------------------------------------------------------------------------------
# Scoring
def run_stream(transcriber: Transcriber, audio: np.ndarray, block_ms: float
               ) -> tuple[list[RecognitionEvent], list[float], list[float], float]:
    """Push ``audio`` block by block; returns events, their emission stream times, compute times, wall."""
    transcriber.reset()
    sr = transcriber.sample_rate_hz
    block = max(1, int(round(sr * block_ms / 1000)))
    events, emitted_at, compute = [], [], []
    t_start = time.perf_counter()
    for s in range(0, audio.size, block):
        t0 = time.perf_counter()
        out = transcriber.push(audio[s:s + block])
        dt = time.perf_counter() - t0
        for ev in out.events:
            events.append(ev)
            emitted_at.append(min(s + block, audio.size) / sr)
            compute.append(dt)
    for ev in transcriber.flush():
        events.append(ev)
        emitted_at.append(audio.size / sr)
        compute.append(0.0)
    return events, emitted_at, compute, time.perf_counter() - t_start


def score_stream(refs: list[Reference], events: list[RecognitionEvent], emitted_at: list[float],
                 compute: list[float]) -> StreamResult:
    s, d, i = align_counts([r.label for r in refs], [e.label for e in events])
    res = StreamResult(len(refs), s, d, i)
    starts = np.array([r.start_s for r in refs])
    ends = np.array([r.end_s for r in refs])
    for ev, at, dt in zip(events, emitted_at, compute):
        overlap = np.minimum(ends, ev.end_s) - np.maximum(starts, ev.start_s)
        k = int(np.argmax(overlap))
        if overlap[k] > 0:  # a detected word (right or wrong label): how late did it come out?
            res.latencies_s.append(at - ends[k] + dt)
            res.compute_s.append(dt)
    return res


# ------------------------------------------------------------------------------------------------
def run_benchmark(model: LoadedModel, data_dir: Path, speakers: list[str], snrs: list[float | None],
                  non_speech_minutes: float, block_ms: float = 10.0, seed: int = 0, max_words: int = 0,
                  oov_dir: Path | None = None, config: TranscriberConfig | None = None,
                  thresholds: tuple[float, ...] = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8), log=lambda s: None) -> dict:
    """Decode every stream once at confidence 0 and apply each confidence threshold afterwards (exact:
    the threshold only drops events), so the trade-off table costs nothing extra."""
    chosen = Transcriber(model, config, trace=False).min_confidence
    base = config or TranscriberConfig()
    tr = Transcriber(model, TranscriberConfig(**{**base.__dict__, "min_confidence": 0.0}), trace=False)
    thresholds = tuple(sorted(set(thresholds) | {chosen}))
    sweep: dict[float, dict] = {t: {"errors": {}, "non_speech_insertions": 0} for t in thresholds}
    sr = tr.sample_rate_hz
    # words only: a _silence_ clip (the 12-class commands set) is no word to transcribe, and counting it
    # as one made every one a deletion
    vocabulary = spoken_words(model)
    clips = load_clips(data_dir, speakers, sr, vocabulary)
    if not clips:
        from recognizers.errors import VaultError
        raise VaultError(f"{data_dir}: no clips of speakers {speakers} with labels {vocabulary}")
    result: dict = {"model": str(model.path), "speakers": speakers, "n_clips": len(clips), "block_ms": block_ms,
                    "min_confidence": chosen, "decoder": {**tr.config.to_json(), "min_confidence": chosen}, "accuracy": [],  # noqa: E501
                    "seed": seed}
    all_lat, all_comp = [], []
    for k, snr in enumerate(snrs):
        rng = np.random.default_rng(seed + 1000 * k)
        order = rng.permutation(len(clips))
        if max_words:
            order = order[:max_words]
        res = StreamResult(0, 0, 0, 0)
        # several shorter streams (one per noise colour) rather than one very long one
        for c, part in enumerate(np.array_split(order, len(NOISE_COLOURS))):
            audio, refs = build_word_stream([clips[j] for j in part], rng, sr, snr_db=snr,
                                            noise_colour=NOISE_COLOURS[c])
            ev_all, at_all, comp_all, wall = run_stream(tr, audio, block_ms)
            for t in thresholds:
                keep = [i for i, e in enumerate(ev_all) if e.confidence >= t]
                rt = score_stream(refs, [ev_all[i] for i in keep], [], [])
                acc = sweep[t]["errors"].setdefault(str(snr), [0, 0, 0, 0])
                for i_, v in enumerate((rt.n_ref, rt.substitutions, rt.deletions, rt.insertions)):
                    acc[i_] += v
            keep = [i for i, e in enumerate(ev_all) if e.confidence >= chosen]
            ev, at, comp = [ev_all[i] for i in keep], [at_all[i] for i in keep], [comp_all[i] for i in keep]
            r = score_stream(refs, ev, at, comp)
            res.n_ref += r.n_ref
            res.substitutions += r.substitutions
            res.deletions += r.deletions
            res.insertions += r.insertions
            res.latencies_s += r.latencies_s
            res.compute_s += r.compute_s
            res.audio_s += audio.size / sr
            res.wall_s += wall
        all_lat += res.latencies_s
        all_comp += res.compute_s
        row = {"snr_db": snr, "words": res.n_ref, "accuracy": res.accuracy, "substitutions": res.substitutions,
               "deletions": res.deletions, "insertions": res.insertions, "audio_s": round(res.audio_s, 1),
               "real_time_factor": res.wall_s / max(res.audio_s, 1e-9),
               "latency_median_ms": 1000 * float(np.median(res.latencies_s)) if res.latencies_s else None}
        result["accuracy"].append(row)
        log(f"SNR {snr}: {row}")
    rng = np.random.default_rng(seed + 99)
    audio = build_non_speech_stream(non_speech_minutes * 60, rng, sr)
    ev_all, _, _, wall = run_stream(tr, audio, max(block_ms, 20.0))
    for t in thresholds:
        sweep[t]["non_speech_insertions"] = sum(e.confidence >= t for e in ev_all)
    ev = [e for e in ev_all if e.confidence >= chosen]
    hours = audio.size / sr / 3600
    result["non_speech"] = {"minutes": round(audio.size / sr / 60, 2), "insertions": len(ev),
                            "insertions_per_hour": len(ev) / hours, "real_time_factor": wall / (audio.size / sr),
                            "events": [e.to_json() for e in ev][:20]}
    log(f"non-speech: {result['non_speech']}")
    lat = np.asarray(all_lat) * 1000
    result["latency_ms"] = ({"median": float(np.median(lat)), "p90": float(np.percentile(lat, 90)),
                             "max": float(lat.max()), "compute_median": 1000 * float(np.median(all_comp)),
                             "n": int(lat.size)} if lat.size else None)
    result["threshold_sweep"] = [
        {"min_confidence": t, "non_speech_insertions_per_hour": v["non_speech_insertions"] / hours,
         "accuracy": {k: (e[0] - e[1] - e[2] - e[3]) / max(1, e[0]) for k, e in v["errors"].items()}}
        for t, v in sweep.items()]
    if oov_dir is not None and Path(oov_dir).is_dir():
        result["out_of_vocabulary"] = oov_benchmark(tr, Path(oov_dir), vocabulary, seed, block_ms, chosen)
    return result


SPOKEN_DIGITS = {"zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
                 "seven": "7", "eight": "8", "nine": "9"}


def oov_benchmark(tr: Transcriber, folder: Path, vocabulary: list[str], seed: int, block_ms: float,
                  min_confidence: float = 0.0) -> dict:
    """Words that are not in the vocabulary (Speech Commands' non-digit words): how many get transcribed."""
    from recognizers.data.datasets import scan_dataset
    exs = [e for e in scan_dataset(folder, AUDIO_EXTENSIONS)
           if e.label not in vocabulary and SPOKEN_DIGITS.get(e.label) not in vocabulary
           and e.label not in NON_WORD_LABELS]
    rng = np.random.default_rng(seed + 7)
    clips = [(e.label, load_audio(e.path, tr.sample_rate_hz)) for e in exs]
    audio, refs = build_word_stream(clips, rng, tr.sample_rate_hz, pause_s=(0.3, 0.8), snr_db=30.0)
    ev, _, _, _ = run_stream(tr, audio, block_ms)
    ev = [e for e in ev if e.confidence >= min_confidence]
    return {"words": len(refs), "transcribed": len(ev), "false_accept_rate": len(ev) / max(1, len(refs))}


def format_table(r: dict) -> str:
    lines = [f"model {r['model']}  unseen speakers {', '.join(r['speakers'])}  ({r['n_clips']} clips, "
             f"min confidence {r['min_confidence']:.2f}, blocks of {r['block_ms']:.0f} ms)",
             f"{'SNR dB':>7} {'words':>6} {'accuracy':>9} {'sub':>5} {'del':>5} {'ins':>5} {'RTF':>6}"]
    for row in r["accuracy"]:
        snr = "clean" if row["snr_db"] is None else f"{row['snr_db']:.0f}"
        lines.append(f"{snr:>7} {row['words']:>6} {row['accuracy'] * 100:8.1f}% {row['substitutions']:>5} "
                     f"{row['deletions']:>5} {row['insertions']:>5} {row['real_time_factor']:6.3f}")
    ns = r["non_speech"]
    lines.append(f"non-speech: {ns['insertions']} insertions in {ns['minutes']:.1f} min "
                 f"= {ns['insertions_per_hour']:.1f} per hour")
    lat = r.get("latency_ms")
    if lat:
        lines.append(f"latency from word end to event: median {lat['median']:.0f} ms, p90 {lat['p90']:.0f} ms, "
                     f"max {lat['max']:.0f} ms (compute {lat['compute_median']:.2f} ms per push; n={lat['n']})")
    if r.get("threshold_sweep"):
        snrs = list(r["threshold_sweep"][0]["accuracy"])
        lines.append("confidence threshold trade-off (word accuracy per SNR; non-speech insertions per hour):")
        lines.append(f"{'min conf':>9} " + " ".join(f"{('clean' if k == 'None' else k + ' dB'):>8}" for k in snrs)
                     + f" {'ins/h':>7}")
        for row in r["threshold_sweep"]:
            lines.append(f"{row['min_confidence']:9.2f} " + " ".join(f"{row['accuracy'][k] * 100:7.1f}%" for k in snrs)
                         + f" {row['non_speech_insertions_per_hour']:7.1f}")
    if "out_of_vocabulary" in r:
        o = r["out_of_vocabulary"]
        lines.append(f"out-of-vocabulary words transcribed: {o['transcribed']} of {o['words']} "
                     f"({o['false_accept_rate'] * 100:.0f}%)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m recognizers.bench.transcription", description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True)
    p.add_argument("--data", default=None, help="FSDD folder (default ../shared/data/fsdd next to the repo)")
    p.add_argument("--speakers", default=None, help="comma-separated unseen speakers (default: from model.json)")
    p.add_argument("--snr", default="clean,30,20,10", help="comma-separated SNRs in dB; 'clean' for none")
    p.add_argument("--non-speech-minutes", type=float, default=10.0)
    p.add_argument("--max-words", type=int, default=0, help="words per SNR (0: every clip of the speakers)")
    p.add_argument("--block-ms", type=float, default=10.0)
    p.add_argument("--oov", default=None, help="folder of out-of-vocabulary words (e.g. Speech Commands)")
    p.add_argument("--min-confidence", type=float, default=None)
    p.add_argument("--isolate-words", choices=("on", "off"), default="on",
                   help="compute a word's first frames again without the audio before it (frontends whose frame "
                        "reads more than its hop; TranscriberConfig.isolate_words)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    import torch
    torch.set_num_threads(max(1, args.threads))
    from recognizers.errors import VaultError
    try:
        model = load_model(args.model, task="speech")
        repo = Path(__file__).resolve().parents[2]
        data = Path(args.data) if args.data else repo.parent / "shared" / "data" / "fsdd"
        speakers = args.speakers.split(",") if args.speakers else unseen_speakers(model)
        if not speakers:
            raise VaultError("model.json names no held-out speakers; give --speakers")
        snrs = [None if s.strip() == "clean" else float(s) for s in args.snr.split(",")]
        cfg = TranscriberConfig(min_confidence=args.min_confidence, isolate_words=args.isolate_words == "on")
        r = run_benchmark(model, data, speakers, snrs, args.non_speech_minutes, args.block_ms, args.seed,
                          args.max_words, Path(args.oov) if args.oov else None, cfg,
                          log=(lambda s: print(s, file=sys.stderr)) if not args.json else (lambda s: None))
    except VaultError as exc:
        print(f"bench_transcription: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(r) if args.json else format_table(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
