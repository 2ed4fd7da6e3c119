"""Every loader fuzzed with damaged and random inputs (issue 8): each input loads and works, or is refused
with a one-line VaultError naming the file. The mutations live in loader_fuzzing.py; hypothesis picks
them here (few examples, so the suite stays fast); scripts/fuzz_loaders.py runs thousands for the report.
Also: pickles never execute, and absurd declared sizes are refused under a memory cap."""
from __future__ import annotations

import json
import os
import pickle
import random
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import loader_fuzzing as lf
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recognizers.errors import ModelFileError, VaultError

HERE = Path(__file__).resolve().parent
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
seeds = st.integers(0, 2**63 - 1)


def _assert_not_crash(out: lf.Outcome) -> None:
    assert out.kind in ("ok", "clean"), f"{out.mutation}: {out.detail}"


@FUZZ
@given(seed=seeds)
def test_fuzzed_audio_files_load_or_fail_cleanly(seed, tmp_path_factory):
    _assert_not_crash(lf.fuzz_audio(random.Random(seed), tmp_path_factory.mktemp("audio")))


@FUZZ
@given(seed=seeds)
def test_fuzzed_landmark_files_load_or_fail_cleanly(seed, tmp_path_factory):
    _assert_not_crash(lf.fuzz_landmarks(random.Random(seed), tmp_path_factory.mktemp("lm")))


@settings(FUZZ, max_examples=25)
@given(seed=seeds)
def test_fuzzed_dataset_folders_scan_or_fail_cleanly(seed, tmp_path_factory):
    _assert_not_crash(lf.fuzz_dataset(random.Random(seed), tmp_path_factory.mktemp("ds")))


@settings(FUZZ, max_examples=40)
@given(seed=seeds)
def test_fuzzed_model_folders_load_and_run_or_fail_cleanly(seed, tmp_path_factory):
    _assert_not_crash(lf.fuzz_model(random.Random(seed), tmp_path_factory.mktemp("model")))


@pytest.mark.parametrize("kind", lf.MUTATIONS)
def test_every_mutation_of_a_wav_is_handled(kind, tmp_path):
    """Each mutation kind at least once, whatever hypothesis draws."""
    from recognizers.io.audio import load_audio
    data, _ = lf.mutate_bytes(lf.audio_seeds()["pcm16.wav"], random.Random(kind), kind)
    p = tmp_path / "x.wav"
    p.write_bytes(data)
    _assert_not_crash(lf.run_loader(lambda: load_audio(p), (p,)))


@pytest.mark.parametrize("rate", [1, 7, 3999, 384001, 2**31 - 1, 2**32 - 1])
def test_absurd_sample_rates_are_refused(rate, tmp_path):
    from recognizers.io.audio import load_audio
    data = bytearray(lf.audio_seeds()["pcm16.wav"])
    data[24:28] = struct.pack("<I", rate)
    p = tmp_path / "x.wav"
    p.write_bytes(bytes(data))
    with pytest.raises(VaultError, match="sample rate|not a readable audio file"):
        load_audio(p)


@pytest.mark.parametrize("rate", [22051, 44101, 96001])
def test_odd_sample_rates_resample_without_huge_kernels(rate, tmp_path):
    """Rates sharing no factor with 16 kHz once built (16000 x rate) kernels: gigabytes."""
    from recognizers.io.audio import load_audio
    data = bytearray(lf.audio_seeds()["pcm16.wav"])
    data[24:28] = struct.pack("<I", rate)
    p = tmp_path / "x.wav"
    p.write_bytes(bytes(data))
    x = load_audio(p)
    assert abs(x.size - 4000 * 16000 / rate) < 0.01 * x.size + 2


# ---- settings -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def qapp():
    from PySide6.QtWidgets import QApplication
    return QApplication.instance() or QApplication([])


@settings(FUZZ, max_examples=12)
@given(seed=seeds)
def test_garbage_settings_never_stop_the_window(seed, qapp, tmp_path_factory):
    from PySide6.QtCore import QSettings

    from desktop_app.main_window import MainWindow
    tmp = tmp_path_factory.mktemp("settings")
    rng = random.Random(seed)
    ini = tmp / "settings.ini"
    if seed % 2:
        lf.write_garbage_ini(rng, ini)
        s = QSettings(str(ini), QSettings.Format.IniFormat)
    else:
        s = QSettings(str(ini), QSettings.Format.IniFormat)
        for key in lf.SETTING_KEYS:
            s.setValue(key, lf.garbage_setting(rng))
        s.sync()
    w = MainWindow(settings=s, model_roots=[tmp / "none"])
    try:
        w.set_mode("gesture" if w.mode == "speech" else "speech")
        assert w.mode in ("speech", "gesture")
    finally:
        w.close()
        w.deleteLater()
        qapp.processEvents()


def test_settings_readers_return_the_right_type(qapp, tmp_path):
    from PySide6.QtCore import QByteArray, QSettings

    from desktop_app.settings_values import path_exists, setting_bytes, setting_str, setting_str_list
    s = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    s.setValue("a", 5)
    s.setValue("b", ["x", 3, None, "y"])
    s.setValue("c", "x" * 10_000)
    s.setValue("g", QByteArray(b"\x01\x02"))
    assert setting_str(s, "a", "d") == "d" and setting_str(s, "c") == ""
    assert setting_str_list(s, "b") == ["x", "y"] and setting_str_list(s, "a") == []
    assert setting_bytes(s, "g") == QByteArray(b"\x01\x02") and setting_bytes(s, "a") is None
    assert not path_exists("x" * 300) and not path_exists("")


# ---- pickles never run ------------------------------------------------------------------------------------
class _Marker:
    """Unpickling this creates the marker file: proof that code ran."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


def _evil_pickle(marker: Path) -> bytes:
    return pickle.dumps({"state_dict": _Marker(str(marker))})


@pytest.mark.parametrize("name", ["model.pt", "model.pth", "model.ckpt", "model.safetensors", "weights.pkl"])
def test_a_malicious_pickle_in_a_model_folder_never_runs(name, tmp_path):
    from recognizers.model_files import load_model
    marker = tmp_path / "PWNED"
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / name).write_bytes(_evil_pickle(marker))
    for target in (folder, folder / name):
        with pytest.raises(ModelFileError) as err:
            load_model(target)
        msg = str(err.value)
        assert str(folder) in msg
        if name != "model.safetensors":
            assert "pickle" in msg and ("code" in msg or "refused" in msg), msg
    assert not marker.exists()


def test_a_pickle_renamed_to_safetensors_beside_a_valid_description_is_refused(tmp_path):
    from desktop_fixtures import untrained_model

    from recognizers.model_files import WEIGHTS, load_model
    folder = untrained_model(tmp_path / "m", "speech", hidden=8)
    marker = tmp_path / "PWNED"
    (folder / WEIGHTS).write_bytes(_evil_pickle(marker))
    with pytest.raises(ModelFileError, match="damaged") as err:
        load_model(folder)
    assert str(folder / WEIGHTS) in str(err.value)
    assert not marker.exists()


@pytest.mark.parametrize("key", ["landmarks", "handedness", "fps"])
def test_object_arrays_in_a_landmark_file_are_refused_without_unpickling(key, tmp_path):
    from recognizers.data.landmark_files import load_landmark_file
    marker = tmp_path / "PWNED"
    arrays = {"landmarks": np.zeros((3, 21, 3), np.float32)}
    arrays[key] = np.array([_Marker(str(marker)), 1], dtype=object)
    p = tmp_path / "evil.npz"
    np.savez(p, **arrays)
    with pytest.raises(VaultError, match="pickled objects") as err:
        load_landmark_file(p, 30.0)
    assert str(p) in str(err.value) and "run code" in str(err.value)
    assert not marker.exists()


def test_a_bare_pickle_named_npz_is_refused(tmp_path):
    from recognizers.data.landmark_files import load_landmark_file
    marker = tmp_path / "PWNED"
    p = tmp_path / "evil.npz"
    p.write_bytes(_evil_pickle(marker))
    with pytest.raises(VaultError) as err:
        load_landmark_file(p)
    assert str(p) in str(err.value)
    assert not marker.exists()


# ---- absurd declared sizes under a memory cap ---------------------------------------------------------------
CAPPED = textwrap.dedent("""
    import json, resource, sys
    sys.path[:0] = {paths!r}
    import numpy, torch   # libraries first: their own mappings are not what is measured
    from recognizers.errors import VaultError
    from recognizers.model_files import load_model
    from recognizers.data.landmark_files import load_landmark_file
    def vm():
        return int(open("/proc/self/status").read().split("VmSize:")[1].split()[0]) * 1024
    cap = vm() + 512 * 2**20        # 512 MB above what is mapped now
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    out = []
    for kind, path in {cases!r}:
        try:
            (load_model if kind == "model" else load_landmark_file)(path)
            out.append("loaded")
        except VaultError as exc:
            out.append("clean: " + str(exc))
        except BaseException as exc:
            out.append("crash: " + type(exc).__name__ + ": " + str(exc)[:200])
    print("RESULT " + json.dumps(out))
""")


def _huge_model_cases(tmp_path: Path) -> list[tuple[str, str]]:
    from desktop_fixtures import untrained_model

    from recognizers.model_files import META, WEIGHTS
    seed = untrained_model(tmp_path / "seed", "speech", hidden=8)
    cases = []
    # 1. model.json declares the largest network validate() allows; the weights file is small
    folder = tmp_path / "big-arch"
    import shutil
    shutil.copytree(seed, folder)
    meta = json.loads((folder / META).read_text())
    from recognizers.nn.classifier import MAX_HIDDEN, MAX_LAYERS
    meta["architecture"].update(hidden_size=MAX_HIDDEN, num_layers=MAX_LAYERS)
    (folder / META).write_text(json.dumps(meta))
    cases.append(("model", str(folder)))
    # 2.-4. the weights header declares absurd shapes, offsets, header length
    data = (seed / WEIGHTS).read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    for i, change in enumerate(({"shape": [2**40, 2**40]}, {"data_offsets": [0, 2**62]}, "len")):
        folder = tmp_path / f"big-header-{i}"
        shutil.copytree(seed, folder)
        h = json.loads(json.dumps(header))
        name = next(k for k in h if k != "__metadata__")
        if change == "len":
            blob = struct.pack("<Q", 2**63) + data[8:]
        else:
            h[name].update(change)
            hb = json.dumps(h).encode()
            blob = struct.pack("<Q", len(hb)) + hb + data[8 + n:]
        (folder / WEIGHTS).write_bytes(blob)
        cases.append(("model", str(folder)))
    # 5. a sparse 3 GB weights file (declared size over the limit, no disk used)
    folder = tmp_path / "sparse"
    shutil.copytree(seed, folder)
    with open(folder / WEIGHTS, "r+b") as f:
        f.truncate(3 * 2**30)
    cases.append(("model", str(folder)))
    return cases


def _huge_landmark_cases(tmp_path: Path) -> list[tuple[str, str]]:
    cases = []
    for i, (key, shape, dt) in enumerate((("landmarks", (10**9, 21, 3), "<f4"), ("landmarks", (2**40, 2, 21, 3), "<f8"),
                                          ("fps", (10**12,), "<f4"), ("handedness", (10**8,), "<U1000"))):
        p = tmp_path / f"huge{i}.npz"
        members = {"landmarks.npy": lf._npy_bytes(np.zeros((2, 21, 3), np.float32))}
        members[f"{key}.npy"] = lf._npy_declaring(shape, dt)
        p.write_bytes(lf._zip(members, compressed=bool(i % 2)))
        cases.append(("landmarks", str(p)))
    # many frames of NaN compress to almost nothing; at 1 fps they must not be resampled to 30 fps
    p = tmp_path / "slow.npz"
    np.savez_compressed(p, landmarks=np.full((90_000, 21, 3), np.nan, np.float32), fps=np.float32(1.0))
    cases.append(("landmarks-30fps", str(p)))
    return cases


def test_absurd_declared_sizes_are_refused_before_allocating(tmp_path):
    cases = _huge_model_cases(tmp_path) + _huge_landmark_cases(tmp_path)
    code = CAPPED.format(paths=[str(HERE.parents[1]), str(HERE.parent / "helpers")], cases=[(k, p) for k, p in cases])
    code = code.replace('(load_model if kind == "model" else load_landmark_file)(path)',
                        '(load_model(path) if kind == "model" else load_landmark_file(path, 30.0 if kind.endswith("30fps") else None))')  # noqa: E501
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    lines = [x for x in out.stdout.splitlines() if x.startswith("RESULT ")]
    assert lines, out.stderr[-2000:]
    results = json.loads(lines[-1][7:])
    for (kind, path), r in zip(cases, results):
        assert r.startswith("clean: ") and path in r, (kind, path, r)


def test_serialised_qvariants_are_dropped_from_the_settings_file_before_qt_reads_it(tmp_path):
    """A hand-crafted ``@Variant(...)`` value can abort Qt's own INI reader; the app never writes one,
    so such lines are removed (atomically) before the window opens its settings."""
    from desktop_app.settings_values import sanitize_settings_file
    f = tmp_path / "LSTM Vault.conf"
    f.write_bytes(b"[General]\nmode=speech\nbad=@Variant(\\0\\0\\0\\x7f\\xff\\xff\\xff\\xff)\nsource=file\n")
    assert sanitize_settings_file(f)
    text = f.read_bytes()
    assert b"@Variant" not in text and b"mode=speech" in text and b"source=file" in text
    assert not sanitize_settings_file(f)                  # nothing left to drop
    assert not sanitize_settings_file(tmp_path / "absent.conf")
