"""The shared scrolling time axis: every live plot shows ``[now - window, now]`` in stream seconds."""
from __future__ import annotations

import pyqtgraph as pg

WINDOW_S = 5.0


def scroll_to(plot: pg.PlotItem, now_s: float, window_s: float = WINDOW_S) -> None:
    start = max(0.0, now_s - window_s)
    plot.setXRange(start, start + window_s, padding=0)


def make_time_plot(title: str | None = None, show_axis: bool = True) -> pg.PlotItem:
    plot = pg.PlotItem(title=title)
    plot.setMenuEnabled(False)
    plot.setMouseEnabled(x=False, y=False)
    plot.hideButtons()
    if not show_axis:
        plot.getAxis("bottom").setStyle(showValues=False)
    return plot
