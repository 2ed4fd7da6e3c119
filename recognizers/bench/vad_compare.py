"""Our VAD beside silero-vad, on the same streams in the same run (docs/vad.md).

    python -m recognizers.bench.vad_compare --model assets/models/digits-en [--words 90] [--non-speech-minutes 6]

The streams are the transcription benchmark's (:mod:`recognizers.bench.transcription`): digit clips of
real speakers the model never trained on, peak-normalised, random level and pauses, in white/pink/brown
noise at each SNR; and synthetic non-speech (tones, chirps, clicks, noise bursts, music-like notes) over
quiet noise. For ``digits-en`` the unseen real speakers are the Speech Commands speakers of
``../shared/data``: the v0.01 sample's speakers held out in ``model.json`` and the v0.02 test part's speakers
that are not in the v0.01 sample (the v0.02 test split is speaker-disjoint from the v0.02 training split).
Folder names ``zero`` ... ``nine`` map to the model's ``0`` ... ``9``.

Each stream is decoded by one :class:`~recognizers.decoders.words.Transcriber` per detector (the same
model, confidence threshold and pre-roll), so only the detector differs. Reported per detector: word
accuracy per SNR, insertions per hour of non-speech, median latency from the word's end to its event,
the whole transcriber's CPU seconds per second of audio, and the detector's alone (ours on precomputed
log-mel frames, silero on the samples). CPU is ``time.process_time`` (this process, all threads); run with
one thread. A benchmark: it prints numbers and asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from recognizers.bench.transcription import (
    NOISE_COLOURS,
    SPOKEN_DIGITS,
    build_non_speech_stream,
    build_word_stream,
    run_stream,
    score_stream,
    unseen_speakers,
)
from recognizers.decoders.words import VAD_CHOICES, Transcriber, TranscriberConfig
from recognizers.io.audio import load_audio
from recognizers.model_files import LoadedModel, load_model

SC_V1 = "speech_commands_v0.01_sample"
SC_V2_TEST = "speech_commands_v0.02_test_part"


def unseen_real_clips(model: LoadedModel, data_root: Path, sample_rate_hz: int) -> list[tuple[str, np.ndarray, str]]:
    """(label, samples, speaker) of Speech Commands digit clips whose speakers the model never trained on."""
    held = {g[3:] for g in unseen_speakers(model) if g.startswith("sc-")}
    vocabulary = set(model.labels)
    v1 = data_root / SC_V1
    v1_speakers = {p.stem.split("_")[0] for p in v1.glob("*/*.wav")}
    out = []
    for root, allowed in ((v1, lambda s: s in held), (data_root / SC_V2_TEST, lambda s: s not in v1_speakers)):
        for word, digit in SPOKEN_DIGITS.items():
            label = digit if digit in vocabulary else word
            if label not in vocabulary:
                continue
            for p in sorted((root / word).glob("*.wav")):
                speaker = p.stem.split("_")[0]
                if allowed(speaker):
                    out.append((label, load_audio(p, sample_rate_hz), speaker))
    return out


def detector_cpu(tr: Transcriber, audio: np.ndarray) -> float:
    """CPU seconds of the detector alone over ``audio`` (frames computed beforehand for ours)."""
    from recognizers.decoders.silero_vad import SileroVoiceDetector
    vad = tr.vad
    vad.reset()
    if isinstance(vad, SileroVoiceDetector):
        fe = tr.recognizer.frontend
        fe.reset()
        frames = fe.push(audio)
        t0 = time.process_time()
        vad.push_samples(audio)
        vad.push(frames)
        vad.finish()
    else:
        fe = tr.recognizer.frontend
        fe.reset()
        frames = fe.push(audio)
        t0 = time.process_time()
        for i in range(frames.shape[0]):
            vad.push(frames[i:i + 1])
        vad.finish()
    dt = time.process_time() - t0
    tr.reset()
    return dt


def compare(model: LoadedModel, data_root: Path, snrs: list[float | None], n_words: int, non_speech_minutes: float,
            block_ms: float = 10.0, seed: int = 0, log=lambda s: None) -> dict:
    from recognizers.decoders.silero_vad import SileroVadConfig
    trs = {d: Transcriber(model, TranscriberConfig(detector=d), trace=False) for d in VAD_CHOICES}
    # silero alone (without our spectral-shape test on its segments), for the record
    trs["silero, no stationarity test"] = Transcriber(
        model, TranscriberConfig(detector="silero", silero=SileroVadConfig(stationary_test=False)), trace=False)
    sr = trs["ours"].sample_rate_hz
    clips = unseen_real_clips(model, data_root, sr)
    speakers = sorted({c[2] for c in clips})
    log(f"{len(clips)} clips of {len(speakers)} unseen real speakers")
    res: dict = {"model": str(model.path), "n_clips": len(clips), "n_speakers": len(speakers), "seed": seed,
                 "block_ms": block_ms, "min_confidence": trs["ours"].min_confidence,
                 "detectors": {d: {"accuracy": {}, "latency_ms": [], "cpu_s": 0.0, "audio_s": 0.0} for d in trs}}
    for k, snr in enumerate(snrs):
        rng = np.random.default_rng(seed + 1000 * k)
        order = rng.permutation(len(clips))[:n_words] if n_words else rng.permutation(len(clips))
        counts = {d: [0, 0, 0, 0] for d in trs}
        for c, part in enumerate(np.array_split(order, len(NOISE_COLOURS))):
            audio, refs = build_word_stream([clips[j][:2] for j in part], rng, sr, snr_db=snr,
                                            noise_colour=NOISE_COLOURS[c])
            for d, tr in trs.items():
                t0 = time.process_time()
                ev, at, comp, _ = run_stream(tr, audio, block_ms)
                r = res["detectors"][d]
                r["cpu_s"] += time.process_time() - t0
                r["audio_s"] += audio.size / sr
                s = score_stream(refs, ev, at, comp)
                for i, v in enumerate((s.n_ref, s.substitutions, s.deletions, s.insertions)):
                    counts[d][i] += v
                r["latency_ms"] += [1000 * x for x in s.latencies_s]
                if snr is None and c == 0:
                    r["vad_cpu_per_audio_s"] = detector_cpu(tr, audio) / (audio.size / sr)
        for d in trs:
            n, sub, de, ins = counts[d]
            res["detectors"][d]["accuracy"][str(snr)] = {"words": n, "accuracy": (n - sub - de - ins) / max(1, n),
                                                         "substitutions": sub, "deletions": de, "insertions": ins}
        log(f"SNR {snr}: " + "  ".join(f"{d} {res['detectors'][d]['accuracy'][str(snr)]['accuracy']:.3f}"
                                        for d in trs))
    audio = build_non_speech_stream(non_speech_minutes * 60, np.random.default_rng(seed + 99), sr)
    hours = audio.size / sr / 3600
    for d, tr in trs.items():
        t0 = time.process_time()
        ev, _, _, _ = run_stream(tr, audio, max(block_ms, 20.0))
        r = res["detectors"][d]
        r["cpu_s"] += time.process_time() - t0
        r["audio_s"] += audio.size / sr
        r["non_speech"] = {"minutes": round(audio.size / sr / 60, 2), "insertions": len(ev),
                           "insertions_per_hour": len(ev) / hours, "events": [e.to_json() for e in ev][:10]}
        log(f"non-speech {d}: {len(ev)} insertions in {audio.size / sr / 60:.1f} min")
    for r in res["detectors"].values():
        lat = r.pop("latency_ms")
        r["latency_median_ms"] = float(np.median(lat)) if lat else None
        r["latency_p90_ms"] = float(np.percentile(lat, 90)) if lat else None
        r["cpu_per_audio_s"] = r["cpu_s"] / max(r["audio_s"], 1e-9)
    return res


def format_table(r: dict) -> str:
    snrs = list(next(iter(r["detectors"].values()))["accuracy"])
    head = " | ".join(f"{'clean' if s == 'None' else s + ' dB'}" for s in snrs)
    lines = [f"| detector | {head} | non-speech ins./h | latency median (p90) | transcriber CPU/s audio "
             f"| detector CPU/s audio |", "|---" * (len(snrs) + 5) + "|"]
    for d, x in r["detectors"].items():
        acc = " | ".join(f"{x['accuracy'][s]['accuracy'] * 100:.1f} % ({x['accuracy'][s]['words']})" for s in snrs)
        ns = x["non_speech"]
        lines.append(f"| {d} | {acc} | {ns['insertions_per_hour']:.1f} ({ns['insertions']} in {ns['minutes']:.0f} min) "
                     f"| {x['latency_median_ms']:.0f} ms ({x['latency_p90_ms']:.0f}) "
                     f"| {x['cpu_per_audio_s'] * 1000:.0f} ms "
                     f"| {x.get('vad_cpu_per_audio_s', float('nan')) * 1000:.1f} ms |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m recognizers.bench.vad_compare", description=__doc__.split("\n")[0])
    p.add_argument("--model", default="assets/models/digits-en")
    p.add_argument("--data-root", default=None, help="folder holding the Speech Commands sets (../shared/data)")
    p.add_argument("--snr", default="clean,20,10")
    p.add_argument("--words", type=int, default=90, help="words per SNR (0: all clips)")
    p.add_argument("--non-speech-minutes", type=float, default=6.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    import torch
    torch.set_num_threads(1)
    from recognizers.errors import VaultError
    try:
        model = load_model(args.model, task="speech")
        repo = Path(__file__).resolve().parents[2]
        root = Path(args.data_root) if args.data_root else repo.parent / "shared" / "data"
        snrs = [None if s.strip() == "clean" else float(s) for s in args.snr.split(",")]
        r = compare(model, root, snrs, args.words, args.non_speech_minutes, seed=args.seed,
                    log=lambda s: print(s, file=sys.stderr))
    except VaultError as exc:
        print(f"vad_compare: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(r) if args.json else format_table(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
