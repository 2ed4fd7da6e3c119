"""The log-mel spectrogram exactly as the network sees it (after the model's normalisation)."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QRectF

from ..live_state import Snapshot
from .time_window import make_time_plot, scroll_to


class SpectrogramView(pg.PlotWidget):
    def __init__(self, parent=None):
        super().__init__(parent, plotItem=make_time_plot())
        self.plot = self.getPlotItem()
        self.plot.setLabel("left", "log-mel band")
        self.plot.getAxis("left").setWidth(52)
        self.plot.setLabel("bottom", "stream time", units="s")
        self.image = pg.ImageItem()
        self.image.setColorMap(pg.colormap.get("inferno"))
        self.plot.addItem(self.image)
        self.frames = 0

    def update_from(self, snap: Snapshot) -> None:
        f = snap.features
        if f is None:
            return
        scroll_to(self.plot, snap.now_s)
        if f.shape[0] == 0:
            return
        self.frames = f.shape[0]
        self.image.setImage(f.T, autoLevels=False, levels=(-2.5, 2.5))
        self.image.setRect(QRectF(snap.frames_t0_s, 0, f.shape[0] / snap.frame_rate_hz, f.shape[1]))
        self.plot.setYRange(0, f.shape[1], padding=0)
