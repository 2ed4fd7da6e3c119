"""The app_* bench keys are registered, have targets, and are left out with a note when tools are missing."""
from __future__ import annotations

from recognizers.bench import app as app_bench
from recognizers.bench import engine


def test_app_keys_are_registered_with_targets():
    for key in ("app_cpu_idle", "app_cpu_speech", "app_cpu_gesture", "app_dropped_blocks_while_training"):
        assert key in engine.ALL_KEYS and key in engine.TARGETS and key in engine.UNITS


def test_missing_tools_leave_the_keys_out_with_a_note(monkeypatch):
    monkeypatch.setattr(app_bench.shutil, "which", lambda _name: None)
    b = engine.Bench()
    app_bench.bench_app(b)
    assert not any(k.startswith("app_cpu") for k in b.results)
    assert b.notes and "missing" in b.notes[0] and "Xvfb" in b.notes[0]
