"""Run by test_late_audio_server.py in a fresh process whose PULSE_SERVER names a socket no server listens
on yet: Qt's first look finds no audio server. The app prints READY, then waits for GO_FILE (the test starts a
private PulseAudio server and creates it), lets the app's periodic rescan find the server, plays a file into
its virtual microphone and prints what the app heard as JSON.

usage: python desktop_late_server_app.py WAV SETTINGS_INI GO_FILE
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
    wav, settings_path, go_file = sys.argv[1:4]
    app = QApplication([])
    from desktop_app import sources as src
    from desktop_app.main_window import RESCAN_S, MainWindow
    w = MainWindow(settings=QSettings(settings_path, QSettings.Format.IniFormat), mode="speech")
    w.show()
    result = {"notice_before": w.notice_label.text(),
              "devices_before": [w.source_box.itemText(i) for i in range(w.source_box.count())]}
    print("READY", flush=True)
    process_events_until(app, 60, lambda: os.path.exists(go_file))
    t0 = time.monotonic()
    found = process_events_until(app, RESCAN_S + 10, lambda: isinstance(w.source, src.LateServerMicrophone) and
                                 w.last_snapshot is not None and w.last_snapshot.counters.blocks_received > 10)
    result.update(found=found, found_after_s=round(time.monotonic() - t0, 1), notice_after=w.notice_label.text(),
                  devices_after=[w.source_box.itemText(i) for i in range(w.source_box.count())],
                  source=w.source.label if w.source else None)
    if found:
        quiet = w.waveform.level_db            # the server's microphone, before anything is played
        levels = []
        player = subprocess.Popen(["paplay", "-d", "vsink", wav], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t_play = time.monotonic()
        while time.monotonic() - t_play < 10 and (player.poll() is None or time.monotonic() - t_play < 2):
            process_events_until(app, 0.05)
            levels.append(w.waveform.level_db)
        player.wait(timeout=10)
        s = w.last_snapshot
        result.update(level_before_db=quiet, max_level_db=max(levels), blocks=s.counters.blocks_received,
                      dropped=s.counters.dropped_audio_blocks, frames_run=s.counters.frames_run)
    result["errors"] = w.errors
    result["remembered_kind"] = w.settings.value("speech/source_kind")
    w.close()
    print("RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
