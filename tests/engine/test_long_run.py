"""A long live run (issue 8), shortened: 5 simulated minutes of words and noise through the app's live
path (Transcriber in the app's LivePipeline filling the LiveState, a snapshot per redraw) as fast as possible.
Memory stays flat and every buffer stays at its cap (caps in the code: LiveState ring buffers and event
deque, Transcriber.rejected, the decoder's bounded frame buffers). scripts/long_run.py runs the full hour."""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))


def test_five_simulated_minutes_keep_memory_and_buffers_bounded(tmp_path):
    import long_run
    from desktop_fixtures import untrained_model
    model = untrained_model(tmp_path / "speech", "speech", hidden=32)
    r = long_run.run(5, model, block_ms=20, report=lambda _s: None)
    assert r["rss_growth_mb"] < 25, r            # after the first simulated minute (warm-up)
    assert r["gate_rows_max"] <= r["gate_capacity"] == 600, r
    assert r["waveform_samples"] <= r["waveform_capacity"], r
    assert r["events_held"] <= r["events_cap"] == 200, r
    assert r["max_events_in_snapshot"] <= 200, r
    assert r["decoder_buffered_frames"] < 1000 and r["decoder_rejected_held"] <= 64, r
