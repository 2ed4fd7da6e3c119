"""Connected-digit benchmark: digit strings spoken without pauses, by speakers the model never saw.

    python -m recognizers.bench_connected --model MODEL --data DIR [--strings 200] [--snr clean,20,10]
                                          [--non-speech-minutes 20] [--json]

Strings of 2–5 digits of one unseen speaker (the model's validation/excluded groups from ``model.json``;
voiced parts joined with −20 … +40 ms gaps, i.e. no pauses) are concatenated into one long stream with
0.5–1.5 s between strings, in white/pink/brown noise at each SNR, and pushed through
:class:`ConnectedTranscriber` in 10 ms blocks. Reported: digit accuracy ((N − S − D − I) / N over the
stream), string accuracy (the digits recognised inside a string's time span equal its digits), latency
from the end of a string to the push that emitted its last digit, digits read in the same speakers'
words that are not digits (one after another, with pauses), and insertions per hour on the same
synthetic non-speech as ``bench_transcription``.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from . import augment
from .bench_transcription import align_counts, build_non_speech_stream, run_stream, unseen_speakers
from .connected import ConnectedConfig, ConnectedDecoderConfig, ConnectedTranscriber, DigitPool, make_sequence


def build_string_stream(pool: DigitPool, n_strings: int, rng: np.random.Generator, sr: int,
                        snr_db: float | None) -> tuple[np.ndarray, list[tuple[float, float, list[str]]]]:
    cfg = ConnectedConfig(min_digits=2, max_digits=5, gap_ms=(-20.0, 40.0), lead_s=(0.0, 0.0))
    parts, refs, pos = [np.zeros(sr // 2, np.float32)], [], sr // 2
    energy, count = 0.0, 0
    for _ in range(n_strings):
        x, digits = make_sequence(pool, pool.speakers, rng, sr, cfg, augmented=False)
        x = (x * 10 ** (rng.uniform(-12, 0) / 20)).astype(np.float32)
        refs.append((pos / sr, (pos + x.size) / sr, digits))
        energy += float(np.sum(x.astype(np.float64) ** 2))
        count += x.size
        gap = int(rng.uniform(0.5, 1.5) * sr)
        parts += [x, np.zeros(gap, np.float32)]
        pos += x.size + gap
    audio = np.concatenate(parts)
    if snr_db is None:
        audio = audio + 1e-5 * rng.standard_normal(audio.size).astype(np.float32)
    else:
        noise = augment.colored_noise(audio.size, rng, float(rng.choice([0.0, 1.0, 2.0])))
        audio = audio + noise * np.float32(np.sqrt(energy / max(1, count) / 10 ** (snr_db / 10)))
    return np.clip(audio, -1, 1).astype(np.float32), refs


def score(refs, events, emitted_at) -> dict:
    ref_digits = [d for _, _, ds in refs for d in ds]
    s, d, i = align_counts(ref_digits, [e.label for e in events])
    exact, latencies = 0, []
    for start, end, digits in refs:
        inside = [(e, at) for e, at in zip(events, emitted_at)
                  if start - 0.1 <= (e.start_s + e.end_s) / 2 <= end + 0.3]
        exact += [e.label for e, _ in inside] == digits
        if inside:
            latencies.append(inside[-1][1] - end)
    n = len(ref_digits)
    return {"digits": n, "strings": len(refs), "digit_accuracy": (n - s - d - i) / max(1, n),
            "string_accuracy": exact / max(1, len(refs)), "substitutions": s, "deletions": d, "insertions": i,
            "latency_median_ms": float(np.median(latencies) * 1000) if latencies else None,
            "latency_p90_ms": float(np.percentile(latencies, 90) * 1000) if latencies else None}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m recognizers.bench_connected", description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True, help="folder-per-label dataset holding the unseen speakers' digits")
    ap.add_argument("--strings", type=int, default=200)
    ap.add_argument("--snr", default="clean,20,10")
    ap.add_argument("--non-speech-minutes", type=float, default=20.0)
    ap.add_argument("--min-confidence", type=float, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    import torch
    torch.set_num_threads(1)
    from .model_files import load_model
    model = load_model(args.model, task="speech")
    thr = args.min_confidence if args.min_confidence is not None else float(
        (model.meta.get("decoder") or {}).get("reject_threshold", 0.5) or 0.5)
    tr = ConnectedTranscriber(model, ConnectedDecoderConfig(min_confidence=thr), trace=False)
    sr = tr.sample_rate_hz
    speakers = unseen_speakers(model)
    pool = DigitPool.from_folder(args.data, sr, groups=set(speakers))
    if not pool.speakers:
        print(f"{args.data}: no digit clips of the model's unseen speakers {speakers}", file=sys.stderr)
        return 2
    out = {"model": args.model, "speakers": pool.speakers, "min_confidence": thr, "results": []}
    for snr in args.snr.split(","):
        snr_db = None if snr == "clean" else float(snr)
        rng = np.random.default_rng(args.seed)
        audio, refs = build_string_stream(pool, args.strings, rng, sr, snr_db)
        events, emitted_at, _, wall = run_stream(tr, audio, 10.0)
        r = score(refs, events, emitted_at)
        r.update(snr_db=snr_db, real_time_factor=wall / (audio.size / sr))
        out["results"].append(r)
    others = DigitPool.from_folder(args.data, sr, groups=set(speakers), other_words=True).others()
    if others:      # words outside the vocabulary, one after another with pauses: every digit read is wrong
        rng = np.random.default_rng(args.seed + 1)
        parts = [np.zeros(sr // 2, np.float32)]
        for w in others:
            parts += [(w * 10 ** (rng.uniform(-12, 0) / 20)).astype(np.float32),
                      np.zeros(int(rng.uniform(0.5, 1.0) * sr), np.float32)]
        audio = np.concatenate(parts) + 1e-5 * rng.standard_normal(sum(p.size for p in parts)).astype(np.float32)
        events, _, _, _ = run_stream(tr, audio.astype(np.float32), 10.0)
        out["out_of_vocabulary"] = {"words": len(others), "digits_read": len(events)}
    if args.non_speech_minutes > 0:
        audio = build_non_speech_stream(args.non_speech_minutes * 60, np.random.default_rng(99), sr)
        events, _, _, _ = run_stream(tr, audio, 10.0)
        out["non_speech"] = {"minutes": args.non_speech_minutes, "insertions": len(events),
                             "insertions_per_hour": len(events) / (args.non_speech_minutes / 60)}
    if args.json:
        print(json.dumps(out, indent=1))
    else:
        print(f"model {args.model}, {len(pool.speakers)} unseen speakers, {args.strings} strings of 2-5 digits "
              f"per condition, min confidence {thr}")
        print("SNR     digits  digit acc  string acc  S/D/I        latency median/p90")
        for r in out["results"]:
            lat = (f"{r['latency_median_ms']:.0f}/{r['latency_p90_ms']:.0f} ms"
                   if r["latency_median_ms"] is not None else "-")
            print(f"{'clean' if r['snr_db'] is None else r['snr_db']:<7} {r['digits']:>6}  "
                  f"{r['digit_accuracy']:8.1%}  {r['string_accuracy']:9.1%}   "
                  f"{r['substitutions']}/{r['deletions']}/{r['insertions']:<8}  {lat}")
        if "out_of_vocabulary" in out:
            o = out["out_of_vocabulary"]
            print(f"out-of-vocabulary words: {o['digits_read']} digits read in {o['words']} words")
        if "non_speech" in out:
            ns = out["non_speech"]
            print(f"non-speech: {ns['insertions']} insertions in {ns['minutes']:.0f} min "
                  f"({ns['insertions_per_hour']:.1f} per hour)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
