"""The shared scrolling time axis: every live plot shows ``[now - window, now]`` in stream seconds."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg

WINDOW_S = 5.0


def scroll_to(plot: pg.PlotItem, now_s: float, window_s: float = WINDOW_S) -> None:
    """Show ``[now - window, now]``; nothing is done (no range signals, no axis regeneration) when the
    plot already shows it."""
    start = max(0.0, now_s - window_s)
    if getattr(plot, "_vault_x_range", None) == (start, window_s):
        return
    plot._vault_x_range = (start, window_s)
    plot.setXRange(start, start + window_s, padding=0)


def set_y_range(plot: pg.PlotItem, lo: float, hi: float) -> None:
    """``setYRange(lo, hi, padding=0)`` only when it changes (a new range re-lays the left axis)."""
    if getattr(plot, "_vault_y_range", None) == (lo, hi):
        return
    plot._vault_y_range = (lo, hi)
    plot.setYRange(lo, hi, padding=0)


def cache_axis(plot: pg.PlotItem, name: str = "left") -> None:
    """Keep an axis that rarely changes as a pixmap: a repaint of the plot then blits it instead of
    replaying its tick labels (it is re-rendered whenever the axis itself changes)."""
    plot.getAxis(name).setCacheMode(pg.QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)


def colour_lut(name: str) -> "np.ndarray":
    """A colormap as a 256-entry uint8 RGB lookup table (for images already scaled to uint8)."""
    return pg.colormap.get(name).getLookupTable(nPts=256, alpha=False)


def to_uint8(v: "np.ndarray", lo: float, hi: float, out: "np.ndarray | None" = None) -> "np.ndarray":
    """``(v - lo) / (hi - lo)`` scaled to 0..255 and clipped, as uint8 (NaN -> 0): with a fixed LUT and
    no levels pyqtgraph shows such an image without rescaling it or scanning it for NaNs."""
    scaled = np.subtract(v, np.float32(lo), dtype=np.float32)
    scaled *= np.float32(255.999 / (hi - lo))
    np.clip(scaled, 0.0, 255.0, out=scaled)
    np.nan_to_num(scaled, copy=False, nan=0.0)
    if out is None or out.shape != scaled.shape:
        out = np.empty(scaled.shape, np.uint8)
    out[...] = scaled
    return out


def make_time_plot(title: str | None = None, show_axis: bool = True) -> pg.PlotItem:
    plot = pg.PlotItem(title=title)
    plot.setMenuEnabled(False)
    plot.setMouseEnabled(x=False, y=False)
    plot.hideButtons()
    for name in ("bottom", "left"):
        # with an automatic SI prefix every range change re-sets the axis label's HTML and re-sizes the
        # axis (on every scroll); stream time stays in plain seconds
        plot.getAxis(name).enableAutoSIPrefix(False)
    if not show_axis:
        # no time axis at all (not one without labels): its ticks would be regenerated on every scroll
        plot.hideAxis("bottom")
    return plot
