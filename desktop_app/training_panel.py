"""The Train tab: train a model on the dataset in the background with progress, ETA, live loss/accuracy
curves and a cancel button; then the validation confusion matrix and per-class accuracy, and one click to
make the new model the live recogniser.

Training is :func:`recognizers.training.loop.train` itself, with the same task data and config as
``lstm-vault train`` (the panel shows the equivalent command), so the same data, settings and seed give
the same weights from either. It runs in a :class:`TrainingWorker` (QThread) whose callbacks emit plain
data; cancelling sets a ``threading.Event`` that the training loop checks between batches.
"""
from __future__ import annotations

import shlex
import threading
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QThread, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from recognizers.errors import VaultError
from recognizers.training.loop import TrainConfig, format_duration

BATCH_SIGNAL_S = 0.1     # batch progress is sent at most this often (the GUI needs no more)


class TrainingWorker(QThread):
    """Runs ``train()`` off the GUI thread; every signal carries plain data (dicts, ints, strings)."""

    epoch_done = Signal(dict)            # EpochReport as a dict
    batch_done = Signal(int, int, int)   # epoch, batches done, batches per epoch
    message = Signal(str)
    finished_training = Signal(dict)     # model_dir (str or None), validation, cancelled, ...
    failed = Signal(str)

    def __init__(self, task: str, data_dir: Path, out_dir: Path, config: TrainConfig):
        super().__init__()
        self.task, self.data_dir, self.out_dir, self.config = task, Path(data_dir), Path(out_dir), config
        self.cancel_event = threading.Event()
        self._last_batch = 0.0

    def cancel(self) -> None:
        self.cancel_event.set()

    def _on_batch(self, epoch: int, done: int, total: int) -> None:
        now = time.monotonic()
        if done == total or now - self._last_batch >= BATCH_SIGNAL_S:
            self._last_batch = now
            self.batch_done.emit(epoch, done, total)

    def run(self) -> None:
        from recognizers.training.loop import train
        from recognizers.training.tasks import make_task_data
        try:
            res = train(make_task_data(self.task), self.data_dir, self.out_dir, self.config,
                        on_epoch=lambda r: self.epoch_done.emit(asdict(r)), on_batch=self._on_batch,
                        log=self.message.emit, cancel=self.cancel_event,
                        command="lstm-vault (desktop app) " + equivalent_command(self.task, self.data_dir,
                                                                                 self.out_dir, self.config))
        except VaultError as exc:
            self.failed.emit(str(exc))
            return
        except Exception as exc:
            self.failed.emit(f"{type(exc).__name__}: {exc}")
            return
        self.finished_training.emit({"model_dir": str(res.model_dir) if res.model_dir else None,
                                     "validation": res.validation, "best_val_acc": res.best_val_acc,
                                     "epochs_run": res.epochs_run, "seconds": res.seconds,
                                     "cancelled": res.cancelled})


def equivalent_command(task: str, data: Path, out: Path, c: TrainConfig) -> str:
    """The ``lstm-vault train`` command line that trains the same model."""
    args = ["lstm-vault", "train", "--task", task, "--data", str(data), "--out", str(out),
            "--epochs", str(c.epochs), "--patience", str(c.patience), "--hidden", str(c.hidden_size),
            "--layers", str(c.num_layers), "--dropout", f"{c.dropout:g}", "--batch-size", str(c.batch_size),
            "--lr", f"{c.lr:g}", "--seed", str(c.seed), "--val-fraction", f"{c.val_fraction:g}",
            "--negatives", f"{c.negatives:g}", "--device", c.device]
    if c.threads:
        args += ["--threads", str(c.threads)]
    return shlex.join(args)


class TrainingPanel(QWidget):
    """Needs ``window`` (mode, ``set_mode``, ``load_model_folder``, errors) and ``dataset_root()``."""

    model_ready = Signal(str)

    def __init__(self, window, dataset_root, parent=None):
        super().__init__(parent)
        self.window = window
        self.dataset_root = dataset_root
        self.worker: TrainingWorker | None = None
        self._no_validation = False
        self.result: dict | None = None
        self.history: list[dict] = []
        self.task = ""
        self._t_start = 0.0
        self._build()

    # ---- layout ------------------------------------------------------------------------------------------
    def _spin(self, lo, hi, value, step=1, decimals=None, tip=""):
        s = QDoubleSpinBox() if decimals is not None else QSpinBox()
        if decimals is not None:
            s.setDecimals(decimals)
        s.setRange(lo, hi)
        s.setSingleStep(step)
        s.setValue(value)
        s.setToolTip(tip)
        s.valueChanged.connect(self._update_command)
        return s

    def _build(self) -> None:
        d = TrainConfig()
        self.epochs_spin = self._spin(1, 1000, d.epochs, tip="upper bound: training stops early on a plateau")
        self.patience_spin = self._spin(1, 1000, d.patience, tip="epochs without validation improvement")
        self.hidden_spin = self._spin(4, 1024, d.hidden_size, 8, tip="LSTM units per layer")
        self.layers_spin = self._spin(1, 4, d.num_layers)
        self.batch_spin = self._spin(1, 1024, d.batch_size)
        self.lr_spin = self._spin(1e-5, 1.0, d.lr, 1e-3, decimals=5)
        self.dropout_spin = self._spin(0.0, 0.9, d.dropout, 0.05, decimals=2)
        self.val_spin = self._spin(0.05, 0.5, d.val_fraction, 0.05, decimals=2,
                                   tip="held out for validation, by speaker/session where ids exist")
        self.seed_spin = self._spin(0, 2 ** 31 - 1, d.seed)
        self.threads_spin = self._spin(0, 256, 0, tip="CPU threads for training (0: PyTorch's default)")
        grid = QGridLayout()
        fields = [("Epochs", self.epochs_spin), ("Patience", self.patience_spin), ("Units", self.hidden_spin),
                  ("Layers", self.layers_spin), ("Batch", self.batch_spin), ("Learning rate", self.lr_spin),
                  ("Dropout", self.dropout_spin), ("Validation", self.val_spin), ("Seed", self.seed_spin),
                  ("Threads", self.threads_spin)]
        for k, (name, w) in enumerate(fields):
            grid.addWidget(QLabel(name), k // 2, (k % 2) * 2)
            grid.addWidget(w, k // 2, (k % 2) * 2 + 1)
        self.out_edit = QLineEdit()
        self.out_edit.setPlaceholderText("model folder (default: beside the dataset)")
        self.out_edit.textChanged.connect(self._update_command)
        out_button = QPushButton("Choose…")
        out_button.clicked.connect(self._ask_out)
        out_row = QHBoxLayout()
        out_row.addWidget(self.out_edit, 1)
        out_row.addWidget(out_button)
        form = QFormLayout()
        form.addRow("Save to", out_row)
        self.command_label = QLabel("")
        self.command_label.setWordWrap(True)
        self.command_label.setStyleSheet("color: #8a93a0; font-family: monospace; font-size: 10px;")
        self.command_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.train_button = QPushButton("Train")
        self.train_button.setStyleSheet("font-weight: 700;")
        self.train_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.use_button = QPushButton("Use this model")
        self.use_button.setEnabled(False)
        self.use_button.setToolTip("Make the new model the live recogniser")
        self.use_button.clicked.connect(self.use_model)
        buttons = QHBoxLayout()
        for b in (self.train_button, self.cancel_button, self.use_button):
            buttons.addWidget(b)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.eta_label = QLabel("")
        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)
        self.error_label = QLabel("")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #fc8181; font-weight: 600;")
        self.error_label.hide()
        self.loss_plot = pg.PlotWidget(title="loss")
        self.acc_plot = pg.PlotWidget(title="accuracy")
        self.acc_plot.setYRange(0, 1)
        for p in (self.loss_plot, self.acc_plot):
            p.setMinimumHeight(110)
            p.addLegend(offset=(-5, 5))
            p.setLabel("bottom", "epoch")
        self.curves = {"train_loss": self.loss_plot.plot(pen=pg.mkPen("#63b3ed", width=2), name="train"),
                       "val_loss": self.loss_plot.plot(pen=pg.mkPen("#f6ad55", width=2), name="validation"),
                       "train_acc": self.acc_plot.plot(pen=pg.mkPen("#63b3ed", width=2), name="train"),
                       "val_acc": self.acc_plot.plot(pen=pg.mkPen("#f6ad55", width=2), name="validation")}
        plots = QHBoxLayout()
        plots.addWidget(self.loss_plot)
        plots.addWidget(self.acc_plot)
        self.split_label = QLabel("")
        self.split_label.setWordWrap(True)
        self.confusion = QTableWidget()
        self.confusion.setMinimumHeight(140)
        self.confusion.setToolTip("Validation confusion matrix: rows are the true labels, columns the predicted "
                                  "ones; the last column is each label's accuracy")
        lay = QVBoxLayout(self)
        lay.addLayout(grid)
        lay.addLayout(form)
        lay.addWidget(self.command_label)
        lay.addLayout(buttons)
        lay.addWidget(self.progress)
        lay.addWidget(self.eta_label)
        lay.addWidget(self.status_label)
        lay.addWidget(self.error_label)
        lay.addLayout(plots, 1)
        lay.addWidget(self.split_label)
        lay.addWidget(self.confusion, 1)
        self._update_command()

    # ---- settings ----------------------------------------------------------------------------------------
    def config(self) -> TrainConfig:
        return TrainConfig(hidden_size=self.hidden_spin.value(), num_layers=self.layers_spin.value(),
                           dropout=self.dropout_spin.value(), epochs=self.epochs_spin.value(),
                           patience=self.patience_spin.value(), batch_size=self.batch_spin.value(),
                           lr=self.lr_spin.value(), seed=self.seed_spin.value(), device="cpu",
                           val_fraction=self.val_spin.value(), threads=self.threads_spin.value())

    def out_dir(self) -> Path | None:
        text = self.out_edit.text().strip()
        if text:
            return Path(text).expanduser()
        root = self.dataset_root()
        return Path(root).with_name(Path(root).name + "-model") if root else None

    def _ask_out(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder to hold the model folder")
        if folder:
            root = self.dataset_root()
            self.out_edit.setText(str(Path(folder) / ((Path(root).name if root else "my") + "-model")))

    def _update_command(self, *_):
        root, out = self.dataset_root(), self.out_dir()
        if root and out:
            self.command_label.setText("Same as: " + equivalent_command(self.window.mode, Path(root), out,
                                                                        self.config()))
        else:
            self.command_label.setText("Choose a dataset folder to train on.")

    def set_mode(self, mode: str) -> None:
        self._update_command()

    # ---- training ----------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.worker is not None

    def _fail(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.show()
        self.window.show_error(text)

    def start(self) -> bool:
        if self.running:
            return False
        root, out = self.dataset_root(), self.out_dir()
        if not root:
            self._fail("Training needs a dataset: choose its folder above")
            return False
        if out is not None and (Path(out) / "model.json").exists() and not self.confirm_overwrite(Path(out)):
            return False
        self.error_label.hide()
        self._no_validation = False
        self.task = self.window.mode
        self.result, self.history = None, []
        for c in self.curves.values():
            c.setData([], [])
        self.confusion.clear()
        self.confusion.setRowCount(0)
        self.confusion.setColumnCount(0)
        self.split_label.setText("")
        self.use_button.setEnabled(False)
        self.progress.setValue(0)
        self.eta_label.setText("starting…")
        self.worker = TrainingWorker(self.task, Path(root), out, self.config())
        self.worker.epoch_done.connect(self._on_epoch)
        self.worker.batch_done.connect(self._on_batch)
        self.worker.message.connect(self._on_message)
        self.worker.finished_training.connect(self._on_finished)
        self.worker.failed.connect(self._on_failed)
        self.worker.finished.connect(self._thread_ended)
        self._t_start = time.monotonic()
        self.train_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.worker.start()
        return True

    def confirm_overwrite(self, out: Path) -> bool:
        """Ask before a second Train replaces the model already in ``out`` (tests replace this method)."""
        answer = QMessageBox.question(self, "Replace the model?",
                                      f"{out} already holds a trained model. Train again and replace it?",
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def _on_message(self, text: str) -> None:
        # the split line reads "N train / 0 validation; ..." when no take can be held out
        if " 0 validation" in text or text.startswith("no validation"):
            self._no_validation = True
        self.status_label.setText(text)

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self.eta_label.setText("cancelling…")

    def _on_batch(self, epoch: int, done: int, total: int) -> None:
        epochs = self.epochs_spin.value()
        frac = ((epoch - 1) + done / max(1, total)) / max(1, epochs)
        self.progress.setValue(int(1000 * frac))
        if not self.history and frac > 0:       # before the first epoch ends: extrapolate from batches
            elapsed = time.monotonic() - self._t_start
            self.eta_label.setText(f"epoch {epoch}/{epochs}, batch {done}/{total}   ETA ≤ "
                                   f"{format_duration(elapsed / frac * (1 - frac))}")

    def _on_epoch(self, r: dict) -> None:
        self.history.append(r)
        x = np.arange(1, len(self.history) + 1)
        for key, curve in self.curves.items():
            curve.setData(x, np.array([h[key] for h in self.history], float))
        self.progress.setValue(int(1000 * r["epoch"] / max(1, r["epochs"])))
        if not r.get("validated", True) or self._no_validation:
            # no validation split: the "validation" figures would be training figures (issue 16)
            self.eta_label.setText(f"epoch {r['epoch']}/{r['epochs']}   no validation split: "
                                   f"training accuracy {r.get('train_acc', 0.0) * 100:.1f}%   "
                                   f"ETA ≤ {format_duration(r['eta_s'])}")
            return
        self.eta_label.setText(f"epoch {r['epoch']}/{r['epochs']}   validation {r['val_acc'] * 100:.1f}% "
                               f"(best {r['best_val_acc'] * 100:.1f}%)   ETA ≤ {format_duration(r['eta_s'])} "
                               f"(early stopping may end sooner)")

    def _on_finished(self, result: dict) -> None:
        self.result = result
        if result["cancelled"] or not result["model_dir"]:
            self.eta_label.setText(f"cancelled after {result['epochs_run']} epochs: no model was saved")
            return
        self.progress.setValue(1000)
        v = result["validation"]
        if self._no_validation or not v.get("n", 0):
            self.eta_label.setText(f"done in {format_duration(result['seconds'])}: {result['epochs_run']} epochs; "
                                   f"no validation split, so no validation accuracy: record takes from a second "
                                   f"speaker (or session) to measure one")
        else:
            self.eta_label.setText(f"done in {format_duration(result['seconds'])}: {result['epochs_run']} epochs, "
                                   f"best validation accuracy {result['best_val_acc'] * 100:.1f}%")
        self.status_label.setText(f"saved {result['model_dir']}")
        if v.get("n", 0):
            self.split_label.setText(f"Validation: {v.get('n', 0)} examples, split {v.get('split', '')}")
            self.show_confusion(v)
        else:
            self.split_label.setText("No validation split: every take trained, so there is no confusion matrix")
        self.use_button.setEnabled(True)
        self.model_ready.emit(result["model_dir"])

    def show_confusion(self, v: dict) -> None:
        labels, m = v["labels"], np.asarray(v["confusion"], int)
        per_class = v["per_class_accuracy"]
        t = self.confusion
        t.setRowCount(len(labels))
        t.setColumnCount(len(labels) + 1)
        t.setHorizontalHeaderLabels([f"→{lab}" for lab in labels] + ["accuracy"])
        t.setVerticalHeaderLabels(labels)
        for i in range(len(labels)):
            row_total = max(1, m[i].sum())
            for j in range(len(labels)):
                item = QTableWidgetItem(str(m[i, j]))
                share = m[i, j] / row_total
                good = i == j
                item.setBackground(QBrush(QColor(40, int(60 + 120 * share), 70) if good
                                          else QColor(int(40 + 160 * share), 40, 50)))
                t.setItem(i, j, item)
            acc = per_class.get(labels[i])
            t.setItem(i, len(labels), QTableWidgetItem("—" if acc is None else f"{acc * 100:.0f}%"))
        t.resizeColumnsToContents()

    def _on_failed(self, text: str) -> None:
        self.eta_label.setText("training failed")
        self._fail(f"Training failed: {text}")

    def _thread_ended(self) -> None:
        self.worker = None
        self.train_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    def use_model(self) -> bool:
        """Make the trained model the live recogniser of its mode (switching mode if needed)."""
        if not self.result or not self.result.get("model_dir"):
            return False
        if self.window.mode != self.task:
            self.window.set_mode(self.task)
        return self.window.load_model_folder(self.result["model_dir"])

    def shutdown(self, timeout_ms: int = 10_000) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self.worker.wait(timeout_ms)
