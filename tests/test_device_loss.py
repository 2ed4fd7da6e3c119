"""A microphone that disappears mid-stream is reported in the window and capture resumes when it comes
back (issue 8), through a private PulseAudio server (../shared/IO.md) with the app in a subprocess:

- ``restart``: the audio server is killed with SIGKILL and a new one started (audio server restart).

``unload`` (``pactl unload-module`` of the remap source, then load it again) is not tested: PulseAudio
moves the stream to the fallback source (the sink's monitor) and Qt 6.11 neither reports an error nor drops
the device from ``QMediaDevices.audioInputs()`` (measured: data keeps coming, the list still holds "vmic"
8 s later), so the app has nothing to notice. The supervisor does act on the list when Qt updates it.
See the README, "Reliability and security".
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
TOOLS = ("pulseaudio", "pactl", "pacat", "parec")
pytestmark = pytest.mark.slow


def _server_argv(tmp_path: Path) -> list[str]:
    return ["pulseaudio", "--daemonize=no", "-n", "--exit-idle-time=-1", "--disallow-exit",
            f"--log-target=file:{tmp_path / 'pulse-server.log'}", "--load=module-native-protocol-unix",
            "--load=module-null-sink sink_name=vsink rate=48000 sink_properties=device.description=VirtualSink",
            "--load=module-remap-source source_name=vmic master=vsink.monitor "
            "source_properties=device.description=VirtualMic",
            "--load=module-always-sink"]


@pytest.fixture
def pulse(tmp_path):
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        pytest.skip(f"needs PulseAudio tools ({', '.join(missing)} not installed: apt install pulseaudio pulseaudio-utils)")
    run, home = tmp_path / "run", tmp_path / "home"
    run.mkdir(mode=0o700)
    home.mkdir()
    env = dict(os.environ, XDG_RUNTIME_DIR=str(run), PULSE_SERVER=f"unix:{run}/pulse/native", HOME=str(home))
    env.pop("DISPLAY", None)
    log = open(tmp_path / "pulse.log", "w")
    server = subprocess.Popen(_server_argv(tmp_path), env=env, stdout=log, stderr=log)
    # Reap the server as soon as the app script kills it: a killed child left a zombie keeps its pid "alive",
    # and the new server then refuses to start ("pid.c: Daemon already running").
    threading.Thread(target=server.wait, name="reap-pulseaudio", daemon=True).start()
    pids = []
    try:
        deadline = time.monotonic() + 15
        while subprocess.run(["pactl", "info"], env=env, capture_output=True).returncode != 0:
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.skip(f"PulseAudio did not start here: {(tmp_path / 'pulse-server.log').read_text()[-400:]}")
            time.sleep(0.05)
        subprocess.run(["pactl", "set-default-sink", "vsink"], env=env, check=True)
        subprocess.run(["pactl", "set-default-source", "vmic"], env=env, check=True)
        pids.append(subprocess.Popen(["pacat", "-p", "-d", "vsink", "--latency-msec=20", "--raw", "--format=s16le",
                                      "--rate=48000", "--channels=1", "/dev/zero"],
                                     env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).pid)
        rec = subprocess.Popen(["parec", "-d", "vmic", "--raw", "--rate=16000", "--channels=1", "--format=s16le",
                                "--latency-msec=20"], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        rec.stdout.read(320)
        rec.kill()
        rec.wait()
        yield env, server, pids
    finally:
        for pid in pids:        # helpers, and what the app script started (by pid, never by name)
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        server.terminate()
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def _run_app(pulse, tmp_path: Path, mode: str) -> dict:
    env, server, pids = pulse
    server_json = json.dumps({"pid": server.pid, "argv": _server_argv(tmp_path), "log": str(tmp_path / "pulse.log")})
    out = subprocess.run([sys.executable, str(HERE / "desktop_device_loss_app.py"), mode,
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
