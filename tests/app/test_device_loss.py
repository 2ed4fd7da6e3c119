"""A microphone that disappears mid-stream is reported in the window and capture resumes when it comes
back (issue 8), through a private PulseAudio server (../shared/IO.md) with the app in a subprocess:

- ``restart``: the audio server is killed with SIGKILL and a new one started (audio server restart).

``unload`` (``pactl unload-module`` of the remap source, then load it again) is not tested: PulseAudio
moves the stream to the fallback source (the sink's monitor) and Qt 6.11 neither reports an error nor drops
the device from ``QMediaDevices.audioInputs()`` (measured: data keeps coming, the list still holds "vmic"
8 s later), so the app has nothing to notice. The supervisor does act on the list when Qt updates it.
See docs/reliability.md.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pulse_server import private_pulse_server, server_argv

HERE = Path(__file__).resolve().parent
HELPERS = Path(__file__).resolve().parents[1] / "helpers"
pytestmark = pytest.mark.slow


@pytest.fixture
def pulse(tmp_path):
    with private_pulse_server(tmp_path, reap=True) as handles:
        yield handles


def _run_app(pulse, tmp_path: Path, mode: str) -> dict:
    env, server, pids = pulse
    server_json = json.dumps({"pid": server.pid, "argv": server_argv(tmp_path), "log": str(tmp_path / "pulse.log")})
    out = subprocess.run([sys.executable, str(HELPERS / "apps" / "desktop_device_loss_app.py"), mode,
                          str(tmp_path / "settings.ini"), "VirtualMic", server_json],
                         env=dict(env, QT_QPA_PLATFORM="offscreen"), capture_output=True, text=True, timeout=150)
    lines = [x for x in out.stdout.splitlines() if x.startswith("RESULT ")]
    assert lines, f"the app did not report (rc {out.returncode}): {out.stderr[-3000:]}"
    r = json.loads(lines[-1][7:])
    pids.extend(r["started_pids"])
    return r


@pytest.mark.parametrize("mode", ["restart"])
def test_a_lost_microphone_is_reported_and_capture_resumes(pulse, tmp_path, mode):
    r = _run_app(pulse, tmp_path, mode)
    assert r["started"] and r["capturing"], r
    assert r["reported"] and r["error_visible"], json.dumps(r)
    assert "VirtualMic: microphone lost" in r["lost_text"] and "waiting for it to come back" in r["lost_text"], r
    assert r["still_lost"], r
    assert r["server_back"], r
    # Qt 6.11 cannot reopen after a server restart in the same process, so the app reopens through
    # PortAudio (sounddevice + libportaudio2); without it the microphone stays lost.
    try:
        import sounddevice  # noqa: F401
    except (ImportError, OSError) as exc:
        pytest.skip(f"reopening after an audio server restart needs sounddevice and libportaudio2: {exc}")
    assert r["recovered"], r
    assert r["capturing_again"] and r["blocks_new"] > 25, r
    assert r["same_source"] and r["losses"] == 1 and r["recoveries"] == 1, r
    assert r["error_after"] == "" and "VirtualMic: microphone is back" in r["notice_after"], r
