"""The camera image with the tracked hand skeleton(s) drawn on it."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPen

from ..live_state import Snapshot
from .fast_image import RgbImage

# MediaPipe's 21-landmark hand topology (wrist 0; thumb 1-4; index 5-8; middle 9-12; ring 13-16; pinky 17-20)
HAND_CONNECTIONS = ((0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (5, 9), (9, 10), (10, 11),
                    (11, 12), (9, 13), (13, 14), (14, 15), (15, 16), (13, 17), (0, 17), (17, 18), (18, 19),
                    (19, 20))
HAND_COLOURS = {"Left": "#4fd1c5", "Right": "#f6ad55"}
MAX_HANDS = 2


class HandSkeleton(pg.GraphicsObject):
    """One hand's bones and joints in image pixels. The view redraws it 15 times a second: a PlotDataItem and a
    ScatterPlotItem per hand cost more in pyqtgraph's bookkeeping than the lines and dots cost to paint."""

    BONE_PX = 3.0
    JOINT_PX = 3.5

    def __init__(self):
        super().__init__()
        self.points: np.ndarray | None = None      # (21, 2) image pixels
        self.colour = QColor("#ffffff")
        self._rect = QRectF()

    def set_hand(self, points: np.ndarray | None, colour: str = "#ffffff") -> None:
        if points is None and self.points is None:
            return
        self.prepareGeometryChange()
        self.points = None if points is None else np.asarray(points, np.float64)
        self.colour = QColor(colour)
        if self.points is not None and np.isfinite(self.points).all():
            lo, hi = self.points.min(0), self.points.max(0)
            pad = 2 * self.JOINT_PX
            self._rect = QRectF(lo[0] - pad, lo[1] - pad, hi[0] - lo[0] + 2 * pad, hi[1] - lo[1] + 2 * pad)
        else:
            self.points = None
            self._rect = QRectF()
        self.update()

    def boundingRect(self) -> QRectF:
        return QRectF(self._rect)

    def paint(self, painter, *args) -> None:
        if self.points is None:
            return
        pts = [QPointF(float(x), float(y)) for x, y in self.points]
        bone = QPen(self.colour, self.BONE_PX)
        bone.setCosmetic(True)
        painter.setPen(bone)
        painter.drawLines([QLineF(pts[a], pts[b]) for a, b in HAND_CONNECTIONS])
        edge = QPen(QColor("#10131a"), 1.0)
        edge.setCosmetic(True)
        painter.setPen(edge)
        painter.setBrush(self.colour)
        # joints of a fixed size on screen, whatever the view's scale
        sx = max(1e-9, abs(painter.transform().m11()))
        sy = max(1e-9, abs(painter.transform().m22()))
        rx, ry = self.JOINT_PX / sx, self.JOINT_PX / sy
        for pt in pts:
            painter.drawEllipse(pt, rx, ry)
        painter.setBrush(Qt.BrushStyle.NoBrush)


class CameraView(pg.GraphicsLayoutWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.view = self.addViewBox()
        self.view.setAspectLocked(True)
        self.view.invertY(True)
        self.view.setMenuEnabled(False)
        self.view.setMouseEnabled(x=False, y=False)
        self.image = RgbImage()
        self.view.addItem(self.image)
        self.skeletons = []
        for _ in range(MAX_HANDS):
            skeleton = HandSkeleton()
            self.view.addItem(skeleton)
            self.skeletons.append(skeleton)
        self.caption = pg.TextItem("waiting for video…", color="#e2e8f0", fill=pg.mkBrush(20, 22, 26, 180),
                                   anchor=(0, 0))
        self.caption.setZValue(10)
        self.view.addItem(self.caption)
        self._serial = -1
        self._caption = ""
        self._size = (0, 0)
        self.hands_drawn = 0

    def update_from(self, snap: Snapshot) -> None:
        if snap.image is None or snap.image_serial == self._serial:
            return
        self._serial = snap.image_serial
        img = snap.image
        h, w = img.shape[:2]
        # a preview: about one image pixel per screen pixel (a 640 px frame in a 300 px view: every 2nd)
        view_px = max(1.0, self.view.width())
        self.image.set_image(img, step=max(1, int(w / view_px)))
        if (w, h) != self._size:
            self._size = (w, h)
            self.view.setRange(xRange=(0, w), yRange=(0, h), padding=0)
            self.caption.setPos(4, 4)
        shown = []
        for k in range(MAX_HANDS):
            if k < len(snap.hands):
                hand = snap.hands[k]
                pts = np.asarray(hand.landmarks, np.float32)[:, :2] * (w, h)
                colour = HAND_COLOURS.get(getattr(hand, "handedness", ""), "#ffffff")
                self.skeletons[k].set_hand(pts, colour)
                shown.append(f"{hand.handedness} {float(getattr(hand, 'score', 1.0)):.1f}")
            else:
                self.skeletons[k].set_hand(None)
        self.hands_drawn = len(shown)
        caption = "hands: " + ", ".join(shown) if shown else "no hand in view"
        if caption != self._caption:         # a TextItem lays its text out again on every setText
            self._caption = caption
            self.caption.setText(caption)
