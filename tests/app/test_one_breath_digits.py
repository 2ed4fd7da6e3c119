"""Issue 16, item 8, as a user meets it: digits said in one breath, played into the app with the default
digit model, come out in the transcript (read by the connected-digit companion), exactly as the engine reads them."""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("pytestqt")

from desktop_fixtures import engine_transcript  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402
from testdata import REPO  # noqa: E402

from desktop_app.live_state import Counters, Snapshot  # noqa: E402
from desktop_app.main_window import MainWindow  # noqa: E402
from desktop_app.views.predictions_view import NO_WORD_HINT_WORDS, PredictionsView  # noqa: E402

DIGITS = REPO / "assets" / "models" / "digits-en"


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
@pytest.mark.skipif(not (DIGITS / "model.json").is_file(), reason="the shipped digits-en model is missing")
def test_digits_said_in_one_breath_appear_in_the_transcript(qtbot, tmp_path):
    wav = tmp_path / "one breath.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "three. seven. one. nine. five. two. eight.", "-w",
                    str(wav)], check=True, capture_output=True)
    w = MainWindow(settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat),
                   model_roots=[DIGITS.parent])
    qtbot.addWidget(w)
    w.show()
    assert w.load_model_folder(DIGITS)
    w.use_file(wav)
    qtbot.waitUntil(lambda: "played to its end" in w.notice_label.text(), timeout=30_000)
    expected = engine_transcript(DIGITS, wav)
    assert len(expected) >= 4, expected                  # the engine reads most of them ...
    qtbot.waitUntil(lambda: len(w.transcript.events) >= len(expected), timeout=5000)
    assert [e.label for e in w.transcript.events] == expected      # ... and the window shows exactly those
    assert w.errors == []


def test_the_no_word_hint_of_a_model_without_digits_does_not_offer_the_digit_model(qtbot):
    import numpy as np
    view = PredictionsView()
    qtbot.addWidget(view)
    labels = ["yes", "no", "up", "_unknown_"]
    for now_s, active in ((1.0, True), (2.5, True), (2.6, False)):
        view.update_from(Snapshot(now_s=now_s, frame_rate_hz=100.0, labels=labels, counters=Counters(),
                                  probabilities=np.array([0.1, 0.1, 0.1, 0.7], np.float32), events=[], active=active,
                                  gates={}, sample_rate_hz=16000))
    assert view.state == "no word" and view.headline.text() == NO_WORD_HINT_WORDS
    assert "digit" not in view.headline.text()
