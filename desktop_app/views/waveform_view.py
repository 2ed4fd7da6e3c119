"""Scrolling waveform (peak envelope) with a level meter in dBFS."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ..live_state import Snapshot
from .flat_bar import FlatBar
from .time_window import make_time_plot, scroll_to, set_y_range

ENVELOPE_BINS = 1000           # at most this many min/max pairs (a plot's width in pixels, see update_from)
MIN_ENVELOPE_BINS = 200
# the y range shown is one of these: while a word fades the range shrinks smoothly underneath, but the axis
# (whose ticks are regenerated whenever its range changes) moves only when a step is crossed, a few times a
# word instead of on every redraw
YLIM_STEPS = (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)
METER_FLOOR_DB = -60
LEFT_AXIS_PX = 52


def peak_envelope(x: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """(index, value) of an interleaved min/max envelope: what a screen can show of ``x``."""
    if x.size <= 2 * bins:
        return np.arange(x.size, dtype=np.float64), x
    k = x.size // bins
    n = k * bins
    off = x.size - n                  # keep the newest samples aligned to the right edge
    blocks = x[off:].reshape(bins, k)
    env = np.empty(2 * bins, x.dtype)
    env[0::2] = blocks.min(axis=1)
    env[1::2] = blocks.max(axis=1)
    idx = off + np.repeat(np.arange(bins) * k, 2) + np.tile([0, k // 2], bins)
    return idx.astype(np.float64), env


class WaveformView(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.plot_widget = pg.PlotWidget(plotItem=make_time_plot())
        self.plot = self.plot_widget.getPlotItem()
        self.plot.setLabel("left", "waveform")
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.plot.getAxis("left").setWidth(LEFT_AXIS_PX)
        self.plot.setYRange(-1, 1, padding=0)
        scroll_to(self.plot, 0.0)           # the view is fixed at [-window, 0] s; the data move (update_from)
        # a bare curve item: PlotDataItem's data-set bookkeeping cost as much as drawing, 25 times a second
        self.curve = pg.PlotCurveItem(pen=pg.mkPen("#5ec4ff", width=1), skipFiniteCheck=True)
        self.plot.addItem(self.curve)
        # the meter and its label change 30 times a second: both paint their whole rectangle (nothing beneath
        # them is repainted) and the label's fixed size asks for no new layout when its text changes
        self.meter = FlatBar(METER_FLOOR_DB, 0, Qt.Orientation.Vertical)   # empty until input arrives
        self.meter.setFixedWidth(16)
        self.meter.setToolTip("input level (dBFS, last 50 ms)")
        self.level_label = QLabel("– dB")
        self.level_label.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.level_label.setFixedSize(52, self.level_label.fontMetrics().height() + 4)
        self.level_label.setAutoFillBackground(True)
        self.meter_widget = QWidget()          # laid out by the window beside both time plots
        self.meter_widget.setAutoFillBackground(True)
        meter_box = QVBoxLayout(self.meter_widget)
        meter_box.setContentsMargins(0, 0, 0, 0)
        meter_box.addWidget(self.meter, 1, Qt.AlignmentFlag.AlignHCenter)
        meter_box.addWidget(self.level_label)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.plot_widget, 1)
        self._ylim = 0.1
        self._shown_ylim = 0.0
        self.level_db = float(METER_FLOOR_DB)
        self._drawn_key = None

    def update_from(self, snap: Snapshot) -> None:
        x = snap.waveform
        if x is None:
            return
        key = (x.size, snap.waveform_t0_s, x[-16:].tobytes())
        if key != self._drawn_key:          # new samples since the last redraw
            self._drawn_key = key
            # one min/max pair per pixel of the plot: more points cannot be seen and cost painting time
            bins = int(min(ENVELOPE_BINS, max(MIN_ENVELOPE_BINS, self.plot.getViewBox().width())))
            idx, env = peak_envelope(x, bins)
            # x in seconds before now: the view stays at [-window, 0] and never scrolls (a scroll is a range
            # change, its signals and a new transform 25 times a second)
            self.curve.setData((snap.waveform_t0_s - snap.now_s) + idx / snap.sample_rate_hz, env, connect="all")
            peak = float(np.max(np.abs(x[-snap.sample_rate_hz:]))) if x.size else 0.0
            target = min(1.0, max(0.05, 1.25 * peak))
            # grow at once, shrink slowly: quiet input stays visible without the axis jumping
            self._ylim = target if target > self._ylim else 0.97 * self._ylim + 0.03 * target
            shown = next((v for v in YLIM_STEPS if v >= self._ylim - 1e-9), YLIM_STEPS[-1])
            if shown != self._shown_ylim:
                self._shown_ylim = shown
                set_y_range(self.plot, -shown, shown)
        self.level_db = snap.level_db
        self.meter.setValue(int(max(METER_FLOOR_DB, min(0.0, snap.level_db))))
        self.level_label.setText(f"{snap.level_db:.0f} dB" if snap.level_db > -89 else "silent")
