"""Widgets that draw a :class:`desktop_app.live_state.Snapshot`. Each creates its plot items once and
updates them with ``setData``/``setImage``; none computes features or runs a model."""
import pyqtgraph as pg

pg.setConfigOptions(imageAxisOrder="row-major", antialias=False, background="#14161a", foreground="#c8ccd2")
