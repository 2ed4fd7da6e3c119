"""Issue 16: the window fits 1280x720, bad command-line arguments stop the app, and the defects a new user
hit (late audio server, no validation split, headline vs bars, stale state after a mode switch, heatmap
scales and tooltips, overwriting a model, saved-takes rows, glyph boxes, unit-line colours, the model
dialog's folder, speech that gave no word, dropped input shown plainly)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("pytestqt")

from desktop_fixtures import gesture_model_folder, trained_speech_model, untrained_model  # noqa: E402
from PySide6.QtCore import QPoint, QSettings  # noqa: E402
from PySide6.QtWidgets import QPushButton  # noqa: E402

from desktop_app import main as app_main  # noqa: E402
from desktop_app import sources as src  # noqa: E402
from desktop_app.live_state import GATES, Counters, Snapshot  # noqa: E402
from desktop_app.main_window import MainWindow  # noqa: E402
from desktop_app.views.gate_heatmaps import GateHeatmapView  # noqa: E402
from desktop_app.views.predictions_view import NO_WORD_HINT, PredictionsView, display_label  # noqa: E402
from desktop_app.views.unit_lines import LINE_COLOURS, MAX_LINES, UnitLinesView  # noqa: E402
from recognizers.events import RecognitionEvent  # noqa: E402

LABELS = ["zero", "one", "two", "three", "four", "unknown"]


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("fit-models")
    speech, gesture = trained_speech_model(), gesture_model_folder()
    if speech is not None:
        (root / "digits").symlink_to(speech.resolve())
    else:
        untrained_model(root / "digits-untrained", "speech")
    if gesture is not None:
        (root / "gestures").symlink_to(gesture.resolve())
    else:
        untrained_model(root / "gestures-untrained", "gesture")
    return root


@pytest.fixture
def window(qtbot, tmp_path, models) -> MainWindow:
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(settings=settings, model_roots=[models])
    qtbot.addWidget(w)
    w.show()
    return w


def snap(now_s: float, probabilities=None, events=(), active=False, counters=None, gates=None, **kw) -> Snapshot:
    return Snapshot(now_s=now_s, frame_rate_hz=100.0, labels=LABELS, counters=counters or Counters(),
                    probabilities=None if probabilities is None else np.asarray(probabilities, np.float32),
                    events=list(events), active=active, gates=gates or {}, sample_rate_hz=16000, **kw)


# ---- window fit ------------------------------------------------------------------------------------------
def test_window_fits_1280x720_with_every_control_reachable(window, qtbot):
    window.resize(1280, 720)
    qtbot.waitUntil(lambda: window.width() <= 1280 and window.height() <= 720)
    assert window.minimumSizeHint().width() <= 1280 and window.minimumSizeHint().height() <= 720
    buttons = [b for b in window.findChildren(QPushButton) if b.isVisibleTo(window) and b.window() is window
               and not window.dataset_dock.isAncestorOf(b)]
    assert window.tools_button in buttons and window.pause_button in buttons
    for b in buttons + [window.source_box, window.model_box, window.device_box, window.layer_box]:
        top_left = b.mapTo(window, QPoint(0, 0))
        assert 0 <= top_left.x() and top_left.x() + b.width() <= window.width(), b.text() if hasattr(b, "text") else b
        assert 0 <= top_left.y() and top_left.y() + b.height() <= window.height()
    # opening the Record & train dock does not need a window wider than 1280 px
    window.tools_button.setChecked(True)
    qtbot.waitUntil(window.dataset_dock.isVisible)
    assert window.minimumSizeHint().width() <= 1280


def test_window_is_kept_inside_the_screen(window):
    area = window.screen().availableGeometry()
    window.resize(area.width() + 900, area.height() + 600)
    window.fit_to_screen()
    assert window.width() <= area.width() and window.height() <= area.height()


# ---- bad command-line arguments ----------------------------------------------------------------------------
@pytest.mark.parametrize("argv, says", [
    (["--model-speech", "/no/such/model"], "--model-speech /no/such/model: no such folder"),
    (["--mode", "gesture", "--model-gesture", "assets/models/digits-en"], "not a gesture model"),
    (["--file", "missing.wav"], "--file missing.wav: no such file"),
])
def test_bad_command_line_arguments_stop_the_app_with_one_line(argv, says, capsys):
    if "digits-en" in " ".join(argv) and not Path("assets/models/digits-en").is_dir():
        pytest.skip("assets/models/digits-en is absent")
    assert app_main.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("lstm-vault: ") and says in err[0]


# ---- 2: a late audio server ------------------------------------------------------------------------------
class FakeDevice:
    def __init__(self, name):
        self.name = name

    def description(self):
        return self.name


def test_restart_looks_for_microphones_again(window, monkeypatch):
    monkeypatch.setattr(src, "list_microphones", lambda: [])
    monkeypatch.setattr(src, "audio_server_running", lambda: False)
    window.stop_stream()
    window.source_spec = ("none", "")
    window._fill_sources()
    assert "no audio server" in window.notice_label.text()
    # a server that runs with no input device yet (one is plugged in later): Qt lists what it finds
    window.audio_server_seen = True
    monkeypatch.setattr(src, "audio_server_running", lambda: True)
    window._fill_sources()
    assert window.notice_label.text() == src.NO_MICROPHONE
    started = []
    monkeypatch.setattr(window, "use_source", lambda spec: started.append(spec) or True)
    monkeypatch.setattr(src, "list_microphones", lambda: [FakeDevice("Late Mic")])
    window.restart_stream()
    names = [window.source_box.itemText(i) for i in range(window.source_box.count())]
    assert "Late Mic" in names                       # 7: plain text, no emoji glyph box before the name
    assert started and started[-1][0] == "device"


def test_a_server_that_started_after_the_app_is_used_through_portaudio(window, monkeypatch):
    asked = []
    monkeypatch.setattr(src, "list_microphones", lambda: asked.append(1) or [])
    window.stop_stream()
    window.source_spec = ("none", "")
    window.audio_server_seen = False
    monkeypatch.setattr(src, "audio_server_running", lambda: False)
    window._periodic_rescan()
    assert window.source_spec == ("none", "")            # still no server: nothing to use
    started = []
    monkeypatch.setattr(window, "use_source", lambda spec: started.append(spec) or True)
    monkeypatch.setattr(src, "audio_server_running", lambda: True)
    window._periodic_rescan()
    names = [window.source_box.itemText(i) for i in range(window.source_box.count())]
    assert src.LATE_SERVER_MIC in names and window.notice_label.text() == src.LATE_SERVER_NOTICE
    assert started == [("late-mic", src.LATE_SERVER_MIC)]
    assert not asked                                      # Qt's audio was not asked again once none was found
    source = window._open_source("late-mic", src.LATE_SERVER_MIC)
    assert isinstance(source, src.LateServerMicrophone) and source.server_was_lost and source.pulse_source == ""


# ---- 3: no validation split ---------------------------------------------------------------------------
def test_training_without_validation_split_reports_no_validation_accuracy(window):
    panel = window.dataset_dock.training
    panel._no_validation = False
    panel._on_message("6 train / 0 validation; device cpu")
    panel.history = []
    panel._on_epoch({"epoch": 1, "epochs": 5, "val_acc": 0.714, "best_val_acc": 0.714, "train_acc": 0.5,
                     "train_loss": 1.0, "val_loss": 1.0,
                     "eta_s": 3.0, "validated": True})
    assert "no validation split" in panel.eta_label.text() and "71.4" not in panel.eta_label.text()
    panel._on_finished({"model_dir": None, "cancelled": False, "seconds": 4.0, "epochs_run": 5,
                        "best_val_acc": 0.714, "validation": {"n": 0}})
    panel._on_finished({"model_dir": "x", "cancelled": False, "seconds": 4.0, "epochs_run": 5,
                        "best_val_acc": 0.714, "validation": {"n": 0, "labels": [], "confusion": [],
                                                              "split": ""}})
    text = panel.eta_label.text()
    assert "no validation accuracy" in text and "best validation accuracy" not in text


def test_a_second_train_asks_before_replacing_the_model(window, tmp_path):
    panel = window.dataset_dock.training
    out = tmp_path / "mine-model"
    out.mkdir()
    (out / "model.json").write_text("{}")
    window.dataset_dock.set_dataset(tmp_path)
    panel.out_edit.setText(str(out))
    asked = []
    panel.confirm_overwrite = lambda folder: asked.append(folder) or False
    assert panel.start() is False and asked == [out] and not panel.running


# ---- 4: headline and bars from one source --------------------------------------------------------------
def test_headline_and_bars_come_from_one_source(qtbot):
    view = PredictionsView()
    qtbot.addWidget(view)
    p = [0.01, 0.01, 0.01, 0.01, 0.05, 0.91]           # this frame: unknown / noise
    view.update_from(snap(2.0, p, events=[RecognitionEvent("four", 1.2, 1.9, 0.94)]))
    assert view.state == "recognised" and view.headline.text().startswith(display_label("four"))
    assert view.top[0] == ("four", pytest.approx(0.94)) and view.names[0].text() == display_label("four")
    assert view.bars[0].pct.text() == "94%"
    view.update_from(snap(9.0, p, events=[RecognitionEvent("four", 1.2, 1.9, 0.94)]))
    assert view.state == "nothing" and view.top[0][0] == "unknown"


# ---- 5: a mode switch forgets the old stream ------------------------------------------------------------
def test_mode_switch_clears_the_old_modes_state(window):
    window.set_mode("speech")
    window.predictions.update_from(snap(2.0, [0.1, 0.1, 0.1, 0.6, 0.05, 0.05]))
    window.heatmaps.hover_text = "i input · unit 3"
    window.heatmaps.data = {"i": np.zeros((5, 4), np.float32)}
    window._drops_seen = (99, 0)
    window.drop_label.setText("⚠ 99 audio blocks")
    window.drop_label.show()
    window.set_mode("gesture")
    assert window.predictions.top == [] or all(not n.text() for n in window.predictions.names)
    assert window.heatmaps.hover_text == "" and window.heatmaps.data == {}
    assert window.drop_label.isHidden() and window._drops_seen == (0, 0)
    assert "99" not in window.stats_label.text()


# ---- 6: heatmaps ---------------------------------------------------------------------------------------
def test_each_gate_has_a_colour_scale_and_c_its_own_symmetric_range(qtbot):
    view = GateHeatmapView()
    qtbot.addWidget(view)
    assert set(view.colour_bars) == set(GATES)
    assert tuple(view.colour_bars["i"].levels()) == (0.0, 1.0)
    assert tuple(view.colour_bars["g"].levels()) == (-1.0, 1.0)
    rng = np.random.default_rng(0)
    gates = {g: rng.random((50, 8), dtype=np.float32) for g in GATES}
    gates["c"] = (rng.standard_normal((50, 8)) * 6).astype(np.float32)
    view.update_from(snap(0.5, gates=gates, frames_t0_s=0.0))
    lo, hi = view.colour_bars["c"].levels()
    assert lo == pytest.approx(-hi) and hi > 2.0


def test_hover_text_goes_when_its_cell_scrolls_away(qtbot):
    view = GateHeatmapView()
    qtbot.addWidget(view)
    view.show()
    gates = {g: np.full((50, 8), 0.5, np.float32) for g in GATES}
    view.update_from(snap(0.5, gates=gates, frames_t0_s=0.0))
    assert view.describe("i", 0.2, 3.5)
    view.hover_text = view.describe("i", 0.2, 3.5)
    view._hover_pos = view.plots["i"].getViewBox().mapViewToScene(view.plots["i"].getViewBox().viewRect().center())
    # twenty seconds later those frames have left the window: the readout and tooltip go with them
    view.update_from(snap(20.0, gates={g: np.full((50, 8), 0.5, np.float32) for g in GATES}, frames_t0_s=19.5))
    assert view.hover_text == "" and "hover a cell" in view.readout.text()


# ---- 7: smaller defects ---------------------------------------------------------------------------------
def test_unit_lines_have_distinct_colours(qtbot):
    view = UnitLinesView()
    qtbot.addWidget(view)
    colours = {c.opts["pen"].color().name() for c in view.curves}
    assert len(colours) == MAX_LINES == len(set(LINE_COLOURS))


def test_load_model_dialog_opens_in_the_models_folder(window, models):
    assert window.models_dir() == models


# ---- 8: speech that gave no word is never silent ---------------------------------------------------------
def test_speech_with_no_word_taken_says_what_to_do(qtbot):
    view = PredictionsView()
    qtbot.addWidget(view)
    p = [0.1, 0.1, 0.1, 0.1, 0.1, 0.5]
    view.update_from(snap(1.0, p, active=True))
    view.update_from(snap(2.5, p, active=True))
    view.update_from(snap(2.6, p, active=False))
    assert view.state == "no word" and view.headline.text() == NO_WORD_HINT
    assert "digits-connected-en" in view.headline.text()
    # a run a word was taken from shows the word, not the hint
    view.update_from(snap(8.0, p, active=True))
    view.update_from(snap(8.6, p, active=False, events=[RecognitionEvent("three", 8.0, 8.55, 0.9)]))
    assert view.state == "recognised"


# ---- dropped input is shown plainly ---------------------------------------------------------------------
def test_dropped_blocks_raise_a_banner(window):
    window.set_mode("speech")
    window._drops_seen = (0, 0)
    window._show_drops(snap(3.0, counters=Counters(dropped_audio_blocks=12)))
    assert window.drop_label.isVisibleTo(window)
    assert "12 audio blocks" in window.drop_label.text() and "dropped" in window.drop_label.text()


def test_a_closed_window_starts_no_stream(window, tmp_path):
    """A closed window lives until Qt deletes it: a device rescan or a late audio server found then started an
    inference thread that nobody stopped (and a QThread running when it is dropped aborts the process)."""
    import soundfile as sf
    wav = tmp_path / "tone.wav"
    t = np.arange(8000, dtype=np.float32) / 16000
    sf.write(wav, 0.3 * np.sin(2 * np.pi * 440 * t), 16000)
    window.close()
    assert not window.rescan_timer.isActive() and not window.timer.isActive()
    window.use_file(wav)
    assert window.worker is None and window.source is None
    window.show()                                   # shown again, it streams again
    assert window.rescan_timer.isActive()
    assert window.use_file(wav) and window.worker is not None
    window.stop_stream()
