"""Run the real main window for a fixed time while a file source plays, then print its counters as JSON.

    QT_QPA_PLATFORM=offscreen python -m desktop_app.bench_probe --seconds 60 --file DIGITS.wav --model-speech DIR

Used by ``lstm-vault bench`` (``gui_redraw_hz``, ``gui_dropped_blocks``) in a subprocess, so the app runs
as it does for a user: its own process, its own threads, the redraw timer on the GUI thread. Settings go
to a throw-away file. The counters are the app's own (``MainWindow.redraws``, ``LiveState.counters``);
this module only times each redraw on top.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m desktop_app.bench_probe", description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--file", required=True, help="audio file played as if live")
    ap.add_argument("--model-speech", default=None)
    ap.add_argument("--size", default="1480x940", help="window size WxH")
    args = ap.parse_args(argv)

    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication
    app = QApplication.instance() or QApplication(["lstm-vault"])
    from .main_window import REDRAW_HZ, MainWindow
    from .theme import apply_dark_theme
    apply_dark_theme(app)
    tmp = Path(tempfile.mkdtemp(prefix="lstm-vault-probe-"))
    w = MainWindow(settings=QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat), mode="speech",
                   models={"speech": args.model_speech})
    width, height = (int(v) for v in args.size.split("x"))
    w.resize(width, height)
    w.show()
    draw_ms: list[float] = []
    original_draw = w._draw

    def timed_draw(force: bool = False) -> None:
        t = time.perf_counter()
        original_draw(force)
        draw_ms.append((time.perf_counter() - t) * 1e3)
    w._draw = timed_draw
    if not w.use_file(args.file):
        print(json.dumps({"error": w.errors[-1] if w.errors else "cannot play the file"}))
        return 1
    start = {"t": time.perf_counter(), "redraws": w.redraws}

    def finish() -> None:
        elapsed = time.perf_counter() - start["t"]
        c = w.state.counters if w.state is not None else None
        ms = sorted(draw_ms) or [0.0]
        print(json.dumps({
            "seconds": elapsed, "redraws": w.redraws - start["redraws"],
            "redraw_hz": (w.redraws - start["redraws"]) / elapsed, "timer_hz": 1000.0 / w.timer.interval(),
            "nominal_hz": REDRAW_HZ, "draw_ms_median": statistics.median(ms), "draw_ms_p95": ms[int(0.95 * (len(ms) - 1))],  # noqa: E501
            "dropped_audio_blocks": c.dropped_audio_blocks if c else None,
            "blocks_received": c.blocks_received if c else None, "frames_run": c.frames_run if c else None,
            "inference_ms": c.inference_ms if c else None, "errors": w.errors}), flush=True)
        w.close()
        app.quit()
    QTimer.singleShot(int(args.seconds * 1000), finish)
    app.exec()
    return 0


if __name__ == "__main__":
    sys.exit(main())


def report_counters(window, train_data: str = "") -> None:
    """Print the window's counters as one JSON line a second (``lstm-vault bench``'s app_* keys read them
    from the real app's stdout). With ``train_data`` (a dataset folder) a training run is started in the
    app's Train tab first, the way a user starts one, with one thread and many epochs."""
    from PySide6.QtCore import QTimer

    def tick() -> None:
        snap = window.last_snapshot
        c = snap.counters if snap is not None else None
        training = window.dataset_dock.training
        print(json.dumps({"counters": True, "mode": window.mode,
                           "dropped_audio_blocks": c.dropped_audio_blocks if c else 0,
                           "dropped_video_frames": c.dropped_video_frames if c else 0,
                           "frames_run": c.frames_run if c else 0, "redraws": window.redraws,
                           "training": training.running, "drop_banner": window.drop_label.isVisible(),
                           "width": window.width(), "height": window.height()}), flush=True)

    def start_training() -> None:
        dock = window.dataset_dock
        dock.show()
        dock.set_dataset(train_data)
        panel = dock.training
        panel.epochs_spin.setValue(1000)
        panel.patience_spin.setValue(1000)
        panel.threads_spin.setValue(1)
        panel.out_edit.setText(str(Path(tempfile.mkdtemp(prefix="lstm-vault-bench-train-")) / "model"))
        panel.confirm_overwrite = lambda _out: True
        print(json.dumps({"training_started": panel.start()}), flush=True)

    if train_data:
        QTimer.singleShot(0, start_training)
    timer = QTimer(window)
    timer.setInterval(1000)
    timer.timeout.connect(tick)
    timer.start()
    window._bench_counter_timer = timer
