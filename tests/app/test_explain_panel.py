"""Clicking a recognised word in the transcript marks its span on the gate heatmaps, and its explanation is
computed on a worker thread (never the GUI thread) and drawn; the top units go to the unit lines in one click;
the PNG and trace exports write files."""
from __future__ import annotations

import os
import threading

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("pytestqt")

from desktop_fixtures import untrained_model  # noqa: E402
from PySide6.QtCore import QSettings, Qt  # noqa: E402
from testdata import synth_word  # noqa: E402

import recognizers.insight.explain as explain_module  # noqa: E402
from desktop_app.live_state import LiveState  # noqa: E402
from desktop_app.main_window import MainWindow  # noqa: E402
from recognizers.events import RecognitionEvent  # noqa: E402

RATE = 16000


@pytest.fixture
def window(qtbot, tmp_path):
    models = tmp_path / "models"
    untrained_model(models / "speech-small", "speech", hidden=12)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(settings=settings, model_roots=[models], mode="speech")
    qtbot.addWidget(w)
    w.show()
    assert w.models["speech"] is not None
    return w


def live_state_with_a_word(w) -> RecognitionEvent:
    """What a stream leaves behind: 2 s of audio in the ring buffer and one recognised word."""
    w.stop_stream()
    arch = w.models["speech"].network.arch
    state = LiveState(w.models["speech"].labels, 100.0, 6.0, sample_rate_hz=RATE, feature_size=arch.input_size,
                      num_layers=arch.num_layers, units=arch.hidden_size)
    rng = np.random.default_rng(0)
    word = synth_word("one", "ann", rng, rate=RATE)
    audio = np.concatenate([0.001 * rng.standard_normal(RATE // 2).astype(np.float32), word,
                            np.zeros(RATE // 2, np.float32)])
    state.add_audio(audio)
    for k in range(arch.num_layers):      # some gate rows, so the export has a trace to write
        for g in "ifgoch":
            state.gates[f"layer{k}_{g}"].extend(rng.random((150, arch.hidden_size)).astype(np.float32))
    state.features.extend(rng.standard_normal((150, arch.input_size)).astype(np.float32))
    event = RecognitionEvent("1", 0.5, 0.5 + word.size / RATE, 0.9)
    state.add_events([event])
    w.state = state
    w.transcript.update_from(state.snapshot(0))
    return event


def test_clicking_a_transcript_entry_marks_heatmaps_and_explains_off_the_gui_thread(window, qtbot, monkeypatch):
    w = window
    event = live_state_with_a_word(w)
    threads = []
    original = explain_module.explain_input

    def recording(*args, **kwargs):
        threads.append(threading.current_thread())
        return original(*args, **kwargs)
    monkeypatch.setattr(explain_module, "explain_input", recording)
    item = w.transcript.list.item(0)
    rect = w.transcript.list.visualItemRect(item)
    with qtbot.waitSignal(w.insight.panel.units_list.model().rowsInserted, timeout=60_000):
        qtbot.mouseClick(w.transcript.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        assert w.heatmaps.marked_span == pytest.approx((event.start_s, event.end_s))
        assert all(r.isVisible() for r in w.heatmaps.marks.values())
    assert threads and threads[0] is not threading.main_thread()
    e = w.insight.panel.explanation
    assert e is not None and e.completeness_error < 0.02
    assert w.insight.dock.isVisible()
    top = list(w.insight.panel.units)
    assert len(top) == 8
    w.insight.panel.add_button.click()
    assert set(top) <= set(w.unit_lines.units)


def test_exports_write_a_png_and_a_trace(window, tmp_path):
    w = window
    live_state_with_a_word(w)
    png, npz = tmp_path / "view.png", tmp_path / "trace.npz"
    assert w.insight.export_png(str(png)) and png.stat().st_size > 1000
    assert w.insight.export_trace(str(npz))
    z = np.load(npz)
    arch = w.models["speech"].network.arch
    assert z["layer1_h"].shape == (150, arch.hidden_size) and z["input"].shape == (150, arch.input_size)
    assert z["probabilities"].shape == (150, len(w.models["speech"].labels))
    assert np.allclose(z["probabilities"].sum(1), 1, atol=1e-4)
