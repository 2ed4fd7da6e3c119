"""The "Why an LSTM?" panel trains both networks on a worker thread at a short delay, draws the curves and can be
cancelled."""
from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("pytestqt")

from desktop_app.gradients_panel import GradientsPanel  # noqa: E402


def test_panel_runs_at_a_short_delay(qtbot):
    panel = GradientsPanel(delay=8, steps=30)
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.finished, timeout=60_000) as blocker:
        panel.start()
    r = blocker.args[0]
    assert not r.cancelled and r.delay == 8 and r.steps_trained >= 1
    x, y = panel.curves["grad_rnn"].getData()
    assert len(x) == 9
    assert len(panel.curves["forget"].getData()[0]) == 9
    assert "accuracy" in panel.status.text()


def test_panel_can_be_cancelled(qtbot):
    panel = GradientsPanel(delay=20, steps=100000)
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.finished, timeout=60_000) as blocker:
        panel.start()
        qtbot.waitUntil(lambda: len(panel._loss["lstm"]) > 0, timeout=30_000)
        panel.cancel_button.click()
    assert blocker.args[0].cancelled and blocker.args[0].steps_trained < 100000
    assert "cancelled" in panel.status.text()
