"""Connected-digit benchmark: digit strings spoken without pauses, by speakers the model never saw.

    python -m recognizers.bench.connected --model MODEL --data DIR [--strings 200] [--snr clean,20,10]
                                          [--non-speech-minutes 20] [--json]
                                          [--words-model digits-en] [--groups all|G1,G2,...]

Strings of 2–5 digits of one unseen speaker (the model's validation/excluded groups from ``model.json``;
voiced parts joined with −20 … +40 ms gaps, i.e. no pauses) are concatenated into one long stream with
0.5–1.5 s between strings, in white/pink/brown noise at each SNR, and pushed through
:class:`ConnectedTranscriber` in 10 ms blocks. Reported: digit accuracy ((N − S − D − I) / N over the
stream), string accuracy (the digits recognised inside a string's time span equal its digits), latency
from the end of a string to the push that emitted its last digit, digits read in the same speakers'
words that are not digits (one after another, with pauses), and insertions per hour on the same
synthetic non-speech as ``bench_transcription``.

``--words-model M`` decodes the same streams with what the app runs for the isolated-word model ``M``
(:func:`recognizers.decoders.make_decoder`: its Transcriber, whose runs too long for one word are read by
``MODEL`` as companion) and with ``M`` alone (no companion), in the same run. ``--groups all`` takes every
speaker of ``--data`` (for a dataset none of the models trained on), else the listed groups; by default the
model's own held-out groups.
"""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from recognizers.bench.transcription import (
    build_non_speech_stream,
    build_word_stream,
    run_stream,
    unseen_speakers,
)
from recognizers.data.connected_digits import DigitPool, make_sequence
from recognizers.decoders.ctc import ConnectedDecoderConfig, ConnectedTranscriber
from recognizers.metrics import align_counts
from recognizers.training.ctc import ConnectedConfig


def build_string_stream(pool: DigitPool, n_strings: int, rng: np.random.Generator, sr: int,
                        snr_db: float | None) -> tuple[np.ndarray, list[tuple[float, float, list[str]]]]:
    """``n_strings`` digit strings (no pauses inside) in one stream, 0.5–1.5 s apart, in white, pink or brown
    noise at ``snr_db``: the audio and ``(start_s, end_s, digits)`` of each string."""
    cfg = ConnectedConfig(min_digits=2, max_digits=5, gap_ms=(-20.0, 40.0), lead_s=(0.0, 0.0))
    strings = [make_sequence(pool, pool.speakers, rng, sr, cfg, augmented=False) for _ in range(n_strings)]
    audio, refs = build_word_stream([(" ".join(ds), x) for x, ds in strings], rng, sr, pause_s=(0.5, 1.5),
                                    snr_db=snr_db, noise_colour=float(rng.choice([0.0, 1.0, 2.0])))
    return audio, [(r.start_s, r.end_s, r.label.split()) for r in refs]


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
    ap = argparse.ArgumentParser(prog="python -m recognizers.bench.connected", description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True, help="folder-per-label dataset holding the unseen speakers' digits")
    ap.add_argument("--strings", type=int, default=200)
    ap.add_argument("--snr", default="clean,20,10")
    ap.add_argument("--non-speech-minutes", type=float, default=20.0)
    ap.add_argument("--min-confidence", type=float, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--words-model", default="", help="also decode with this isolated-word model, with and without "
                    "MODEL reading its too-long runs")
    ap.add_argument("--groups", default="", help="'all' or comma-separated speaker groups (default: MODEL's "
                    "held-out groups)")
    args = ap.parse_args(argv)
    import torch
    torch.set_num_threads(1)
    from recognizers.model_files import load_model
    model = load_model(args.model, task="speech")
    tr = ConnectedTranscriber(model, ConnectedDecoderConfig(min_confidence=args.min_confidence), trace=False)
    thr = tr.min_confidence
    sr = tr.sample_rate_hz
    speakers = unseen_speakers(model)
    if args.groups:
        speakers = None if args.groups == "all" else args.groups.split(",")
    pool = DigitPool.from_folder(args.data, sr, groups=set(speakers) if speakers else None, other_words=True)
    decoders = [("connected", tr)]
    if args.words_model:
        from recognizers.decoders import make_decoder
        words = load_model(args.words_model, task="speech")
        decoders += [("words+connected", make_decoder(words, trace=False, long_runs=model)),
                     ("words alone", make_decoder(words, trace=False, long_runs=None))]
    if not pool.speakers:
        print(f"{args.data}: no digit clips of the model's unseen speakers {speakers}", file=sys.stderr)
        return 2
    out = {"model": args.model, "speakers": pool.speakers, "min_confidence": thr, "results": []}
    for snr in args.snr.split(","):
        snr_db = None if snr == "clean" else float(snr)
        rng = np.random.default_rng(args.seed)
        audio, refs = build_string_stream(pool, args.strings, rng, sr, snr_db)
        for name, dec in decoders:
            dec.reset()
            events, emitted_at, _, wall = run_stream(dec, audio, 10.0)
            r = score(refs, events, emitted_at)
            r.update(snr_db=snr_db, decoder=name, real_time_factor=wall / (audio.size / sr))
            out["results"].append(r)
    others = pool.others()
    if others:      # words outside the vocabulary, one after another with pauses: every digit read is wrong
        audio, _ = build_word_stream([("", w) for w in others], np.random.default_rng(args.seed + 1), sr,
                                     pause_s=(0.5, 1.0))
        out["out_of_vocabulary"] = {}
        for name, dec in decoders:
            dec.reset()
            events, _, _, _ = run_stream(dec, audio, 10.0)
            out["out_of_vocabulary"][name] = {"words": len(others), "digits_read": len(events)}
    if args.non_speech_minutes > 0:
        audio = build_non_speech_stream(args.non_speech_minutes * 60, np.random.default_rng(99), sr)
        out["non_speech"] = {}
        for name, dec in decoders:
            dec.reset()
            events, _, _, _ = run_stream(dec, audio, 10.0)
            out["non_speech"][name] = {"minutes": args.non_speech_minutes, "insertions": len(events),
                                       "insertions_per_hour": len(events) / (args.non_speech_minutes / 60)}
    if args.json:
        print(json.dumps(out, indent=1))
    else:
        print(f"model {args.model}, {len(pool.speakers)} unseen speakers, {args.strings} strings of 2-5 digits "
              f"per condition, min confidence {thr}")
        print("decoder          SNR     digits  digit acc  string acc  S/D/I        latency median/p90")
        for r in out["results"]:
            lat = (f"{r['latency_median_ms']:.0f}/{r['latency_p90_ms']:.0f} ms"
                   if r["latency_median_ms"] is not None else "-")
            print(f"{r['decoder']:<16} {'clean' if r['snr_db'] is None else r['snr_db']:<7} {r['digits']:>6}  "
                  f"{r['digit_accuracy']:8.1%}  {r['string_accuracy']:9.1%}   "
                  f"{r['substitutions']}/{r['deletions']}/{r['insertions']:<8}  {lat}")
        for name, o in out.get("out_of_vocabulary", {}).items():
            print(f"{name}: out-of-vocabulary words: {o['digits_read']} digits read in {o['words']} words")
        for name, ns in out.get("non_speech", {}).items():
            print(f"{name}: non-speech: {ns['insertions']} insertions in {ns['minutes']:.0f} min "
                  f"({ns['insertions_per_hour']:.1f} per hour)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
