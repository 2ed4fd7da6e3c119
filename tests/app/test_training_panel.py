"""The Train tab, offscreen: a small model trained in the background from recorded takes (progress, live
curves, confusion matrix on a speaker-grouped validation split), the same weights as ``lstm-vault train``
with the same data, settings and seed, one click to use it live; cancel leaves nothing; errors show."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("pytestqt")

from desktop_fixtures import untrained_model  # noqa: E402
from PySide6.QtCore import QSettings, QTimer  # noqa: E402
from testdata import SYNTH_LABELS, synth_word  # noqa: E402

from desktop_app.main_window import MainWindow  # noqa: E402
from desktop_app.training_panel import equivalent_command  # noqa: E402
from recognizers.data import recorder as rec  # noqa: E402

RATE = 16000
SPEAKERS = ("ann", "bob", "cat", "dan")
TRAIN_ARGS = dict(epochs=3, patience=10, hidden=16, layers=1, batch=16, seed=5, threads=1)


@pytest.fixture(scope="session")
def recorded_dataset(tmp_path_factory) -> Path:
    """Takes recorded by the engine's RecordingSession from synthetic streams (word, pause, word, …):
    3 labels × 4 speakers × 5 takes, trimmed and written exactly as the app records them."""
    root = tmp_path_factory.mktemp("recorded") / "data"
    rng = np.random.default_rng(1)
    for label in SYNTH_LABELS:
        for spk in SPEAKERS:
            saver = rec.BackgroundSaver(rec.DatasetWriter(root))
            session = rec.RecordingSession(rec.RecordingSettings("speech", label, spk, n_takes=5, take_s=1.0,
                                                                 countdown_s=0.2), RATE, saver.submit)
            while not session.done:
                w = synth_word(label, spk, rng)
                pad = int(0.3 * RATE)
                session.push_audio(np.concatenate([np.zeros(pad, np.float32), w,
                                                   np.zeros(RATE - pad - w.size + int(0.2 * RATE), np.float32)]))
            saver.close()
            assert all(o.saved for o in saver.outcomes())
    return root


@pytest.fixture
def window(qtbot, tmp_path, tmp_path_factory):
    models = tmp_path_factory.mktemp("train-models")
    untrained_model(models / "speech-small", "speech", hidden=8)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(settings=settings, model_roots=[models], mode="speech")
    qtbot.addWidget(w)
    w.show()
    w.tools_button.setChecked(True)
    return w


def set_params(panel, epochs, patience, hidden, layers, batch, seed, threads):
    panel.epochs_spin.setValue(epochs)
    panel.patience_spin.setValue(patience)
    panel.hidden_spin.setValue(hidden)
    panel.layers_spin.setValue(layers)
    panel.batch_spin.setValue(batch)
    panel.seed_spin.setValue(seed)
    panel.threads_spin.setValue(threads)


def tensors(folder: Path) -> dict:
    from safetensors.numpy import load_file
    return load_file(str(folder / "model.safetensors"))


def test_train_in_the_app_matches_the_cli_and_goes_live(window, qtbot, tmp_path, recorded_dataset):
    w = window
    w.dataset_dock.set_dataset(recorded_dataset)
    panel = w.dataset_dock.training
    w.dataset_dock.tabs.setCurrentWidget(panel)
    set_params(panel, **TRAIN_ARGS)
    out = tmp_path / "app-model"
    panel.out_edit.setText(str(out))
    assert "lstm-vault train --task speech" in panel.command_label.text()
    ticks = []                      # a 20 ms timer on the GUI thread keeps firing while training runs
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(panel.running))
    timer.start(20)
    assert panel.start()
    assert panel.running and not panel.train_button.isEnabled() and panel.cancel_button.isEnabled()
    with qtbot.waitSignal(panel.model_ready, timeout=120_000):
        pass
    qtbot.waitUntil(lambda: not panel.running, timeout=10_000)
    timer.stop()
    assert sum(ticks) >= 10, f"the event loop stalled during training ({sum(ticks)} ticks)"
    assert (out / "model.safetensors").is_file() and panel.use_button.isEnabled()
    assert panel.progress.value() == 1000 and len(panel.history) == 3
    assert len(panel.curves["val_acc"].xData) == 3 and len(panel.curves["train_loss"].yData) == 3
    labels = panel.result["validation"]["labels"]
    assert labels == sorted(list(SYNTH_LABELS) + ["_unknown_"])
    assert panel.confusion.rowCount() == len(labels) and panel.confusion.columnCount() == len(labels) + 1
    accuracy_column = [panel.confusion.item(i, len(labels)).text() for i in range(len(labels))]
    assert all(a.endswith("%") or a == "—" for a in accuracy_column)
    assert "grouped by speaker/session" in panel.split_label.text()

    # the CLI, same data, settings and seed: the same weights
    from recognizers.cli.main import main
    cli_out = tmp_path / "cli-model"
    a = TRAIN_ARGS
    rc = main(["train", "--task", "speech", "--data", str(recorded_dataset), "--out", str(cli_out),
               "--epochs", str(a["epochs"]), "--patience", str(a["patience"]), "--hidden", str(a["hidden"]),
               "--layers", str(a["layers"]), "--batch-size", str(a["batch"]), "--seed", str(a["seed"]),
               "--threads", str(a["threads"]), "--device", "cpu"])
    assert rc == 0
    app_t, cli_t = tensors(out), tensors(cli_out)
    assert app_t.keys() == cli_t.keys()
    for k in app_t:
        assert np.array_equal(app_t[k], cli_t[k]), k

    # one click: the live recogniser, used on a recorded take
    panel.use_button.click()
    assert w.models["speech"].path == out and w.model_box.currentText() == "app-model"
    take = sorted((recorded_dataset / "up").glob("*.wav"))[0]
    assert w.use_file(take)
    qtbot.waitUntil(lambda: w.last_snapshot is not None and w.last_snapshot.probabilities is not None
                    and w.last_snapshot.counters.frames_run > 10, timeout=15_000)
    assert w.last_snapshot.labels == labels and w.errors == []


def test_cancel_stops_training_and_saves_nothing(window, qtbot, tmp_path, recorded_dataset):
    w = window
    w.dataset_dock.set_dataset(recorded_dataset)
    panel = w.dataset_dock.training
    set_params(panel, epochs=500, patience=500, hidden=16, layers=1, batch=4, seed=0, threads=1)
    out = tmp_path / "never"
    panel.out_edit.setText(str(out))
    assert panel.start()
    qtbot.waitUntil(lambda: panel.progress.value() > 0, timeout=60_000)      # batches are coming in
    assert "ETA" in panel.eta_label.text()
    panel.cancel_button.click()
    qtbot.waitUntil(lambda: not panel.running, timeout=30_000)
    assert panel.result is not None and panel.result["cancelled"]
    assert "cancelled" in panel.eta_label.text() and not out.exists() and not panel.use_button.isEnabled()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".never")]


def test_training_errors_are_shown_in_the_window(window, qtbot, tmp_path):
    w = window
    panel = w.dataset_dock.training
    assert not panel.start() and "needs a dataset" in w.error_label.text()
    empty = tmp_path / "no-takes"
    (empty / "yes").mkdir(parents=True)
    w.dataset_dock.set_dataset(empty)
    panel.epochs_spin.setValue(1)
    assert panel.start()
    qtbot.waitUntil(lambda: not panel.running, timeout=30_000)
    assert any(e.startswith("Training failed") and "no-takes" in e for e in w.errors), w.errors
    assert panel.train_button.isEnabled() and not panel.use_button.isEnabled()


def test_equivalent_command_names_every_setting(tmp_path):
    from recognizers.training.loop import TrainConfig
    cmd = equivalent_command("gesture", tmp_path / "my data", tmp_path / "m", TrainConfig(epochs=7, threads=2))
    assert "--task gesture" in cmd and "--epochs 7" in cmd and "--threads 2" in cmd and "'" in cmd
