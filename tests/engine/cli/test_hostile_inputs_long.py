"""Issue 19, the cases docs/hostile-inputs.md listed as not covered: long files inside an eval or training
dataset, long videos refused before tracking, and MediaPipe's own log lines on stderr."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
from testdata import ASSETS, REPO

import recognizers.data.landmark_files as landmark_files
from recognizers.cli.main import main
from recognizers.data.datasets import Example
from recognizers.data.durations import EVAL_MAX_SECONDS, TRAIN_MAX_SECONDS, check_training_clip, declared_seconds
from recognizers.errors import VaultError
from recognizers.io.quiet import NATIVE_CHATTER, native_chatter_filtered
from recognizers.io.video import VideoFile

SPEECH = ASSETS / "digits-en"
GESTURE = ASSETS / "gestures-arman6"
HANDS = REPO.parent / "shared" / "data" / "hands"


def lv(capsys, *argv) -> tuple[int, str, str]:
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def one_line(rc: int, err: str, *words: str) -> None:
    assert rc == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for w in words:
        assert w in err, err


def _wav(path, seconds: float, rate: int = 8000) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    x = 0.1 * np.sin(np.arange(int(seconds * rate)) / 5)
    sf.write(path, x.astype(np.float32), rate, subtype="PCM_U8" if path.suffix == ".wav" else "PCM_16")


def _video(path, frames: int, fps: float, size: int = 16) -> None:
    import cv2
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (size, size))
    img = np.zeros((size, size, 3), np.uint8)
    for i in range(frames):
        img[:] = i % 256
        w.write(img)
    w.release()


class _NoTracking:
    """Stands in for HandTracker where nothing may be tracked: constructing it fails the test."""

    def __init__(self, *a, **k):
        raise AssertionError("a hand tracker was started for an input that should have been refused")


# ---- 1. eval and training: a long file inside a dataset ------------------------------------------------------

def test_eval_refuses_a_long_file_from_its_header_and_goes_on(tmp_path, capsys, monkeypatch):
    data = tmp_path / "data"
    _wav(data / "3" / "ok.wav", 1.0)
    _wav(data / "3" / "long.wav", 5.0)
    import recognizers.io.audio as audio
    real, decoded = audio.load_audio, []
    monkeypatch.setattr(audio, "load_audio", lambda p, *a, **k: decoded.append(os.path.basename(p)) or real(p, *a, **k))
    rc, out, err = lv(capsys, "eval", "--json", "--model", SPEECH, "--data", data, "--max-seconds", "2")
    assert rc == 0, err
    r = json.loads(out)
    assert r["n"] == 2 and len(r["errors"]) == 1 and "long.wav" in r["errors"][0], r["errors"]
    assert "5.0 s is longer than --max-seconds 2" in r["errors"][0]
    assert decoded == ["ok.wav"]          # the long file was refused from its header, never decoded
    assert err.count("\n") == 1 and "long.wav" in err and "counted as wrong" in err, err
    rc, out, _ = lv(capsys, "eval", "--model", SPEECH, "--data", data, "--max-seconds", "2")
    assert rc == 0 and "1 unreadable files counted as wrong" in out


def test_eval_default_limit_and_bad_values(tmp_path, capsys):
    from recognizers.cli.main import build_parser
    args = build_parser().parse_args(["eval", "--model", "m", "--data", "d"])
    assert args.max_seconds == EVAL_MAX_SECONDS == 600.0     # 10 min: about 1.2 GB peak (docs/hostile-inputs.md)
    _wav(tmp_path / "data" / "3" / "ok.wav", 1.0)
    for bad in ("inf", "0", "-5"):
        rc, _, err = lv(capsys, "eval", "--model", SPEECH, "--data", tmp_path / "data", "--max-seconds", bad)
        one_line(rc, err, "--max-seconds")


def test_training_skips_a_clip_longer_than_the_limit_before_decoding(tmp_path):
    from recognizers.training.loop import load_examples
    long = tmp_path / "3" / "long.wav"
    _wav(long, TRAIN_MAX_SECONDS + 1, rate=4000)
    ok = tmp_path / "3" / "ok.wav"
    _wav(ok, 1.0)
    loaded = []

    class Task:
        task = "speech"

        def load(self, e):
            loaded.append(e.path.name)
            return np.zeros(10, np.float32)

    logs = []
    kept, raws, errors = load_examples(Task(), [Example(long, "3"), Example(ok, "3")], logs.append)
    assert loaded == ["ok.wav"] and [e.path.name for e in kept] == ["ok.wav"]
    assert len(errors) == 1 and "long.wav" in errors[0] and "training clip limit" in errors[0], errors
    assert logs and "skipped 1 unreadable" in logs[0]
    with pytest.raises(VaultError, match="long.wav"):
        check_training_clip(long, "speech")
    check_training_clip(ok, "speech")
    check_training_clip(tmp_path / "missing.wav", "speech")     # left to the reader, which says why


def test_training_on_demand_dataset_refuses_a_long_clip(tmp_path):
    from recognizers.training.clip_dataset import ClipDataset
    long = tmp_path / "long.wav"
    _wav(long, TRAIN_MAX_SECONDS + 1, rate=4000)

    class Task:
        task = "speech"

        def load(self, e):
            raise AssertionError("decoded a file longer than the training limit")

    ds = ClipDataset.__new__(ClipDataset)
    ds.task = Task()
    with pytest.raises(VaultError, match="training clip limit"):
        ds.raw(Example(long, "3"))


def test_connected_digit_pool_refuses_a_long_clip_before_decoding(tmp_path, monkeypatch):
    import recognizers.data.connected_digits as connected_digits
    _wav(tmp_path / "3" / "long.wav", TRAIN_MAX_SECONDS + 1, rate=4000)
    monkeypatch.setattr(connected_digits, "load_audio",
                        lambda *a, **k: (_ for _ in ()).throw(AssertionError("decoded a long clip")))
    with pytest.raises(VaultError, match="training clip limit"):
        connected_digits.DigitPool.from_folder(tmp_path, 16000)


# ---- 2. long videos are refused before tracking ------------------------------------------------------------

@pytest.fixture
def long_video(tmp_path):
    p = tmp_path / "long.avi"
    _video(p, 3000, 1000.0)            # 3 s at 1000 fps: 3000 tiny frames, about 0.2 s to write
    return p


def test_video_header_gives_frame_count_and_length(long_video):
    v = VideoFile(long_video)
    assert v.frame_count == 3000 and v.fps == 1000.0 and abs(v.declared_seconds - 3.0) < 1e-9
    assert abs(declared_seconds(long_video, "gesture") - 3.0) < 1e-9


def test_gestures_refuses_a_long_video_before_tracking(long_video, capsys, monkeypatch):
    monkeypatch.setattr(landmark_files, "HandTracker", _NoTracking)
    rc, _, err = lv(capsys, "gestures", "--model", GESTURE, "--max-seconds", "1", long_video)
    one_line(rc, err, "long.avi", "3000 frames", "--max-seconds 1")


@pytest.mark.parametrize("command", ["predict", "trace"])
def test_predict_and_trace_refuse_a_long_video_before_tracking(long_video, tmp_path, capsys, monkeypatch, command):
    monkeypatch.setattr(landmark_files, "HandTracker", _NoTracking)
    extra = ["--out", tmp_path / "t.npz"] if command == "trace" else []
    rc, _, err = lv(capsys, command, "--model", GESTURE, "--max-seconds", "1", *extra, long_video)
    one_line(rc, err, "long.avi", "--max-seconds 1")
    assert not (tmp_path / "t.npz").exists()


class _CountingTracker:
    processed = 0

    def __init__(self, *a, **k):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def process(self, rgb):
        type(self).processed += 1
        return []


def test_a_video_whose_container_does_not_say_stops_at_the_limit(long_video, capsys, monkeypatch):
    class Unsaid(VideoFile):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            self.frame_count = None            # as for a stream or a container without a frame count

    import recognizers.io.video as video
    monkeypatch.setattr(landmark_files, "VideoFile", Unsaid)
    monkeypatch.setattr(video, "VideoFile", Unsaid)        # the header check of predict reads it too
    monkeypatch.setattr(landmark_files, "HandTracker", _CountingTracker)
    _CountingTracker.processed = 0
    rc, _, err = lv(capsys, "gestures", "--model", GESTURE, "--max-seconds", "1", long_video)
    one_line(rc, err, "long.avi", "--max-seconds 1")
    assert _CountingTracker.processed == 1000      # tracked up to the limit (1 s at 1000 fps), not to the end
    _CountingTracker.processed = 0
    rc, _, err = lv(capsys, "predict", "--model", GESTURE, "--max-seconds", "1", long_video)
    one_line(rc, err, "long.avi", "--max-seconds 1")
    assert _CountingTracker.processed == 1000


def test_image_folder_longer_than_the_limit_is_refused_before_tracking(tmp_path, capsys, monkeypatch):
    import cv2
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(40):                # 40 images at the model's 30 fps: 1.3 s
        cv2.imwrite(str(folder / f"{i:03d}.png"), np.zeros((8, 8, 3), np.uint8))
    monkeypatch.setattr(landmark_files, "HandTracker", _NoTracking)
    for command in ("gestures", "predict"):
        rc, _, err = lv(capsys, command, "--model", GESTURE, "--max-seconds", "1", folder)
        one_line(rc, err, "frames", "1.3 s", "--max-seconds 1")


# ---- 3. MediaPipe's own lines are not printed ----------------------------------------------------------------

def _cli(*argv, cwd=REPO) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "recognizers", *map(str, argv)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_chatter_pattern_drops_mediapipe_lines_only():
    drop = [b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n",
            b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
            b"W0000 00:00:1796173268.281905   15142 inference_feedback_manager.cc:114] Feedback manager ...\n",
            b"W0000 00:00:1796173137.422495   14094 landmark_projection_calculator.cc:186] Using NORM_RECT\n",
            b"[h264 @ 0x55d0c0a3e2c0] error while decoding MB 3 4\n"]
    keep = [b"lstm-vault gestures: error: x.mp4: no frames could be decoded\n",
            b"E0000 00:00:1.5   12 calculator_graph.cc:887] real failure\n", b"Traceback (most recent call last):\n"]
    assert all(NATIVE_CHATTER.match(x) for x in drop)
    assert not any(NATIVE_CHATTER.match(x) for x in keep)


def test_chatter_filter_keeps_other_lines_in_order(capfd):
    with native_chatter_filtered():
        os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\nfirst\n")
        print("second", file=sys.__stderr__, flush=True)     # Python's own stderr writes to fd 2
        os.write(2, b"W0000 00:00:1.2   7 x.cc:1] chatter\nthird\n")
    os.write(2, b"after\n")
    _, err = capfd.readouterr()
    assert err == "first\nsecond\nthird\nafter\n"


def test_chatter_filter_drops_the_native_error_report_only_when_the_block_fails(capfd, monkeypatch):
    import recognizers.io.quiet as quiet
    monkeypatch.setattr(quiet, "LATE_LINES_S", 0.0)
    report = (b"E0000 00:00:1.5   7 calculator_graph.cc:928] NOT_FOUND: failed\n"
              b"Calculator::Open() for node \"x\" failed: Failed to load resource: m.tflite\n"
              b"Can't find file: m.tflite\n")
    with native_chatter_filtered():
        os.write(2, report)
    assert capfd.readouterr()[1] == report.decode()        # a success keeps error lines: something else failed
    with pytest.raises(VaultError):
        with native_chatter_filtered():
            os.write(2, report + b"other\n")
            raise VaultError("MediaPipe hand tracking failed: Failed to load resource: m.tflite")
    assert capfd.readouterr()[1] == "other\n"               # our one line (printed by the caller) says it


def test_gestures_on_a_video_prints_no_mediapipe_lines(tmp_path):
    import cv2
    p = tmp_path / "short.mp4"
    w = cv2.VideoWriter(str(p), cv2.VideoWriter_fourcc(*"mp4v"), 30, (64, 64))
    for i in range(10):
        w.write(np.full((64, 64, 3), 20 * i, np.uint8))
    w.release()
    r = _cli("gestures", "--model", GESTURE, p)
    assert r.returncode == 0, r.stderr
    assert r.stderr == "", r.stderr
    assert "short.mp4: 0 gestures" in r.stdout


def test_a_failing_image_folder_prints_only_our_line(tmp_path):
    """MediaPipe starts on the first image (a real hand where ../shared/data/hands has one, which also makes
    it log about the landmark projection), then the second image cannot be decoded: one line, ours."""
    folder = tmp_path / "frames"
    folder.mkdir()
    hands = sorted(HANDS.glob("*.jpg")) if HANDS.is_dir() else []
    if hands:
        shutil.copy(hands[0], folder / "000.jpg")
    else:
        import cv2
        cv2.imwrite(str(folder / "000.jpg"), np.full((64, 64, 3), 128, np.uint8))
    (folder / "001.jpg").write_bytes(b"\xff\xd8\xff" + bytes(range(256)) * 4)   # a JPEG start, then noise
    r = _cli("gestures", "--model", GESTURE, folder)
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and "001.jpg" in r.stderr, r.stderr


def test_mediapipe_that_fails_to_load_its_model_is_one_clear_line(tmp_path):
    """MediaPipe looks for its .tflite models under a resource folder: point it at an empty one."""
    import cv2
    p = tmp_path / "short.avi"
    _video(p, 3, 30.0, size=32)
    (tmp_path / "empty").mkdir()
    script = tmp_path / "run.py"
    script.write_text(
        "import sys\n"
        "import mediapipe.python.solution_base as sb\n"
        "real = sb.resource_util.set_resource_dir\n"
        "class RU:\n"
        f"    set_resource_dir = staticmethod(lambda p: real({str(tmp_path / 'empty')!r}))\n"
        "sb.resource_util = RU\n"
        "from recognizers.cli.main import main\n"
        "sys.exit(main(sys.argv[1:]))\n")
    del cv2
    env = dict(os.environ, PYTHONPATH=str(REPO))
    r = subprocess.run([sys.executable, str(script), "gestures", "--model", str(GESTURE), str(p)], cwd=REPO,
                       env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and "MediaPipe hand tracking" in r.stderr and ".tflite" in r.stderr, r.stderr
