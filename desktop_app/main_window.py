"""The main window: mode, source, model and device pickers around the live views.

The window owns one *stream* at a time: a Source (capture thread) feeding an InferenceWorker (inference
thread) that fills a LiveState; a QTimer on the GUI thread redraws every view from a snapshot at
``REDRAW_HZ``. Switching mode, source or model replaces the stream; switching device does not.
"""
from __future__ import annotations

import gc
import time
from pathlib import Path

import pyqtgraph as pg
import torch
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtMultimedia import QMediaDevices
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QSpinBox,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from recognizers.errors import VaultError
from recognizers.frontends.settings import has_mel_frames
from recognizers.model_files import LoadedModel, load_model
from recognizers.training.loop import resolve_device

from . import sources as src
from .dataset_dock import DatasetDock
from .inference_worker import InferenceWorker, make_pipeline, tracking_stride
from .live_state import LiveState, Snapshot
from .model_catalog import SHIPPED_MODELS, default_model, find_models
from .qt_workarounds import protect_singletons
from .settings_values import path_exists, setting_bytes, setting_str, setting_str_list
from .threads import keep_until_finished
from .views.camera_view import CameraView
from .views.gate_heatmaps import GateHeatmapView
from .views.predictions_view import PredictionsView
from .views.saturation_view import SaturationView
from .views.spectrogram_view import SpectrogramView
from .views.text_strip import TextStrip
from .views.transcript_view import TranscriptView
from .views.unit_lines import UnitLinesView
from .views.waveform_view import WaveformView

protect_singletons()   # once per process, before any widget (no-op where PySide6 does not leak)

MODES = ("speech", "gesture")
MODE_TITLES = {"speech": "Speech", "gesture": "Gesture"}
REDRAW_HZ = 30
pg.setConfigOptions(antialias=False)    # live plots redraw 30 times a second: no antialiased lines
SATURATION_EVERY = 15       # the saturation summary redraws at 2 Hz: a summary of the last 5 s, it changes slowly
# What a redraw costs is pyqtgraph painting, so the heavy views (six heatmaps, spectrogram, unit lines) are
# drawn at a lower rate than the waveform and the top-5 bars, and everything slows down while nothing is
# heard (issue 16: the app took 100-160 % of a core listening to silence).
HEAVY_EVERY = 6             # heatmaps, spectrogram, unit lines: 5 Hz while something is heard (10 Hz cost 4
#                             more points of a core while speaking, issue 16)
QUIET_EVERY = 10            # every view at 3 Hz while the input is quiet (VAD not active, low level)
QUIET_HEAVY_EVERY = 60      # ... and the heavy views at 0.5 Hz (they show the last thing heard)
TOP5_EVERY = 3              # the top-5 bars and the transcript: 10 Hz (the waveform and level meter: 30 Hz)
STATUS_EVERY = 6            # the status bar's figures: 5 Hz
QUIET_DB = -50.0            # input level below which (with the VAD idle) the stream counts as quiet
QUIET_AFTER_S = 0.6
DROP_BANNER_S = 8.0         # the dropped-input banner stays this long after the last drop         # ... for this long
WINDOW_S = 6.0              # history held for the scrolling views (a little more than they show)
MAX_RECENT_FILES = 6
RESCAN_S = 5.0              # while no device is found, look again this often
AUDIO_FILTER = "Audio files (*.wav *.flac *.mp3 *.ogg);;All files (*)"
VIDEO_FILTER = "Video files (*.mp4 *.avi *.mov *.mkv *.webm);;All files (*)"


def available_devices() -> list[str]:
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices.append("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        devices.append("mps")
    return devices


def warm_kernels() -> None:
    """Load the compiled cell kernel in the background now: loaded lazily, it took 1.4 s (numba import and
    cache load) on the inference thread when the first word began, and the first digits spoken after launch
    were dropped (issue 16)."""
    import threading

    from recognizers.nn import cell_kernel
    threading.Thread(target=cell_kernel.available_kernel, name="warm-kernels", daemon=True).start()


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None, models: dict[str, str | Path] | None = None,
                 model_roots: list[Path] | None = None, mode: str | None = None):
        super().__init__()
        self.setWindowTitle("LSTM Vault")
        if settings is None:
            from .settings_values import default_settings_file, sanitize_settings_file
            sanitize_settings_file(default_settings_file())
            settings = QSettings("LSTM Vault", "LSTM Vault")
        self.settings = settings
        self.model_roots = model_roots
        self.requested_models = {k: Path(v) for k, v in (models or {}).items() if v}
        self.models: dict[str, LoadedModel | None] = {}
        self.mode = ""
        self.source: src.Source | None = None
        self.source_spec: tuple[str, str] = ("none", "")
        self.worker: InferenceWorker | None = None
        self._stopping: set[InferenceWorker] = set()    # stopped, not yet ended (see stop_stream)
        self._closed = False        # a closed window starts no stream (a rescan timer must not revive it)
        self.state: LiveState | None = None
        self.paused = False
        self.device = "cpu"
        self.errors: list[str] = []
        self.last_snapshot: Snapshot | None = None
        self.redraws = 0
        self.ticks = 0
        self.quiet_since_s: float | None = None
        self.draw_ms = 0.0
        self._drops_seen = (0, 0)
        self._drop_shown_at: float | None = None
        self.recording_tap = None      # set by the recorder: gets every block the pipeline processes
        # the user's confidence threshold per mode, for the model it was set on: (model, threshold)
        self._threshold_override: dict[str, tuple[LoadedModel, float]] = {}
        self.audio_server_seen: bool | None = None   # False: none was running when the app first looked
        self._build()
        self.media_devices = QMediaDevices(self)
        self.media_devices.audioInputsChanged.connect(self._devices_changed)
        self.media_devices.videoInputsChanged.connect(self._devices_changed)
        self.timer = QTimer(self)
        self.timer.setInterval(int(1000 / REDRAW_HZ))
        # a coarse timer may stretch each interval by up to 5 %, which alone keeps the rate under REDRAW_HZ
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self.redraw)
        geometry = setting_bytes(self.settings, "window/geometry")   # settings may hold anything
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1480, 940)
        self.fit_to_screen()
        saved_device = setting_str(self.settings, "device", "cpu")
        self.device = saved_device if saved_device in available_devices() else "cpu"
        self.device_box.setCurrentText(self.device)
        self.set_mode(mode or setting_str(self.settings, "mode", "speech"))
        self.timer.start()
        self.rescan_timer = QTimer(self)       # a camera / microphone plugged in later is found
        self.rescan_timer.setInterval(int(RESCAN_S * 1000))
        self.rescan_timer.timeout.connect(self._periodic_rescan)
        self.rescan_timer.start()
        warm_kernels()

    # ==== layout ===========================================================================================
    def _build(self) -> None:
        self.mode_box = QComboBox()
        for m in MODES:
            self.mode_box.addItem(MODE_TITLES[m], m)
        self.mode_box.activated.connect(lambda i: self.set_mode(self.mode_box.itemData(i)))
        self.source_box = QComboBox()
        self.source_box.setMinimumWidth(260)
        self.source_box.setToolTip("Microphones or cameras on this system, and recently played files")
        self.source_box.activated.connect(lambda i: self.use_source(self.source_box.itemData(i)))
        self.file_button = QPushButton("Open file…")
        self.file_button.clicked.connect(self._ask_file)
        self.folder_button = QPushButton("Image folder…")
        self.folder_button.clicked.connect(self._ask_folder)
        self.replay_button = QPushButton("Restart")
        self.replay_button.setToolTip("Restart the current source from the beginning (files) and clear the views")
        self.replay_button.clicked.connect(self.restart_stream)
        self.model_box = QComboBox()
        self.model_box.setMinimumWidth(170)
        self.model_box.activated.connect(lambda i: self.load_model_folder(self.model_box.itemData(i)))
        self.model_button = QPushButton("Load model…")
        self.model_button.clicked.connect(self._ask_model)
        self.device_box = QComboBox()
        self.device_box.addItems(available_devices())
        self.device_box.setToolTip("Where the network runs; switching keeps the stream running")
        self.device_box.activated.connect(lambda i: self.set_compute_device(self.device_box.itemText(i)))
        self.layer_box = QComboBox()
        self.layer_box.setToolTip("LSTM layer whose gates are drawn")
        self.layer_box.currentIndexChanged.connect(lambda _i: self._layer_changed())
        # The decoder's confidence threshold, live: a lower one misses fewer quiet or unusual voices and takes
        # more other words for vocabulary words (measured in docs/unseen-speakers.md, sessions 15-16).
        self.threshold_box = QSpinBox()
        self.threshold_box.setRange(1, 99)
        self.threshold_box.setSingleStep(5)
        self.threshold_box.setSuffix(" %")
        self.threshold_box.setToolTip(
            "Show a word or gesture only when the network is at least this confident.\n"
            "Lower: fewer missed words from unfamiliar voices, but more other words taken for vocabulary words.\n"
            "Applies at once; kept for this model until another model is loaded.")
        self._show_threshold(None, None)
        self.threshold_box.valueChanged.connect(self._threshold_changed)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.pause_button.setToolTip("Freeze every view for inspection (Space)")
        self.pause_button.toggled.connect(self.set_paused)
        QShortcut(QKeySequence(Qt.Key.Key_Space), self, activated=self.pause_button.toggle)
        self.tools_button = QPushButton("Record && train")
        self.tools_button.setCheckable(True)
        self.tools_button.setToolTip("Record labelled takes, look after the dataset, train a model")

        # two rows, so the window fits a 1280x720 screen with every control reachable (one row needed 1363 px)
        self.source_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.source_box.setMinimumContentsLength(22)
        self.source_box.setMinimumWidth(200)
        self.model_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.model_box.setMinimumContentsLength(16)
        self.model_box.setMinimumWidth(140)
        bar = QVBoxLayout()
        bar.setSpacing(3)
        row1, row2 = QHBoxLayout(), QHBoxLayout()
        bar.addLayout(row1)
        bar.addLayout(row2)
        for label, w in (("Mode", self.mode_box), ("Source", self.source_box)):
            row1.addWidget(QLabel(label))
            row1.addWidget(w)
        row1.addWidget(self.file_button)
        row1.addWidget(self.folder_button)
        row1.addWidget(self.replay_button)
        row1.addStretch(1)
        row1.addWidget(self.tools_button)
        row1.addWidget(self.pause_button)
        row2.addWidget(QLabel("Model"))
        row2.addWidget(self.model_box)
        row2.addWidget(self.model_button)
        row2.addSpacing(16)
        row2.addWidget(QLabel("Device"))
        row2.addWidget(self.device_box)
        row2.addWidget(QLabel("Layer"))
        row2.addWidget(self.layer_box)
        row2.addWidget(QLabel("Confidence ≥"))
        row2.addWidget(self.threshold_box)
        row2.addStretch(1)
        self.toolbar_rows = (row1, row2)

        self.notice_label = QLabel("")
        self.notice_label.setWordWrap(True)
        self.notice_label.setStyleSheet("color: #ecc94b;")
        self.error_label = QLabel("")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #fc8181; font-weight: 600;")
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.hide()
        self.notice_label.hide()
        # dropped input is shown plainly while it happens, not only counted in the status bar (issue 16)
        self.drop_label = QLabel("")
        self.drop_label.setWordWrap(True)
        self.drop_label.setStyleSheet("background: #744210; color: #fefcbf; font-weight: 600; padding: 3px 6px;"
                                      " border-radius: 3px;")
        self.drop_label.hide()

        # left: input, predictions, transcript
        self.waveform = WaveformView()
        self.spectrogram = SpectrogramView()
        speech_input = QSplitter(Qt.Orientation.Vertical)
        speech_input.addWidget(self.waveform)
        speech_input.addWidget(self.spectrogram)
        speech_input.setSizes([160, 220])
        speech_panel = QWidget()
        row = QHBoxLayout(speech_panel)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(speech_input, 1)
        row.addWidget(self.waveform.meter_widget)
        self.camera = CameraView()
        self.input_stack = QStackedWidget()
        self.input_stack.addWidget(speech_panel)
        self.input_stack.addWidget(self.camera)
        self.predictions = PredictionsView()
        self.transcript = TranscriptView()
        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(self._titled("Input", self.input_stack))
        left.addWidget(self._titled("Prediction (top 5)", self.predictions))
        left.addWidget(self._titled("Recognised", self.transcript))
        left.setSizes([420, 200, 200])

        # right: gates
        self.heatmaps = GateHeatmapView()
        self.unit_lines = UnitLinesView()
        self.saturation = SaturationView()
        self.heatmaps.unit_clicked.connect(self.unit_lines.toggle_unit)
        lower = QSplitter(Qt.Orientation.Horizontal)
        lower.addWidget(self._titled("Units over time", self.unit_lines))
        lower.addWidget(self._titled("Gate saturation (Karpathy et al. 2015)", self.saturation))
        lower.setSizes([520, 360])
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self._titled("Gate activations (units × time)", self.heatmaps))
        right.addWidget(lower)
        right.setSizes([600, 260])

        main = QSplitter(Qt.Orientation.Horizontal)
        main.addWidget(left)
        main.addWidget(right)
        main.setSizes([560, 900])

        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(8, 6, 8, 4)
        lay.addLayout(bar)
        lay.addWidget(self.error_label)
        lay.addWidget(self.notice_label)
        lay.addWidget(self.drop_label)
        lay.addWidget(main, 1)
        self.setCentralWidget(central)
        # the figures change 5 times a second: a strip repaints only itself (a QLabel re-laid the window out)
        self.stats_label = TextStrip("")
        self.statusBar().setAutoFillBackground(True)
        self.statusBar().addWidget(self.stats_label, 1)
        self.dataset_dock = DatasetDock(self)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dataset_dock)
        self.dataset_dock.hide()
        self.tools_button.toggled.connect(self.dataset_dock.setVisible)
        self.dataset_dock.visibilityChanged.connect(
            lambda _v: self.tools_button.setChecked(self.dataset_dock.isVisible()))
        from .explain_panel import attach_insight
        attach_insight(self)    # explain a decision, "Why an LSTM?", PNG and trace exports (issue 17)

    def fit_to_screen(self) -> None:
        """Keep the window inside the screen's available area (a restored or default size may be larger)."""
        screen = self.screen() or QApplication.primaryScreen()
        if screen is None:
            return
        area = screen.availableGeometry()
        frame_w = max(0, self.frameGeometry().width() - self.width())
        frame_h = max(0, self.frameGeometry().height() - self.height())
        w = min(self.width(), area.width() - frame_w)
        h = min(self.height(), area.height() - frame_h)
        if (w, h) != (self.width(), self.height()):
            self.resize(w, h)
        x = min(max(self.x(), area.x()), area.x() + area.width() - w - frame_w)
        y = min(max(self.y(), area.y()), area.y() + area.height() - h - frame_h)
        if (x, y) != (self.x(), self.y()):
            self.move(x, y)

    @staticmethod
    def _titled(title: str, widget: QWidget) -> QWidget:
        box = QWidget()
        lay = QVBoxLayout(box)
        lay.setContentsMargins(0, 2, 0, 2)
        lay.setSpacing(2)
        label = QLabel(title.upper())
        label.setStyleSheet("color: #8a93a0; font-size: 10px; font-weight: 700; letter-spacing: 1px;")
        lay.addWidget(label)
        lay.addWidget(widget, 1)
        return box

    # ==== messages =========================================================================================
    def show_error(self, text: str) -> None:
        """Errors are shown in the window (and kept in ``self.errors``), never raised."""
        self.errors.append(text)
        self.error_label.setText(text)
        self.error_label.show()

    def clear_error(self) -> None:
        self.error_label.clear()
        self.error_label.hide()

    def show_notice(self, text: str) -> None:
        self.notice_label.setText(text)
        self.notice_label.setVisible(bool(text))

    # ==== mode =============================================================================================
    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            mode = "speech"
        if mode == self.mode:
            return
        self.stop_stream()
        self._forget_stream()
        self.mode = mode
        self.settings.setValue("mode", mode)
        self.mode_box.setCurrentIndex(MODES.index(mode))
        self.input_stack.setCurrentIndex(MODES.index(mode))
        self.folder_button.setVisible(mode == "gesture")
        self.dataset_dock.set_mode(mode)
        self.clear_error()
        self.show_notice("")
        if mode not in self.models:
            self._load_initial_model(mode)
        self._fill_models()
        self._fill_layers()
        self._fill_sources()
        kind, value = self._remembered_source()
        if kind != "none":
            self.use_source((kind, value))
        else:
            self._clear_views()
            self.predictions.set_message("choose a source" if self.models.get(mode) else self._no_model_text())

    def _no_model_text(self) -> str:
        return f"no {self.mode} model loaded: choose one with “Load model…”"

    def _load_initial_model(self, mode: str) -> None:
        self.models[mode] = None
        candidates = [self.requested_models.get(mode)]
        saved = setting_str(self.settings, f"{mode}/model")
        if saved:
            candidates.append(Path(saved))
        candidates.append(default_model(mode, self.model_roots))
        for folder in candidates:
            if folder is None:
                continue
            try:
                self.models[mode] = load_model(folder, task=mode)
                return
            except VaultError as exc:
                self.show_error(f"Model not loaded: {exc}")
        if self.models[mode] is None and not self.errors:
            self.show_notice(f"No {mode} model was found in assets/models. Load one with “Load model…”.")

    # ==== sources ==========================================================================================
    def _devices(self) -> list:
        if self.mode != "speech":
            return src.list_cameras()
        if self.audio_server_seen is False:
            # no server ran when Qt first looked: Qt's list stays empty, and asking Qt's audio again once a
            # server is up has crashed Python (a late server is recorded through PortAudio instead)
            return []
        return src.list_microphones()

    def _late_microphone(self) -> bool:
        """An audio server started after the app: its default microphone can be recorded (through PortAudio)."""
        return self.mode == "speech" and self.audio_server_seen is False and bool(src.audio_server_running())

    def _recent_files(self) -> list[str]:
        return [f for f in setting_str_list(self.settings, f"{self.mode}/recent_files") if path_exists(f)]

    def _fill_sources(self) -> None:
        box = self.source_box
        box.blockSignals(True)
        box.clear()
        devices = self._devices()
        for d in devices:
            # plain text: an emoji prefix drew a missing-glyph box where no emoji font is installed (issue 16)
            box.addItem(d.description(), ("device", d.description()))
        if not devices and self._late_microphone():
            box.addItem(src.LATE_SERVER_MIC, ("late-mic", src.LATE_SERVER_MIC))
            self.show_notice(src.LATE_SERVER_NOTICE)
        elif not devices:
            box.addItem("no microphone found" if self.mode == "speech" else "no camera found", ("none", ""))
            box.model().item(0).setEnabled(False)
            self.show_notice(self._no_device_text())
        for f in self._recent_files():
            box.addItem(f"file: {Path(f).name}", ("file", f))
        box.setCurrentIndex(0 if devices or tuple(box.itemData(0) or ()) == ("late-mic", src.LATE_SERVER_MIC) else -1)
        box.blockSignals(False)
        self._select_source_item(self.source_spec)

    def _no_device_text(self) -> str:
        if self.mode != "speech":
            return src.NO_CAMERA
        running = src.audio_server_running()
        if running is False:
            self.audio_server_seen = False
            return src.NO_AUDIO_SERVER
        if running and self.audio_server_seen is False:
            return src.LATE_AUDIO_SERVER      # Qt cannot see a server that appeared after it first looked
        return src.NO_MICROPHONE

    def rescan_devices(self) -> None:
        """Look for microphones and cameras again (Restart, and every RESCAN_S while none is found)."""
        had = self.source_spec
        self._fill_sources()
        if had[0] == "none" and self._devices():
            kind, value = self._remembered_source()
            if kind != "none":
                self.use_source((kind, value))
        elif had[0] == "none" and self._late_microphone():
            self.use_source(("late-mic", src.LATE_SERVER_MIC))

    def _periodic_rescan(self) -> None:
        if self.source_spec[0] != "none":
            return
        if self.mode == "speech" and self.audio_server_seen is False:
            # Qt looked before any server ran and will not list one that starts later: a server that is up
            # now is recorded through PortAudio (LateServerMicrophone)
            if src.audio_server_running():
                self.rescan_devices()
            return
        if not self._devices():
            return
        self.rescan_devices()

    def _select_source_item(self, spec: tuple[str, str]) -> None:
        for i in range(self.source_box.count()):
            if tuple(self.source_box.itemData(i) or ()) == tuple(spec):
                self.source_box.setCurrentIndex(i)
                return

    def _devices_changed(self) -> None:
        self._fill_sources()

    def _remembered_source(self) -> tuple[str, str]:
        kind = setting_str(self.settings, f"{self.mode}/source_kind")
        value = setting_str(self.settings, f"{self.mode}/source")
        names = [d.description() for d in self._devices()]
        if kind == "device" and value in names:
            return kind, value
        if kind == "file" and path_exists(value):
            return kind, value
        if kind == "device" and value:
            self.show_notice(f"The remembered {'microphone' if self.mode == 'speech' else 'camera'} "
                             f"“{value}” is not connected.")
        if names:
            default = (QMediaDevices.defaultAudioInput() if self.mode == "speech"
                       else QMediaDevices.defaultVideoInput())
            return "device", default.description() if not default.isNull() else names[0]
        return "none", ""

    def _ask_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Play a file as if it were live", "",
                                              AUDIO_FILTER if self.mode == "speech" else VIDEO_FILTER)
        if path:
            self.use_file(path)

    def _ask_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Play a folder of images as video")
        if path:
            self.use_file(path)

    def use_file(self, path: str | Path) -> bool:
        return self.use_source(("file", str(path)))

    def use_device(self, name: str) -> bool:
        return self.use_source(("device", name))

    def use_source(self, spec) -> bool:
        """Start streaming from ``("device", name)`` or ``("file", path)``. Errors appear in the window."""
        if not spec or spec[0] == "none":
            return False
        kind, value = spec
        try:
            source = self._open_source(kind, value)
        except VaultError as exc:
            self.show_error(f"Cannot use this source: {exc}")
            return False
        except Exception as exc:
            self.show_error(f"Cannot use this source: {type(exc).__name__}: {exc}")
            return False
        self.clear_error()
        self.source_spec = (kind, value)
        if kind != "late-mic":        # next time the server may be up at start-up, and Qt lists its inputs
            self.settings.setValue(f"{self.mode}/source_kind", kind)
            self.settings.setValue(f"{self.mode}/source", value)
        if kind == "file":
            recent = [value] + [f for f in self._recent_files() if f != value]
            self.settings.setValue(f"{self.mode}/recent_files", recent[:MAX_RECENT_FILES])
            self._fill_sources()
        self._select_source_item(self.source_spec)
        self._start_stream(source)
        return True

    def _open_source(self, kind: str, value: str) -> src.Source:
        if kind == "file":
            return src.file_source(value, self.mode, self._sample_rate())
        if kind == "late-mic" and self.mode == "speech":
            return src.LateServerMicrophone(self._sample_rate())
        for d in self._devices():
            if d.description() == value:
                return (src.MicrophoneSource(d, self._sample_rate()) if self.mode == "speech"
                        else src.CameraSource(d))
        raise src.SourceError(f"“{value}” is not connected")

    def _sample_rate(self) -> int:
        model = self.models.get(self.mode)
        return int(model.frontend_config.get("sample_rate_hz", 16000)) if model is not None else 16000

    # ==== the stream ====================================================================================
    def _start_stream(self, source: src.Source) -> None:
        self.stop_stream()
        if self._closed:        # e.g. a device rescan or a late audio server after the window was closed
            source.stop()
            return
        model = self.models.get(self.mode)
        pipeline_note = ""
        try:
            state, pipeline, pipeline_note = self._make_pipeline(model, source)
        except Exception as exc:     # e.g. a decoder that refuses this model
            self.show_error(f"Model cannot run here: {exc}")
            state, pipeline, _ = self._make_pipeline(None, source)
        self.state = state
        self.worker = InferenceWorker(pipeline)
        pipeline.tap = self.recording_tap
        self.worker.failed.connect(self.show_error)
        self.worker.note.connect(self._add_notice)
        self.worker.stream_ended.connect(self._stream_ended)
        # Collect cyclic garbage here, on the GUI thread: the views and sources of the stream just replaced may
        # be left in reference cycles, and a collection that starts on the inference thread (its imports and
        # allocations trigger one) runs their Qt destructors there, where PySide6 6.11 can deadlock waiting for
        # the GIL (seen as a hang: a QObject destructor in Shiboken::GilState::acquire under gc_collect_main).
        gc.collect()
        self.worker.start()
        self.source = source
        source.failed.connect(self.show_error)
        source.lost.connect(self.show_error)            # "… microphone lost — waiting for it to come back"
        source.recovered.connect(self._source_recovered)
        if pipeline_note:
            self._add_notice(pipeline_note)
        self._clear_views()
        if model is None:
            self.predictions.set_message(self._no_model_text())
        source.start(self.worker)
        if self.paused:
            source.set_paused(True)

    def set_recording_tap(self, tap) -> None:
        """``tap(block)`` (speech) or ``tap(landmarks, rgb)`` (gesture) is called on the inference thread
        for every block of this and later streams; None removes it."""
        self.recording_tap = tap
        if self.worker is not None:
            self.worker.pipeline.tap = tap

    def _make_pipeline(self, model: LoadedModel | None, source: src.Source):
        fps = 100.0 if self.mode == "speech" else 30.0
        kwargs = {}
        if model is not None:
            arch = model.network.arch
            kwargs = dict(feature_size=arch.input_size, num_layers=arch.num_layers, units=arch.hidden_size)
        state = LiveState(model.labels if model else [], fps, WINDOW_S,
                          sample_rate_hz=self._sample_rate() if self.mode == "speech" else None, **kwargs)
        vad = setting_str(self.settings, "speech/vad", "")     # "ours" | "silero"; else the engine's default
        if vad == "ours" and model is not None and not has_mel_frames(model.frontend_config):
            vad = "silero"          # our detector reads log-mel frames; this model's frontend has none
        if self.mode == "speech":
            self.spectrogram.set_feature_kind(str(model.frontend_config.get("type", "logmel")) if model else "logmel")
        pipeline, note = make_pipeline(self.mode, state, model, self.device,
                                       vad=vad if vad in ("ours", "silero") else None)
        if pipeline.decoder is not None:
            # the engine times events by its frame rate; the views use the same clock so they line up
            fps = pipeline.decoder.recognizer.frames_per_second
        elif self.mode == "gesture" and getattr(source, "fps", None):
            fps = float(source.fps)
        state.frame_rate_hz = fps
        if self.mode == "gesture":
            pipeline.track_every = tracking_stride(getattr(source, "fps", None))
        self._show_threshold(pipeline.decoder, model)
        return state, pipeline, note

    def _show_threshold(self, decoder, model: LoadedModel | None) -> None:
        """Apply the user's threshold for ``model`` (if they set one) to a new decoder and show it."""
        self.threshold_box.blockSignals(True)
        try:
            if decoder is None:         # nothing decides: a dash, not a number
                self.threshold_box.setEnabled(False)
                self.threshold_box.setRange(0, 99)
                self.threshold_box.setSpecialValueText("–")
                self.threshold_box.setValue(0)
                return
            self.threshold_box.setSpecialValueText("")
            self.threshold_box.setRange(1, 99)
            override = self._threshold_override.get(self.mode)
            if override is not None and override[0] is model:
                decoder.min_confidence = override[1]
            self.threshold_box.setEnabled(True)
            self.threshold_box.setValue(round(100 * float(decoder.min_confidence)))
        finally:
            self.threshold_box.blockSignals(False)

    def _threshold_changed(self, percent: int) -> None:
        """The running decoder uses the new threshold from its next decision (a float attribute the inference
        thread reads); later streams of this model keep it."""
        model = self.models.get(self.mode)
        decoder = self.worker.decoder if self.worker is not None else None
        if model is None or decoder is None:
            return
        decoder.min_confidence = percent / 100.0
        self._threshold_override[self.mode] = (model, percent / 100.0)

    def _add_notice(self, text: str) -> None:
        current = self.notice_label.text()
        self.show_notice(text if not current or text in current else f"{current}  ·  {text}")

    def _source_recovered(self, text: str) -> None:
        self.clear_error()
        self._add_notice(text)

    def _stream_ended(self) -> None:
        if self.source is not None and not self.source.is_live:
            self._add_notice(f"{self.source.label} played to its end: “Restart” plays it again.")

    def restart_stream(self) -> None:
        """Restart the source; with none, look for microphones / cameras again (one may have appeared)."""
        if self.source_spec[0] != "none":
            self.use_source(self.source_spec)
        else:
            self.rescan_devices()

    def stop_stream(self) -> None:
        """Stop capture first (no new blocks), then the inference thread."""
        if self.source is not None:
            self.source.stop()
            self.source = None
        if self.worker is not None:
            worker, self.worker = self.worker, None
            if not worker.stop():       # still busy (a slow start, a long block)
                keep_until_finished(worker, self._stopping)
        self._show_threshold(None, None)

    def _clear_views(self) -> None:
        self.transcript.clear()
        self.heatmaps.clear()
        self.unit_lines.clear()
        self._drops_seen = (0, 0)
        self._drop_shown_at = None
        self.drop_label.hide()
        self.quiet_since_s = None

    def _forget_stream(self) -> None:
        """A mode switch: nothing of the old mode's stream stays on screen (top-5, transcript, heatmaps,
        hover text, dropped-input count)."""
        self.state = None
        self.last_snapshot = None
        self.source_spec = ("none", "")
        self._clear_views()
        self.predictions.set_message("")
        self._update_status(None)

    # ==== model, device, layer, pause ===================================================================
    def _fill_models(self) -> None:
        self.model_box.blockSignals(True)
        self.model_box.clear()
        current = self.models.get(self.mode)
        folders = find_models(self.mode, self.model_roots)
        if current is not None and current.path is not None and current.path not in folders:
            folders.insert(0, current.path)
        for f in folders:
            self.model_box.addItem(f.name, str(f))
        if current is not None and current.path is not None:
            self.model_box.setCurrentIndex(folders.index(current.path))
        elif not folders:
            self.model_box.addItem("(none)", None)
        self.model_box.blockSignals(False)

    def _fill_layers(self) -> None:
        model = self.models.get(self.mode)
        n = model.network.arch.num_layers if model is not None else 0
        self.layer_box.blockSignals(True)
        self.layer_box.clear()
        for k in range(n):
            self.layer_box.addItem(f"{k + 1} of {n}", k)
        self.layer_box.setCurrentIndex(n - 1 if n else -1)
        self.layer_box.blockSignals(False)

    @property
    def layer(self) -> int:
        return int(self.layer_box.currentData() or 0)

    def _layer_changed(self) -> None:
        self.heatmaps.clear()
        if self.paused:
            self._draw(force=True)

    def _ask_model(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, f"Load a {self.mode} model folder", str(self.models_dir()))
        if folder:
            self.load_model_folder(folder)

    def models_dir(self) -> Path:
        """Where "Load model…" opens: assets/models (the shipped models), not the working directory."""
        return Path((self.model_roots or [SHIPPED_MODELS])[0])

    def load_model_folder(self, folder) -> bool:
        """Load a model folder for the current mode; a wrong or damaged folder is explained in the window."""
        if not folder:
            return False
        try:
            model = load_model(folder, task=self.mode)
        except VaultError as exc:
            self.show_error(f"Model not loaded: {exc}")
            self._fill_models()
            return False
        except Exception as exc:
            self.show_error(f"Model not loaded: {folder}: {type(exc).__name__}: {exc}")
            self._fill_models()
            return False
        self.clear_error()
        self.models[self.mode] = model
        self.settings.setValue(f"{self.mode}/model", str(model.path))
        self._fill_models()
        self._fill_layers()
        if self.source_spec[0] != "none":
            self.use_source(self.source_spec)
        else:
            self.predictions.set_message("choose a source")
        return True

    def set_compute_device(self, name: str) -> bool:
        """Move the network to ``name`` without stopping the stream."""
        try:
            resolve_device(name)
            if self.worker is not None:
                self.worker.set_device(name)
        except Exception as exc:
            self.show_error(f"Cannot switch to {name}: {exc}")
            self.device_box.setCurrentText(self.device)
            return False
        self.device = name
        self.device_box.setCurrentText(name)
        self.settings.setValue("device", name)
        return True

    def set_paused(self, paused: bool) -> None:
        """Freeze every view (hover still works); file sources pause too, live capture keeps recognising."""
        self.paused = bool(paused)
        if self.pause_button.isChecked() != self.paused:
            self.pause_button.setChecked(self.paused)
        self.pause_button.setText("Resume" if self.paused else "Pause")
        if self.source is not None:
            self.source.set_paused(self.paused)
        if self.paused:
            # every view (the heavy ones redraw at 5 Hz) freezes on the same moment
            self._draw(force=True)
        self._update_status(self.last_snapshot)

    # ==== drawing (GUI thread, REDRAW_HZ) ==============================================================
    def redraw(self) -> None:
        if not self.paused:
            self._draw()

    def is_quiet(self, snap: Snapshot) -> bool:
        """True when nothing has been heard (or seen) for QUIET_AFTER_S: the views can redraw slowly."""
        if self.mode != "speech":
            return False
        if snap.active or snap.level_db > QUIET_DB:
            self.quiet_since_s = None
            return False
        if self.quiet_since_s is None or snap.now_s < self.quiet_since_s:
            self.quiet_since_s = snap.now_s
        return snap.now_s - self.quiet_since_s >= QUIET_AFTER_S

    def _draw(self, force: bool = False) -> None:
        if self.state is None:
            return
        self.ticks += 1
        quiet = self.last_snapshot is not None and self.is_quiet(self.last_snapshot)
        if not force and quiet and self.ticks % QUIET_EVERY:
            return
        heavy = force or self.ticks % (QUIET_HEAVY_EVERY if quiet else HEAVY_EVERY) == 0
        t = time.perf_counter()
        saturation = force or self.redraws % SATURATION_EVERY == 0
        snap = self.state.snapshot(self.layer, frames=heavy or saturation)
        if self.mode == "speech":
            self.waveform.update_from(snap)
            if heavy:
                self.spectrogram.update_from(snap)
        else:
            self.camera.update_from(snap)
        # each view has its rate (issue 16: what a redraw costs is painting): the top-5 and the transcript at
        # 10 Hz, the heavy views at 5 Hz, the saturation summary at 2 Hz, the status bar at 5 Hz
        if force or quiet or self.ticks % TOP5_EVERY == 0:
            if self.models.get(self.mode) is not None:
                self.predictions.update_from(snap)
            self.transcript.update_from(snap)
        if heavy:
            self.heatmaps.update_from(snap)
            self.unit_lines.update_from(snap)
        if saturation:
            self.saturation.update_from(snap)
        self._show_drops(snap)
        self.last_snapshot = snap
        self.redraws += 1
        self.draw_ms = 0.9 * self.draw_ms + 0.1 * (time.perf_counter() - t) * 1000.0
        if force or quiet or self.redraws % STATUS_EVERY == 0:
            self._update_status(snap)

    def _show_drops(self, snap: Snapshot) -> None:
        """A banner while input is being dropped (and DROP_BANNER_S after the last drop)."""
        c = snap.counters
        seen = (c.dropped_audio_blocks, c.dropped_video_frames)
        if seen != self._drops_seen:
            grew = seen[0] > self._drops_seen[0] or seen[1] > self._drops_seen[1]
            self._drop_shown_at = time.monotonic() if grew else None
            self._drops_seen = seen
            if self.mode == "speech":
                lost_s = c.dropped_audio_blocks * src.BLOCK_MS / 1000
                text = (f"⚠ {c.dropped_audio_blocks} audio blocks ({lost_s:.1f} s) were dropped: the computer was "
                        f"too busy; words in that stretch may be missed")
            else:
                text = (f"⚠ {c.dropped_video_frames} video frames were dropped: the hand tracker is slower than "
                        f"the video; gestures are read from fewer frames")
            if self._drop_shown_at is not None:
                self.drop_label.setText(text)
        visible = self._drop_shown_at is not None and time.monotonic() - self._drop_shown_at < DROP_BANNER_S
        if visible != self.drop_label.isVisible():
            self.drop_label.setVisible(visible)

    def _update_status(self, snap: Snapshot | None) -> None:
        parts = []
        if self.paused:
            parts.append("⏸ PAUSED")
        if self.source is not None:
            parts.append(f"{self.source.label} ({'live' if self.source.is_live else 'file'})")
        else:
            parts.append("no source")
        if snap is not None:
            c = snap.counters
            parts += [f"{snap.now_s:6.1f} s", f"{c.frames_run} frames",
                      f"dropped: {c.dropped_audio_blocks} audio blocks, {c.dropped_video_frames} video frames",
                      f"inference {c.inference_ms:.1f} ms/block", f"draw {self.draw_ms:.1f} ms"]
        model = self.models.get(self.mode)
        parts += [f"device {self.device}", f"model {model.name if model else '(none)'}"]
        self.stats_label.setText("   ·   ".join(parts))

    def showEvent(self, event) -> None:
        if self._closed:            # shown again after a close: redraw and look for devices again
            self._closed = False
            self.timer.start()
            self.rescan_timer.start()
        super().showEvent(event)

    def closeEvent(self, event) -> None:
        # Nothing may start a stream once the window is closed: a closed window lives on until Qt deletes it,
        # and a device rescan that fired then started an inference thread nobody stopped (a QThread still
        # running when its last reference goes aborts the whole process).
        self._closed = True
        self.timer.stop()
        self.rescan_timer.stop()
        self.dataset_dock.shutdown()
        self.insight.shutdown()
        self.stop_stream()
        for worker in list(self._stopping):
            worker.wait(10_000)
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.sync()
        super().closeEvent(event)
