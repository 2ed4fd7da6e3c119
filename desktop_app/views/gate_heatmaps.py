"""Heatmaps (units × time) of the six LSTM quantities of one layer, scrolling with the input.

Hovering a cell shows unit, time and value; clicking a cell picks that unit for the line plot.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Signal
from PySide6.QtWidgets import QLabel, QToolTip, QVBoxLayout, QWidget

from ..live_state import GATES, Snapshot
from .fast_image import FastImage
from .time_window import cache_axis, colour_lut, make_time_plot, scroll_to, set_y_range, settle, to_uint8

GATE_TITLES = {"i": "i input", "f": "f forget", "g": "g candidate", "o": "o output", "c": "c cell", "h": "h hidden"}
SIGMOID = ("i", "f", "o")
HOVER_HINT = "hover a cell: unit, time, value · click to plot a unit"


def cell_scale_step(limit: float) -> float:
    """The round colour limit (1, 1.5, 2, 3, 5, 7 times a power of ten) at or above ``limit``."""
    limit = max(float(limit), 1e-6)
    decade = 10.0 ** np.floor(np.log10(limit))
    for m in (1.0, 1.5, 2.0, 3.0, 5.0, 7.0, 10.0):
        if m * decade >= limit * (1 - 1e-9):
            return float(m * decade)
    return float(10.0 * decade)


class GateHeatmapView(QWidget):
    unit_clicked = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.readout = QLabel(HOVER_HINT)
        self.readout.setStyleSheet("color: #a0aec0;")
        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.ci.layout.setSpacing(2)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.readout)
        lay.addWidget(self.canvas, 1)
        # images go to pyqtgraph as uint8 through these fixed LUTs (levels applied here, see update_from)
        seq, div = colour_lut("viridis"), colour_lut("CET-D1")
        self.colour_bars: dict[str, pg.ColorBarItem] = {}   # one colour scale per gate (c: its own range)
        self.plots: dict[str, pg.PlotItem] = {}
        self.images: dict[str, FastImage] = {}
        self.data: dict[str, np.ndarray] = {}     # the (frames, units) arrays shown, for hover readout
        self.t0_s = 0.0
        self.frame_rate_hz = 100.0
        self.cell_limit = 1.0
        for k, g in enumerate(GATES):
            plot = make_time_plot(show_axis=(k == len(GATES) - 1))
            plot.setLabel("left", GATE_TITLES[g])
            plot.getAxis("left").setWidth(58)
            cache_axis(plot, "left")
            img = FastImage()
            img.setLookupTable(seq if g in SIGMOID else div)
            plot.addItem(img)
            if k:
                plot.setXLink(self.plots[GATES[0]])
            self.canvas.addItem(plot, row=k, col=0)
            scale = pg.ColorBarItem(values=(0.0, 1.0) if g in SIGMOID else (-1.0, 1.0), width=10,
                                    colorMap=pg.colormap.get("viridis" if g in SIGMOID else "CET-D1"),
                                    interactive=False, rounding=0.01)
            scale.getAxis("right").setWidth(34)
            cache_axis(scale, "right")     # its scale changes only with the c range, not per redraw
            self.canvas.addItem(scale, row=k, col=1)
            self.colour_bars[g] = scale
            self.plots[g] = plot
            self.images[g] = img
        self.canvas.scene().sigMouseMoved.connect(self._hover)
        self.canvas.scene().sigMouseClicked.connect(self._click)
        self.hover_text = ""
        self._hover_pos = None         # scene position of the mouse over the heatmaps, for re-describing
        self._drawn_key = None
        self._cell_scale = 1.0         # the c colour scale's shown limit

    @property
    def master(self) -> pg.PlotItem:
        """The plot the other five are x-linked to: scrolling it scrolls them all."""
        return self.plots[GATES[0]]

    def clear(self) -> None:
        for img in self.images.values():
            img.clear()
        self.data = {}
        self._drawn_key = None
        self._forget_hover()

    def _forget_hover(self) -> None:
        self.hover_text = ""
        self._hover_pos = None
        self.readout.setText(HOVER_HINT)
        QToolTip.hideText()

    def update_from(self, snap: Snapshot) -> None:
        self.t0_s = snap.frames_t0_s
        self.frame_rate_hz = snap.frame_rate_hz
        scroll_to(self.master, snap.now_s)         # the other plots follow through their x-link
        for plot in self.plots.values():
            settle(plot)
        self._refresh_hover()
        # the snapshot copies its arrays: new arrays with the same first frame, length and newest row are
        # the same data (nothing ran since), so nothing needs re-rendering
        key = {g: (v.shape, snap.frames_t0_s, v[-1].tobytes()) for g, v in snap.gates.items() if v.shape[0]}
        if key and key == self._drawn_key:
            return
        self._drawn_key = key
        for g, plot in self.plots.items():
            v = snap.gates.get(g)
            if v is None or v.shape[0] == 0:
                continue
            self.data[g] = v
            if g in SIGMOID:
                levels = (0.0, 1.0)
            elif g == "c":
                # the cell is unbounded: a slowly adapting symmetric range keeps colours comparable over time
                # (every 4th frame is plenty for a colour range, at a quarter of the cost)
                m = float(np.percentile(np.abs(v[::4]), 99)) if v.size else 1.0
                m = m if np.isfinite(m) else self.cell_limit
                self.cell_limit = max(1.0, m if m > self.cell_limit else 0.95 * self.cell_limit + 0.05 * m)
                # the image and its colour bar use one of a few round limits: the bar's axis (re-rendered
                # whenever its range changes) moves only when a step is crossed, and colours match its labels
                shown = cell_scale_step(self.cell_limit)
                levels = (-shown, shown)
                if shown != self._cell_scale:
                    self._cell_scale = shown
                    self.colour_bars["c"].setLevels(levels)
            else:
                levels = (-1.0, 1.0)
            img = self.images[g]
            # (units, frames) uint8 through the fixed LUT: no rescaling or NaN scan in pyqtgraph
            img.set_image(to_uint8(v, *levels).T,
                          QRectF(self.t0_s, 0, v.shape[0] / self.frame_rate_hz, v.shape[1]))
            set_y_range(plot, 0, v.shape[1])

    # ---- marking a decision (the explain view) -------------------------------------------------------
    def mark_span(self, t0_s: float, t1_s: float) -> None:
        """Shade stream times ``t0_s..t1_s`` (the frames that decided an event) on every heatmap and scroll
        there; a later call moves the shading, :meth:`clear_mark` removes it."""
        if not hasattr(self, "marks"):
            self.marks = {}
            for g, plot in self.plots.items():
                region = pg.LinearRegionItem(movable=False, brush=pg.mkBrush(255, 255, 255, 40),
                                             pen=pg.mkPen(255, 255, 255, 160))
                region.setZValue(10)
                plot.addItem(region)
                self.marks[g] = region
        for region in self.marks.values():
            region.setRegion((t0_s, t1_s))
            region.show()
        self.marked_span = (float(t0_s), float(t1_s))
        scroll_to(self.master, max(t1_s + 0.5, self.t0_s))

    def clear_mark(self) -> None:
        for region in getattr(self, "marks", {}).values():
            region.hide()
        self.marked_span = None

    # ---- inspection ----------------------------------------------------------------------------------
    def cell_at(self, gate: str, t_s: float, unit_y: float) -> tuple[int, float, float] | None:
        """(unit, time of the frame, value) under stream time ``t_s`` and y ``unit_y``, or None."""
        v = self.data.get(gate)
        if v is None:
            return None
        k = int(np.floor((t_s - self.t0_s) * self.frame_rate_hz))
        u = int(np.floor(unit_y))
        if not (0 <= k < v.shape[0] and 0 <= u < v.shape[1]):
            return None
        return u, self.t0_s + k / self.frame_rate_hz, float(v[k, u])

    def describe(self, gate: str, t_s: float, unit_y: float) -> str:
        cell = self.cell_at(gate, t_s, unit_y)
        if cell is None:
            return ""
        u, t, val = cell
        return f"{GATE_TITLES[gate]} · unit {u} · t = {t:.2f} s · value {val:+.3f}"

    def _locate(self, scene_pos) -> tuple[str, QPointF] | None:
        for g, plot in self.plots.items():
            vb = plot.getViewBox()
            if vb.sceneBoundingRect().contains(scene_pos):
                return g, vb.mapSceneToView(scene_pos)
        return None

    def _hover(self, scene_pos) -> None:
        self._hover_pos = scene_pos
        hit = self._locate(scene_pos)
        text = self.describe(hit[0], hit[1].x(), hit[1].y()) if hit else ""
        self.hover_text = text
        self.readout.setText(text or HOVER_HINT)
        if text:
            QToolTip.showText(self.canvas.mapToGlobal(self.canvas.mapFromScene(scene_pos)), text, self.canvas)
        else:
            QToolTip.hideText()

    def _refresh_hover(self) -> None:
        """The view scrolled: the cell under a still mouse is another one (or none: its tooltip goes)."""
        if self._hover_pos is None or not self.hover_text:
            return
        if not self.canvas.underMouse():
            self._forget_hover()
            return
        hit = self._locate(self._hover_pos)
        text = self.describe(hit[0], hit[1].x(), hit[1].y()) if hit else ""
        if not text:
            self._forget_hover()
        elif text != self.hover_text:
            self.hover_text = text
            self.readout.setText(text)
            if QToolTip.isVisible():
                QToolTip.showText(self.canvas.mapToGlobal(self.canvas.mapFromScene(self._hover_pos)), text,
                                  self.canvas)

    def _click(self, ev) -> None:
        hit = self._locate(ev.scenePos())
        if hit:
            cell = self.cell_at(hit[0], hit[1].x(), hit[1].y())
            if cell is not None:
                self.unit_clicked.emit(cell[0])
