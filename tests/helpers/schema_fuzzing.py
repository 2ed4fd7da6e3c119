"""Schema-aware fuzzing (issue 19): *valid-looking* inputs with exactly one field wrong.

The byte-level fuzzing of :mod:`loader_fuzzing` finds loaders that crash on damage; this module finds the
ones that accept a well-formed file with wrong content. Hypothesis strategies build a valid model.json,
manifest.csv, landmark .npz, WAV header or arman archive, then change one field (chosen from a table of
every field) to a value of the wrong type, out of range, huge, non-finite, or hostile text (``..``, NUL,
newlines, ANSI escapes, lone surrogates). Each case runs the real loader or command and is judged:

* ``clean``   - refused with a VaultError of one line;
* ``handled`` - accepted, and the result is sane (the value was valid after all, or harmless): a model
  that loads also runs and gives finite probabilities, loaded audio and landmarks are finite and bounded;
* ``failure`` - anything else: another exception (a traceback), a message of several lines, a refusal
  that the oracle says should not happen is fine but an *acceptance* of a value the oracle calls invalid is
  an "exit 0 on an error", a result with NaN, or a file written outside the destination.

Used by ``tests/engine/test_schema_fuzzing.py`` (small budget) and ``scripts/fuzz_loaders.py --schema``.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
from hypothesis import strategies as st

HOSTILE_TEXT = ["", " ", ".", "..", "../x", "/tmp/ESCAPED", "a/b", "a\\b", "a\x00b", "a\nb", "\x1b[2J", "\ud800",
                "x" * 300, "\u202eevil", ".hidden", "ü", "日本"]
HUGE_INT_TEXT = "9" * 5000     # spliced into JSON as a bare integer literal

wrong_values = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-(10 ** 30), max_value=10 ** 30),
    st.sampled_from([0, -1, 1, 2, 7, 1000, 10 ** 6, 2 ** 31, 2 ** 63]),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.sampled_from([0.0, -0.0, 0.0625, 1e-30, 1e30, 1.7976931348623157e308, -1.5]),
    st.sampled_from(HOSTILE_TEXT), st.text(max_size=12),
    st.lists(st.integers(-3, 3), max_size=3), st.dictionaries(st.sampled_from(["a", "type", "x"]),
                                                              st.integers(-2, 2), max_size=2),
    st.just("@@HUGEINT@@"), st.just("@@NAN@@"),
)


@dataclass
class Outcome:
    kind: str            # "clean" | "handled" | "failure"
    detail: str = ""
    case: str = ""


def _one_line_vault_error(exc: BaseException) -> bool:
    from recognizers.errors import VaultError
    return isinstance(exc, VaultError) and "\n" not in str(exc).strip()


def judge(run: Callable[[], Any], check: Callable[[Any], None], case: str, must_refuse: bool | None) -> Outcome:
    """Run ``run``; classify. ``must_refuse``: True when the oracle knows the value is invalid (accepting it
    is an exit 0 on an error), None when either answer is acceptable."""
    from recognizers.errors import VaultError
    try:
        result = run()
    except VaultError as exc:
        if not _one_line_vault_error(exc):
            return Outcome("failure", f"not one line: {str(exc)[:200]!r}", case)
        return Outcome("clean", str(exc)[:200], case)
    except Exception as exc:  # noqa: BLE001 - a traceback for the user
        return Outcome("failure", f"traceback: {type(exc).__name__}: {str(exc)[:160]}", case)
    if must_refuse:
        return Outcome("failure", "accepted an invalid value (exit 0 on an error)", case)
    try:
        check(result)
    except VaultError as exc:         # refused when used: still one line for the user
        if not _one_line_vault_error(exc):
            return Outcome("failure", f"not one line when used: {str(exc)[:200]!r}", case)
        return Outcome("clean", str(exc)[:200], case)
    except Exception as exc:  # noqa: BLE001
        return Outcome("failure", f"accepted, then fails when used: {type(exc).__name__}: {str(exc)[:160]}", case)
    return Outcome("handled", "", case)


def _json_text(obj: Any) -> str:
    text = json.dumps(obj)
    return text.replace('"@@HUGEINT@@"', HUGE_INT_TEXT).replace('"@@NAN@@"', "NaN")


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _clean_text(v) -> bool:
    from recognizers.io.safe_text import is_clean_text
    return isinstance(v, str) and len(v) <= 200 and is_clean_text(v)


# ---------------------------------------------------------------------------------------------------------
# model.json: (path, oracle(value, meta) -> True if the value is valid, None if either answer is fine)
def _in_range(lo, hi, integer=False):
    def ok(v, meta):
        if v in ("@@HUGEINT@@", "@@NAN@@"):
            return False
        return _is_num(v) and lo <= v <= hi and (not integer or float(v).is_integer())
    return ok


MODEL_FIELDS: dict[str, Callable[[Any, dict], bool | None]] = {
    "name": lambda v, m: v is None or (_clean_text(v)),
    "task": lambda v, m: v == m["task"],
    "format_version": lambda v, m: v == 1 and not isinstance(v, bool),
    "labels.0": lambda v, m: _clean_text(v) and v != "" and v not in m["labels"][1:],
    "unknown_label": lambda v, m: v is None or v in m["labels"],
    "label_aliases": lambda v, m: v is None or (isinstance(v, dict) and all(
        _clean_text(a) and a and _clean_text(b) and b for a, b in v.items())),
    "decoder": lambda v, m: v is None or v == {} or (isinstance(v, dict) and None),
    "decoder.reject_threshold": lambda v, m: v is None or _in_range(0.0, 1.0)(v, m),
    "decoder.lead_silence_s": lambda v, m: v is None or _in_range(0.0, 5.0)(v, m),
    "decoder.tail_silence_s": lambda v, m: v is None or _in_range(0.0, 5.0)(v, m),
    "decoder.window_frames": lambda v, m: v is None or _in_range(2, 1000, True)(v, m),
    "decoder.type": lambda v, m: v in ("", "clip") or (v == "ctc" and "_unknown_" in m["labels"]),
    "decoder.blank": lambda v, m: isinstance(v, str) and v in m["labels"],
    "frontend.hop_ms": lambda v, m: None if _in_range(5.0, 100.0)(v, m) else False,
    "frontend.win_ms": lambda v, m: None if _is_num(v) else False,
    "frontend.n_fft": lambda v, m: None if isinstance(v, int) and not isinstance(v, bool) else False,
    "frontend.sample_rate_hz": lambda v, m: None if isinstance(v, int) and not isinstance(v, bool) else False,
    "frontend.n_mels": lambda v, m: v == m["frontend"].get("n_mels") if m["task"] == "speech" else False,
    "frontend.fps": lambda v, m: None if _in_range(1.0, 1000.0)(v, m) else False,
    "frontend.type": lambda v, m: v == m["frontend"]["type"],
    "architecture.hidden_size": lambda v, m: v == m["architecture"]["hidden_size"] and not isinstance(v, bool),
    "architecture.num_layers": lambda v, m: v == m["architecture"]["num_layers"] and not isinstance(v, bool),
    "architecture.dropout": lambda v, m: None,
    "normalization.mean.0": lambda v, m: None if _is_num(v) and abs(v) < 1e30 else False,
    "normalization.std.0": lambda v, m: None if _is_num(v) and 1e-30 < v < 1e30 else False,
    "training": lambda v, m: v is None or isinstance(v, dict),
    "metrics": lambda v, m: v is None or isinstance(v, dict),
}


def _set_path(meta: dict, path: str, value) -> None:
    keys = path.split(".")
    parent = meta
    for k in keys[:-1]:
        parent = parent[int(k)] if isinstance(parent, list) else parent.setdefault(k, {})
        if not isinstance(parent, (dict, list)):
            return
    last = keys[-1]
    if isinstance(parent, list):
        parent[int(last)] = value
    else:
        parent[last] = value


def model_seed(workdir: Path, task: str) -> Path:
    from desktop_fixtures import untrained_model
    seed = workdir / f"schema-seed-{task}"
    if not (seed / "model.json").is_file():
        untrained_model(seed, task, hidden=8)
    return seed


def _run_model(folder: Path):
    from recognizers.model_files import load_model
    return load_model(folder)


def _use_model(model) -> None:
    """What the commands do with a loaded model: its decoder, a prediction with finite probabilities."""
    from recognizers.decoders import make_decoder
    from recognizers.errors import VaultError
    from recognizers.recognizer import Recognizer
    rec = Recognizer(model)
    if model.task == "speech":
        raw = (0.05 * np.sin(np.arange(8000) / 7)).astype(np.float32)
    else:
        raw = np.random.default_rng(0).uniform(0.2, 0.8, (20, 2, 21, 3)).astype(np.float32)
    p = rec.probabilities(rec.features(raw))
    if not np.all(np.isfinite(p)):
        raise AssertionError("probabilities are not finite")
    pred = rec.decide(p)
    json.dumps({"label": pred.label, "confidence": pred.confidence}, allow_nan=False)
    try:
        make_decoder(model, trace=False)
    except VaultError:
        raise
    from recognizers.io.safe_text import safe_text
    for label in model.labels:
        safe_text(label).encode("utf-8")


@st.composite
def model_cases(draw):
    task = draw(st.sampled_from(["speech", "gesture"]))
    path = draw(st.sampled_from(sorted(MODEL_FIELDS)))
    value = draw(wrong_values)
    return task, path, value


def model_case(case: tuple, workdir: Path) -> Outcome:
    task, path, value = case
    seed = model_seed(workdir, task)
    folder = workdir / "model"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(seed, folder)
    meta = json.loads((folder / "model.json").read_text())
    oracle = MODEL_FIELDS[path](value, meta)
    _set_path(meta, path, value)
    (folder / "model.json").write_text(_json_text(meta), encoding="utf-8", errors="surrogatepass")
    must_refuse = None if oracle is None else (not oracle)
    return judge(lambda: _run_model(folder), _use_model, f"{task}:{path}={value!r:.60}", must_refuse)


# ---------------------------------------------------------------------------------------------------------
# manifest.csv
MANIFEST_FIELDS = ("path", "label", "group")


@st.composite
def manifest_cases(draw):
    field = draw(st.sampled_from(MANIFEST_FIELDS))
    value = draw(st.one_of(st.sampled_from(HOSTILE_TEXT + ["/etc/passwd", "up/" + "y" * 5000 + ".wav",
                                                         "up/missing.wav", "../../outside.wav"]),
                           st.text(max_size=20)))
    return field, value


def manifest_case(case: tuple, workdir: Path) -> Outcome:
    import csv

    from recognizers.data.datasets import scan_dataset
    field, value = case
    root = workdir / "ds"
    shutil.rmtree(root, ignore_errors=True)
    (root / "up").mkdir(parents=True)
    (root / "up" / "ann__1.wav").write_bytes(b"")
    row = {"path": "up/ann__1.wav", "label": "up", "group": "ann"}
    row[field] = value
    try:
        with open(root / "manifest.csv", "w", newline="", encoding="utf-8", errors="surrogateescape") as f:
            w = csv.DictWriter(f, fieldnames=MANIFEST_FIELDS)
            w.writeheader()
            w.writerow(row)
    except (ValueError, UnicodeEncodeError):
        return Outcome("handled", "unwritable case", f"{field}")

    def check(examples):
        for e in examples:
            str(e.path).encode("utf-8", "surrogateescape")
    return judge(lambda: scan_dataset(root, (".wav",)), check, f"{field}={value!r:.60}", None)


# ---------------------------------------------------------------------------------------------------------
# landmark .npz
NPZ_FIELDS = ("landmarks.values", "landmarks.shape", "landmarks.dtype", "fps", "handedness")
MAX_COORD = 1000.0


@st.composite
def npz_cases(draw):
    field = draw(st.sampled_from(NPZ_FIELDS))
    if field == "landmarks.values":
        v = draw(st.sampled_from([1e38, -1e38, 3.4e38, 1e30, 1e6, np.inf, -np.inf, np.nan, 0.0, 1.5]))
    elif field == "landmarks.shape":
        v = draw(st.sampled_from([(0, 2, 21, 3), (5, 21, 3), (5, 2, 21, 2), (5, 3, 21, 3), (1,), (5, 21), (),
                                  (100_001, 21, 3), (20, 2, 21, 3, 1)]))
    elif field == "landmarks.dtype":
        v = draw(st.sampled_from(["<f8", "<f2", "<i8", "|u1", "|b1", "<c8", "<U3", "|S2"]))
    elif field == "fps":
        v = draw(st.one_of(st.sampled_from([0, -1, 1e9, 1e-9, np.inf, np.nan, 1000.5, 30]), st.just("x"),
                           st.just([30.0, 30.0])))
    else:
        v = draw(st.sampled_from(["Left", "Right", "left", "", "x" * 300, 3, "Left\nRight"]))
    return field, v


def npz_case(case: tuple, workdir: Path) -> Outcome:
    from recognizers.data.landmark_files import load_landmark_file
    field, v = case
    rng = np.random.default_rng(0)
    lm = rng.uniform(0.2, 0.8, (20, 2, 21, 3)).astype(np.float32)
    extra: dict = {"fps": np.float32(30)}
    if field == "landmarks.values":
        lm[3, 1, 4, 0] = v
    elif field == "landmarks.shape":
        lm = np.zeros(v, np.float32) + 0.5 if np.prod(v) < 5_000_000 else np.zeros((1,), np.float32)
    elif field == "landmarks.dtype":
        lm = lm.astype(v) if not v.startswith(("<U", "|S")) else np.full(lm.shape, "a", dtype=v)
    elif field == "fps":
        extra["fps"] = np.asarray(v)
    else:
        lm = lm[:, 0]
        extra["handedness"] = np.asarray(v)
    p = workdir / "take.npz"
    np.savez(p, landmarks=lm, **extra)

    def check(frames):
        f = np.asarray(frames)
        if f.ndim != 4 or f.shape[1:] != (2, 21, 3):
            raise AssertionError(f"shape {f.shape}")
        vals = f[np.isfinite(f)]
        if np.isinf(f).any() or (vals.size and np.abs(vals).max() > MAX_COORD):
            raise AssertionError("values out of range were accepted")
    return judge(lambda: load_landmark_file(p), check, f"{field}={v!r:.60}", None)


# ---------------------------------------------------------------------------------------------------------
# WAV headers
WAV_FIELDS = ("format_tag", "channels", "sample_rate", "byte_rate", "block_align", "bits", "fmt_size",
              "data_size", "riff_size", "float_values")


def wav_bytes(fields: dict, payload: bytes) -> bytes:
    fmt = struct.pack("<HHIIHH", fields["format_tag"], fields["channels"], fields["sample_rate"],
                      fields["byte_rate"], fields["block_align"], fields["bits"])
    body = (b"WAVE" + b"fmt " + struct.pack("<I", fields["fmt_size"]) + fmt
            + b"data" + struct.pack("<I", fields["data_size"]) + payload)
    return b"RIFF" + struct.pack("<I", fields["riff_size"] if fields["riff_size"] is not None else len(body)) + body


@st.composite
def wav_cases(draw):
    field = draw(st.sampled_from(WAV_FIELDS))
    if field == "float_values":
        v = draw(st.sampled_from([1e30, 3.4e38, -3.4e38, float("inf"), float("nan"), 1e-45, 2.0, 999.0]))
    elif field in ("format_tag", "channels", "block_align", "bits"):
        v = draw(st.one_of(st.sampled_from([0, 1, 2, 3, 6, 7, 8, 24, 32, 64, 255, 0xFFFE, 0xFFFF]),
                           st.integers(0, 0xFFFF)))
    else:
        v = draw(st.one_of(st.sampled_from([0, 1, 2, 4, 15, 16, 18, 3999, 384_001, 2 ** 31, 2 ** 32 - 1]),
                           st.integers(0, 2 ** 32 - 1)))
    return field, v


def wav_case(case: tuple, workdir: Path) -> Outcome:
    from recognizers.io.audio import load_audio
    field, v = case
    n = 800
    samples = (0.1 * np.sin(np.arange(n) / 5)).astype(np.float32)
    fields = {"format_tag": 3, "channels": 1, "sample_rate": 16000, "byte_rate": 64000, "block_align": 4,
              "bits": 32, "fmt_size": 16, "data_size": n * 4, "riff_size": None}
    if field == "float_values":
        samples[n // 2] = v
    else:
        fields[field] = v
    p = workdir / "clip.wav"
    p.write_bytes(wav_bytes(fields, samples.tobytes()))

    def check(x):
        x = np.asarray(x)
        if x.ndim != 1 or not np.all(np.isfinite(x)) or (x.size and np.abs(x).max() > 1000):
            raise AssertionError("accepted audio that is not finite and bounded")
    must_refuse = True if field == "float_values" and not abs(v) <= 1000 else None
    return judge(lambda: load_audio(p), check, f"{field}={v!r}", must_refuse)


# ---------------------------------------------------------------------------------------------------------
# arman import: one field wrong; nothing may be written outside the destination
ARMAN_FIELDS = ("y", "seq_id", "X")


@st.composite
def arman_cases(draw):
    field = draw(st.sampled_from(ARMAN_FIELDS))
    if field == "y":
        v = draw(st.one_of(st.sampled_from([t for t in HOSTILE_TEXT if t != "\ud800"]),
                           st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=8)))
    elif field == "seq_id":
        v = draw(st.sampled_from(["nan", "str", "huge", "neg", "float"]))
    else:
        v = draw(st.sampled_from(["inf", "1e38", "short", "int", "3d-wrong"]))
    return field, v


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def arman_case(case: tuple, workdir: Path) -> Outcome:
    from recognizers.data.importers import import_arman
    field, v = case
    box = workdir / "box"
    shutil.rmtree(box, ignore_errors=True)
    (box / "src").mkdir(parents=True)
    n = 6
    X = np.random.default_rng(0).random((n, 8, 126)).astype(np.float32)
    y = np.asarray(["wave"] * n)
    seq = np.arange(n)
    if field == "y":
        y = np.asarray([v] * n)
    elif field == "seq_id":
        seq = {"nan": np.full(n, np.nan), "str": np.asarray(["a"] * n), "huge": np.full(n, 2.0 ** 80),
               "neg": -np.arange(n), "float": np.arange(n) + 0.5}[v]
    else:
        X = {"inf": np.full_like(X, np.inf), "1e38": X * 1e38, "short": X[:, :, :60], "int": X.astype(np.int64),
             "3d-wrong": X[:, 0]}[v]
    np.savez(box / "src" / "dhgr6_raw_2hands.npz", X=X, y=y, seq_id=seq)
    before = _tree(box)
    before_tmp = set(os.listdir("/tmp")) if os.path.isdir("/tmp") else set()
    dest = box / "dest"
    out = judge(lambda: import_arman(box / "src", dest), lambda r: None, f"{field}={v!r:.60}", None)
    outside = {p for p in _tree(box) - before if not p.startswith("dest")}
    escaped = set(os.listdir("/tmp")) - before_tmp if os.path.isdir("/tmp") else set()
    escaped = {e for e in escaped if "ESCAPED" in e}
    if outside or escaped:
        return Outcome("failure", f"wrote outside the destination: {sorted(outside | escaped)[:3]}", out.case)
    return out


CASES = {
    "model.json": (model_cases(), model_case),
    "manifest": (manifest_cases(), manifest_case),
    "landmark-npz": (npz_cases(), npz_case),
    "wav-header": (wav_cases(), wav_case),
    "arman-import": (arman_cases(), arman_case),
}
