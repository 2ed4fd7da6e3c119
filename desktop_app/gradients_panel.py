""""Why an LSTM?": a tanh RNN and an LSTM of the same size learn to remember a symbol through N noisy steps.

:func:`recognizers.insight.gradients.run_gradients` runs on a :class:`GradientsWorker` (QThread) and reports
every training step as plain data; the panel draws the loss and accuracy curves as they come, then the gradient
norm that reaches each earlier step (log scale, at initialisation and after training) and the LSTM's forget
gate over the delay. The delay slider reruns it; Cancel stops between steps.
"""
from __future__ import annotations

import threading

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QThread, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSlider, QVBoxLayout, QWidget

from .threads import keep_until_finished

RNN_COLOUR, LSTM_COLOUR = "#fc8181", "#63b3ed"
EXPLANATION = (
    "<b>What you are seeing.</b> Both networks read a symbol, then <i>delay</i> steps of noise, and must say "
    "at the end which symbol came first. Training adjusts each weight by the error signal that travels back "
    "through time to the step where the symbol was seen. In the plain tanh RNN that signal is multiplied by "
    "the recurrent weights and the tanh slope at every step, so it shrinks geometrically: the log plot of "
    "gradient against lag falls in a straight line, and by the symbol it is too small to learn from, so the "
    "RNN stays near chance (25 %) or, at best, learns to tell a few symbols apart. The LSTM carries its "
    "memory in the cell state, updated by adding, and "
    "scaled only by the forget gate: where the forget gate sits near 1 (bottom right) the error passes back "
    "almost unchanged, the gradient curve stays flat, and the LSTM learns the task.")


class GradientsWorker(QThread):
    progress = Signal(object)       # GradientProgress
    done = Signal(object)           # GradientReport
    failed = Signal(str)

    def __init__(self, delay: int, steps: int | None = None, parent=None):
        super().__init__(parent)
        self.delay, self.steps = delay, steps
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    def run(self) -> None:
        from recognizers.insight.gradients import GradientConfig, run_gradients
        try:
            cfg = GradientConfig(delay=self.delay, threads=1)
            if self.steps is not None:
                cfg = GradientConfig(delay=self.delay, threads=1, steps=self.steps)
            r = run_gradients(cfg, on_progress=self.progress.emit, should_stop=self._cancel.is_set)
        except Exception as exc:    # a bug must not kill the thread silently
            self.failed.emit(f"{type(exc).__name__}: {exc}")
            return
        self.done.emit(r)


class GradientsPanel(QWidget):
    finished = Signal(object)       # the GradientReport (cancelled or not)

    def __init__(self, delay: int = 50, steps: int | None = None, parent=None):
        super().__init__(parent)
        self.steps = steps
        self._retired: set[GradientsWorker] = set()
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(5, 100)
        self.slider.setValue(delay)
        self.slider.setToolTip("steps of noise between the symbol and the answer; release to rerun")
        self.delay_label = QLabel()
        self.slider.valueChanged.connect(lambda v: self.delay_label.setText(f"delay {v} steps"))
        self.slider.sliderReleased.connect(self.start)
        self.delay_label.setText(f"delay {delay} steps")
        self.run_button = QPushButton("Run")
        self.run_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.status = QLabel("")
        top = QHBoxLayout()
        top.addWidget(self.delay_label)
        top.addWidget(self.slider, 1)
        top.addWidget(self.run_button)
        top.addWidget(self.cancel_button)
        self.canvas = pg.GraphicsLayoutWidget()
        self.loss_plot = self._plot(0, 0, "loss while training", "step", "cross-entropy")
        self.acc_plot = self._plot(0, 1, "accuracy (fresh sequences)", "step", "accuracy")
        self.acc_plot.setYRange(0, 1.02, padding=0)
        self.grad_plot = self._plot(1, 0, "gradient reaching each earlier step (BPTT)", "lag (steps back)",
                                    "‖∂loss/∂h‖")
        self.grad_plot.setLogMode(y=True)
        self.grad_plot.getAxis("left").enableAutoSIPrefix(False)
        self.forget_plot = self._plot(1, 1, "LSTM forget gate over the delay", "step", "mean f")
        self.forget_plot.setYRange(0, 1.02, padding=0)
        self.curves = {
            "loss_rnn": self.loss_plot.plot(pen=pg.mkPen(RNN_COLOUR, width=1.5), name="tanh RNN"),
            "loss_lstm": self.loss_plot.plot(pen=pg.mkPen(LSTM_COLOUR, width=1.5), name="LSTM"),
            "acc_rnn": self.acc_plot.plot(pen=pg.mkPen(RNN_COLOUR, width=2), symbol="o", symbolSize=4),
            "acc_lstm": self.acc_plot.plot(pen=pg.mkPen(LSTM_COLOUR, width=2), symbol="o", symbolSize=4),
            "grad_rnn_init": self.grad_plot.plot(pen=pg.mkPen(RNN_COLOUR, width=1.5, style=Qt.PenStyle.DashLine),
                                                 name="RNN at init"),
            "grad_lstm_init": self.grad_plot.plot(pen=pg.mkPen(LSTM_COLOUR, width=1.5, style=Qt.PenStyle.DashLine),
                                                  name="LSTM at init"),
            "grad_rnn": self.grad_plot.plot(pen=pg.mkPen(RNN_COLOUR, width=2.5), name="RNN trained"),
            "grad_lstm": self.grad_plot.plot(pen=pg.mkPen(LSTM_COLOUR, width=2.5), name="LSTM trained"),
            "forget_init": self.forget_plot.plot(pen=pg.mkPen("#a0aec0", width=1.5, style=Qt.PenStyle.DashLine),
                                                 name="at init"),
            "forget": self.forget_plot.plot(pen=pg.mkPen(LSTM_COLOUR, width=2.5), name="trained"),
        }
        text = QLabel(EXPLANATION)
        text.setWordWrap(True)
        text.setTextFormat(Qt.TextFormat.RichText)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.canvas, 1)
        lay.addWidget(self.status)
        lay.addWidget(text)
        self.worker: GradientsWorker | None = None
        self.report = None
        self._loss: dict[str, list[float]] = {"rnn": [], "lstm": []}
        self._acc: dict[str, list[tuple[int, float]]] = {"rnn": [], "lstm": []}

    def _plot(self, row: int, col: int, title: str, x: str, y: str) -> pg.PlotItem:
        p = self.canvas.addPlot(row=row, col=col, title=title)
        p.setLabel("bottom", x)
        p.setLabel("left", y)
        p.showGrid(x=True, y=True, alpha=0.2)
        p.addLegend(offset=(-4, 4), labelTextSize="8pt")
        return p

    @property
    def running(self) -> bool:
        return self.worker is not None and self.worker.isRunning()

    @property
    def delay(self) -> int:
        return int(self.slider.value())

    def start(self) -> None:
        """(Re)run at the slider's delay; a run in progress is cancelled first."""
        if self.worker is not None:
            old = self.worker
            for sig in (old.progress, old.done, old.failed):
                sig.disconnect()
            old.cancel()
            keep_until_finished(old, self._retired)
        self.report = None
        self._loss = {"rnn": [], "lstm": []}
        self._acc = {"rnn": [], "lstm": []}
        for c in self.curves.values():
            c.setData([], [])
        self.status.setText(f"training both networks at delay {self.delay} …")
        self.worker = GradientsWorker(self.delay, self.steps)
        self.worker.progress.connect(self._progress)
        self.worker.done.connect(self._done)
        self.worker.failed.connect(lambda t: self.status.setText(f"failed: {t}"))
        self.cancel_button.setEnabled(True)
        self.worker.start()

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self.status.setText("cancelling …")

    def _progress(self, p) -> None:
        for k in ("rnn", "lstm"):
            if k in p.loss:         # a net that has learnt the task stops training
                self._loss[k].append(p.loss[k])
            if p.accuracy is not None:
                self._acc[k].append((p.step, p.accuracy[k]))
        if p.step % 10 == 0 or p.accuracy is not None:     # redraw at a modest rate, not per step
            for k in ("rnn", "lstm"):
                self.curves[f"loss_{k}"].setData(np.arange(1, len(self._loss[k]) + 1), self._loss[k])
                if self._acc[k]:
                    s, a = zip(*self._acc[k])
                    self.curves[f"acc_{k}"].setData(list(s), list(a))
            acc = self._acc["lstm"][-1][1] if self._acc["lstm"] else float("nan")
            self.status.setText(f"delay {self.delay}: step {p.step} of at most {p.steps}; LSTM accuracy {acc:.0%}")

    def _done(self, r) -> None:
        self.report = r
        self.cancel_button.setEnabled(False)
        lags = np.asarray(r.lags)
        for k in ("rnn", "lstm"):
            self.curves[f"loss_{k}"].setData(np.arange(1, len(r.loss_curves[k]) + 1), r.loss_curves[k])
            if r.accuracy_curves[k]:
                s, a = zip(*r.accuracy_curves[k])
                self.curves[f"acc_{k}"].setData(list(s), list(a))
            self.curves[f"grad_{k}_init"].setData(lags, np.maximum(r.grad_init[k], 1e-300))
            self.curves[f"grad_{k}"].setData(lags, np.maximum(r.grad_trained[k], 1e-300))
        steps = np.arange(len(r.forget_gate_trained))
        self.curves["forget_init"].setData(steps, r.forget_gate_init)
        self.curves["forget"].setData(steps, r.forget_gate_trained)
        what = "cancelled after" if r.cancelled else "trained for"
        self.status.setText(
            f"delay {r.delay}: {what} {r.steps_trained} steps in {r.seconds:.1f} s · accuracy RNN "
            f"{r.accuracy['rnn']:.0%}, LSTM {r.accuracy['lstm']:.0%} · over {r.delay} steps the gradient shrinks "
            f"{r.decay('rnn'):.2g}× in the RNN and {r.decay('lstm'):.2g}× in the LSTM")
        self.finished.emit(r)

    def closeEvent(self, event) -> None:
        for worker in [self.worker, *self._retired]:
            if worker is not None:
                worker.cancel()
                worker.wait(5000)
        self._retired.clear()
        super().closeEvent(event)
