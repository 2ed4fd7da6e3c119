"""End to end through a real audio server: a private PulseAudio with a virtual microphone (see
../shared/IO.md). Speech played into it with ``paplay`` must be heard by the app's real capture path
(Qt Multimedia) and recognised. The app runs in a subprocess so that Qt meets the server on its first
look, whatever other tests in this process did with audio before."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from desktop_fixtures import engine_transcript, trained_speech_model, untrained_model
from pulse_server import private_pulse_server
from testdata import shared_data

HERE = Path(__file__).resolve().parent
HELPERS = Path(__file__).resolve().parents[1] / "helpers"
pytestmark = pytest.mark.slow


@pytest.fixture
def audio_server(tmp_path):
    with private_pulse_server(tmp_path) as (env, _server, _pids):
        yield env


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
    out = subprocess.run([sys.executable, str(HELPERS / "apps" / "desktop_live_microphone_app.py"), str(wav), str(models),  # noqa: E501
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
