"""The features exactly as the network sees them (after the model's normalisation): the log-mel spectrogram, or
the 96 values of the pretrained speech embedding every 80 ms."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QRectF

from ..live_state import Snapshot
from .fast_image import FastImage
from .time_window import cache_axis, colour_lut, make_time_plot, scroll_to, set_y_range, to_uint8

LEVELS = (-2.5, 2.5)        # normalised log-mel: -2.5 to 2.5 standard deviations span the colour map


class SpectrogramView(pg.PlotWidget):
    def __init__(self, parent=None):
        super().__init__(parent, plotItem=make_time_plot())
        self.plot = self.getPlotItem()
        self.plot.setLabel("left", "log-mel band")
        self.plot.getAxis("left").setWidth(52)
        cache_axis(self.plot, "left")
        self.image = FastImage()
        self.image.setLookupTable(colour_lut("inferno"))     # fed uint8 with the levels applied
        self.plot.addItem(self.image)
        self.frames = 0
        self._drawn_key = None
        self._kind = "logmel"

    def set_feature_kind(self, frontend_type: str) -> None:
        """Name the rows for the model's frontend (``"logmel"``, ``"mfcc"``, ``"speech-embedding"``)."""
        if frontend_type == self._kind:
            return
        self._kind = frontend_type
        label = {"speech-embedding": "speech-embedding value", "mfcc": "MFCC"}.get(frontend_type, "log-mel band")
        self.plot.setLabel("left", label)

    def update_from(self, snap: Snapshot) -> None:
        f = snap.features
        if f is None:
            return
        scroll_to(self.plot, snap.now_s)
        if f.shape[0] == 0:
            return
        self.frames = f.shape[0]
        key = (f.shape, snap.frames_t0_s, f[-1].tobytes())
        if key == self._drawn_key:          # nothing new since the last redraw
            return
        self._drawn_key = key
        self.image.set_image(to_uint8(f, *LEVELS).T,
                             QRectF(snap.frames_t0_s, 0, f.shape[0] / snap.frame_rate_hz, f.shape[1]))
        set_y_range(self.plot, 0, f.shape[1])
