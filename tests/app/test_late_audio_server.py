"""Issue 16, item 2, end to end: an audio server started after the app is found and its microphone heard.

Qt looks for an audio server once, at start-up; the app then records a late server's default microphone
through PortAudio (``sources.LateServerMicrophone``). The app runs in a subprocess (Qt must meet *no* server on
its first look), a private PulseAudio server with a virtual microphone is started after the app said it was
ready, and speech played into that microphone must reach the app's level meter and decoder."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from pulse_server import private_pulse_server

HELPERS = Path(__file__).resolve().parents[1] / "helpers"
pytestmark = pytest.mark.slow


def test_a_server_started_after_the_app_is_found_and_heard(tmp_path):
    import soundfile as sf
    try:
        import sounddevice  # noqa: F401  (PortAudio: libportaudio2)
    except OSError as exc:
        pytest.skip(f"PortAudio is not installed ({exc}): apt install libportaudio2 libasound2-plugins")
    rate = 16000
    t = np.arange(int(1.5 * rate)) / rate
    tone = (0.3 * np.sin(2 * np.pi * 440 * t) * np.hanning(t.size)).astype(np.float32)
    wav = tmp_path / "tone.wav"
    sf.write(str(wav), np.concatenate([np.zeros(rate // 4, np.float32), tone]), rate)
    srv = tmp_path / "srv"
    srv.mkdir()
    xdg = tmp_path / "xdg"
    xdg.mkdir(mode=0o700)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_RUNTIME_DIR=str(xdg), HOME=str(tmp_path),
               PULSE_SERVER=f"unix:{srv}/run/pulse/native")        # no server there yet
    env.pop("DISPLAY", None)
    go = tmp_path / "go"
    app = subprocess.Popen([sys.executable, str(HELPERS / "apps" / "desktop_late_server_app.py"), str(wav),
                            str(tmp_path / "settings.ini"), str(go)], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    try:
        line = app.stdout.readline()
        assert line.startswith("READY"), f"the app did not start: {line!r} {app.stderr.read()[-2000:]}"
        with private_pulse_server(srv) as (server_env, _server, _pids):
            assert server_env["PULSE_SERVER"] == env["PULSE_SERVER"]
            go.touch()
            out, err = app.communicate(timeout=90)
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
    lines = [ln for ln in out.splitlines() if ln.startswith("RESULT ")]
    assert lines, f"the app did not report (rc {app.returncode}): {err[-2000:]}"
    r = json.loads(lines[-1][len("RESULT "):])
    assert "no audio server" in r["notice_before"], r
    assert r["found"], r
    assert r["source"] and "started after the app" in r["source"], r
    assert r["max_level_db"] > r["level_before_db"] + 20 and r["max_level_db"] > -30, r    # the tone was heard
    assert r["blocks"] > 50 and r["frames_run"] > 0 and r["errors"] == [], r
    assert r["remembered_kind"] in (None, "", "none"), r      # not remembered: next start, Qt lists the inputs
