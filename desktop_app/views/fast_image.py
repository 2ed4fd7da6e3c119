"""A uint8 image with a fixed colour table, drawn into a rectangle of view coordinates.

What the live heatmaps and the spectrogram need of ``pg.ImageItem`` (10 redraws a second, levels applied
beforehand by ``to_uint8``), without its per-image cost: ``ImageItem`` rebuilt its 256-entry colour table
in Python (256 ``qRgb`` calls) and re-checked levels, NaNs and bounds on every new image (issue 16).
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage, qRgb


class FastImage(pg.GraphicsObject):
    """``set_image(u8, rect)``: ``u8`` is ``(rows, cols)`` uint8 (row 0 at the bottom of ``rect``, as
    ``pg.ImageItem`` draws it in a plot), coloured through the table of :meth:`setLookupTable`."""

    def __init__(self):
        super().__init__()
        self.image: np.ndarray | None = None      # the uint8 data shown (rows, cols)
        self._buf: np.ndarray | None = None        # the same, with rows padded to 4 bytes (QImage scanlines)
        self._qimage: QImage | None = None
        self._table: list[int] = [qRgb(k, k, k) for k in range(256)]
        self._rect = QRectF()

    def setLookupTable(self, lut: np.ndarray) -> None:
        """``lut``: (256, 3) uint8 RGB (``time_window.colour_lut``)."""
        self._table = [qRgb(int(r), int(g), int(b)) for r, g, b in np.asarray(lut)[:, :3]]
        if self._qimage is not None:
            self._qimage.setColorTable(self._table)
            self.update()

    def set_image(self, u8: np.ndarray, rect: QRectF) -> None:
        rows, cols = u8.shape
        stride = (cols + 3) // 4 * 4
        if self._buf is None or self._buf.shape != (rows, stride):
            self._buf = np.zeros((rows, stride), np.uint8)
            self._qimage = QImage(self._buf.data, cols, rows, stride, QImage.Format.Format_Indexed8)
            self._qimage.setColorTable(self._table)
        self._buf[:, :cols] = u8
        self.image = self._buf[:, :cols]
        if rect != self._rect:
            self.prepareGeometryChange()
            self._rect = QRectF(rect)
        self.update()

    def clear(self) -> None:
        self.image = None
        self._buf = None
        self._qimage = None
        self.update()

    def boundingRect(self) -> QRectF:
        return QRectF(self._rect) if self._qimage is not None else QRectF()

    def paint(self, painter, *args) -> None:
        if self._qimage is None:
            return
        # row 0 at local y = rect.top(), the bottom of a plot (its y axis points up), as pg.ImageItem draws it
        r = self._rect
        painter.save()
        painter.translate(r.left(), r.top())
        painter.scale(r.width() / self._qimage.width(), r.height() / self._qimage.height())
        painter.drawImage(QRectF(0, 0, self._qimage.width(), self._qimage.height()), self._qimage)
        painter.restore()


class RgbImage(pg.GraphicsObject):
    """An ``(h, w, 3)`` uint8 RGB frame drawn into ``(0, 0, w, h)`` (row 0 at y = 0: a view with its y axis
    inverted shows it upright). ``pg.ImageItem`` re-scaled every 640x480 frame through levels in numpy
    before drawing it; this wraps the frame as a QImage as it is. ``step`` > 1 shows every step-th pixel
    (a preview smaller than the frame needs no more), still covering the full frame's rectangle."""

    def __init__(self):
        super().__init__()
        self.image: np.ndarray | None = None      # the frame last shown (full size)
        self._shown: np.ndarray | None = None      # what the QImage wraps (kept alive with it)
        self._qimage: QImage | None = None
        self._rect = QRectF()

    def set_image(self, rgb: np.ndarray, step: int = 1) -> None:
        h, w = rgb.shape[:2]
        self.image = rgb
        shown = np.ascontiguousarray(rgb[::step, ::step] if step > 1 else rgb, dtype=np.uint8)
        sh, sw = shown.shape[:2]
        self._shown = shown
        self._qimage = QImage(shown.data, sw, sh, 3 * sw, QImage.Format.Format_RGB888)
        rect = QRectF(0, 0, w, h)
        if rect != self._rect:
            self.prepareGeometryChange()
            self._rect = rect
        self.update()

    def clear(self) -> None:
        self.image = self._shown = self._qimage = None
        self.update()

    def boundingRect(self) -> QRectF:
        return QRectF(self._rect) if self._qimage is not None else QRectF()

    def paint(self, painter, *args) -> None:
        if self._qimage is not None:
            painter.drawImage(self._rect, self._qimage)
