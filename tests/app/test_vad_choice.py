"""The app's VAD setting (QSettings key ``speech/vad``) reaches the decoder the live pipeline makes."""
from __future__ import annotations

import pytest
from testdata import ASSETS

from desktop_app.inference_worker import make_pipeline
from desktop_app.live_state import LiveState
from recognizers.decoders.silero_vad import SileroVoiceDetector
from recognizers.decoders.vad import VoiceActivityDetector


@pytest.mark.parametrize("vad, kind", [("silero", SileroVoiceDetector), ("ours", VoiceActivityDetector)])
def test_pipeline_uses_the_chosen_detector(vad, kind):
    from recognizers.model_files import load_model
    path = ASSETS / "digits-en"
    if not (path / "model.json").is_file():
        pytest.skip("assets/models/digits-en is absent")
    model = load_model(path, task="speech")
    pipeline, _ = make_pipeline("speech", LiveState(model.labels, 100.0, 5.0), model, "cpu", vad=vad)
    assert isinstance(pipeline.decoder.vad, kind)
