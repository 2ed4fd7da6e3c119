"""A flat level bar: two rectangles, painted only when its value changes.

The top-5 bars and the input meter change many times a second while someone speaks. ``QProgressBar`` under the
Fusion style paints frames and gradients, and it is not opaque, so every change also repainted the panels
beneath it: about a sixth of the GUI thread while speaking (issue 16). This widget paints every pixel of its
rectangle itself (``WA_OpaquePaintEvent``), so nothing under it is repainted, and ``setValue`` with the value it
already shows does nothing.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QRect, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget

BORDER = QColor("#2d333b")


class FlatBar(QWidget):
    def __init__(self, minimum: int = 0, maximum: int = 100,
                 orientation: Qt.Orientation = Qt.Orientation.Horizontal, parent=None):
        super().__init__(parent)
        self._min, self._max, self._value = int(minimum), int(maximum), int(minimum)
        self._orientation = orientation
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._apply_size_policy()

    # the part of QProgressBar's interface the views use
    def setRange(self, minimum: int, maximum: int) -> None:
        self._min, self._max = int(minimum), max(int(minimum), int(maximum))
        self.setValue(self._value)
        self.update()

    def minimum(self) -> int:
        return self._min

    def maximum(self) -> int:
        return self._max

    def value(self) -> int:
        return self._value

    def setValue(self, value: int) -> None:
        value = min(self._max, max(self._min, int(value)))
        if value != self._value:
            self._value = value
            self.update()

    def orientation(self) -> Qt.Orientation:
        return self._orientation

    def setOrientation(self, orientation: Qt.Orientation) -> None:
        self._orientation = orientation
        self._apply_size_policy()
        self.update()

    def fraction(self) -> float:
        span = self._max - self._min
        return (self._value - self._min) / span if span > 0 else 0.0

    def _apply_size_policy(self) -> None:
        grow, fixed = QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed
        if self._orientation == Qt.Orientation.Horizontal:
            self.setSizePolicy(grow, fixed)
        else:
            self.setSizePolicy(fixed, grow)

    def sizeHint(self) -> QSize:
        return QSize(120, 14) if self._orientation == Qt.Orientation.Horizontal else QSize(16, 120)

    def minimumSizeHint(self) -> QSize:
        return QSize(20, 8) if self._orientation == Qt.Orientation.Horizontal else QSize(8, 20)

    def changeEvent(self, event) -> None:
        if event.type() in (QEvent.Type.EnabledChange, QEvent.Type.PaletteChange):
            self.update()
        super().changeEvent(event)

    def chunk_rect(self) -> QRect:
        """The filled part, inside the one-pixel border."""
        inner = self.rect().adjusted(1, 1, -1, -1)
        if self._orientation == Qt.Orientation.Horizontal:
            return QRect(inner.left(), inner.top(), round(inner.width() * self.fraction()), inner.height())
        h = round(inner.height() * self.fraction())
        return QRect(inner.left(), inner.bottom() - h + 1, inner.width(), h)

    def paintEvent(self, event) -> None:
        pal = self.palette()
        group = QPalette.ColorGroup.Active if self.isEnabled() else QPalette.ColorGroup.Disabled
        p = QPainter(self)
        p.fillRect(self.rect(), BORDER)
        p.fillRect(self.rect().adjusted(1, 1, -1, -1), pal.color(QPalette.ColorRole.Base))
        chunk = self.chunk_rect()
        if chunk.width() > 0 and chunk.height() > 0:
            p.fillRect(chunk, pal.color(group, QPalette.ColorRole.Highlight))
        p.end()
