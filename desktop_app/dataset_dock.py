"""The "Record & train" dock: one dataset folder per mode, and the Record, Dataset and Train tabs on it.

The folder is remembered per mode (``<mode>/dataset`` in the settings). The tabs share it and talk only
through signals: a saved take refreshes the dataset view; a trained model can be made the live one.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from .dataset_view import DatasetView
from .recorder_panel import RecorderPanel
from .settings_values import setting_str
from .training_panel import TrainingPanel


class DatasetDock(QDockWidget):
    def __init__(self, window):
        super().__init__("Record and train", window)
        self.setObjectName("record_and_train")
        self.window_ = window
        self.mode = ""
        self.folder_edit = QLineEdit()
        self.folder_edit.setPlaceholderText("dataset folder: DATA/<label>/<take>")
        self.folder_edit.editingFinished.connect(lambda: self.set_dataset(self.folder_edit.text()))
        choose = QPushButton("Choose…")
        choose.setToolTip("Choose or create the dataset folder (one folder per label inside)")
        choose.clicked.connect(self._ask_folder)
        row = QHBoxLayout()
        row.addWidget(QLabel("Dataset"))
        row.addWidget(self.folder_edit, 1)
        row.addWidget(choose)
        self.recorder = RecorderPanel(window, self.dataset_root)
        self.dataset_view = DatasetView(window, self.dataset_root, self._import_defaults)
        self.training = TrainingPanel(window, self.dataset_root)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.recorder, "Record")
        self.tabs.addTab(self.dataset_view, "Dataset")
        self.tabs.addTab(self.training, "Train")
        self.recorder.takes_changed.connect(self.dataset_view.refresh)
        self.dataset_view.changed.connect(self.recorder.refresh_labels)
        body = QWidget()
        lay = QVBoxLayout(body)
        lay.setContentsMargins(6, 4, 6, 4)
        lay.addLayout(row)
        lay.addWidget(self.tabs, 1)
        # the panels scroll inside the dock: opening it never grows the window past the screen (issue 16)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(body)
        self.setWidget(scroll)
        self.setMinimumWidth(380)
        self.setAllowedAreas(Qt.DockWidgetArea.LeftDockWidgetArea | Qt.DockWidgetArea.RightDockWidgetArea)

    def dataset_root(self) -> Path | None:
        text = self.folder_edit.text().strip()
        return Path(text).expanduser() if text else None

    def _import_defaults(self) -> tuple[str, str]:
        return self.recorder.label_box.currentText().strip(), self.recorder.speaker_edit.text().strip()

    def _ask_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Dataset folder (create one with the dialog's "
                                                  "New Folder button)", self.folder_edit.text())
        if folder:
            self.set_dataset(folder)

    def set_dataset(self, folder: str | Path | None) -> None:
        text = str(folder) if folder else ""
        self.folder_edit.setText(text)
        if self.mode:
            self.window_.settings.setValue(f"{self.mode}/dataset", text)
        self.recorder.refresh_labels()
        self.dataset_view.refresh()
        self.training.set_mode(self.mode)

    def set_mode(self, mode: str) -> None:
        """The window switched mode: each mode has its own dataset."""
        self.mode = mode
        self.folder_edit.setText(setting_str(self.window_.settings, f"{mode}/dataset"))
        self.recorder.set_mode(mode)
        self.dataset_view.refresh()
        self.training.set_mode(mode)

    def shutdown(self) -> None:
        self.recorder.shutdown()
        self.training.shutdown()
