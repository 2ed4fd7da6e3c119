"""Regenerate the README screenshots of the desktop app, offscreen, while file sources play.

    .venv/bin/python scripts/screenshots.py [--model-speech DIR] [--model-gesture DIR] [--out docs]

Speech: three FSDD digits ("3 7 1") played as if live; gesture: MediaPipe's hand landmarker test video;
recorder: the Record & train dock recording takes while the digits play, and the Train tab after training
a small model on FSDD digits imported into a throw-away dataset (``--only recorder`` makes just these);
insight: the explanation of the second digit (clicked in the transcript) and the "Why an LSTM?" panel at
delay 50 after it has trained (``--only insight``).
Uses a throw-away settings file, so your own remembered sources and models are not touched.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("LSTM_VAULT_SHARED_DATA", REPO.parent / "shared" / "data"))
SIZE = (1600, 1000)
from PySide6.QtCore import Qt  # noqa: E402

from desktop_app.event_loop import process_events_until  # noqa: E402


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
    ap.add_argument("--only", choices=("live", "recorder", "insight"), help="make only these screenshots")
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
    if args.only in (None, "live"):
        live_shots(app, w, out, tmp)
    if args.only in (None, "insight"):
        insight_shots(app, w, out, tmp)
    if args.only in (None, "recorder"):
        recorder_shots(app, w, out, tmp)
    if w.errors:
        print("errors shown in the window:", *w.errors, sep="\n  ")
    w.close()
    return 0


def live_shots(app, w, out: Path, tmp: Path) -> None:
    # speech: grab just after the last digit is recognised (or when the file has played)
    w.use_file(digits_file(tmp))
    process_events_until(app, 12, lambda: len(w.transcript.events) >= 3 or "played to its end" in w.notice_label.text())
    process_events_until(app, 0.25)
    w.grab().save(str(out / "screenshot-speech.png"))
    print(f"speech: {len(w.transcript.events)} words {[e.label for e in w.transcript.events]} -> "
          f"{out / 'screenshot-speech.png'}")

    # gesture: the camera view with the skeleton, a few seconds into the clip
    w.set_mode("gesture")
    w.unit_lines.set_units([0, 5, 9, 17])
    w.use_file(SHARED / "hands" / "mps_hand_landmarker_test_video.mp4")
    process_events_until(app, 30, lambda: w.last_snapshot is not None and w.last_snapshot.now_s > 2.5 and w.camera.hands_drawn > 0)  # noqa: E501
    w.grab().save(str(out / "screenshot-gesture.png"))
    print(f"gesture: {w.camera.hands_drawn} hand(s) drawn, events {[e.label for e in w.transcript.events]} -> "
          f"{out / 'screenshot-gesture.png'}")


def insight_shots(app, w, out: Path, tmp: Path) -> None:
    # explain: play the digits, click the second recognised one, grab once its explanation is drawn
    w.set_mode("speech")
    w.use_file(digits_file(tmp))
    process_events_until(app, 12, lambda: len(w.transcript.events) >= 3 or "played to its end" in w.notice_label.text())
    events = w.transcript.events
    panel = w.insight.panel
    if events:
        w.insight.explain_event(events[min(1, len(events) - 1)])
        process_events_until(app, 60, lambda: panel.explanation is not None or "cannot" in panel.title.text())
        w.insight.add_units(list(panel.units[:4]))
        process_events_until(app, 0.3)
    w.grab().save(str(out / "screenshot-explain.png"))
    print(f"explain: {panel.title.text()!r} -> {out / 'screenshot-explain.png'}")
    w.insight.dock.hide()

    # "Why an LSTM?" at delay 50, after both networks have trained
    g = w.insight.open_gradients()
    g.resize(1300, 860)
    process_events_until(app, 300, lambda: g.report is not None)
    process_events_until(app, 0.3)
    g.grab().save(str(out / "screenshot-gradients.png"))
    print(f"gradients: {g.status.text()!r} -> {out / 'screenshot-gradients.png'}")
    g.close()


def recorder_shots(app, w, out: Path, tmp: Path) -> None:
    """The Record tab mid-take, and the Train tab after a short training on imported FSDD digits."""
    from recognizers.data.dataset_ops import import_paths
    w.set_mode("speech")
    data = tmp / "my-digits"
    rec = SHARED / "fsdd" / "recordings"
    files = [rec / f"{d}_{spk}_{n}.wav" for d in (1, 3, 7) for spk in ("jackson", "nicolas", "theo", "yweweler")
             for n in range(12)]
    print(import_paths(data, "speech", files).summary())
    dock = w.dataset_dock
    w.tools_button.setChecked(True)
    process_events_until(app, 0.2)
    w.resize(*SIZE)
    w.resizeDocks([dock], [540], Qt.Orientation.Horizontal)
    dock.set_dataset(data)
    r = dock.recorder
    r.label_box.setEditText("7")
    r.speaker_edit.setText("me")
    r.takes_spin.setValue(5)
    r.length_spin.setValue(1.2)
    r.countdown_spin.setValue(0.6)
    import numpy as np
    import soundfile as sf
    sevens = []
    for spk, n in (("jackson", 40), ("nicolas", 40), ("theo", 40), ("yweweler", 40), ("jackson", 41), ("theo", 41)):
        x, rate = sf.read(str(rec / f"7_{spk}_{n}.wav"), dtype="float32")
        sevens += [np.zeros(int(0.8 * rate) - x.size % 100, np.float32), x]
    sf.write(str(tmp / "sevens.wav"), np.concatenate(sevens + [np.zeros(rate, np.float32)]), rate)
    w.use_file(tmp / "sevens.wav")
    process_events_until(app, 0.6)
    r.start()
    process_events_until(app, 10, lambda: len(r.saved) >= 2 and "RECORDING take 3" in r.cue.text()
         and r.session.status().seconds_left < 0.6)
    dock.dataset_view.refresh()
    w.grab().save(str(out / "screenshot-recorder.png"))
    print(f"recorder: cue {r.cue.text()!r}, {len(r.saved)} saved -> {out / 'screenshot-recorder.png'}")
    r.stop()
    process_events_until(app, 3, lambda: not r.recording)
    t = dock.training
    dock.tabs.setCurrentWidget(t)
    t.epochs_spin.setValue(12)
    t.hidden_spin.setValue(48)
    t.out_edit.setText(str(tmp / "my-digits-model"))
    t.start()
    process_events_until(app, 300, lambda: not t.running)
    t.use_model()                       # the new model goes live on the digits
    w.use_file(digits_file(tmp))
    process_events_until(app, 12, lambda: len(w.transcript.events) >= 3 or "played to its end" in w.notice_label.text())
    process_events_until(app, 0.3)
    w.grab().save(str(out / "screenshot-training.png"))
    print(f"training: {t.eta_label.text()} -> {out / 'screenshot-training.png'}")


if __name__ == "__main__":
    sys.exit(main())
