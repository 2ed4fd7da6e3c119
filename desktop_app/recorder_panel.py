"""The Record tab: record one take or a run of N takes, with a countdown and a visible cue, from the
window's running source (microphone, camera or a file played as if live).

The panel only wires things together: the engine's :class:`recognizers.data.recorder.RecordingSession` listens
on the inference thread (the pipeline's ``tap``, so gestures reuse the hand tracking already running),
a :class:`recognizers.data.recorder.BackgroundSaver` writes each take atomically on its own thread, and a
QTimer on the GUI thread polls both to draw the cue and report saved takes and errors.
"""
from __future__ import annotations

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop_app.adapt_panel import AdaptPanel  # "Adapt to my voice": drives this panel's recorder
from recognizers.data.dataset_ops import label_folders
from recognizers.data.recorder import (
    BackgroundSaver,
    DatasetWriter,
    RecordingError,
    RecordingSession,
    RecordingSettings,
)

POLL_HZ = 30
CUE_IDLE = "background: #1f2630; color: #8a93a0;"
CUE_COUNTDOWN = "background: #5a4a12; color: #fbd38d;"
CUE_RECORDING = "background: #9b2c2c; color: #ffffff;"
CUE_DONE = "background: #22543d; color: #c6f6d5;"


class RecorderPanel(QWidget):
    """Needs ``window`` (the MainWindow: its mode, source, worker and errors) and ``dataset_root()``."""

    takes_changed = Signal()          # a take was saved (the dataset view refreshes its counts)

    def __init__(self, window, dataset_root, parent=None):
        super().__init__(parent)
        self.window = window
        self.dataset_root = dataset_root
        self.session: RecordingSession | None = None
        self.saver: BackgroundSaver | None = None
        self._worker = None
        self.saved: list = []                 # SavedTake of this run
        self.messages: list[str] = []         # every line shown in the log (tests read it)
        self._build()
        self.timer = QTimer(self)
        self.timer.setInterval(int(1000 / POLL_HZ))
        self.timer.timeout.connect(self.poll)

    def _build(self) -> None:
        self.label_box = QComboBox()
        self.label_box.setEditable(True)
        self.label_box.setToolTip("Folder the takes go to: pick a label or type a new one")
        self.label_box.lineEdit().setPlaceholderText("label, e.g. yes")
        self.speaker_edit = QLineEdit()
        self.speaker_edit.setPlaceholderText("speaker or session, e.g. anna")
        self.speaker_edit.setToolTip("Starts each take's file name; validation keeps speakers/sessions apart")
        self.takes_spin = QSpinBox()
        self.takes_spin.setRange(1, 1000)
        self.takes_spin.setValue(5)
        self.length_spin = QDoubleSpinBox()
        self.length_spin.setRange(0.2, 60.0)
        self.length_spin.setSingleStep(0.5)
        self.length_spin.setValue(1.5)
        self.length_spin.setSuffix(" s")
        self.length_spin.setToolTip("Length of each take; speech takes are then trimmed to the voiced part")
        self.countdown_spin = QDoubleSpinBox()
        self.countdown_spin.setRange(0.0, 30.0)
        self.countdown_spin.setSingleStep(0.5)
        self.countdown_spin.setValue(2.0)
        self.countdown_spin.setSuffix(" s")
        self.video_check = QCheckBox("also keep the video (.mp4 beside each take)")
        form = QFormLayout()
        form.addRow("Label", self.label_box)
        form.addRow("Speaker / session", self.speaker_edit)
        form.addRow("Takes", self.takes_spin)
        form.addRow("Take length", self.length_spin)
        form.addRow("Countdown", self.countdown_spin)
        form.addRow("", self.video_check)
        self.record_button = QPushButton("● Record")
        self.record_button.setStyleSheet("font-weight: 700;")
        self.record_button.clicked.connect(self.start)
        self.one_button = QPushButton("Record one take")
        self.one_button.clicked.connect(lambda: self.start(n_takes=1))
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        buttons = QHBoxLayout()
        buttons.addWidget(self.record_button)
        buttons.addWidget(self.one_button)
        buttons.addWidget(self.stop_button)
        self.cue = QLabel("ready")
        self.cue.setMinimumHeight(64)
        self.cue.setWordWrap(True)
        self.cue.setStyleSheet(CUE_IDLE + "font-size: 20px; font-weight: 700; padding: 8px; border-radius: 6px;")
        self.take_progress = QProgressBar()
        self.take_progress.setRange(0, 1000)
        self.take_progress.setTextVisible(False)
        self.take_progress.setMaximumHeight(8)
        self.error_label = QLabel("")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #fc8181; font-weight: 600;")
        self.error_label.hide()
        self.log = QListWidget()
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addLayout(buttons)
        lay.addWidget(self.cue)
        lay.addWidget(self.take_progress)
        lay.addWidget(self.error_label)
        lay.addWidget(QLabel("Saved takes"))
        lay.addWidget(self.log, 1)
        self.adapt_panel = AdaptPanel(self.window, self)
        lay.addWidget(self.adapt_panel)

    # ---- mode and labels ---------------------------------------------------------------------------------
    def set_mode(self, mode: str) -> None:
        if self.recording:
            self.window.set_recording_tap(None)      # the new mode's stream must not get this tap
            self.stop("the mode changed: recording stopped")
        self.video_check.setVisible(mode == "gesture")
        self.length_spin.setValue(1.5 if mode == "speech" else 2.0)
        self.refresh_labels()

    def refresh_labels(self) -> None:
        root = self.dataset_root()
        current = self.label_box.currentText()
        self.label_box.blockSignals(True)
        self.label_box.clear()
        self.label_box.addItems(label_folders(root) if root else [])
        self.label_box.setEditText(current)
        self.label_box.blockSignals(False)

    # ---- recording ---------------------------------------------------------------------------------------
    @property
    def recording(self) -> bool:
        return self.session is not None

    def _fail(self, text: str) -> bool:
        self.error_label.setText(text)
        self.error_label.show()
        self.window.show_error(text)
        self._add_log("✗ " + text)
        return False

    def _add_log(self, text: str) -> None:
        self.messages.append(text)
        self.log.insertItem(0, text)

    def _stream_rate(self) -> float:
        """Samples/s of the audio the pipeline sees, or frames/s of the video."""
        w = self.window
        if w.mode == "speech":
            return float(w.state.sample_rate_hz or w._sample_rate())
        return float(getattr(w.source, "fps", 0.0) or 30.0)

    def start(self, n_takes: int | None = None) -> bool:
        """Record ``n_takes`` (default: the Takes box) from the running source; errors go to the window."""
        if self.recording:
            return False
        self.error_label.hide()
        root = self.dataset_root()
        if not root:
            return self._fail("Choose a dataset folder first (Dataset: Choose…)")
        w = self.window
        if w.worker is None or w.source is None or w.state is None:
            return self._fail("Choose a source first (a microphone, a camera or a file) and let it play")
        settings = RecordingSettings(w.mode, self.label_box.currentText(), self.speaker_edit.text(),
                                     n_takes=int(n_takes or self.takes_spin.value()),
                                     take_s=self.length_spin.value(), countdown_s=self.countdown_spin.value(),
                                     keep_video=self.video_check.isChecked() and w.mode == "gesture")
        writer = DatasetWriter(root)
        try:
            settings.validate()
            writer.ensure_writable()
        except RecordingError as exc:
            return self._fail(f"Cannot record: {exc}")
        self.saver = BackgroundSaver(writer)
        self.session = RecordingSession(settings, self._stream_rate(), self.saver.submit)
        self.saved = []
        # "Saved takes" lists this recording's takes only: old "nothing was heard" rows do not mix in (issue 16)
        self.log.clear()
        session = self.session
        tap = (session.push_audio if w.mode == "speech"
               else (lambda frame, rgb: session.push_frame(frame, rgb)))
        self._worker = w.worker
        w.set_recording_tap(tap)
        self._set_running(True)
        self.timer.start()
        self.poll()
        return True

    def stop(self, reason: str = "") -> None:
        """Stop after the takes already captured are written; the take in progress is dropped."""
        if self.session is not None:
            self.session.cancel()
            if reason:
                self._add_log("■ " + reason)

    def _set_running(self, running: bool) -> None:
        self.record_button.setEnabled(not running)
        self.one_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        for wdg in (self.label_box, self.speaker_edit, self.takes_spin, self.length_spin, self.countdown_spin,
                    self.video_check):
            wdg.setEnabled(not running)

    def poll(self) -> None:
        session, saver = self.session, self.saver
        if session is None or saver is None:
            return
        if self.window.worker is not self._worker and not session.done:
            self.stop("the source stopped or changed: recording stopped")
        for out in saver.outcomes():
            if out.saved is not None:
                s = out.saved
                self.saved.append(s)
                self._add_log(f"✓ take {out.take}: {s.label}/{s.path.name} ({s.duration_s:.2f} s)")
                self.takes_changed.emit()
            elif out.skipped:
                self._add_log(f"– {out.error}")
            else:
                self._fail(f"Recording stopped: {out.error}. Earlier takes are kept.")
                session.cancel()
        st = session.status()
        self._draw_cue(st)
        if st.phase == "done" and saver.pending == 0:
            self._finish()

    def _draw_cue(self, st) -> None:
        label = self.session.settings.label if self.session else ""
        base = "font-size: 20px; font-weight: 700; padding: 8px; border-radius: 6px;"
        if st.phase == "countdown":
            self.cue.setText(f"Take {st.take} of {st.n_takes}: get ready… {st.seconds_left:.1f}")
            self.cue.setStyleSheet(CUE_COUNTDOWN + base)
            total = max(1e-6, self.session.settings.countdown_s)
            self.take_progress.setValue(int(1000 * (1 - st.seconds_left / total)))
        elif st.phase == "recording":
            verb = "say" if self.window.mode == "speech" else "show"
            self.cue.setText(f"● RECORDING take {st.take} of {st.n_takes}: {verb} “{label}”  "
                             f"{st.seconds_left:.1f} s")
            self.cue.setStyleSheet(CUE_RECORDING + base)
            total = max(1e-6, self.session.settings.take_s)
            self.take_progress.setValue(int(1000 * (1 - st.seconds_left / total)))
        else:
            n = len(self.saved)
            self.cue.setText(("Stopped: " if st.cancelled else "Done: ")
                             + f"{n} take{'s' if n != 1 else ''} saved" + ("" if self.saver.pending == 0 else "…"))
            self.cue.setStyleSheet((CUE_IDLE if st.cancelled else CUE_DONE) + base)
            self.take_progress.setValue(1000)

    def _finish(self) -> None:
        self.timer.stop()
        self.window.set_recording_tap(None)
        if self.saver is not None:
            self.saver.close()
        self.session, self.saver, self._worker = None, None, None
        self._set_running(False)
        self.refresh_labels()
        self.takes_changed.emit()

    def shutdown(self) -> None:
        """The window closes: drop the take in progress, write the captured ones."""
        self.adapt_panel.shutdown()
        if self.session is not None:
            self.session.cancel()
            if self.saver is not None:
                self.saver.close()
            self.timer.stop()
            self.session, self.saver = None, None

