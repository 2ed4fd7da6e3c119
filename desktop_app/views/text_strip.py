"""Text that changes often (the status bar's figures, the saturation summary, the prediction headline).

``QLabel.setText`` calls ``updateGeometry`` unless the label's size is fixed in both directions, and that asks
every layout up to the window for a new pass: at the status bar's 5 updates a second this alone cost about
3 % of a core while speaking (issue 16). A strip keeps one height, takes the width its layout gives it, paints
its own background and elides (or, with ``wrap``, wraps) what does not fit; ``setText`` only repaints it.
"""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget


class TextStrip(QWidget):
    def __init__(self, text: str = "", colour: str | None = None, monospace: bool = False, parent=None,
                 height: int | None = None, wrap: bool = False,
                 align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter):
        super().__init__(parent)
        self._text = text
        self._colour = QColor(colour) if colour else None
        self._wrap = bool(wrap)
        self._align = align
        self._height = height
        if monospace:
            font = QFont(self.font())
            font.setFamily("monospace")
            font.setStyleHint(QFont.StyleHint.Monospace)
            self.setFont(font)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(height or self.fontMetrics().height() + 4)

    def text(self) -> str:
        return self._text

    def setText(self, text: str) -> None:
        if text != self._text:
            self._text = text
            self.setToolTip(text if not self._wrap and self.fontMetrics().horizontalAdvance(text) > self.width()
                            else "")
            self.update()

    def set_colour(self, colour: str) -> None:
        c = QColor(colour)
        if c != self._colour:
            self._colour = c
            self.update()

    def set_font(self, pixel_size: int, weight: QFont.Weight = QFont.Weight.Normal) -> None:
        """A font for this strip only; its height stays as set (a fixed height is what keeps layouts still)."""
        font = QFont(self.font())
        font.setPixelSize(int(pixel_size))
        font.setWeight(weight)
        self.setFont(font)
        if self._height is None:
            self.setFixedHeight(self.fontMetrics().height() + 4)

    def sizeHint(self) -> QSize:
        return QSize(200, self.height())

    def minimumSizeHint(self) -> QSize:
        return QSize(0, self.height())

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), self.palette().color(QPalette.ColorRole.Window))
        p.setPen(self._colour or self.palette().color(QPalette.ColorRole.WindowText))
        r = self.rect().adjusted(2, 0, -2, 0)
        if self._wrap:
            p.drawText(r, int(self._align) | int(Qt.TextFlag.TextWordWrap), self._text)
        else:
            shown = self.fontMetrics().elidedText(self._text, Qt.TextElideMode.ElideRight, r.width())
            p.drawText(r, self._align, shown)
        p.end()
