"""Chosen units of one gate as lines over time (the unit picker)."""
from __future__ import annotations

import re

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from ..live_state import GATES, Snapshot
from .gate_heatmaps import GATE_TITLES
from .time_window import make_time_plot, scroll_to, set_y_range

MAX_LINES = 8
# eight distinct colours, readable on the dark theme (Okabe-Ito plus two): each unit line has its own
LINE_COLOURS = ("#e69f00", "#56b4e9", "#009e73", "#f0e442", "#0072b2", "#d55e00", "#cc79a7", "#ffffff")


def parse_units(text: str, n_units: int | None = None) -> list[int]:
    """'3, 7 12-14' -> [3, 7, 12, 13, 14] (distinct, in order, at most MAX_LINES, within range)."""
    out: list[int] = []
    for a, b in re.findall(r"(\d+)(?:\s*-\s*(\d+))?", text):
        lo, hi = int(a), int(b or a)
        for u in range(lo, min(hi, lo + MAX_LINES) + 1):
            if u not in out and (n_units is None or u < n_units):
                out.append(u)
    return out[:MAX_LINES]


class UnitLinesView(QWidget):
    units_changed = Signal(list)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.units_edit = QLineEdit("0, 1, 2")
        self.units_edit.setPlaceholderText("units, e.g. 0, 5, 12-14")
        self.units_edit.setToolTip("Units to plot (or click a heatmap cell)")
        self.gate_box = QComboBox()
        for g in GATES:
            self.gate_box.addItem(GATE_TITLES[g], g)
        self.gate_box.setCurrentIndex(GATES.index("c"))
        top = QHBoxLayout()
        top.addWidget(QLabel("units"))
        top.addWidget(self.units_edit, 1)
        top.addWidget(self.gate_box)
        self.plot_widget = pg.PlotWidget(plotItem=make_time_plot())
        self.plot = self.plot_widget.getPlotItem()
        self.legend = self.plot.addLegend(offset=(-4, 4), labelTextSize="8pt", brush=pg.mkBrush(20, 22, 26, 200))
        # one-pixel pens: a wider pen goes through Qt's stroker, several times the cost of a plain line
        self.curves = [self.plot.plot(pen=pg.mkPen(LINE_COLOURS[k], width=1)) for k in range(MAX_LINES)]
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(top)
        lay.addWidget(self.plot_widget, 1)
        self.n_units: int | None = None
        self.units: list[int] = []
        self._last_snap: Snapshot | None = None
        self._drawn_key = None
        self._y_range: tuple[float, float] | None = None
        self.units_edit.editingFinished.connect(self._units_edited)
        self.gate_box.currentIndexChanged.connect(lambda _i: self._relabel())
        self._units_edited()

    @property
    def gate(self) -> str:
        return self.gate_box.currentData()

    def set_units(self, units: list[int]) -> None:
        self.units_edit.setText(", ".join(str(u) for u in units))
        self._units_edited()

    def toggle_unit(self, unit: int) -> None:
        units = list(self.units)
        if unit in units:
            units.remove(unit)
        else:
            units = (units + [unit])[-MAX_LINES:]
        self.set_units(units)

    def _units_edited(self) -> None:
        units = parse_units(self.units_edit.text(), self.n_units)
        if units != self.units:
            self.units = units
            self._relabel()
            self.units_changed.emit(units)

    def _relabel(self) -> None:
        """Legend entries change only when the selection does, never per frame."""
        self.legend.clear()
        for k, curve in enumerate(self.curves):
            if k < len(self.units):
                self.legend.addItem(curve, f"{self.gate} {self.units[k]}")
            else:
                curve.setData([], [])
        # the new selection is drawn at once from the last data (also while paused or after the stream)
        self._drawn_key = None
        self._y_range = None
        if self._last_snap is not None:
            self.update_from(self._last_snap)

    def clear(self) -> None:
        """Forget the last stream's lines (a mode or model switch)."""
        self._last_snap = None
        self._drawn_key = None
        self._y_range = None
        for curve in self.curves:
            curve.setData([], [])

    def update_from(self, snap: Snapshot) -> None:
        self._last_snap = snap
        scroll_to(self.plot, snap.now_s)
        v = snap.gates.get(self.gate)
        if v is None or v.shape[0] == 0:
            return
        if self.n_units != v.shape[1]:
            self.n_units = v.shape[1]
            self._units_edited()
        key = (self.gate, tuple(self.units), v.shape, snap.frames_t0_s, v[-1].tobytes())
        if key == self._drawn_key:          # nothing new since the last redraw
            return
        self._drawn_key = key
        t = snap.frames_t0_s + np.arange(v.shape[0]) / snap.frame_rate_hz
        for k, u in enumerate(self.units):
            # gate values are always finite; connect="all" draws one polyline without a per-point mask
            self.curves[k].setData(t, v[:, u], skipFiniteCheck=True, connect="all")
        if self.units:
            self._fit_y(v[:, [u for u in self.units if u < v.shape[1]]])

    def _fit_y(self, shown: np.ndarray) -> None:
        """Grow the y range at once to what is shown, shrink it only when it is over twice too large: an
        automatic range re-laid the left axis (its ticks regenerated) on every redraw."""
        if shown.size == 0:
            return
        lo, hi = float(np.min(shown)), float(np.max(shown))
        if not (np.isfinite(lo) and np.isfinite(hi)):
            return
        pad = max(0.05 * (hi - lo), 0.02)
        lo, hi = lo - pad, hi + pad
        cur = self._y_range
        if cur is None or lo < cur[0] or hi > cur[1] or (cur[1] - cur[0]) > 2.0 * (hi - lo):
            self._y_range = (lo, hi)
            set_y_range(self.plot, lo, hi)
