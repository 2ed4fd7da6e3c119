"""The Record and Dataset tabs, offscreen: takes recorded from a file played as if live land in the
dataset with the right names, format and counts; errors (full disk, unwritable folder, no source) show in
the window and keep earlier takes; the dataset view deletes, relabels and imports."""
from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("pytestqt")

from desktop_fixtures import untrained_model  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402
from testdata import SHARED_DATA, synth_word, write_wav  # noqa: E402

from desktop_app.main_window import MainWindow  # noqa: E402
from recognizers.data import recorder as rec  # noqa: E402
from recognizers.data.datasets import scan_dataset  # noqa: E402
from recognizers.data.landmark_files import load_landmark_file  # noqa: E402

RATE = 16000


@pytest.fixture(scope="session")
def small_models(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("rec-models")
    untrained_model(root / "speech-small", "speech", hidden=8)
    untrained_model(root / "gesture-small", "gesture", hidden=8)
    return root


@pytest.fixture
def window(qtbot, tmp_path, small_models):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(settings=settings, model_roots=[small_models], mode="speech")
    qtbot.addWidget(w)
    w.show()
    w.tools_button.setChecked(True)
    return w


@pytest.fixture(scope="session")
def word_stream(tmp_path_factory) -> Path:
    """12 s of synthetic words, one every 0.6 s (any 1 s take holds a word)."""
    rng = np.random.default_rng(4)
    parts = []
    for k in range(20):
        w = synth_word(("up", "down")[k % 2], "ann", rng)
        parts += [w, 0.002 * rng.standard_normal(int(0.6 * RATE) - w.size).astype(np.float32)]
    return write_wav(tmp_path_factory.mktemp("stream") / "words.wav", np.concatenate(parts))


def setup_recorder(w, data: Path, label="up", speaker="ann", takes=2, length=1.0, countdown=0.3):
    dock = w.dataset_dock
    dock.set_dataset(data)
    r = dock.recorder
    r.label_box.setEditText(label)
    r.speaker_edit.setText(speaker)
    r.takes_spin.setValue(takes)
    r.length_spin.setValue(length)
    r.countdown_spin.setValue(countdown)
    return r


def start_playing(w, qtbot, path) -> None:
    assert w.use_file(path)
    qtbot.waitUntil(lambda: w.last_snapshot is not None and w.last_snapshot.counters.blocks_received > 5,
                    timeout=10_000)


def test_record_a_run_of_speech_takes_from_a_file_source(window, qtbot, tmp_path, word_stream):
    w = window
    data = tmp_path / "my data"
    r = setup_recorder(w, data)
    start_playing(w, qtbot, word_stream)
    cues = set()
    r.timer.timeout.connect(lambda: cues.add(r.cue.text().split(":")[0]))
    r.record_button.click()
    assert r.recording and not r.record_button.isEnabled()
    qtbot.waitUntil(lambda: not r.recording, timeout=15_000)
    assert any("get ready" in c or c.startswith("Take") for c in cues)          # the countdown was shown
    assert any("RECORDING" in c for c in cues)                                 # and the recording cue
    assert r.cue.text().startswith("Done: 2 takes saved")
    files = sorted((data / "up").glob("*.wav"))
    assert len(files) == 2 and all(f.name.startswith("ann__") for f in files)
    for f in files:
        info = sf.info(str(f))
        assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
        assert 0.2 < info.duration <= 1.0 + 1e-6
    assert [(e.label, e.group) for e in scan_dataset(data, (".wav",))] == [("up", "ann")] * 2
    view = w.dataset_dock.dataset_view
    assert view.counts() == {"up": 2}
    top = view.tree.topLevelItem(0)
    assert (top.text(0), top.text(1), top.childCount()) == ("up", "2", 2)
    assert w.errors == [] and w.worker.pipeline.tap is None       # the tap is gone when the run ends
    # one more take under another label, with the one-take button
    r.label_box.setEditText("down")
    r.one_button.click()
    qtbot.waitUntil(lambda: not r.recording, timeout=10_000)
    assert view.counts() == {"up": 2, "down": 1}


def test_full_disk_is_shown_in_the_window_and_earlier_takes_are_kept(window, qtbot, tmp_path, word_stream,
                                                                     monkeypatch):
    w = window
    data = tmp_path / "data"
    r = setup_recorder(w, data, takes=3, length=0.8, countdown=0.0)
    real_replace, calls = os.replace, []

    def replace_then_disk_full(a, b):
        calls.append(b)
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_replace(a, b)
    monkeypatch.setattr(rec.os, "replace", replace_then_disk_full)
    start_playing(w, qtbot, word_stream)
    assert r.start()
    qtbot.waitUntil(lambda: not r.recording, timeout=15_000)
    assert any("disk is full" in e and "Earlier takes are kept" in e for e in w.errors)
    assert "disk is full" in w.error_label.text() and w.error_label.isVisible()
    assert len(list((data / "up").glob("*.wav"))) == 1
    assert not [p for p in (data / "up").iterdir() if p.name.startswith(".")]


def test_unwritable_folder_and_missing_source_are_reported(window, qtbot, tmp_path, word_stream):
    w = window
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    r = setup_recorder(w, blocker / "data")
    assert not r.start()                              # no source playing yet
    assert "Choose a source first" in w.error_label.text()
    start_playing(w, qtbot, word_stream)
    assert not r.start()
    assert "cannot record into" in w.error_label.text() and not r.recording
    r.speaker_edit.setText("two words")
    w.dataset_dock.set_dataset(tmp_path / "ok")
    assert not r.start() and "letters, digits" in w.error_label.text()


def test_dataset_view_previews_deletes_relabels_and_imports(window, qtbot, tmp_path):
    w = window
    data = tmp_path / "data"
    rng = np.random.default_rng(0)
    for k, (label, spk) in enumerate([("up", "ann"), ("up", "bob"), ("down", "ann")]):
        write_wav(data / label / f"{spk}__{k}.wav", synth_word(label, spk, rng))
    w.dataset_dock.set_dataset(data)
    view = w.dataset_dock.dataset_view
    assert view.counts() == {"down": 1, "up": 2}
    assert "3 takes in 2 labels" in view.totals_label.text()
    assert view.select_path(data / "up" / "bob__1.wav")
    assert view.preview_curves[0].xData is not None and len(view.preview_curves[0].xData) > 100
    assert view.show_selected_live() and w.source_spec == ("file", str(data / "up" / "bob__1.wav"))
    view.relabel_paths(view.selected_paths(), "down")
    assert view.counts() == {"down": 2, "up": 1}
    view.delete_paths([data / "up" / "ann__0.wav"])
    assert view.counts() == {"down": 2, "up": 0}
    src = tmp_path / "elsewhere"
    write_wav(src / "7_zoe_0.wav", synth_word("up", "cat", rng), rate=RATE)
    write_wav(src / "hello.wav", synth_word("up", "cat", rng), rate=RATE)
    w.dataset_dock.recorder.label_box.setEditText("hi")
    w.dataset_dock.recorder.speaker_edit.setText("zoe")
    with qtbot.waitSignal(view.imported, timeout=10_000):
        view.import_paths([src])
    assert view.counts() == {"down": 2, "up": 0, "7": 1, "hi": 1}
    assert "imported 2 takes" in view.message_label.text()
    assert {e.group for e in scan_dataset(data, (".wav",)) if e.label in ("7", "hi")} == {"zoe"}


def test_record_gesture_takes_keeps_landmarks_and_video(window, qtbot, tmp_path):
    video = SHARED_DATA / "hands" / "mps_hand_landmarker_test_video.mp4"
    if not video.is_file():
        pytest.skip(f"{video} is absent")
    w = window
    w.set_mode("gesture")
    data = tmp_path / "gestures"
    r = setup_recorder(w, data, label="wave", speaker="session1", takes=1, length=1.0, countdown=0.0)
    r.video_check.setChecked(True)
    start_playing(w, qtbot, video)
    assert r.start()
    qtbot.waitUntil(lambda: not r.recording, timeout=30_000)
    assert w.errors == []
    npz = list((data / "wave").glob("session1__*.npz"))
    assert len(npz) == 1 and npz[0].with_suffix(".mp4").stat().st_size > 0
    lm = load_landmark_file(npz[0])
    assert lm.shape[1:] == (2, 21, 3) and 20 <= lm.shape[0] <= 40 and np.isfinite(lm).any()
    assert w.dataset_dock.dataset_view.counts() == {"wave": 1}
