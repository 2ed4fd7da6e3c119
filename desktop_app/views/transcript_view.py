"""The recognised sequence of words or gestures, with their times in the stream."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QListWidget, QVBoxLayout, QWidget

from recognizers.events import RecognitionEvent

from ..live_state import Snapshot
from .predictions_view import display_label

EMPTY = "Nothing recognised yet."


class TranscriptView(QWidget):
    event_clicked = Signal(object)      # the RecognitionEvent of the clicked row (explain it)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.sequence = QLabel(EMPTY)
        self.sequence.setWordWrap(True)
        self.sequence.setStyleSheet("font-size: 16px; color: #e2e8f0;")
        self.list = QListWidget()
        self.list.setAlternatingRowColors(True)
        self.list.setToolTip("Click a word or gesture to see why the network decided it")
        self.list.itemClicked.connect(lambda item: self._row_clicked(self.list.row(item)))
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.sequence)
        lay.addWidget(self.list, 1)
        self.events: list[RecognitionEvent] = []

    def _row_clicked(self, row: int) -> None:
        if 0 <= row < len(self.events):
            self.event_clicked.emit(self.events[row])

    def clear(self) -> None:
        self.events = []
        self.list.clear()
        self.sequence.setText(EMPTY)

    def update_from(self, snap: Snapshot) -> None:
        ev = snap.events
        if len(ev) == len(self.events) and (not ev or ev[-1] is self.events[-1]):
            return      # nothing new: events arrive a few times a minute, not per frame
        self.list.clear()
        for e in ev:
            self.list.addItem(f"{e.start_s:7.2f} – {e.end_s:6.2f} s   {display_label(e.label):<12} {e.confidence:4.0%}")
        self.list.scrollToBottom()
        self.events = list(ev)
        self.sequence.setText(" ".join(display_label(e.label) for e in ev[-16:]) if ev else EMPTY)
