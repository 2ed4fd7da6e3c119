""""Adapt to my voice" in the Record tab: record N takes of every label of the current model with the
recorder's own countdown and cue, adapt the model on them in a background thread (progress, cancel), then
offer the adapted model live.

The panel only sequences things: the recorder panel (its :class:`recognizers.data.recorder.RecordingSession`,
cue and saver) records each label's run into this adaptation's own takes folder, and
:func:`recognizers.training.adapt.adapt` does the work on a QThread that emits plain data.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path

from PySide6.QtCore import QStandardPaths, QThread, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QSpinBox, QVBoxLayout, QWidget


def default_work_root() -> Path:
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base or Path.home() / ".lstm-vault") / "adapt"


class AdaptWorker(QThread):
    epoch_done = Signal(int, int)          # epoch, epochs
    finished_adapting = Signal(str, float, float, bool)   # model_dir ("" when none), before, after, cancelled
    failed = Signal(str)

    def __init__(self, model_dir: str, takes_dir: str, out_dir: str, epochs: int | None, parent=None):
        super().__init__(parent)
        self.args = (model_dir, takes_dir, out_dir)
        self.epochs = epochs
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    def run(self) -> None:
        from recognizers.errors import VaultError
        from recognizers.training.adapt import AdaptConfig, adapt
        try:
            r = adapt(*self.args, AdaptConfig(epochs=self.epochs, threads=1),
                      on_epoch=lambda e: self.epoch_done.emit(e.epoch, e.epochs), cancel=self._cancel,
                      command="desktop app: Adapt to my voice")
        except VaultError as exc:
            self.failed.emit(str(exc))
            return
        except Exception as exc:   # a bug must not kill the app's thread silently
            self.failed.emit(f"{type(exc).__name__}: {exc}")
            return
        self.finished_adapting.emit(str(r.model_dir or ""), r.takes_accuracy_before, r.takes_accuracy_after,
                                    r.cancelled)


class AdaptPanel(QWidget):
    """Needs the window (``mode``, ``models``, ``load_model_folder``) and the recorder panel it drives."""

    adapted = Signal(str)                  # the adapted model folder, once written

    def __init__(self, window, recorder, parent=None):
        super().__init__(parent)
        self.window = window
        self.recorder = recorder
        self.work_root = default_work_root()
        self.epochs: int | None = None   # None: the model's adaptation recipe (recognizers.training.adapt)
        self.worker: AdaptWorker | None = None
        self.model_dir: str | None = None   # the adapted model, once written
        self.takes_dir: Path | None = None
        self._queue: list[str] = []
        self._recorder_root = None
        self._base: str | None = None
        self._cancelled = False
        self.takes_spin = QSpinBox()
        self.takes_spin.setRange(1, 20)
        self.takes_spin.setValue(3)
        self.takes_spin.setToolTip("Takes of every label of the current model")
        self.start_button = QPushButton("Adapt to my voice")
        self.start_button.setToolTip("Record the takes below for every word of the current model, then fine-tune "
                                     "the model on them (it keeps hearing everyone else)")
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.use_button = QPushButton("Use the adapted model")
        self.use_button.setEnabled(False)
        self.use_button.clicked.connect(self.use_adapted)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.start_button)
        row.addWidget(QLabel("takes per label"))
        row.addWidget(self.takes_spin)
        row.addWidget(self.cancel_button)
        row.addWidget(self.use_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(row)
        lay.addWidget(self.progress)
        lay.addWidget(self.status)
        recorder.takes_changed.connect(self._recorder_changed)

    @property
    def running(self) -> bool:
        return bool(self._queue) or self._recording or self.worker is not None

    @property
    def _recording(self) -> bool:
        return self._recorder_root is not None

    def _say(self, text: str) -> None:
        self.status.setText(text)

    def start(self) -> bool:
        if self.running or self.recorder.recording:
            return False
        model = self.window.models.get(self.window.mode)
        if model is None or model.path is None:
            self.window.show_error("Adapt to my voice: load a model first")
            return False
        from recognizers.decoders.ctc import is_ctc_model
        if is_ctc_model(model):
            self.window.show_error("Adapt to my voice: a connected-digit (CTC) model cannot be adapted")
            return False
        labels = [lab for lab in model.labels if lab != model.unknown_label]
        speaker = self.recorder.speaker_edit.text().strip() or "me"
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self._base = str(model.path)
        self.takes_dir = self.work_root / f"{model.name}-{speaker}-{stamp}" / "takes"
        self.takes_dir.mkdir(parents=True, exist_ok=True)
        self.recorder.speaker_edit.setText(speaker)
        self.recorder.takes_spin.setValue(self.takes_spin.value())
        self._queue = list(labels)
        self._cancelled = False
        self.model_dir = None
        self.use_button.setEnabled(False)
        self._set_running(True)
        self.progress.setValue(0)
        self._n_labels = len(labels)
        return self._next_label()

    def _next_label(self) -> bool:
        if not self._queue:
            self._restore_recorder()
            self._start_adapting()
            return True
        label = self._queue.pop(0)
        self._recorder_root = self.recorder.dataset_root
        takes_dir = str(self.takes_dir)
        self.recorder.dataset_root = lambda: takes_dir
        self.recorder.label_box.setEditText(label)
        done = self._n_labels - len(self._queue) - 1
        self._say(f"Recording label {done + 1} of {self._n_labels}: “{label}”, "
                  f"{self.takes_spin.value()} takes")
        self.progress.setValue(int(50 * done / max(1, self._n_labels)))
        if not self.recorder.start(n_takes=self.takes_spin.value()):
            self._abort("recording could not start (see the message above)")
            return False
        return True

    def _recorder_changed(self) -> None:
        """A take was saved, or the recorder's run ended."""
        if not self._recording or self.recorder.recording:
            return
        self._restore_recorder()
        if self._cancelled:
            self._abort("cancelled; nothing adapted")
            return
        self._next_label()

    def _restore_recorder(self) -> None:
        if self._recorder_root is not None:
            self.recorder.dataset_root = self._recorder_root
            self._recorder_root = None
            self.recorder.refresh_labels()

    def _start_adapting(self) -> None:
        out = self.takes_dir.parent / "model"
        self._say(f"Adapting {Path(self._base).name} on {self.takes_dir} …")
        self.progress.setValue(50)
        self.worker = AdaptWorker(self._base, str(self.takes_dir), str(out), self.epochs, self)
        self.worker.epoch_done.connect(self._on_epoch)
        self.worker.finished_adapting.connect(self._on_finished)
        self.worker.failed.connect(self._on_failed)
        self.worker.finished.connect(self._thread_ended)
        self.worker.start()

    def _on_epoch(self, epoch: int, epochs: int) -> None:
        self.progress.setValue(50 + int(50 * epoch / max(1, epochs)))
        self._say(f"Adapting: epoch {epoch} of {epochs}")

    def _on_finished(self, model_dir: str, before: float, after: float, cancelled: bool) -> None:
        if cancelled or not model_dir:
            self._say("Adaptation cancelled; nothing written")
            return
        self.model_dir = model_dir
        self.progress.setValue(100)
        self.use_button.setEnabled(True)
        self._say(f"Adapted: your takes {before * 100:.0f} % → {after * 100:.0f} % right. "
                  f"Saved to {model_dir}. “Use the adapted model” makes it live.")
        self.adapted.emit(model_dir)

    def _on_failed(self, text: str) -> None:
        self._say(f"Adaptation failed: {text}")
        self.window.show_error(f"Adapt to my voice: {text}")

    def _thread_ended(self) -> None:
        self.worker = None
        self._set_running(False)

    def _abort(self, why: str) -> None:
        self._queue = []
        self._restore_recorder()
        self._set_running(False)
        self._say(f"Adapt to my voice: {why}")

    def cancel(self) -> None:
        self._cancelled = True
        if self.worker is not None:
            self.worker.cancel()
        elif self.recorder.recording:
            self.recorder.stop("Adapt to my voice cancelled")
        else:
            self._abort("cancelled")

    def use_adapted(self) -> bool:
        """Make the adapted model the live recogniser."""
        return bool(self.model_dir) and self.window.load_model_folder(self.model_dir)

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.takes_spin.setEnabled(not running)
        self.cancel_button.setEnabled(running)

    def shutdown(self, timeout_ms: int = 10_000) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self.worker.wait(timeout_ms)
