"""Top-k classes with probability bars and a clear recognised / listening / nothing-recognised state."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from ..live_state import Snapshot
from .flat_bar import FlatBar
from .text_strip import TextStrip

TOP_K = 5
NO_WORD_HINT = ("heard speech but no word: say digits with short pauses, "
                "or pick digits-connected-en for digits said in one breath")
NO_WORD_HINT_WORDS = "heard speech but no word: say the words one at a time, with short pauses"
DIGIT_LABELS = frozenset("0123456789") | {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                                          "nine"}
SHOW_HINT_S = 4.0           # how long that hint stays
SHOW_EVENT_S = 1.5          # how long a recognised word stays as the headline


def display_label(label: str) -> str:
    return "unknown / noise" if label.strip("_") == "unknown" else label


class PredictionsView(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        # Opaque, and no label in it asks for a new layout when its text changes: the panel changes up to 15
        # times a second while someone speaks, and each change used to repaint the window's panels beneath it
        # and lay the whole window out again (issue 16, CPU while speaking).
        self.setAutoFillBackground(True)
        self.headline = TextStrip("nothing recognised", height=52, wrap=True, align=Qt.AlignmentFlag.AlignCenter)
        self.headline.setObjectName("headline")
        self.headline.set_font(20, QFont.Weight.DemiBold)
        grid = QGridLayout()
        grid.setVerticalSpacing(2)
        self.names: list[QLabel] = []
        self.bars: list[FlatBar] = []
        row_h = self.fontMetrics().height() + 2
        for k in range(TOP_K):
            name = QLabel("")
            name.setFixedSize(116, row_h)
            bar = FlatBar(0, 1000)
            bar.setFixedHeight(min(14, row_h))
            pct = QLabel("")
            pct.setFixedSize(44, row_h)
            pct.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            grid.addWidget(name, k, 0)
            grid.addWidget(bar, k, 1)
            grid.addWidget(pct, k, 2)
            self.names.append(name)
            self.bars.append(bar)
            bar.pct = pct
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.headline)
        lay.addLayout(grid)
        self.state = "nothing"
        self.run_start_s: float | None = None     # start of the speech run now heard (VAD active)
        self.no_word_at_s: float | None = None    # a run ended with no word taken from it
        self.no_word_run_s = 0.0
        self.top: list[tuple[str, float]] = []
        self.set_message("nothing recognised")

    def set_message(self, text: str) -> None:
        """A fixed state with no scores (no model loaded, waiting for input)."""
        self.state = "message"
        self._headline(text, "#8a93a0")
        for name, bar in zip(self.names, self.bars):
            name.setText("")
            bar.setValue(0)
            bar.pct.setText("")

    def _track_runs(self, snap: Snapshot, recent) -> None:
        """Speech the VAD heard that gave no word is said on screen, never silent (issue 16, item 8: digits
        said in one breath are one long run the isolated-word model takes nothing from)."""
        if not snap.sample_rate_hz:
            return
        if snap.active:
            if self.run_start_s is None or snap.now_s < self.run_start_s:
                self.run_start_s = snap.now_s
                self.no_word_at_s = None
            return
        if self.run_start_s is not None:
            took_word = recent is not None and recent.end_s >= self.run_start_s - 0.5
            self.no_word_at_s = None if took_word else snap.now_s
            self.no_word_run_s = self.run_start_s
            self.run_start_s = None
        elif (self.no_word_at_s is not None and recent is not None
              and recent.end_s >= self.no_word_run_s - 0.5):
            self.no_word_at_s = None          # the word was decided a moment after the run ended

    def _headline(self, text: str, colour: str) -> None:
        self.headline.setText(text)
        self.headline.set_colour(colour)

    def update_from(self, snap: Snapshot) -> None:
        p = snap.probabilities
        if p is None or not snap.labels:
            if self.state != "message":
                self.set_message("nothing recognised")
            return
        recent = snap.events[-1] if snap.events else None
        shown_event = recent is not None and snap.now_s - recent.end_s <= SHOW_EVENT_S
        self._track_runs(snap, recent)
        if shown_event:
            # headline and bars from one source (issue 16: "4 94%" next to bars of the frame after the word,
            # "unknown / noise 71 %"): while a recognised word is the headline, the bars show that decision
            self.top = [(recent.label, float(recent.confidence))]
        else:
            order = np.argsort(p)[::-1][:TOP_K]
            self.top = [(snap.labels[j], float(p[j])) for j in order]
        # each label and bar repaints itself only when what it shows changes (QLabel.setText and
        # FlatBar.setValue do nothing for the text or value already shown)
        for k, (name, bar) in enumerate(zip(self.names, self.bars)):
            if k < len(self.top):
                label, prob = self.top[k]
                name.setText(display_label(label))
                bar.setValue(int(round(prob * 1000)))
                bar.pct.setText(f"{prob:.0%}")
            else:
                name.setText("")
                bar.setValue(0)
                bar.pct.setText("")
        if shown_event:
            self.state = "recognised"
            self._headline(f"{display_label(recent.label)}  {recent.confidence:.0%}", "#68d391")
        elif self.no_word_at_s is not None and 0 <= snap.now_s - self.no_word_at_s <= SHOW_HINT_S:
            self.state = "no word"
            digits = any(lab in DIGIT_LABELS for lab in snap.labels)
            self._headline(NO_WORD_HINT if digits else NO_WORD_HINT_WORDS, "#f6ad55")
        elif snap.active:
            self.state = "active"
            self._headline("hearing something…" if snap.sample_rate_hz else "gesture in progress…", "#f6e05e")
        else:
            self.state = "nothing"
            self._headline("nothing recognised", "#8a93a0")
        enabled = self.state != "nothing"
        for bar in self.bars:
            if bar.isEnabled() != enabled:
                bar.setEnabled(enabled)
