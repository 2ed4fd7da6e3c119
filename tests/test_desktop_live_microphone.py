"""End to end through a real audio server: a private PulseAudio with a virtual microphone (see
../shared/IO.md). Speech played into it with ``paplay`` must be heard by the app's real capture path
(Qt Multimedia) and recognised. The app runs in a subprocess so that Qt meets the server on its first
look, whatever other tests in this process did with audio before."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import shared_data
from desktop_fixtures import engine_transcript, trained_speech_model, untrained_model

HERE = Path(__file__).resolve().parent
TOOLS = ("pulseaudio", "pactl", "pacat", "parec", "paplay")
pytestmark = pytest.mark.slow


@pytest.fixture
def audio_server(tmp_path):
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        pytest.skip(f"needs PulseAudio tools ({', '.join(missing)} not installed: apt install pulseaudio pulseaudio-utils)")
    run = tmp_path / "run"
    home = tmp_path / "home"
    run.mkdir(mode=0o700)
    home.mkdir()
    env = dict(os.environ, XDG_RUNTIME_DIR=str(run), PULSE_SERVER=f"unix:{run}/pulse/native", HOME=str(home))
    env.pop("DISPLAY", None)
    log = open(tmp_path / "pulse.log", "w")
    server = subprocess.Popen(
        ["pulseaudio", "--daemonize=no", "-n", "--exit-idle-time=-1", "--disallow-exit",
         f"--log-target=file:{tmp_path / 'pulse-server.log'}", "--load=module-native-protocol-unix",
         "--load=module-null-sink sink_name=vsink rate=48000 sink_properties=device.description=VirtualSink",
         "--load=module-remap-source source_name=vmic master=vsink.monitor "
         "source_properties=device.description=VirtualMic",
         "--load=module-always-sink"], env=env, stdout=log, stderr=log)
    helpers = []
    try:
        deadline = time.monotonic() + 15
        while subprocess.run(["pactl", "info"], env=env, capture_output=True).returncode != 0:
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.skip(f"PulseAudio did not start here: {(tmp_path / 'pulse-server.log').read_text()[-400:]}")
            time.sleep(0.05)
        subprocess.run(["pactl", "set-default-sink", "vsink"], env=env, check=True)
        subprocess.run(["pactl", "set-default-source", "vmic"], env=env, check=True)
        # keep the null sink busy so capture runs at low latency, then warm the source up once
        helpers.append(subprocess.Popen(["pacat", "-p", "-d", "vsink", "--latency-msec=20", "--raw", "--format=s16le",
                                         "--rate=48000", "--channels=1", "/dev/zero"],
                                        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        rec = subprocess.Popen(["parec", "-d", "vmic", "--raw", "--rate=16000", "--channels=1", "--format=s16le",
                                "--latency-msec=20"], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        rec.stdout.read(320)
        rec.kill()
        rec.wait()
        yield env
    finally:
        for p in helpers + [server]:
            p.terminate()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
        log.close()


def test_app_hears_and_recognises_speech_from_a_virtual_microphone(audio_server, tmp_path):
    import soundfile as sf
    rec = shared_data("fsdd") / "recordings"
    parts = []
    for name in ("3_jackson_1.wav", "7_jackson_0.wav"):
        x, rate = sf.read(str(rec / name), dtype="float32")
        parts += [np.zeros(int(0.3 * rate), np.float32), x]
    wav = tmp_path / "speech.wav"
    sf.write(str(wav), np.concatenate(parts + [np.zeros(int(0.5 * rate), np.float32)]), rate)
    models = tmp_path / "models"
    models.mkdir()
    trained = trained_speech_model()
    if trained is not None:
        (models / "digits").symlink_to(trained.resolve())
    else:
        untrained_model(models / "digits-untrained", "speech")
    env = dict(audio_server, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, str(HERE / "desktop_live_microphone_app.py"), str(wav), str(models),
                          str(tmp_path / "settings.ini"), "VirtualMic"],
                         env=env, capture_output=True, text=True, timeout=120)
    lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, f"the app did not report (rc {out.returncode}): {out.stderr[-2000:]}"
    r = json.loads(lines[-1][len("RESULT "):])
    assert any("VirtualMic" in d for d in r["devices"]), r["devices"]
    assert r["started"] and r["is_live"] and r["source"] == "VirtualMic", r
    assert r["capturing_before_play"], r
    assert r["blocks"] > 50 and r["frames_run"] > 0, r
    assert r["max_level_db"] > -35, r          # the level meter saw the speech
    assert r["errors"] == [], r["errors"]
    # live capture is not sample-exact, so ask for at least one of the words the engine finds in the file
    expected = engine_transcript(next(models.iterdir()), wav)
    if expected:
        assert {e["label"] for e in r["events"]} & set(expected), (r["events"], expected)
