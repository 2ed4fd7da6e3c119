"""A long live run, faster than real time: push N simulated minutes of audio (spoken words from FSDD or
espeak-ng, between noise and silence, looped) through the app's live path — the Transcriber decoder in the
app's LivePipeline filling a LiveState (ring buffers), with a snapshot per simulated 1/30 s as the
redraw timer takes — and sample the process's RSS (/proc/self/status VmRSS) every simulated minute.

usage: python scripts/long_run.py [--minutes 60] [--model assets/models/digits-en] [--block-ms 20]
Prints start/end RSS, growth, and the sizes of the transcript and gate buffers.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "helpers")]
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402


def rss_mb() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def speech_loop(rate: int = 16000, seconds: float = 30.0, seed: int = 0) -> np.ndarray:
    """About ``seconds`` of words (FSDD recordings if present, else espeak-ng, else tones) between pauses
    and noise; looped by the caller."""
    rng = np.random.default_rng(seed)
    words = []
    fsdd = ROOT.parent / "shared" / "data" / "fsdd" / "recordings"
    if fsdd.is_dir():
        from recognizers.io.audio import load_audio
        for p in sorted(fsdd.glob("*.wav"))[:40]:
            words.append(load_audio(p, rate))
    if not words:
        t = np.arange(int(0.4 * rate)) / rate
        words = [(0.3 * np.sin(2 * np.pi * f * t) * np.hanning(t.size)).astype(np.float32) for f in (300, 500, 700)]
    parts, n = [], 0
    while n < seconds * rate:
        gap = rng.normal(0, 0.003, int(rng.uniform(0.3, 1.2) * rate)).astype(np.float32)
        w = words[int(rng.integers(len(words)))]
        parts += [gap, w]
        n += gap.size + w.size
    return np.concatenate(parts)


def run(minutes: float, model_dir: Path | None, block_ms: float = 20.0, report=print) -> dict:
    from desktop_app.inference_worker import make_pipeline
    from desktop_app.live_state import LiveState
    from desktop_app.main_window import WINDOW_S
    from recognizers.model_files import load_model
    if model_dir is None or not (model_dir / "model.json").is_file():
        import tempfile

        from desktop_fixtures import untrained_model
        model_dir = untrained_model(Path(tempfile.mkdtemp()) / "speech", "speech")
    model = load_model(model_dir, task="speech")
    arch = model.network.arch
    rate = int(model.frontend_config.get("sample_rate_hz", 16000))
    state = LiveState(model.labels, 100.0, WINDOW_S, sample_rate_hz=rate, feature_size=arch.input_size,
                      num_layers=arch.num_layers, units=arch.hidden_size)
    pipeline, _ = make_pipeline("speech", state, model, "cpu")
    pipeline.start()
    audio = speech_loop(rate)
    block = int(rate * block_ms / 1000)
    blocks_per_min = int(60 * rate / block)
    redraw_every = max(1, int(round(1000 / 30 / block_ms)))
    total_blocks = int(minutes * blocks_per_min)
    samples, pos, t0 = [], 0, time.perf_counter()
    samples.append((0.0, rss_mb()))
    max_events = 0
    for i in range(total_blocks):
        if pos + block > audio.size:
            pos = 0
        pipeline.process(audio[pos:pos + block])
        pos += block
        if i % redraw_every == 0:
            snap = state.snapshot(arch.num_layers - 1)
            max_events = max(max_events, len(snap.events))
        if (i + 1) % blocks_per_min == 0:
            m = (i + 1) / blocks_per_min
            samples.append((m, rss_mb()))
            report(f"  {m:5.0f} min simulated  RSS {samples[-1][1]:7.1f} MB  events held {len(state.events)}  "
                   f"({time.perf_counter() - t0:.0f} s wall)")
    pipeline.finish()
    dec = pipeline.decoder
    gate_rows = {k: len(b) for k, b in state.gates.items()}
    out = {
        "simulated_minutes": minutes, "wall_s": round(time.perf_counter() - t0, 1), "model": model.name,
        "rss_start_mb": round(samples[1][1] if len(samples) > 2 else samples[0][1], 1),
        "rss_end_mb": round(samples[-1][1], 1),
        "rss_samples_mb": [round(r, 1) for _, r in samples],
        "events_total_frames": state.counters.frames_run,
        "events_held": len(state.events), "events_cap": state.events.maxlen, "max_events_in_snapshot": max_events,
        "gate_rows_max": max(gate_rows.values()) if gate_rows else 0,
        "gate_capacity": max((b.capacity for b in state.gates.values()), default=0),
        "waveform_samples": len(state.waveform), "waveform_capacity": state.waveform.capacity,
        "decoder_buffered_frames": dec.buffered_frames if dec is not None else 0,
        "decoder_rejected_held": len(dec.rejected) if dec is not None else 0,
    }
    out["rss_growth_mb"] = round(out["rss_end_mb"] - out["rss_start_mb"], 1)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--model", type=Path, default=ROOT / "assets" / "models" / "digits-en")
    ap.add_argument("--block-ms", type=float, default=20.0)
    args = ap.parse_args(argv)
    r = run(args.minutes, args.model, args.block_ms)
    print(json.dumps(r, indent=1))
    print(f"RSS start {r['rss_start_mb']} MB (after the first simulated minute), end {r['rss_end_mb']} MB, "
          f"growth {r['rss_growth_mb']} MB over {args.minutes:g} simulated minutes in {r['wall_s']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
