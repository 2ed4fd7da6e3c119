""""Adapt to my voice" in the Record tab, offscreen: from a file played as if live it records takes of every
label of the current model with the recorder's countdown and cue, adapts in the background with progress,
and offers the adapted model live; cancelling writes no model and gives the recorder back its dataset."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings  # noqa: E402
from testdata import synth_word, write_wav  # noqa: E402

from desktop_app.main_window import MainWindow  # noqa: E402

RATE = 16000


@pytest.fixture(scope="module")
def words_model(tmp_path_factory) -> Path:
    """An untrained two-word speech model (up, down, _unknown_): adaptation needs only its labels."""
    from recognizers.frontends.log_mel import LogMelConfig
    from recognizers.frontends.registry import frontend_feature_size
    from recognizers.model_files import save_model
    from recognizers.nn.classifier import Architecture, SequenceClassifier
    frontend = LogMelConfig().to_json()
    net = SequenceClassifier(Architecture(input_size=frontend_feature_size(frontend), hidden_size=8, num_layers=1,
                                          num_classes=3))
    root = tmp_path_factory.mktemp("adapt-models")
    return save_model(root / "updown", net, {"task": "speech", "labels": ["_unknown_", "down", "up"],
                                             "unknown_label": "_unknown_", "frontend": frontend})


@pytest.fixture(scope="module")
def word_stream(tmp_path_factory) -> Path:
    """30 s of synthetic words, one every 0.6 s (any 1 s take holds a word)."""
    rng = np.random.default_rng(5)
    parts = []
    for k in range(50):
        w = synth_word(("up", "down")[k % 2], "cat", rng)
        parts += [w, 0.002 * rng.standard_normal(int(0.6 * RATE) - w.size).astype(np.float32)]
    return write_wav(tmp_path_factory.mktemp("adapt-stream") / "words.wav", np.concatenate(parts))


@pytest.fixture
def window(qtbot, tmp_path, words_model):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(settings=settings, model_roots=[words_model.parent], mode="speech")
    qtbot.addWidget(w)
    w.show()
    w.tools_button.setChecked(True)
    assert w.load_model_folder(words_model)
    return w


def prepared_panel(w, qtbot, tmp_path, stream, takes=1):
    r = w.dataset_dock.recorder
    r.speaker_edit.setText("zoe")
    r.length_spin.setValue(1.0)
    r.countdown_spin.setValue(0.2)
    panel = r.adapt_panel
    panel.work_root = tmp_path / "adapt"
    panel.epochs = 2
    panel.takes_spin.setValue(takes)
    assert w.use_file(stream)
    qtbot.waitUntil(lambda: w.last_snapshot is not None and w.last_snapshot.counters.blocks_received > 5,
                    timeout=10_000)
    return r, panel


def test_adapt_to_my_voice_records_every_label_adapts_and_goes_live(window, qtbot, tmp_path, word_stream,
                                                                     words_model):
    w = window
    r, panel = prepared_panel(w, qtbot, tmp_path, word_stream, takes=2)
    cues, progress = set(), []
    r.timer.timeout.connect(lambda: cues.add(r.cue.text()))
    panel.progress.valueChanged.connect(progress.append)
    with qtbot.waitSignal(panel.adapted, timeout=60_000) as blocker:
        panel.start_button.click()
        assert panel.running and not panel.start_button.isEnabled() and panel.cancel_button.isEnabled()
    model_dir = Path(blocker.args[0])
    assert any("RECORDING" in c for c in cues) and any("get ready" in c for c in cues)
    assert progress and max(progress) == 100 and any(50 < p < 100 for p in progress)   # adaptation epochs shown
    takes = panel.takes_dir
    assert sorted(p.name for p in takes.iterdir()) == ["down", "up"]        # every label but _unknown_
    assert all(len(list((takes / lab).glob("zoe__*.wav"))) == 2 for lab in ("down", "up"))
    meta = json.loads((model_dir / "model.json").read_text())
    assert meta["adaptation"]["takes_per_label"] == {"down": 2, "up": 2}
    assert meta["adaptation"]["base_model"]["path"] == str(words_model)
    qtbot.waitUntil(lambda: not panel.running, timeout=10_000)
    assert panel.use_button.isEnabled() and not panel.cancel_button.isEnabled()
    assert r.dataset_root is not None and r.dataset_root() != str(takes)   # the recorder has its dataset back
    panel.use_button.click()
    assert Path(w.models["speech"].path) == model_dir
    assert w.errors == []


def test_cancel_while_recording_writes_no_model(window, qtbot, tmp_path, word_stream):
    w = window
    r, panel = prepared_panel(w, qtbot, tmp_path, word_stream)
    panel.start_button.click()
    qtbot.waitUntil(lambda: r.recording, timeout=5_000)
    panel.cancel_button.click()
    qtbot.waitUntil(lambda: not panel.running, timeout=10_000)
    assert panel.model_dir is None and not (panel.takes_dir.parent / "model").exists()
    assert "cancelled" in panel.status.text()
    assert panel.start_button.isEnabled() and not panel.use_button.isEnabled()
