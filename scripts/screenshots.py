"""Regenerate the README screenshots of the desktop app, offscreen, while file sources play.

    .venv/bin/python scripts/screenshots.py [--model-speech DIR] [--model-gesture DIR] [--out docs]

Speech: three FSDD digits ("3 7 1") played as if live; gesture: MediaPipe's hand landmarker test video.
Uses a throw-away settings file, so your own remembered sources and models are not touched.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("LSTM_VAULT_SHARED_DATA", REPO.parent / "shared" / "data"))
SIZE = (1600, 1000)


def pump(app, seconds: float, until=lambda: False) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        if until():
            return True
        time.sleep(0.005)
    return bool(until())


def digits_file(folder: Path) -> Path:
    import numpy as np
    import soundfile as sf
    parts = []
    for name in ("3_jackson_1.wav", "7_jackson_0.wav", "1_jackson_2.wav"):
        x, rate = sf.read(str(SHARED / "fsdd" / "recordings" / name), dtype="float32")
        parts += [np.zeros(int(0.3 * rate), np.float32), x]
    path = folder / "three-digits.wav"
    sf.write(str(path), np.concatenate(parts + [np.zeros(int(0.2 * rate), np.float32)]), rate)
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model-speech")
    ap.add_argument("--model-gesture")
    ap.add_argument("--out", default=str(REPO / "docs"))
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    from desktop_app.main_window import MainWindow
    from desktop_app.theme import apply_dark_theme
    apply_dark_theme(app)
    tmp = Path(tempfile.mkdtemp(prefix="lstm-vault-shots-"))
    w = MainWindow(settings=QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat), mode="speech",
                   models={"speech": args.model_speech, "gesture": args.model_gesture})
    w.resize(*SIZE)
    w.show()
    w.unit_lines.set_units([0, 5, 9, 17])

    # speech: grab just after the last digit is recognised (or when the file has played)
    w.use_file(digits_file(tmp))
    pump(app, 12, lambda: len(w.transcript.events) >= 3 or "played to its end" in w.notice_label.text())
    pump(app, 0.25)
    w.grab().save(str(out / "screenshot-speech.png"))
    print(f"speech: {len(w.transcript.events)} words {[e.label for e in w.transcript.events]} -> "
          f"{out / 'screenshot-speech.png'}")

    # gesture: the camera view with the skeleton, a few seconds into the clip
    w.set_mode("gesture")
    w.unit_lines.set_units([0, 5, 9, 17])
    w.use_file(SHARED / "hands" / "mps_hand_landmarker_test_video.mp4")
    pump(app, 30, lambda: w.last_snapshot is not None and w.last_snapshot.now_s > 2.5 and w.camera.hands_drawn > 0)
    w.grab().save(str(out / "screenshot-gesture.png"))
    print(f"gesture: {w.camera.hands_drawn} hand(s) drawn, events {[e.label for e in w.transcript.events]} -> "
          f"{out / 'screenshot-gesture.png'}")
    if w.errors:
        print("errors shown in the window:", *w.errors, sep="\n  ")
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
