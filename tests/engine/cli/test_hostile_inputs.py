"""Issue 19 "Hostile inputs": every case of the issue as a regression test. Each refusal is one line on
stderr, exit status 2, no traceback, and nothing is written outside the destination."""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import soundfile as sf
from testdata import ASSETS, REPO

from recognizers.cli.main import main
from recognizers.data.datasets import import_fsdd, scan_dataset
from recognizers.data.importers import import_arman, import_kazuhito
from recognizers.data.recorder import DatasetWriter, RecordingError, check_label, recover_dataset
from recognizers.errors import DatasetError, ModelFileError, VaultError
from recognizers.io.audio import load_audio
from recognizers.io.paths import check_component, check_output_file
from recognizers.io.safe_text import safe_text
from recognizers.model_files import load_model, recover_model_folder

SPEECH = ASSETS / "digits-en"
GESTURE = ASSETS / "gestures-arman6"
CTC = ASSETS / "digits-connected-en"


def lv(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def assert_one_line_error(rc: int, err: str, *words: str) -> None:
    assert rc == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err and "\x1b" not in err, err
    for w in words:
        assert w in err, err


@pytest.fixture
def wav(tmp_path):
    p = tmp_path / "a.wav"
    sf.write(p, (0.1 * np.sin(np.arange(16000) / 5)).astype(np.float32), 16000)
    return p


def _model_copy(tmp_path, src=SPEECH, **changes):
    dst = tmp_path / ("m-" + src.name)
    shutil.copytree(src, dst)
    meta = json.loads((dst / "model.json").read_text())
    for k, v in changes.items():
        if isinstance(v, dict) and isinstance(meta.get(k), dict):
            meta[k].update(v)
        else:
            meta[k] = v
    (dst / "model.json").write_text(json.dumps(meta))
    return dst


# ---------------------------------------------------------------------------------------------------------
# 1. Writes outside the destination
HOSTILE_LABELS = ["/tmp/ESCAPED-lv19", "", "..", "../../x", ".", "a/b", "a\\b", "a\x00b", "a\nb", "\x1b[2J",
                  "x" * 300, ".hidden", "\ud800"]


def _arman(tmp_path, y, seq=None):
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    X = np.random.default_rng(0).random((len(y), 8, 126)).astype(np.float32)
    seq = np.arange(len(y)) if seq is None else seq
    p = src / "dhgr6_raw_2hands.npz"
    np.savez(p, X=X, y=np.asarray(y), seq_id=seq)
    return p


@pytest.mark.parametrize("label", HOSTILE_LABELS)
def test_arman_label_never_becomes_a_path_outside_dest(tmp_path, label):
    if label == "\ud800":
        pytest.skip("numpy cannot store a lone surrogate in a unicode array")
    src = _arman(tmp_path, [label] * 12)
    dest = tmp_path / "out" / "dest"
    with pytest.raises(DatasetError, match="label"):
        import_arman(src, dest)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.npz"))
    assert not os.path.exists("/tmp/ESCAPED-lv19")


def test_arman_cli_refusal_is_one_line(tmp_path, capsys):
    src = _arman(tmp_path, ["../escaped"] * 12)
    rc, _, err = lv(capsys, "import-gestures", "--format", "arman", src.parent, tmp_path / "dest")
    assert_one_line_error(rc, err, "label")
    assert not (tmp_path / "escaped").exists()


@pytest.mark.parametrize("seq", [np.array([np.nan] * 12), np.array(["a"] * 12), np.array([1e300] * 12)])
def test_arman_seq_id_nan_or_string(tmp_path, seq):
    src = _arman(tmp_path, ["wave"] * 12, seq=seq)
    with pytest.raises(DatasetError, match="seq_id"):
        import_arman(src, tmp_path / "dest")


def _kazuhito(tmp_path, labels: bytes):
    src = tmp_path / "kz"
    src.mkdir()
    rows = "\n".join("0," + ",".join(["0.1"] * 42) for _ in range(32))
    (src / "keypoint.csv").write_text(rows + "\n")
    (src / "keypoint_classifier_label.csv").write_bytes(labels)
    return src


@pytest.mark.parametrize("labels", [b"..\n", b".\n", b"\x00\n", b"x" * 300 + b"\n", b"a\x1bb\n"])
def test_kazuhito_label_line_is_confined(tmp_path, labels):
    src = _kazuhito(tmp_path, labels)
    with pytest.raises(DatasetError, match="label"):
        import_kazuhito(src, tmp_path / "out" / "dest")
    assert not any((tmp_path / "out").rglob("*.npz")) if (tmp_path / "out").exists() else True


def test_kazuhito_non_utf8_labels(tmp_path):
    with pytest.raises(DatasetError, match="UTF-8"):
        import_kazuhito(_kazuhito(tmp_path, b"\xff\xfe\xfa\n"), tmp_path / "dest")


@pytest.mark.parametrize("label", HOSTILE_LABELS + ["_unknown_"])
def test_recorder_labels(label):
    with pytest.raises(RecordingError):
        check_label(label)


@pytest.mark.parametrize("special", ["/dev/full", "/dev/null", "fifo", "folder"])
def test_trace_out_never_replaces_a_special_file(tmp_path, capsys, wav, special):
    if special == "fifo":
        target = tmp_path / "fifo"
        os.mkfifo(target)
    elif special == "folder":
        target = tmp_path / "folder"
        target.mkdir()
    else:
        target = special
    before = os.stat(target).st_mode
    rc, _, err = lv(capsys, "trace", "--model", SPEECH, wav, "--out", target)
    assert_one_line_error(rc, err, "--out")
    assert os.stat(target).st_mode == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_export_onnx_never_replaces_dev_null(tmp_path, capsys):
    pytest.importorskip("onnx")
    rc, _, err = lv(capsys, "export", "--model", SPEECH, "--onnx", "/dev/null")
    assert_one_line_error(rc, err, "--onnx")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_train_out_special_file(tmp_path, capsys):
    rc, _, err = lv(capsys, "train", "--task", "speech", "--data", tmp_path, "--out", "/dev/null")
    assert_one_line_error(rc, err, "--out")


# ---------------------------------------------------------------------------------------------------------
# 2. model.json fields, checked once at load time, the field named
@pytest.mark.parametrize("change, field", [
    ({"decoder": [1, 2]}, "decoder"),
    ({"decoder": "ctc"}, "decoder"),
    ({"decoder": {"reject_threshold": "high"}}, "decoder.reject_threshold"),
    ({"decoder": {"reject_threshold": 7}}, "decoder.reject_threshold"),
    ({"decoder": {"lead_silence_s": [1]}}, "decoder.lead_silence_s"),
    ({"decoder": {"type": "beam"}}, "decoder.type"),
    ({"decoder": {"type": "ctc", "blank": "nope"}}, "decoder.blank"),
    ({"label_aliases": [1]}, "label_aliases"),
    ({"label_aliases": {"zero": 0}}, "label_aliases"),
    ({"name": {"a": 1}}, "name"),
    ({"labels": ["\ud800"] + [str(i) for i in range(1, 10)] + ["_unknown_"]}, "labels[0]"),
    ({"labels": ["a\nb"] + [str(i) for i in range(1, 10)] + ["_unknown_"]}, "labels[0]"),
    ({"task": "gesture"}, "frontend.type"),
    ({"training": [1]}, "training"),
    ({"frontend": {"hop_ms": 0.0625, "win_ms": 512, "n_fft": 8192}}, "hop_ms"),
    ({"frontend": {"hop_ms": 1.7976931348623157e308}}, "hop_ms"),      # found by the schema fuzzer
    ({"frontend": {"sample_rate_hz": 96000, "hop_ms": 1.0, "n_fft": 8192, "win_ms": 80}}, "hop_ms"),
])
def test_model_json_field_is_named(tmp_path, change, field):
    m = _model_copy(tmp_path, **change)
    with pytest.raises(ModelFileError, match=field.replace("[", r"\[").replace(".", r"\.")):
        load_model(m)


def test_gesture_window_frames_not_a_number(tmp_path, capsys):
    m = _model_copy(tmp_path, GESTURE, decoder={"window_frames": "many"})
    with pytest.raises(ModelFileError, match="decoder.window_frames"):
        load_model(m)
    m2 = _model_copy(tmp_path / "b", GESTURE, task="speech")
    rc, _, err = lv(capsys, "predict", "--model", m2, tmp_path / "x.npz")
    assert_one_line_error(rc, err, "model.json", "frontend.type")


def test_ctc_blank_not_a_label(tmp_path):
    with pytest.raises(ModelFileError, match="decoder.blank"):
        load_model(_model_copy(tmp_path, CTC, decoder={"type": "ctc", "blank": "silence"}))


def test_huge_json_integer(tmp_path, capsys, wav):
    m = _model_copy(tmp_path)
    text = (m / "model.json").read_text().replace('"format_version": 1', '"format_version": ' + "9" * 5000)
    (m / "model.json").write_text(text)
    rc, _, err = lv(capsys, "predict", "--model", m, wav)
    assert_one_line_error(rc, err, "digits")


@pytest.mark.parametrize("cmd", ["predict", "eval", "transcribe", "export"])
def test_commands_refuse_a_bad_field_with_exit_2(tmp_path, capsys, wav, cmd):
    m = _model_copy(tmp_path, decoder=["x"], name={"a": 1}, label_aliases=[1])
    argv = {"predict": ["predict", "--model", m, wav], "eval": ["eval", "--model", m, "--data", tmp_path],
            "transcribe": ["transcribe", "--model", m, wav],
            "export": ["export", "--model", m, "--onnx", tmp_path / "x.onnx"]}[cmd]
    rc, _, err = lv(capsys, *argv)
    assert_one_line_error(rc, err, "model.json")
    assert not (tmp_path / "x.onnx").exists()


# ---------------------------------------------------------------------------------------------------------
# 3./4. Bounded memory, huge but finite values, NaN never printed
@pytest.mark.parametrize("value", [1e30, 3.4e38, -3.4e38])
def test_huge_float_wav(tmp_path, capsys, value):
    p = tmp_path / "loud.wav"
    sf.write(p, np.full(16000, value, np.float32), 16000, subtype="FLOAT")
    for argv in (["predict", "--model", SPEECH, p], ["predict", "--json", "--model", SPEECH, p]):
        rc, out, err = lv(capsys, *argv)
        assert_one_line_error(rc, err, "samples")
        assert "NaN" not in out


def test_predict_json_is_strict_json(capsys, wav):
    rc, out, _ = lv(capsys, "predict", "--json", "--model", SPEECH, wav)
    assert rc == 0

    def refuse(c):
        raise AssertionError(c)
    json.loads(out, parse_constant=refuse)


# ---------------------------------------------------------------------------------------------------------
# 6. File-system errors as one line
def test_names_longer_than_255_bytes(tmp_path, capsys, wav):
    long = "é" * 200 + ".wav"
    rc, _, err = lv(capsys, "predict", "--model", SPEECH, tmp_path / long)
    assert_one_line_error(rc, err)
    rc, _, err = lv(capsys, "trace", "--model", SPEECH, wav, "--out", tmp_path / ("t" * 300 + ".npz"))
    assert_one_line_error(rc, err, "--out")
    pytest.importorskip("onnx")
    rc, _, err = lv(capsys, "export", "--model", SPEECH, "--onnx", tmp_path / ("o" * 300 + ".onnx"))
    assert_one_line_error(rc, err, "--onnx")


@pytest.mark.parametrize("path", ["a\x00b.wav", "x/" + "y" * 5000 + ".wav"])
def test_manifest_paths_nul_or_too_long(tmp_path, path):
    (tmp_path / "manifest.csv").write_text(f"path,label\n{path},up\n")
    with pytest.raises(DatasetError, match="line 2"):
        scan_dataset(tmp_path, (".wav",))


def test_import_destination_is_a_file(tmp_path, wav):
    (tmp_path / "src").mkdir()
    shutil.copy(wav, tmp_path / "src" / "1_bob_0.wav")
    (tmp_path / "dest").write_text("")
    with pytest.raises(DatasetError, match="not a folder"):
        import_fsdd(tmp_path / "src", tmp_path / "dest")
    with pytest.raises(DatasetError, match="not a folder"):
        import_arman(_arman(tmp_path, ["wave"] * 12), tmp_path / "dest")


@pytest.mark.parametrize("kind", ["fifo", "folder", "loop"])
def test_import_fsdd_special_entries(tmp_path, wav, kind):
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(wav, src / "1_bob_0.wav")
    odd = src / "2_bob_0.wav"
    {"fifo": os.mkfifo, "folder": os.mkdir, "loop": lambda p: os.symlink(p.name, p)}[kind](odd)
    with pytest.raises(DatasetError, match="not a regular file"):
        import_fsdd(src, tmp_path / "dest")


def test_wav_name_with_byte_ff_is_read(tmp_path, capsys):
    name = os.fsdecode(b"\xffdigit.wav")
    p = tmp_path / name
    sf.write(os.fsencode(p), np.zeros(8000, np.float32) + 0.01, 16000)
    assert load_audio(p).shape == (8000,)
    rc, out, err = lv(capsys, "predict", "--model", SPEECH, p)
    assert rc == 0, err
    assert "\\xff" in out and out.count("\n") >= 2


def test_control_characters_in_file_names_are_escaped(tmp_path, capsys):
    rc, _, err = lv(capsys, "predict", "--model", SPEECH, tmp_path / "a\nb\x1b[2Jc.wav")
    assert_one_line_error(rc, err, "\\n", "\\x1b")


# ---------------------------------------------------------------------------------------------------------
# 7. Options
def test_options_that_used_to_crash(tmp_path, capsys, wav):
    rc, _, err = lv(capsys, "eval", "--model", SPEECH, "--data", tmp_path, "--device", "cuda:99")
    assert_one_line_error(rc, err, "cuda:99")
    for bad in ("inf", "nan", "-1"):
        rc, _, err = lv(capsys, "transcribe", "--model", SPEECH, wav, "--block-ms", bad)
        assert_one_line_error(rc, err, "--block-ms")
    pytest.importorskip("onnx")
    for opset in ("1", "999"):
        rc, _, err = lv(capsys, "export", "--model", SPEECH, "--onnx", tmp_path / "x.onnx", "--opset", opset)
        assert_one_line_error(rc, err, "--opset")


# ---------------------------------------------------------------------------------------------------------
# 8. Interrupted saves and recordings
SAVE_SCRIPT = textwrap.dedent("""
    import os, sys, time
    sys.path.insert(0, {repo!r})
    from recognizers import model_files as mf
    out, mode = sys.argv[1], sys.argv[2]
    m = mf.load_model(out)
    if mode == "exchange":
        real = mf._exchange
        def slow(a, b):
            print("swapping", flush=True); time.sleep(60); return real(a, b)
        mf._exchange = slow
    else:
        mf._exchange = lambda a, b: False
        real_replace = os.replace
        calls = []
        def slow_replace(a, b):
            real_replace(a, b); calls.append(1)
            if len(calls) == 1:
                print("between", flush=True); time.sleep(60)
        mf.os.replace = slow_replace
    mf.save_model(out, m.network, m.meta)
""")


@pytest.mark.parametrize("mode", ["exchange", "fallback"])
def test_kill_during_save_keeps_a_model_at_out(tmp_path, mode):
    out = tmp_path / "m"
    shutil.copytree(SPEECH, out)
    script = tmp_path / "save.py"
    script.write_text(SAVE_SCRIPT.format(repo=str(REPO)))
    proc = subprocess.Popen([sys.executable, str(script), str(out), mode], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline(), "the saving process died"
    proc.kill()
    proc.wait()
    proc.stdout.close()
    assert load_model(out).labels == load_model(SPEECH).labels   # the previous model (recovered if needed)
    recover_model_folder(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m", "save.py"]


def test_recorder_repairs_manifest_and_removes_leftovers(tmp_path):
    root = tmp_path / "data"
    (root / "up").mkdir(parents=True)
    (root / "manifest.csv").write_text("path,label,group\nup/gone__1.wav,up,gone\n")
    sf.write(root / "up" / "ann__20260101-000000-000.wav", np.zeros(1600, np.float32), 16000)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    (root / "up" / f".ann__x.{dead}.tmp.wav").write_bytes(b"partial")
    r = recover_dataset(root)
    assert (r.removed_temp_files, r.added_to_manifest, r.dropped_from_manifest) == (1, 1, 1)
    assert [e.path.name for e in scan_dataset(root, (".wav",))] == ["ann__20260101-000000-000.wav"]
    assert not [p for p in (root / "up").iterdir() if p.name.startswith(".")]


KILL_LOOP = textwrap.dedent("""
    import sys, numpy as np
    sys.path.insert(0, {repo!r})
    from recognizers.data.recorder import DatasetWriter, Take
    w = DatasetWriter(sys.argv[1])
    rng = np.random.default_rng(int(sys.argv[2]))
    k = 0
    while True:
        w.write(Take("gesture", "wave", "k%d" % (k % 3), 30, landmarks=rng.random((3000, 2, 21, 3)), index=k))
        k += 1
        print(k, flush=True)
""")


def test_kill9_recorder_loop_leaves_manifest_consistent(tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    (root / "manifest.csv").write_text("path,label,group\n")
    script = tmp_path / "loop.py"
    script.write_text(KILL_LOOP.format(repo=str(REPO)))
    for trial in range(3):
        proc = subprocess.Popen([sys.executable, str(script), str(root), str(trial)], stdout=subprocess.PIPE,
                                text=True)
        for _ in range(trial + 1):
            assert proc.stdout.readline(), "the writer died"
        proc.kill()                                       # somewhere in the next take or manifest write
        proc.wait()
        proc.stdout.close()
        DatasetWriter(root).ensure_writable()             # what the app does when recording starts
        files = {p.relative_to(root).as_posix() for p in root.rglob("*.npz")}
        listed = {e.path.relative_to(root.resolve()).as_posix() for e in scan_dataset(root, (".npz",))}
        assert files == listed
        assert not [p for p in root.rglob(".*") if p.is_file()]


# ---------------------------------------------------------------------------------------------------------
# Units of the two new modules
def test_safe_text_escapes_only_what_breaks_a_line():
    assert safe_text("día 日本 ✓") == "día 日本 ✓"
    assert safe_text("a\nb\x1b[2J\u202e\ud800") == "a\\nb\\x1b[2J\\u202e\\ud800"
    assert safe_text(os.fsdecode(b"\xff")) == "\\xff"


def test_check_component_and_output_file(tmp_path):
    assert check_component("thumbs_up") == "thumbs_up"
    assert check_component("日本") == "日本"
    with pytest.raises(VaultError):
        check_component(5)
    with pytest.raises(VaultError, match="NUL"):
        check_output_file(tmp_path / "a\x00b")
    with pytest.raises(VaultError, match="does not exist"):
        check_output_file(tmp_path / "no" / "x.npz")
    assert check_output_file(tmp_path / "x.npz") == tmp_path / "x.npz"


# ---------------------------------------------------------------------------------------------------------
# 4./5. Landmarks, images and long inputs (readers in data/landmark_files.py and io/video.py)
def _png(path, width, height, rest: bytes | None = None):
    import struct
    import zlib

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    body = rest if rest is not None else chunk(b"IDAT", zlib.compress(b"\0" * 100_000)) + chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                     + body)
    return path


@pytest.mark.parametrize("scale", [1e38, -1e38, 1e30])
def test_landmarks_scaled_to_huge_values(tmp_path, capsys, scale):
    lm = np.random.default_rng(0).uniform(0.3, 0.7, (40, 2, 21, 3)).astype(np.float32) * np.float32(scale)
    p = tmp_path / "huge.npz"
    np.savez(p, landmarks=lm, fps=np.float32(30))
    for argv in (["predict", "--model", GESTURE, p], ["predict", "--json", "--model", GESTURE, p]):
        rc, out, err = lv(capsys, *argv)
        assert_one_line_error(rc, err, "landmarks")
        assert "NaN" not in out


@pytest.mark.parametrize("size", [(40000, 40000), (30000, 30000)])
def test_png_bomb_refused_from_its_header(tmp_path, size):
    from recognizers.io.video import read_image
    p = _png(tmp_path / "bomb.png", *size)
    assert p.stat().st_size < 1000
    with pytest.raises(VaultError, match="megapixels"):
        read_image(p)


def test_corrupt_png_chunk_length_refused(tmp_path):
    from recognizers.io.video import read_image
    p = _png(tmp_path / "bad.png", 1000, 1000, rest=b"garbage" * 60)   # "garb" reads as a 1.7 GB chunk
    with pytest.raises(VaultError, match="damaged PNG"):
        read_image(p)


def test_png_bomb_in_an_image_folder_is_one_line(tmp_path, capsys):
    folder = tmp_path / "frames"
    folder.mkdir()
    _png(folder / "0001.png", 40000, 40000)
    rc, _, err = lv(capsys, "predict", "--model", GESTURE, folder)
    assert_one_line_error(rc, err, "megapixels")


def test_gestures_on_100k_frames_is_refused_at_once(tmp_path, capsys):
    p = tmp_path / "long.npz"
    lm = np.full((100_000, 21, 3), 0.5, np.float32)
    np.savez(p, landmarks=lm, fps=np.float32(30))
    rc, _, err = lv(capsys, "gestures", "--model", GESTURE, p)
    assert_one_line_error(rc, err, "--max-seconds")


def test_eval_does_not_count_a_huge_float_wav_as_a_label(tmp_path, capsys):
    (tmp_path / "data" / "3").mkdir(parents=True)
    sf.write(tmp_path / "data" / "3" / "loud.wav", np.full(16000, 1e30, np.float32), 16000, subtype="FLOAT")
    sf.write(tmp_path / "data" / "3" / "ok.wav", (0.1 * np.sin(np.arange(16000) / 5)).astype(np.float32), 16000)
    rc, out, err = lv(capsys, "eval", "--json", "--model", SPEECH, "--data", tmp_path / "data")
    assert rc == 0, err
    r = json.loads(out)
    assert len(r["errors"]) == 1 and "samples reach" in r["errors"][0]   # counted as unreadable, not "0"


@pytest.mark.parametrize("name, model", [("bad.mp3", SPEECH), ("bad.mp4", GESTURE)])
def test_native_decoder_warnings_do_not_surround_our_line(tmp_path, capfd, name, model):
    """libmpg123 / FFmpeg write to fd 2 directly: capfd sees what a terminal would."""
    p = tmp_path / name
    p.write_bytes(b"ID3\x03\x00\x00\x00\x00\x00\x00" + np.random.default_rng(0).bytes(3000))
    cmd = ["predict", "--model", model, p] if name.endswith("mp3") else ["gestures", "--model", model, p]
    rc = main([str(a) for a in cmd])
    _, err = capfd.readouterr()
    assert_one_line_error(rc, err, name)
