"""Run by test_device_loss.py in a fresh process whose environment points at a private PulseAudio server
(Qt must find the server the first time it looks). Opens the app offscreen on the virtual microphone,
makes the microphone disappear, checks the window says so, brings it back and checks capture resumes.

usage: python desktop_device_loss_app.py MODE SETTINGS_INI MIC_NAME SERVER_JSON
MODE "unload": ``pactl unload-module`` the remap source, then load it again (a USB microphone unplugged
and plugged back). MODE "restart": kill -9 the audio server, then start a new one (an audio server
restart). SERVER_JSON: {"pid": ..., "argv": [...], "log": ...} of the running server.
Prints ``RESULT {json}``; pids of processes it started are in "started_pids".
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

import torch  # noqa: E402,F401  (before PySide6, as the app does)
from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from desktop_app.event_loop import process_events_until  # noqa: E402

REMAP = ["module-remap-source", "source_name=vmic", "master=vsink.monitor",
         "source_properties=device.description=VirtualMic"]




def keep_alive() -> subprocess.Popen:
    return subprocess.Popen(["pacat", "-p", "-d", "vsink", "--latency-msec=20", "--raw", "--format=s16le",
                             "--rate=48000", "--channels=1", "/dev/zero"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> int:
    mode, settings_path, mic, server_json = sys.argv[1:5]
    server = json.loads(server_json)
    app = QApplication([])
    from desktop_app.main_window import MainWindow
    w = MainWindow(settings=QSettings(settings_path, QSettings.Format.IniFormat),
                   model_roots=[Path(settings_path).parent / "no-models"], mode="speech")
    w.show()
    r: dict = {"mode": mode, "started_pids": []}

    def blocks() -> int:
        return w.state.counters.blocks_received if w.state is not None else 0

    r["started"] = w.use_device(mic)
    source = w.source
    r["capturing"] = process_events_until(app, 15, lambda: blocks() > 25)
    r["blocks_before_loss"] = blocks()
    t_loss = time.monotonic()
    if mode == "unload":
        mods = subprocess.run(["pactl", "list", "short", "modules"], capture_output=True, text=True).stdout
        mid = next(line.split()[0] for line in mods.splitlines() if "module-remap-source" in line)
        subprocess.run(["pactl", "unload-module", mid], check=True)
    else:
        os.kill(server["pid"], signal.SIGKILL)
    r["reported"] = process_events_until(app, 15, lambda: bool(source.lost_reason) and "lost" in w.error_label.text())
    r["report_s"] = round(time.monotonic() - t_loss, 2)
    r["lost_text"] = w.error_label.text()
    r["error_visible"] = w.error_label.isVisible()
    process_events_until(app, 2.5)      # stays lost while the device is away
    r["still_lost"] = bool(source.lost_reason)
    r["blocks_while_lost"] = blocks()
    t_back = time.monotonic()
    if mode == "unload":
        subprocess.run(["pactl", "load-module", *REMAP], check=True, capture_output=True)
    else:
        log = open(server["log"], "a")
        proc = subprocess.Popen(server["argv"], stdout=log, stderr=log)
        r["started_pids"].append(proc.pid)
        deadline = time.monotonic() + 15
        while subprocess.run(["pactl", "info"], capture_output=True).returncode != 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        r["server_back"] = subprocess.run(["pactl", "info"], capture_output=True).returncode == 0
        subprocess.run(["pactl", "set-default-sink", "vsink"])
        subprocess.run(["pactl", "set-default-source", "vmic"])
        r["started_pids"].append(keep_alive().pid)
    r["recovered"] = process_events_until(app, 12, lambda: not source.lost_reason)
    r["recover_s"] = round(time.monotonic() - t_back, 2)
    n0 = blocks()
    r["capturing_again"] = r["recovered"] and process_events_until(app, 10, lambda: blocks() > n0 + 25)
    r["blocks_after"] = blocks()
    r["blocks_new"] = blocks() - n0
    r["same_source"] = w.source is source
    r["error_after"] = w.error_label.text() if w.error_label.isVisible() else ""
    r["notice_after"] = w.notice_label.text()
    r["losses"], r["recoveries"] = source.supervisor.losses, source.supervisor.recoveries
    r["errors"] = w.errors
    w.close()
    print("RESULT " + json.dumps(r), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
