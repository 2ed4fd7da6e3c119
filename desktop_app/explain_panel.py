"""Why did it say that? Clicking a recognised word or gesture explains the decision (integrated gradients).

The click takes the event's span from the live buffers (the audio for speech, the network-input frames for
gestures), and an :class:`ExplainWorker` (QThread) runs :mod:`recognizers.insight.explain` on it, so the live
stream never waits. The :class:`ExplainPanel` then shows the attribution over the input frames, the chosen
class's probability over time beside it, and the units that mattered most, with a button that puts them on
the unit lines; the span is marked on the gate heatmaps (``GateHeatmapView.mark_span``).

:func:`attach_insight` wires this, the "Why an LSTM?" panel and the two export actions into the main window.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QThread, Signal
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from recognizers.events import RecognitionEvent

from .threads import keep_until_finished
from .views.predictions_view import display_label
from .views.time_window import colour_lut, make_time_plot, to_uint8

SPAN_PAD_S = 0.1        # a little context either side of the event's span
TOP_UNITS = 8


class ExplainWorker(QThread):
    """Runs one explanation off the GUI thread; emits the engine's ``Explanation`` or an error text."""

    explained = Signal(object, float)       # Explanation, stream time of its frame 0 (s)
    failed = Signal(str)

    def __init__(self, model, kind: str, data: np.ndarray, t0_s: float, label: str, parent=None):
        super().__init__(parent)
        self.model, self.kind, self.data, self.t0_s, self.label = model, kind, data, t0_s, label

    def run(self) -> None:
        from recognizers.errors import VaultError
        from recognizers.insight.explain import explain_input, explain_network_input
        try:
            label = self.label if self.label in self.model.labels else None
            if self.kind == "audio":
                e = explain_input(self.model, self.data, label=label)
            else:
                e = explain_network_input(self.model, self.data, label=label)
        except VaultError as exc:
            self.failed.emit(str(exc))
            return
        except Exception as exc:    # a bug must not kill the thread silently
            self.failed.emit(f"{type(exc).__name__}: {exc}")
            return
        self.explained.emit(e, self.t0_s - e.lead_in_frames / e.frames_per_second)


def event_input(snap, event: RecognitionEvent) -> tuple[str, np.ndarray, float] | None:
    """``(kind, data, t0_s)`` for ``event``'s span from a live snapshot: speech samples ("audio") or
    normalised network-input frames ("features"); None when the span has left the buffers."""
    t0, t1 = max(0.0, event.start_s - SPAN_PAD_S), event.end_s + SPAN_PAD_S
    if snap.waveform is not None and snap.sample_rate_hz:
        sr = snap.sample_rate_hz
        a = int(round((t0 - snap.waveform_t0_s) * sr))
        b = int(round((t1 - snap.waveform_t0_s) * sr))
        a, b = max(0, a), min(snap.waveform.shape[0], b)
        if b - a < sr // 20:
            return None
        return "audio", snap.waveform[a:b].copy(), snap.waveform_t0_s + a / sr
    if snap.features is not None and snap.features.shape[0]:
        fps = snap.frame_rate_hz
        a = max(0, int(round((t0 - snap.frames_t0_s) * fps)))
        b = min(snap.features.shape[0], int(round((t1 - snap.frames_t0_s) * fps)) + 1)
        if b - a < 2:
            return None
        return "features", snap.features[a:b].copy(), snap.frames_t0_s + a / fps
    return None


class ExplainPanel(QWidget):
    """Attribution over the input frames, the chosen class's probability, and the top units."""

    add_units = Signal(list)        # unit indices of the selected layer

    def __init__(self, parent=None):
        super().__init__(parent)
        self.title = QLabel("Click a recognised word or gesture to see why the network decided it.")
        self.title.setWordWrap(True)
        self.canvas = pg.GraphicsLayoutWidget()
        self.attr_plot = make_time_plot(live=False)
        self.attr_plot.setLabel("left", "feature")
        self.attr_image = pg.ImageItem()
        self.attr_image.setLookupTable(colour_lut("CET-D1"))
        self.attr_plot.addItem(self.attr_image)
        self.prob_plot = make_time_plot(live=False)
        self.prob_plot.setLabel("left", "p(class)")
        self.prob_plot.setLabel("bottom", "stream time", units="s")
        self.prob_plot.setXLink(self.attr_plot)
        self.prob_plot.setYRange(0, 1.02, padding=0)
        self.prob_curve = self.prob_plot.plot(pen=pg.mkPen("#f6ad55", width=2))
        self.decision_lines = [pg.InfiniteLine(angle=90, pen=pg.mkPen("#fc8181", width=1.5)) for _ in range(2)]
        self.attr_plot.addItem(self.decision_lines[0])
        self.prob_plot.addItem(self.decision_lines[1])
        self.canvas.addItem(self.attr_plot, row=0, col=0)
        self.canvas.addItem(self.prob_plot, row=1, col=0)
        self.canvas.ci.layout.setRowStretchFactor(0, 3)
        self.units_list = QListWidget()
        self.units_list.setMaximumWidth(260)
        self.add_button = QPushButton("Add to unit lines")
        self.add_button.setEnabled(False)
        self.add_button.clicked.connect(lambda: self.add_units.emit(list(self.units)))
        side = QVBoxLayout()
        side.addWidget(QLabel("units that mattered most\n(|gradient × activation|)"))
        side.addWidget(self.units_list, 1)
        side.addWidget(self.add_button)
        row = QHBoxLayout()
        row.addWidget(self.canvas, 1)
        row.addLayout(side)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.title)
        lay.addLayout(row, 1)
        self.explanation = None
        self.units: list[int] = []

    def show_busy(self, event: RecognitionEvent) -> None:
        self.title.setText(f"explaining “{display_label(event.label)}” at {event.start_s:.2f}–{event.end_s:.2f} s …")

    def show_error(self, text: str) -> None:
        self.title.setText(f"cannot explain: {text}")

    def show_explanation(self, e, t0_s: float, layer: int = 0) -> None:
        self.explanation = e
        fps = e.frames_per_second
        n = e.attribution.shape[0]
        m = float(np.max(np.abs(e.attribution))) or 1.0
        self.attr_image.setImage(to_uint8(e.attribution, -m, m), autoLevels=False)
        self.attr_image.setRect(QRectF(t0_s, 0, n / fps, e.attribution.shape[1]))
        t = t0_s + (np.arange(n) + 0.5) / fps
        self.prob_curve.setData(t, e.probabilities[:, e.target])
        t_dec = t0_s + (e.frame + 1) / fps
        for line in self.decision_lines:
            line.setValue(t_dec)
        self.attr_plot.setXRange(t0_s, t0_s + n / fps, padding=0.02)
        self.attr_plot.setYRange(0, e.attribution.shape[1], padding=0)
        delta = e.logit - e.logit_baseline
        self.title.setText(
            f"“{display_label(e.label)}”: logit {e.logit:+.2f} vs {e.logit_baseline:+.2f} for "
            f"the reference (silence / no hand); "
            f"attributions sum to {float(e.attribution.sum()):+.2f} of {delta:+.2f} "
            f"({e.completeness_error * 100:.1f} % off). Red: pushed towards it; blue: against.")
        a = e.unit_attribution[min(layer, len(e.unit_attribution) - 1)]
        score = np.abs(a).sum(0)
        order = np.argsort(-score)[:TOP_UNITS]
        self.units = [int(u) for u in order]
        self.units_list.clear()
        for u in order:
            self.units_list.addItem(f"layer {layer} unit {int(u):3d}   {score[u]:.3f}")
        self.add_button.setEnabled(True)


class InsightController:
    """The glue between the main window, the explain panel, the gradients panel and the exports."""

    def __init__(self, window):
        self.window = window
        self.panel = ExplainPanel()
        self.dock = QDockWidget("Why did it say that?", window)
        self.dock.setObjectName("explain_dock")
        self.dock.setWidget(self.panel)
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.dock)
        self.dock.hide()
        self.worker: ExplainWorker | None = None
        # Explanations superseded while still running: referenced until they finish (a QThread whose last
        # reference goes while it runs aborts the whole process).
        self._retired: set[ExplainWorker] = set()
        self.gradients_window = None
        window.transcript.event_clicked.connect(self.explain_event)
        self.panel.add_units.connect(self.add_units)
        bar = QToolBar("Insight", window)
        bar.setObjectName("insight_toolbar")
        self.why_action = bar.addAction("Why an LSTM?", self.open_gradients)
        self.png_action = bar.addAction("Export view as PNG…", self._ask_png)
        self.trace_action = bar.addAction("Export trace .npz…", self._ask_trace)
        window.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        self.toolbar = bar

    # ---- explain -----------------------------------------------------------------------------------------
    def explain_event(self, event: RecognitionEvent) -> bool:
        """Mark ``event`` on the heatmaps and start explaining it off the GUI thread."""
        w = self.window
        model = w.models.get(w.mode)
        self.dock.show()
        w.heatmaps.mark_span(event.start_s, event.end_s)
        if model is None or w.state is None:
            self.panel.show_error("no model or stream")
            return False
        found = event_input(w.state.snapshot(w.layer), event)
        if found is None:
            self.panel.show_error("that event has left the live buffers (the last few seconds are kept)")
            return False
        if self.worker is not None and self.worker.isRunning():
            old = self.worker
            old.explained.disconnect()
            old.failed.disconnect()
            keep_until_finished(old, self._retired)
        kind, data, t0 = found
        self.panel.show_busy(event)
        self.worker = ExplainWorker(model, kind, data, t0, event.label)
        self.worker.explained.connect(lambda e, t: self.panel.show_explanation(e, t, w.layer))
        self.worker.failed.connect(self.panel.show_error)
        self.worker.start()
        return True

    def shutdown(self, timeout_ms: int = 10_000) -> None:
        """The window closes: wait for explanations in flight and stop the gradients demo."""
        for worker in [self.worker, *self._retired]:
            if worker is not None and worker.isRunning():
                worker.wait(timeout_ms)
        self._retired.clear()
        if self.gradients_window is not None:
            self.gradients_window.close()

    def add_units(self, units: list[int]) -> None:
        """Put ``units`` (of the selected layer) on the unit lines, before the ones already there."""
        from .views.unit_lines import MAX_LINES
        lines = self.window.unit_lines      # the explained units first: the view draws at most MAX_LINES
        lines.set_units(list(dict.fromkeys(units + list(lines.units)))[:MAX_LINES])

    # ---- gradients -----------------------------------------------------------------------------------------
    def open_gradients(self):
        from .gradients_panel import GradientsPanel
        if self.gradients_window is None:
            self.gradients_window = GradientsPanel()
            self.gradients_window.setWindowTitle("Why an LSTM? The vanishing gradient, live")
            self.gradients_window.resize(1200, 780)
        self.gradients_window.show()
        self.gradients_window.raise_()
        if self.gradients_window.report is None and not self.gradients_window.running:
            self.gradients_window.start()
        return self.gradients_window

    # ---- exports -----------------------------------------------------------------------------------------
    def _ask_png(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.window, "Export the view as PNG", "lstm-vault.png",
                                              "PNG images (*.png)")
        if path:
            self.export_png(path)

    def export_png(self, path: str) -> bool:
        ok = self.window.grab().save(str(path), "PNG")
        if not ok:
            self.window.show_error(f"could not write {path}")
        return ok

    def _ask_trace(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.window, "Export the current trace", "trace.npz",
                                              "NumPy archives (*.npz)")
        if path:
            self.export_trace(path)

    def export_trace(self, path: str) -> bool:
        """The live buffers as the ``lstm-vault trace`` format: ``input``, ``probabilities``, ``labels`` and
        ``layer{k}_{i,f,g,o,c,h}``, each ``(time, …)``, plus ``t0_s`` and ``frame_rate_hz``."""
        w = self.window
        model = w.models.get(w.mode)
        if w.state is None or model is None or not w.state.gates:
            w.show_error("Export trace: nothing to export yet (start a stream with a model)")
            return False
        st = w.state
        with st.lock:
            arrays = {k: buf.latest() for k, buf in st.gates.items()}
            feats = st.features.latest() if st.features is not None else None
            t0 = st.features.first_index / st.frame_rate_hz if st.features is not None else 0.0
        n = min(a.shape[0] for a in arrays.values())
        arrays = {k: a[-n:] for k, a in arrays.items()}
        import torch
        last = arrays[f"layer{st.num_layers - 1}_h"]
        with torch.no_grad():   # the head is linear on the last layer's h: the probabilities follow exactly
            logits = model.network.head(torch.from_numpy(last).to(next(model.network.parameters()).device))
            probs = torch.softmax(logits, -1).cpu().numpy()
        out = dict(arrays, probabilities=probs, labels=np.asarray(model.labels), t0_s=np.float64(t0),
                   frame_rate_hz=np.float64(st.frame_rate_hz))
        if feats is not None:
            out["input"] = feats[-n:]
        try:
            np.savez_compressed(path, **out)
        except OSError as exc:
            w.show_error(f"Export trace: {exc}")
            return False
        return True


def attach_insight(window) -> InsightController:
    window.insight = InsightController(window)
    return window.insight
