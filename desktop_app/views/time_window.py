"""The shared time axis: every live plot shows ``[now - window, now]`` in stream seconds.

The view scrolls (its x range follows the stream), but the time axis under it is static: it is labelled in
seconds before now (-5 … 0), which never changes, so its ticks are generated once and kept as a pixmap
instead of being regenerated and re-rendered on every scroll (issue 16: the scrolling "stream time" axes
were a sixth of the GUI thread's time while speaking). Data items keep stream-time coordinates, so hover
read-outs still report stream time.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg

WINDOW_S = 5.0


TIME_AXIS_LABEL = "time (s, 0 = now)"


class StaticTimeAxis(pg.AxisItem):
    """A bottom axis fixed at ``[-window, 0]`` seconds: it ignores the view's scrolling (the view always
    spans ``window_s``, so its ticks stay where they are) and is rendered once, then blitted."""

    def __init__(self, window_s: float = WINDOW_S):
        super().__init__("bottom")
        self.enableAutoSIPrefix(False)
        self.setRange(-window_s, 0.0)
        self.setCacheMode(pg.QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)

    def linkedViewChanged(self, view, newRange=None) -> None:
        # the range is fixed; a resize re-renders the axis through resizeEvent
        pass


def scroll_to(plot: pg.PlotItem, now_s: float, window_s: float = WINDOW_S) -> None:
    """Show ``[now - window, now]`` (the right edge is now, also in the stream's first seconds: the static
    axis reads "0 = now"); nothing is done (no range signals) when the plot already shows it."""
    start = now_s - window_s
    if getattr(plot, "_vault_x_range", None) == (start, window_s):
        return
    plot._vault_x_range = (start, window_s)
    plot.setXRange(start, start + window_s, padding=0)
    settle(plot)


def settle(plot: pg.PlotItem) -> None:
    """Apply a new range to the view's transform now. pyqtgraph defers it to just before the next paint, and
    a transform changed while painting marks the scene dirty again: every scroll was painted twice."""
    plot.getViewBox().updateMatrix()


def set_y_range(plot: pg.PlotItem, lo: float, hi: float) -> None:
    """``setYRange(lo, hi, padding=0)`` only when it changes (a new range re-lays the left axis)."""
    if getattr(plot, "_vault_y_range", None) == (lo, hi):
        return
    plot._vault_y_range = (lo, hi)
    plot.setYRange(lo, hi, padding=0)
    settle(plot)


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
    np.fmax(scaled, np.float32(0.0), out=scaled)      # fmax takes the number over a NaN: NaN -> 0
    np.fmin(scaled, np.float32(255.0), out=scaled)    # (np.clip + np.nan_to_num cost three times as much)
    if out is None or out.shape != scaled.shape:
        out = np.empty(scaled.shape, np.uint8)
    out[...] = scaled
    return out


def make_time_plot(title: str | None = None, show_axis: bool = True, live: bool = True) -> pg.PlotItem:
    """A plot over time. ``live``: it scrolls with the stream (:func:`scroll_to`) above a static
    "time (s, 0 = now)" axis; otherwise a plain stream-time axis (a fixed span, e.g. the explain view)."""
    plot = pg.PlotItem(title=title, axisItems={"bottom": StaticTimeAxis()} if live else None)
    plot.setMenuEnabled(False)
    plot.setMouseEnabled(x=False, y=False)
    plot.hideButtons()
    for name in ("bottom", "left", "top", "right"):
        # with an automatic SI prefix every range change re-sets the axis label's HTML and re-sizes the axis
        # (the hidden top axis too: it followed every scroll)
        plot.getAxis(name).enableAutoSIPrefix(False)
    if live:
        plot.getAxis("top").unlinkFromView()      # hidden; it would re-range on every scroll
        plot.setXRange(-WINDOW_S, 0.0, padding=0)     # (x only: the unit lines keep an automatic y range)
    if not show_axis:
        plot.hideAxis("bottom")
    elif live:
        plot.setLabel("bottom", TIME_AXIS_LABEL)
    return plot
