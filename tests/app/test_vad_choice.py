"""The app's VAD setting (QSettings key ``speech/vad``) reaches the decoder the live pipeline makes; a model on the
speech embedding (no log-mel frames) is refused our detector in one clear line, and the window then uses silero."""
from __future__ import annotations

import pytest
from testdata import ASSETS

from desktop_app.inference_worker import make_pipeline
from desktop_app.live_state import LiveState
from recognizers.decoders.silero_vad import SileroVoiceDetector
from recognizers.decoders.vad import VoiceActivityDetector
from recognizers.errors import VaultError


@pytest.mark.parametrize("vad, kind", [("silero", SileroVoiceDetector), ("ours", VoiceActivityDetector)])
def test_pipeline_uses_the_chosen_detector(vad, kind, tiny_speech_model):
    from recognizers.model_files import load_model
    model = load_model(tiny_speech_model, task="speech")          # a log-mel model: both detectors can read it
    pipeline, _ = make_pipeline("speech", LiveState(model.labels, 100.0, 5.0), model, "cpu", vad=vad)
    assert isinstance(pipeline.decoder.vad, kind)


def test_an_embedding_model_refuses_our_detector_and_the_window_falls_back(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from desktop_app.main_window import MainWindow
    from recognizers.model_files import load_model
    path = ASSETS / "digits-en"
    if not (path / "model.json").is_file():
        pytest.skip("assets/models/digits-en is absent")
    model = load_model(path, task="speech")
    if model.frontend_config.get("type") != "speech-embedding":
        pytest.skip("the shipped digits-en does not read the speech embedding")
    with pytest.raises(VaultError, match="log-mel frames"):
        make_pipeline("speech", LiveState(model.labels, 100.0, 5.0), model, "cpu", vad="ours")
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("speech/vad", "ours")
    w = MainWindow(settings=settings, model_roots=[ASSETS])
    qtbot.addWidget(w)
    assert w.mode == "speech"
    state, pipeline, _ = w._make_pipeline(model, None)          # the source matters in gesture mode only
    assert isinstance(pipeline.decoder.vad, SileroVoiceDetector)
    assert state.frame_rate_hz == pytest.approx(12.5)
