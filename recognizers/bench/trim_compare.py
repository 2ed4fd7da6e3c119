"""Trimming takes: the recorder's energy rule (:func:`recognizers.data.recorder.voiced_span`) beside
``librosa.effects.split`` (docs/librosa.md).

    python -m recognizers.bench.trim_compare [--clips 50]

FSDD clips (tightly cut, so the clip is the true voiced span) at a random level (0 to -20 dB), placed
after 0.3-1 s of lead-in and before 0.3-1 s of tail, in pink noise at 40, 30 or 20 dB SNR: how far (ms)
each method puts the start and the end from the clip's. A benchmark: prints numbers, asserts nothing.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

SR = 16000


def spans(y: np.ndarray) -> dict[str, tuple[int, int] | None]:
    import librosa

    from recognizers.data.recorder import voiced_span
    out: dict[str, tuple[int, int] | None] = {"recorder (ours)": voiced_span(y, SR, margin_ms=0)}
    for top_db in (60, 35, 20):
        iv = librosa.effects.split(y, top_db=top_db, frame_length=400, hop_length=160)
        out[f"librosa split top_db={top_db}"] = (int(iv[0][0]), int(iv[-1][1])) if len(iv) else None
    return out


def main(argv: list[str] | None = None) -> int:
    from recognizers.data.augment import colored_noise
    from recognizers.io.audio import load_audio
    p = argparse.ArgumentParser(prog="python -m recognizers.bench.trim_compare", description=__doc__.split("\n")[0])
    p.add_argument("--fsdd", default=str(Path(__file__).resolve().parents[3] / "shared" / "data" / "fsdd"))
    p.add_argument("--clips", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    files = sorted((Path(args.fsdd) / "recordings").glob("*.wav"))
    if not files:
        print(f"trim_compare: error: no FSDD recordings under {args.fsdd}", file=sys.stderr)
        return 2
    files = files[::max(1, len(files) // args.clips)][:args.clips]
    rng = np.random.default_rng(args.seed)
    errors: dict[str, list[tuple[float, float]]] = {}
    missed: dict[str, int] = {}
    for f in files:
        x = load_audio(f, SR)
        x = 0.5 * x / max(float(np.abs(x).max()), 1e-9) * 10 ** (rng.uniform(-20, 0) / 20)
        lead, tail = int(rng.uniform(0.3, 1.0) * SR), int(rng.uniform(0.3, 1.0) * SR)
        y = np.concatenate([np.zeros(lead), x, np.zeros(tail)])
        snr = float(rng.choice([40.0, 30.0, 20.0]))
        y = (y + colored_noise(y.size, rng, 1.0) * np.sqrt(np.mean(x ** 2) / 10 ** (snr / 10))).astype(np.float32)
        for name, s in spans(y).items():
            if s is None:
                missed[name] = missed.get(name, 0) + 1
                continue
            errors.setdefault(name, []).append((abs(s[0] - lead) / SR * 1000, abs(s[1] - lead - x.size) / SR * 1000))
    print("| method | takes | missed | start error median (p90) | end error median (p90) |\n|---|---|---|---|---|")
    for name, v in errors.items():
        e = np.array(v)
        print(f"| {name} | {len(files)} | {missed.get(name, 0)} | {np.median(e[:, 0]):.0f} ms "
              f"({np.percentile(e[:, 0], 90):.0f}) | {np.median(e[:, 1]):.0f} ms ({np.percentile(e[:, 1], 90):.0f}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
