"""Issue 16: what keeps the app's CPU down must not change what it shows or recognises.

Static time axes, the FastImage / RgbImage items, 40 ms decoder batches, and hand tracking at most
about 10 frames a second with interpolated landmarks in between.
"""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

pytest.importorskip("pyqtgraph")

from PySide6.QtCore import QRectF, Qt  # noqa: E402

from desktop_app.inference_worker import (  # noqa: E402
    InferenceWorker,
    LivePipeline,
    interpolate_frames,
    tracking_stride,
)
from desktop_app.live_state import LiveState  # noqa: E402
from desktop_app.views.fast_image import FastImage, RgbImage  # noqa: E402
from desktop_app.views.time_window import WINDOW_S, StaticTimeAxis, make_time_plot, scroll_to  # noqa: E402


def test_the_time_axis_stays_put_while_the_view_scrolls(qtbot):
    plot = make_time_plot()
    axis = plot.getAxis("bottom")
    assert isinstance(axis, StaticTimeAxis)
    for now in (0.3, 7.25, 12.0):
        scroll_to(plot, now)
        (x0, x1), _ = plot.getViewBox().viewRange()
        assert (x0, x1) == pytest.approx((now - WINDOW_S, now))    # right edge = now, even before 5 s
        assert tuple(axis.range) == (-WINDOW_S, 0.0)               # "0 = now": never re-ranged
    # a fixed-span plot (the explain view) keeps a stream-time axis
    assert not isinstance(make_time_plot(live=False).getAxis("bottom"), StaticTimeAxis)


def test_heatmap_hover_still_reads_stream_time(qtbot):
    from desktop_app.live_state import GATES, Counters, Snapshot
    from desktop_app.views.gate_heatmaps import GateHeatmapView
    view = GateHeatmapView()
    qtbot.addWidget(view)
    gates = {g: np.tile(np.arange(100, dtype=np.float32)[:, None] / 100, (1, 8)) for g in GATES}
    view.update_from(Snapshot(now_s=12.0, frame_rate_hz=100.0, labels=[], counters=Counters(), gates=gates,
                              frames_t0_s=11.0))
    assert view.images["i"].image.shape == (8, 100)
    unit, t, value = view.cell_at("i", 11.505, 3.5)
    assert unit == 3 and t == pytest.approx(11.5) and value == pytest.approx(0.5)
    assert "t = 11.50 s" in view.describe("i", 11.505, 3.5)


def test_fast_image_wraps_its_data(qtbot):
    img = FastImage()
    img.setLookupTable(np.stack([np.arange(256)] * 3, 1).astype(np.uint8))
    u8 = (np.arange(3 * 5, dtype=np.uint8) * 10).reshape(3, 5)       # a width that is not a multiple of 4
    img.set_image(u8, QRectF(1.0, 0.0, 0.05, 3))
    assert np.array_equal(img.image, u8)
    assert img._qimage.width() == 5 and img._qimage.height() == 3
    assert img._qimage.pixelIndex(4, 2) == u8[2, 4]                  # QImage row = data row
    assert img.boundingRect() == QRectF(1.0, 0.0, 0.05, 3)
    img.clear()
    assert img.image is None and img.boundingRect().isEmpty()


def test_rgb_preview_keeps_the_frames_rectangle(qtbot):
    item = RgbImage()
    rgb = np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    item.set_image(rgb, step=2)
    assert item.image is rgb and item._qimage.width() == 32 and item.boundingRect() == QRectF(0, 0, 64, 48)
    c = item._qimage.pixelColor(3, 5)
    assert (c.red(), c.green(), c.blue()) == tuple(rgb[10, 6])


def test_interpolated_landmarks_keep_missing_hands_missing():
    a = np.full((2, 21, 3), np.nan, np.float32)
    b = np.full((2, 21, 3), np.nan, np.float32)
    a[1], b[1] = 0.2, 0.6
    a[0] = 0.5                      # the left hand leaves in b: the in-between frame keeps a's
    mid = interpolate_frames(a, b, 0.5)
    assert np.allclose(mid[1], 0.4) and np.allclose(mid[0], 0.5)
    b2 = b.copy()
    b2[0] = 0.9
    a2 = a.copy()
    a2[0] = np.nan                  # a hand that appears in b is not invented before it
    assert np.isnan(interpolate_frames(a2, b2, 0.5)[0]).all()
    assert tracking_stride(30.0) == 3 and tracking_stride(25.0) == 2 and tracking_stride(15.0) == 1
    assert tracking_stride(None) == 3 and tracking_stride(9.0) == 1


class _Tracker:
    def __init__(self):
        self.calls = 0

    def process(self, rgb):
        self.calls += 1
        return []

    def close(self):
        pass


class _Decoder:
    def __init__(self):
        self.frames = []

    def push(self, x):
        from recognizers.events import DecodedStep
        from recognizers.streaming import StreamStep
        self.frames.append(np.asarray(x).copy())
        return DecodedStep(StreamStep(0, np.zeros((0, 1), np.float32), np.zeros((0, 1), np.float32)))

    def flush(self):
        return []


def _video_pipeline(stride: int) -> tuple[LivePipeline, _Tracker, _Decoder]:
    state = LiveState(["a"], 30.0, 6.0)
    dec = _Decoder()
    p = LivePipeline(state, None, "video")
    p.decoder = dec
    p.tracker = _Tracker()
    p.track_every = stride
    return p, p.tracker, dec


def test_hands_tracked_in_every_other_frame_and_the_model_gets_every_frame(monkeypatch):
    frames = [np.full((2, 21, 3), float(k), np.float32) for k in range(7)]
    it = iter(frames)
    monkeypatch.setattr("recognizers.frontends.hand_tracking.hands_to_frame", lambda hands: next(it))
    p, tracker, dec = _video_pipeline(2)
    rgb = np.zeros((4, 4, 3), np.uint8)
    for _ in range(9):
        p.process(rgb)
    p.finish()
    assert tracker.calls == 5                   # frames 0, 2, 4, 6, 8
    got = [float(f[0, 0, 0]) for f in dec.frames]
    # tracked frames give 0..4; the untracked ones between them are midpoints; the last is held
    assert got == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0]
    assert p.state.counters.blocks_received == 9


def test_the_stream_clock_counts_untracked_frames_too(monkeypatch):
    # with hands tracked in every other frame, the clock used to count only the tracked ones: it ran at half
    # speed, the gate rows (stamped by model frame) ran ahead of "now", and the gate views went blank
    monkeypatch.setattr("recognizers.frontends.hand_tracking.hands_to_frame",
                        lambda hands: np.zeros((2, 21, 3), np.float32))
    p, tracker, dec = _video_pipeline(2)
    for _ in range(60):
        p.process(np.zeros((4, 4, 3), np.uint8))
    assert tracker.calls == 30
    assert p.state.now_s() == pytest.approx(60 / 30.0)


def test_every_frame_is_tracked_while_a_take_is_recorded(monkeypatch):
    monkeypatch.setattr("recognizers.frontends.hand_tracking.hands_to_frame",
                        lambda hands: np.zeros((2, 21, 3), np.float32))
    p, tracker, dec = _video_pipeline(2)
    taps = []
    p.tap = lambda frame, rgb: taps.append(frame)
    for _ in range(6):
        p.process(np.zeros((4, 4, 3), np.uint8))
    assert tracker.calls == 6 and len(taps) == 6 and len(dec.frames) == 6


def test_audio_blocks_reach_the_decoder_in_batches(qtbot):
    state = LiveState(["a"], 100.0, 6.0, sample_rate_hz=16000)
    pushed, lock = [], threading.Lock()

    class Pipe(LivePipeline):
        def process(self, block, blocks=1):
            with lock:
                pushed.append((block.copy(), blocks))
            self.state.add_audio(block, blocks)

    worker = InferenceWorker(Pipe(state, None, "audio"))
    blocks = [np.full(320, k, np.float32) for k in range(7)]
    for b in blocks:
        assert worker.offer(b)
    worker.end_of_stream()
    worker.start()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and sum(n for _, n in pushed) < 7:
        time.sleep(0.02)
    worker.stop()
    assert sum(n for _, n in pushed) == 7 and state.counters.blocks_received == 7
    assert all(n >= 2 for _, n in pushed[:-1])               # 40 ms or more per push
    assert np.array_equal(np.concatenate([b for b, _ in pushed]), np.concatenate(blocks))   # order kept


def test_live_text_and_bars_never_ask_the_window_for_a_new_layout(qtbot):
    # a QLabel whose text changes asks every layout up to the window for a new pass, and a non-opaque bar
    # repaints the panels beneath it: while someone spoke the window was laid out ~20 times a second
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QApplication, QVBoxLayout, QWidget

    from desktop_app.live_state import Counters, Snapshot
    from desktop_app.views.predictions_view import PredictionsView
    from desktop_app.views.text_strip import TextStrip
    from desktop_app.views.waveform_view import WaveformView

    window = QWidget()
    qtbot.addWidget(window)
    lay = QVBoxLayout(window)
    preds, wave, status = PredictionsView(), WaveformView(), TextStrip("")
    for w in (preds, wave, wave.meter_widget, status):
        lay.addWidget(w)
    window.resize(600, 500)
    window.show()
    qtbot.waitExposed(window)

    class Count(QObject):
        n = 0

        def eventFilter(self, obj, ev):
            if ev.type() == QEvent.Type.LayoutRequest:
                Count.n += 1
            return False
    counter = Count()
    labels = ["unknown", "one", "two", "three", "seventeen"]
    rng = np.random.default_rng(0)
    for k in range(33):
        if k == 3:          # after the first frames (the first waveform sets its axis once)
            window.installEventFilter(counter)
        p = rng.dirichlet(np.ones(len(labels))).astype(np.float32)
        wav = (rng.standard_normal(16000) * 10 ** rng.uniform(-3, 0)).astype(np.float32)
        s = Snapshot(now_s=1.0 + k * 0.04, frame_rate_hz=100.0, labels=labels, counters=Counters(),
                     probabilities=p, active=bool(k % 2), waveform=wav, waveform_t0_s=k * 0.04,
                     sample_rate_hz=16000, level_db=float(rng.uniform(-80, 0)))
        preds.update_from(s)
        wave.update_from(s)
        status.setText(f"{s.now_s:6.1f} s · {k * 4} frames · draw {rng.uniform(0, 9):.1f} ms")
        QApplication.processEvents()      # deliver what the updates posted (paints, layout requests)
    assert Count.n == 0
    assert wave.meter.isVisible() and preds.bars[0].value() > 0 and "frames" in status.text()
    assert all(w.testAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent) for w in preds.bars + [wave.meter, status])
