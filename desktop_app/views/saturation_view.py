"""Gate saturation (Karpathy et al. 2015, Fig. 5): per unit, the fraction of time a sigmoid gate is
left-saturated (< 0.1) against the fraction it is right-saturated (> 0.9), over the visible window."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

from recognizers.nn.gate_stats import SIGMOID_GATES, saturation_fractions

from ..live_state import Snapshot
from .text_strip import TextStrip

COLOURS = {"i": "#63b3ed", "f": "#f56565", "o": "#68d391"}


class SaturationView(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.plot_widget = pg.PlotWidget()
        p = self.plot = self.plot_widget.getPlotItem()
        p.setMenuEnabled(False)
        p.setMouseEnabled(x=False, y=False)
        p.hideButtons()
        p.setRange(xRange=(0, 1), yRange=(0, 1), padding=0.02)
        p.setLabel("bottom", "fraction of time < 0.1")
        p.setLabel("left", "fraction > 0.9")
        p.plot([0, 1], [1, 0], pen=pg.mkPen("#4a5568", style=pg.QtCore.Qt.PenStyle.DashLine))
        legend = p.addLegend(offset=(-4, 4), labelTextSize="8pt")
        self.scatter = {}
        for g in SIGMOID_GATES:
            s = pg.ScatterPlotItem(size=6, pen=None, brush=pg.mkBrush(COLOURS[g] + "b0"))
            p.addItem(s)
            legend.addItem(s, f"{g} gate")
            self.scatter[g] = s
        self.summary = TextStrip("", colour="#a0aec0", monospace=True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.plot_widget, 1)
        lay.addWidget(self.summary)
        self.fractions: dict[str, tuple[float, float]] = {}
        self._drawn_key = None

    def update_from(self, snap: Snapshot) -> None:
        key = {g: (v.shape, snap.frames_t0_s, v[-1].tobytes()) for g, v in snap.gates.items() if v.shape[0]}
        if key and key == self._drawn_key:      # nothing ran since the last redraw (e.g. a quiet stream)
            return
        self._drawn_key = key
        lines = []
        for g in SIGMOID_GATES:
            v = snap.gates.get(g)
            if v is None or v.shape[0] == 0:
                continue
            low, high = saturation_fractions(v)
            self.scatter[g].setData(low, high)
            self.fractions[g] = (float(np.mean(low)), float(np.mean(high)))
            lines.append(f"{g}: {self.fractions[g][0]:4.0%} <0.1  {self.fractions[g][1]:4.0%} >0.9")
        if lines:
            self.summary.setText("   ".join(lines))
