"""Run by test_desktop_live_microphone.py in a fresh process whose environment points at a private
PulseAudio server (Qt must find the server the first time it looks). Opens the app offscreen, records from
the virtual microphone, plays a file into it, and prints what the app heard and recognised as JSON.

usage: python desktop_live_microphone_app.py WAV MODELS_ROOT SETTINGS_INI MIC_NAME
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from desktop_app.event_loop import process_events_until  # noqa: E402


def main() -> int:
    wav, models_root, settings_path, mic = sys.argv[1:5]
    app = QApplication([])
    from desktop_app.main_window import MainWindow
    w = MainWindow(settings=QSettings(settings_path, QSettings.Format.IniFormat), model_roots=[Path(models_root)],
                   mode="speech")
    w.show()
    devices = [w.source_box.itemText(i) for i in range(w.source_box.count())]
    result = {"devices": devices, "errors": []}
    ok = w.use_device(mic)
    result["started"] = ok
    if ok:
        capturing = process_events_until(app, 10, lambda: w.last_snapshot is not None and w.last_snapshot.counters.blocks_received > 10)  # noqa: E501
        result["capturing_before_play"] = capturing
        levels = []
        player = subprocess.Popen(["paplay", "-d", "vsink", wav], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t_play = time.monotonic()
        while time.monotonic() - t_play < 15:
            process_events_until(app, 0.05)
            levels.append(w.waveform.level_db)
            if player.poll() is not None and time.monotonic() - t_play > 1 and (
                    w.last_snapshot.events or time.monotonic() - player_end(player, t_play) > 2.5):
                break
        player.wait(timeout=10)
        s = w.last_snapshot
        result.update(blocks=s.counters.blocks_received, frames_run=s.counters.frames_run,
                      dropped=s.counters.dropped_audio_blocks, max_level_db=max(levels),
                      events=[e.to_json() for e in s.events], source=w.source.label if w.source else None,
                      is_live=bool(w.source and w.source.is_live))
    result["errors"] = w.errors
    w.close()
    print("RESULT " + json.dumps(result), flush=True)
    return 0


_ENDS: dict[int, float] = {}


def player_end(player: subprocess.Popen, t_play: float) -> float:
    """When paplay was first seen finished (to wait a little for the word detector after it)."""
    return _ENDS.setdefault(player.pid, time.monotonic())


if __name__ == "__main__":
    sys.exit(main())
