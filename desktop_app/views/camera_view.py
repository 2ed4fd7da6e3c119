"""The camera image with the tracked hand skeleton(s) drawn on it."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from ..live_state import Snapshot
from .fast_image import RgbImage

# MediaPipe's 21-landmark hand topology (wrist 0; thumb 1-4; index 5-8; middle 9-12; ring 13-16; pinky 17-20)
HAND_CONNECTIONS = ((0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (5, 9), (9, 10), (10, 11),
                    (11, 12), (9, 13), (13, 14), (14, 15), (15, 16), (13, 17), (0, 17), (17, 18), (18, 19),
                    (19, 20))
_PAIRS = np.asarray(HAND_CONNECTIONS).reshape(-1)
HAND_COLOURS = {"Left": "#4fd1c5", "Right": "#f6ad55"}
MAX_HANDS = 2


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
        self.bones = []
        self.joints = []
        for _ in range(MAX_HANDS):
            bone = pg.PlotDataItem(connect="pairs", pen=pg.mkPen("#ffffff", width=3))
            joint = pg.ScatterPlotItem(size=7, pen=pg.mkPen("#10131a"), brush=pg.mkBrush("#ffffff"))
            self.view.addItem(bone)
            self.view.addItem(joint)
            self.bones.append(bone)
            self.joints.append(joint)
        self.caption = pg.TextItem("waiting for video…", color="#e2e8f0", fill=pg.mkBrush(20, 22, 26, 180),
                                   anchor=(0, 0))
        self.caption.setZValue(10)
        self.view.addItem(self.caption)
        self._serial = -1
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
                self.bones[k].setData(pts[_PAIRS, 0], pts[_PAIRS, 1], pen=pg.mkPen(colour, width=3))
                self.joints[k].setData(pts[:, 0], pts[:, 1], brush=pg.mkBrush(colour))
                shown.append(f"{hand.handedness} {float(getattr(hand, 'score', 1.0)):.2f}")
            else:
                self.bones[k].setData([], [])
                self.joints[k].setData([], [])
        self.hands_drawn = len(shown)
        self.caption.setText("hands: " + ", ".join(shown) if shown else "no hand in view")
