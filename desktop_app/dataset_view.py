"""The Dataset tab: labels with take counts and total durations, each take with its speaker/session and
length; play or preview a take, delete, relabel, import files and folders recorded elsewhere.

All file work is the engine's (:mod:`recognizers.data.dataset_ops`); imports (which may track hands through
videos) run on a worker thread and report back with a signal.
"""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtMultimedia import QAudioOutput, QMediaDevices, QMediaPlayer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMessageBox,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from recognizers.data import dataset_ops as ops
from recognizers.errors import VaultError

PATH_ROLE = Qt.ItemDataRole.UserRole
IMPORT_FILTERS = {"speech": "Audio files (*.wav *.flac *.ogg *.mp3 *.aiff);;All files (*)",
                  "gesture": "Landmarks or videos (*.npz *.mp4 *.avi *.mov *.mkv *.webm keypoint.csv);;All files (*)"}


def _duration_text(s: float) -> str:
    return f"{s:.1f} s" if s < 120 else f"{int(s // 60)} min {int(s % 60):02d} s"


class DatasetView(QWidget):
    """Needs ``window`` (mode, ``use_file``, errors), ``dataset_root()`` and ``defaults()`` -> (label, speaker)
    used for imported files whose name or folder gives none."""

    imported = Signal(object)           # ImportReport, emitted on the GUI thread
    changed = Signal()                  # takes were deleted, moved or imported

    def __init__(self, window, dataset_root, defaults, parent=None):
        super().__init__(parent)
        self.window = window
        self.dataset_root = dataset_root
        self.defaults = defaults
        self.takes: list[ops.TakeInfo] = []
        self.summary: list[ops.LabelSummary] = []
        self.player: QMediaPlayer | None = None
        self._import_thread: threading.Thread | None = None
        self._build()
        self.imported.connect(self._import_done)

    def _build(self) -> None:
        self.totals_label = QLabel("")
        self.tree = QTreeWidget()
        self.tree.setColumnCount(4)
        self.tree.setHeaderLabels(["Label / take", "Takes", "Duration", "Speaker / session"])
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.setColumnWidth(0, 230)
        self.tree.itemSelectionChanged.connect(self._selection_changed)
        self.tree.itemDoubleClicked.connect(lambda *_: self.play_selected())
        self.preview = pg.PlotWidget()
        self.preview.setMaximumHeight(130)
        self.preview.setMouseEnabled(False, False)
        self.preview.hideButtons()
        self.preview_curves = [self.preview.plot(pen=pg.mkPen(c, width=1))
                               for c in ("#63b3ed", "#f6ad55", "#68d391", "#fc8181")]
        self.preview_label = QLabel("select a take to preview it")
        self.preview_label.setStyleSheet("color: #8a93a0;")
        row1 = QHBoxLayout()
        self.play_button = QPushButton("▶ Play")
        self.play_button.setToolTip("Play the take (speech) or its video (gestures) in the live view")
        self.play_button.clicked.connect(self.play_selected)
        self.live_button = QPushButton("Show in live view")
        self.live_button.setToolTip("Run the take through the current model in the main views")
        self.live_button.clicked.connect(self.show_selected_live)
        self.delete_button = QPushButton("Delete")
        self.delete_button.clicked.connect(self._ask_delete)
        self.relabel_button = QPushButton("Relabel…")
        self.relabel_button.clicked.connect(self._ask_relabel)
        for b in (self.play_button, self.live_button, self.delete_button, self.relabel_button):
            row1.addWidget(b)
        row2 = QHBoxLayout()
        self.import_files_button = QPushButton("Import files…")
        self.import_files_button.clicked.connect(self._ask_import_files)
        self.import_folder_button = QPushButton("Import folder…")
        self.import_folder_button.clicked.connect(self._ask_import_folder)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        for b in (self.import_files_button, self.import_folder_button, self.refresh_button):
            row2.addWidget(b)
        self.message_label = QLabel("")
        self.message_label.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.addWidget(self.totals_label)
        lay.addWidget(self.tree, 1)
        lay.addWidget(self.preview_label)
        lay.addWidget(self.preview)
        lay.addLayout(row1)
        lay.addLayout(row2)
        lay.addWidget(self.message_label)
        self._selection_changed()

    # ---- listing -----------------------------------------------------------------------------------------
    def refresh(self) -> None:
        root = self.dataset_root()
        task = self.window.mode
        selected = set(self.selected_paths())
        self.tree.clear()
        if not root:
            self.takes, self.summary = [], []
            self.totals_label.setText("No dataset folder: choose one above.")
            return
        try:
            ops.remove_stale_temp_files(root, min_age_s=120.0)   # left by a crash; never a write in progress
            self.takes = ops.list_takes(root, task)
        except VaultError as exc:
            self.takes = []
            self.message_label.setText(f"Cannot read the dataset: {exc}")
        self.summary = ops.summarize_labels(root, self.takes)
        by_label: dict[str, list[ops.TakeInfo]] = {}
        for t in self.takes:
            by_label.setdefault(t.label, []).append(t)
        for s in self.summary:
            top = QTreeWidgetItem([s.label, str(s.n_takes), _duration_text(s.total_s),
                                   f"{len(s.groups)} group{'s' if len(s.groups) != 1 else ''}"])
            top.setData(0, PATH_ROLE, None)
            for t in by_label.get(s.label, []):
                dur = "unreadable" if t.duration_s is None else f"{t.duration_s:.2f} s"
                child = QTreeWidgetItem([t.path.name + (" 🎞" if t.video_path else ""), "", dur, t.group or "—"])
                child.setData(0, PATH_ROLE, str(t.path))
                top.addChild(child)
                child.setSelected(str(t.path) in selected)
            self.tree.addTopLevelItem(top)
        total = sum(t.duration_s or 0.0 for t in self.takes)
        groups = {t.group for t in self.takes if t.group}
        self.totals_label.setText(f"{len(self.takes)} takes in {len(self.summary)} labels, {_duration_text(total)}, "
                                  f"{len(groups)} speakers/sessions   ·   {root}")

    def counts(self) -> dict[str, int]:
        return {s.label: s.n_takes for s in self.summary}

    def selected_paths(self) -> list[Path]:
        return [Path(i.data(0, PATH_ROLE)) for i in self.tree.selectedItems() if i.data(0, PATH_ROLE)]

    def select_path(self, path: str | Path) -> bool:
        for k in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(k)
            for j in range(top.childCount()):
                if top.child(j).data(0, PATH_ROLE) == str(path):
                    self.tree.clearSelection()
                    top.setExpanded(True)
                    top.child(j).setSelected(True)
                    self.tree.setCurrentItem(top.child(j))
                    return True
        return False

    def _selection_changed(self) -> None:
        paths = self.selected_paths()
        for b in (self.delete_button, self.relabel_button):
            b.setEnabled(bool(paths))
        for b in (self.play_button, self.live_button):
            b.setEnabled(len(paths) == 1)
        if len(paths) == 1:
            self.draw_preview(paths[0])

    # ---- preview and playback ----------------------------------------------------------------------------
    def draw_preview(self, path: Path) -> None:
        """Speech: the waveform. Gestures: x of each hand's wrist and index fingertip over time."""
        for c in self.preview_curves:
            c.setData([], [])
        try:
            if path.suffix.lower() == ".npz":
                from recognizers.data.landmark_files import load_landmark_file
                lm = load_landmark_file(path)
                t = np.arange(lm.shape[0])
                for c, (hand, point) in zip(self.preview_curves, ((0, 0), (0, 8), (1, 0), (1, 8))):
                    c.setData(t, lm[:, hand, point, 0], connect="finite")
                self.preview_label.setText(f"{path.name}: {lm.shape[0]} frames — x of wrist and index tip "
                                           f"(left hand blue/orange, right green/red)")
            else:
                from recognizers.io.audio import load_audio
                x = load_audio(path, 16000)
                step = max(1, x.size // 2000)
                self.preview_curves[0].setData(np.arange(0, x.size, step) / 16000.0, x[::step])
                self.preview_label.setText(f"{path.name}: {x.size / 16000:.2f} s")
        except VaultError as exc:
            self.preview_label.setText(str(exc))

    def play_selected(self) -> bool:
        paths = self.selected_paths()
        if len(paths) != 1:
            return False
        path = paths[0]
        if path.suffix.lower() == ".npz":
            video = path.with_suffix(".mp4")
            if video.is_file():
                return self.window.use_file(video)
            self.message_label.setText(f"{path.name} was recorded without its video: the preview above shows "
                                       f"its landmarks")
            return False
        if not QMediaDevices.audioOutputs():
            self.message_label.setText("No audio output on this system: showing the take in the live view")
            return self.window.use_file(path)
        if self.player is None:
            self.player = QMediaPlayer(self)
            self.audio_out = QAudioOutput(self)
            self.player.setAudioOutput(self.audio_out)
        self.player.setSource(QUrl.fromLocalFile(str(path)))
        self.player.play()
        return True

    def show_selected_live(self) -> bool:
        paths = self.selected_paths()
        if len(paths) != 1:
            return False
        path = paths[0]
        if path.suffix.lower() == ".npz":
            if path.with_suffix(".mp4").is_file():
                return self.window.use_file(path.with_suffix(".mp4"))
            self.message_label.setText("Landmark-only takes cannot be replayed live (no video was kept)")
            return False
        return self.window.use_file(path)

    # ---- delete, relabel ---------------------------------------------------------------------------------
    def delete_paths(self, paths: list[Path]) -> int:
        root = self.dataset_root()
        n = 0
        for p in paths:
            try:
                ops.delete_take(root, p)
                n += 1
            except VaultError as exc:
                self.window.show_error(f"Delete failed: {exc}")
        self.message_label.setText(f"deleted {n} take{'s' if n != 1 else ''}")
        self.refresh()
        self.changed.emit()
        return n

    def relabel_paths(self, paths: list[Path], label: str) -> list[Path]:
        root = self.dataset_root()
        moved = []
        for p in paths:
            try:
                moved.append(ops.relabel_take(root, p, label))
            except VaultError as exc:
                self.window.show_error(f"Relabel failed: {exc}")
                break
        self.message_label.setText(f"moved {len(moved)} take{'s' if len(moved) != 1 else ''} to “{label}”")
        self.refresh()
        self.changed.emit()
        return moved

    def _ask_delete(self) -> None:
        paths = self.selected_paths()
        if paths and QMessageBox.question(self, "Delete takes", f"Delete {len(paths)} take(s) from the disk?"
                                          ) == QMessageBox.StandardButton.Yes:
            self.delete_paths(paths)

    def _ask_relabel(self) -> None:
        paths = self.selected_paths()
        if not paths:
            return
        labels = [s.label for s in self.summary]
        label, ok = QInputDialog.getItem(self, "Relabel", f"Move {len(paths)} take(s) to label:", labels, 0, True)
        if ok and label:
            self.relabel_paths(paths, label)

    # ---- import ------------------------------------------------------------------------------------------
    def import_paths(self, paths: list[str | Path], wait: bool = False) -> None:
        """Import on a worker thread (videos are tracked there); ``imported`` reports when done."""
        root = self.dataset_root()
        if not root:
            self.window.show_error("Choose a dataset folder before importing")
            return
        if self._import_thread is not None and self._import_thread.is_alive():
            self.message_label.setText("an import is already running")
            return
        label, speaker = self.defaults()
        task = self.window.mode

        def run():
            try:
                report = ops.import_paths(root, task, list(paths), label=label or None, speaker=speaker or None)
            except Exception as exc:
                report = ops.ImportReport(skipped=[f"{type(exc).__name__}: {exc}"])
            self.imported.emit(report)

        self.message_label.setText(f"importing {len(paths)} item(s)…")
        self._import_thread = threading.Thread(target=run, name="dataset-import", daemon=True)
        self._import_thread.start()
        if wait:
            self._import_thread.join()

    def _import_done(self, report: ops.ImportReport) -> None:
        self.message_label.setText(report.summary())
        if report.skipped and not report.imported:
            self.window.show_error(f"Nothing imported: {report.skipped[0]}")
        self.refresh()
        self.changed.emit()

    def _ask_import_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Import takes", "", IMPORT_FILTERS[self.window.mode])
        if files:
            self.import_paths(files)

    def _ask_import_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Import a folder (label folders, FSDD files, "
                                                  "gesture data sets)")
        if folder:
            self.import_paths([folder])
