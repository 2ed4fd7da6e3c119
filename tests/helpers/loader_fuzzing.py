"""Fuzzing every loader with damaged and random inputs: the mutations, the seed files and one
``fuzz_<loader>(rng, workdir)`` per loader that builds one damaged input, loads it and says what happened.

Shared by ``tests/test_fuzz_loaders.py`` (hypothesis drives the random choices, few examples) and
``scripts/fuzz_loaders.py`` (thousands of examples, prints the counts quoted in the README).

An outcome is ``"ok"`` (loaded, and the result works), ``"clean"`` (a VaultError whose message names the
file or folder) or ``"crash"`` (anything else: another exception type, an error that does not name the
file, or a loaded result that breaks when used).
"""
from __future__ import annotations

import io
import json
import os
import random
import shutil
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

MUTATIONS = ("bitflip", "truncate", "insert", "header", "random", "empty", "overwrite", "duplicate")
EXTREME_INTS = (0, 1, -1, 2, 255, 256, 65535, 65536, 2**31 - 1, 2**31, 2**32 - 1, 2**63 - 1, 2**64 - 1)


@dataclass
class Outcome:
    kind: str            # "ok" | "clean" | "crash"
    detail: str = ""     # the message (clean) or "Type: message" (crash)
    mutation: str = ""


def mutate_bytes(data: bytes, rng: random.Random, kind: str | None = None, header_len: int = 64) -> tuple[bytes, str]:
    """One damage of ``data``: bit flips, truncation at a random point, random insertion, a corrupted
    header field (extreme little-endian integers over the first ``header_len`` bytes), random bytes,
    empty, a random overwrite, or a duplicated stretch."""
    kind = kind or rng.choice(MUTATIONS)
    b = bytearray(data)
    if kind == "bitflip" and b:
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
    elif kind == "truncate":
        b = b[:rng.randint(0, max(0, len(b) - 1))]
    elif kind == "insert":
        i = rng.randint(0, len(b))
        b[i:i] = rng.randbytes(rng.randint(1, 64))
    elif kind == "header" and len(b) >= 4:
        for _ in range(rng.randint(1, 3)):
            width = rng.choice((1, 2, 4, 8))
            i = rng.randrange(0, max(1, min(header_len, len(b)) - width + 1))
            v = rng.choice(EXTREME_INTS + (rng.getrandbits(8 * width),)) % (1 << (8 * width))
            b[i:i + width] = v.to_bytes(width, "little")[:len(b) - i]
    elif kind == "random":
        b = bytearray(rng.randbytes(rng.randint(1, 4096)))
    elif kind == "empty":
        b = bytearray()
    elif kind == "overwrite" and b:
        i = rng.randrange(len(b))
        n = rng.randint(1, 256)
        b[i:i + n] = rng.randbytes(min(n, len(b) - i))
    elif kind == "duplicate" and b:
        i = rng.randrange(len(b))
        j = min(len(b), i + rng.randint(1, 512))
        b[j:j] = b[i:j] * rng.randint(1, 4)
    return bytes(b), kind


def names_file(message: str, *paths: Path) -> bool:
    return any(str(p) in message for p in paths)


def run_loader(load: Callable[[], object], paths: tuple[Path, ...], check: Callable[[object], None] | None = None,
               mutation: str = "") -> Outcome:
    from recognizers.errors import VaultError
    try:
        result = load()
    except VaultError as exc:
        msg = str(exc)
        if not names_file(msg, *paths):
            return Outcome("crash", f"message does not name the file: {msg}", mutation)
        if "\n" in msg.strip():
            return Outcome("crash", f"message is not one line: {msg!r}", mutation)
        return Outcome("clean", msg, mutation)
    except RecursionError as exc:
        return Outcome("crash", f"RecursionError: {exc}", mutation)
    except Exception as exc:  # noqa: BLE001 - the point is to catch everything else
        return Outcome("crash", f"{type(exc).__name__}: {exc}", mutation)
    if check is not None:
        try:
            check(result)
        except Exception as exc:  # noqa: BLE001
            return Outcome("crash", f"loaded, but fails when used: {type(exc).__name__}: {exc}", mutation)
    return Outcome("ok", "", mutation)


# ---------------------------------------------------------------------------------------------------------
# audio
def audio_seeds() -> dict[str, bytes]:
    import soundfile as sf
    t = np.arange(4000) / 16000
    x = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    out = {}
    for name, fmt, subtype, data in (("pcm16.wav", "WAV", "PCM_16", x), ("float.wav", "WAV", "FLOAT", x),
                                     ("stereo.wav", "WAV", "PCM_24", np.stack([x, -x], 1)),
                                     ("mono.flac", "FLAC", "PCM_16", x)):
        buf = io.BytesIO()
        sf.write(buf, data, 16000, format=fmt, subtype=subtype)
        out[name] = buf.getvalue()
    return out


_AUDIO_SEEDS: dict[str, bytes] | None = None


def fuzz_audio(rng: random.Random, workdir: Path) -> Outcome:
    global _AUDIO_SEEDS
    from recognizers.io.audio import load_audio
    if _AUDIO_SEEDS is None:
        _AUDIO_SEEDS = audio_seeds()
    name = rng.choice(sorted(_AUDIO_SEEDS))
    data, kind = mutate_bytes(_AUDIO_SEEDS[name], rng, header_len=48)
    path = workdir / f"in_{name}"
    path.write_bytes(data)

    def check(x):
        assert x.dtype == np.float32 and x.ndim == 1 and np.all(np.isfinite(x)), (x.dtype, x.shape)
    return run_loader(lambda: load_audio(path), (path,), check, f"{name}:{kind}")


# ---------------------------------------------------------------------------------------------------------
# landmark files
def _npy_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, allow_pickle=True)
    return buf.getvalue()


def _npy_declaring(shape: tuple, dtype: str = "<f4", payload: bytes = b"\0" * 64) -> bytes:
    """An .npy member whose header declares ``shape`` but holds only ``payload``."""
    header = repr({"descr": dtype, "fortran_order": False, "shape": tuple(shape)}).encode()
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + payload


def _zip(members: dict[str, bytes], compressed: bool) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED) as z:
        for k, v in members.items():
            z.writestr(k, v)
    return buf.getvalue()


def _valid_landmarks(rng: random.Random) -> np.ndarray:
    T = rng.randint(1, 40)
    g = np.random.default_rng(rng.getrandbits(32))
    if rng.random() < 0.5:
        return g.uniform(0, 1, (T, 21, 3)).astype(np.float32)
    a = g.uniform(0, 1, (T, 2, 21, 3)).astype(np.float32)
    a[g.random(T) < 0.3, 0] = np.nan
    return a


def landmark_member_variants(rng: random.Random) -> tuple[dict[str, bytes], str]:
    """Structurally odd but well-formed archives: wrong dtypes, shapes, NaN/inf, pickles, huge shapes."""
    lm = _valid_landmarks(rng)
    T = lm.shape[0]
    choice = rng.choice(("valid", "dtype", "shape", "nonfinite", "object", "huge", "fps", "handedness",
                         "missing", "not_npy", "extra", "fortran", "bare"))
    members = {"landmarks.npy": _npy_bytes(lm)}
    if choice == "dtype":
        dt = rng.choice(("float16", "float64", "int8", "uint64", "bool", "complex64", "U3", "S4", "V8",
                         "datetime64[s]", "timedelta64[s]", "int64"))
        try:
            members["landmarks.npy"] = _npy_bytes((lm * 100).astype(dt))
        except (TypeError, ValueError):
            members["landmarks.npy"] = _npy_bytes(np.zeros(lm.shape, dt))
    elif choice == "shape":
        shape = rng.choice(((T, 20, 3), (T, 21, 2), (T, 3, 21, 3), (T,), (), (0, 21, 3), (0, 2, 21, 3),
                            (T, 2, 21, 3, 1), (21, 3), (T * 63,)))
        members["landmarks.npy"] = _npy_bytes(np.zeros(shape, np.float32))
    elif choice == "nonfinite":
        bad = lm.copy()
        bad.reshape(-1)[rng.randrange(bad.size)] = rng.choice((np.inf, -np.inf, np.nan, 3.4e38))
        members["landmarks.npy"] = _npy_bytes(bad)
    elif choice == "object":
        key = rng.choice(("landmarks.npy", "handedness.npy", "fps.npy"))
        members[key] = _npy_bytes(np.array([{"a": 1}, None, "x"], dtype=object))
    elif choice == "huge":
        key = rng.choice(("landmarks.npy", "handedness.npy", "fps.npy"))
        shape = rng.choice(((10**9, 21, 3), (10**6, 2, 21, 3), (2**40, 21, 3), (2**62, 1), (10**12,)))
        dt = rng.choice(("<f4", "<f8", "<U1000000", "|V1000000"))
        members[key] = _npy_declaring(shape, dt)
    elif choice == "fps":
        v = rng.choice((0, -1, 1e-9, 1.0, 0.5, 1001, np.nan, np.inf, "30", [30, 31], [], [[30]], 2**70))
        try:
            members["fps.npy"] = _npy_bytes(np.asarray(v))
        except (OverflowError, ValueError):
            members["fps.npy"] = _npy_bytes(np.asarray(1e300))
        if rng.random() < 0.5:   # many frames at a low rate: resampling must not explode
            members["landmarks.npy"] = _npy_bytes(np.full((rng.choice((1000, 90000, 100000)), 21, 3), np.nan,
                                                          np.float32))
    elif choice == "handedness":
        v = rng.choice(("Left", "right", "up", "", ["Left"] * T, ["Left"] * (T + 1), [1, 2], [], [["Left"]],
                        b"Left", 7))
        members["handedness.npy"] = _npy_bytes(np.asarray(v))
        members["landmarks.npy"] = _npy_bytes(lm.reshape(T, -1, 21, 3)[:, -1])
    elif choice == "missing":
        members = {"other.npy": _npy_bytes(lm)} if rng.random() < 0.5 else {}
    elif choice == "not_npy":
        members["landmarks.npy"] = rng.randbytes(rng.randint(0, 200))
    elif choice == "extra":
        members["landmarks"] = rng.randbytes(50)          # a duplicate name without .npy
        members["../../escape.npy"] = _npy_bytes(lm)
    elif choice == "fortran":
        members["landmarks.npy"] = _npy_bytes(np.asfortranarray(lm))
    elif choice == "bare":
        return {"": _npy_bytes(lm)}, "bare"
    return members, choice


def fuzz_landmarks(rng: random.Random, workdir: Path) -> Outcome:
    from recognizers.data.landmark_files import load_landmark_file
    members, choice = landmark_member_variants(rng)
    if choice == "bare":
        data = members[""]
    else:
        data = _zip(members, compressed=rng.random() < 0.5)
    kind = "none"
    if rng.random() < 0.5:
        data, kind = mutate_bytes(data, rng, header_len=80)
    path = workdir / "in.npz"
    path.write_bytes(data)
    fps = rng.choice((None, 30.0, 15.0))

    def check(frames):
        assert frames.dtype == np.float32 and frames.ndim == 4 and frames.shape[1:] == (2, 21, 3), frames.shape
        assert 0 < frames.shape[0] <= 100_000 and not np.any(np.isinf(frames))
    return run_loader(lambda: load_landmark_file(path, fps), (path,), check, f"{choice}:{kind}")


# ---------------------------------------------------------------------------------------------------------
# dataset folders
WEIRD_NAMES = ("a b", "ü", "日本", "-rf", ".hidden", "x" * 200, "a\nb", "a\tb", "__", "speaker__", "1_2_3",
               "0_jackson_0", "deadbeef_nohash_0", "with,comma", 'quo"te', "ends.", " lead")
BAD_BYTES_NAMES = (b"\xff\xfe", b"caf\xe9", b"\x80abc")


def _touch(path: Path, data: bytes = b"RIFF") -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    except OSError:
        pass


def build_weird_dataset(rng: random.Random, root: Path) -> str:
    """A dataset folder with odd names, links, broken CSVs: what a user's disk may hold."""
    root.mkdir(parents=True)
    kinds = []
    for _ in range(rng.randint(0, 4)):
        label = rng.choice(WEIRD_NAMES + ("yes", "no", "one"))
        for _ in range(rng.randint(0, 3)):
            stem = rng.choice(WEIRD_NAMES + ("take1", "s1__t", "7_theo_3"))
            _touch(root / label / f"{stem}{rng.choice(('.wav', '.WAV', '.npz', '.txt', ''))}")
    for _ in range(rng.randint(0, 3)):
        kind = rng.choice(("bytes_name", "symlink_loop", "self_link", "dangling", "manifest", "speakers",
                           "manifest_dir", "fifo", "deep", "flat_fsdd", "file_as_label", "manifest_escape"))
        kinds.append(kind)
        try:
            if kind == "bytes_name":
                d = os.fsencode(root) + b"/" + rng.choice(BAD_BYTES_NAMES)
                os.makedirs(d, exist_ok=True)
                with open(d + b"/" + rng.choice(BAD_BYTES_NAMES) + b".wav", "wb") as f:
                    f.write(b"x")
            elif kind == "symlink_loop":
                (root / "loop").mkdir(exist_ok=True)
                os.symlink(root, root / "loop" / "back")
                os.symlink(root / "loop" / "l2", root / "loop" / "l1")
                os.symlink(root / "loop" / "l1", root / "loop" / "l2.wav")
            elif kind == "self_link":
                os.symlink(".", root / "selfie")
            elif kind == "dangling":
                (root / "d").mkdir(exist_ok=True)
                os.symlink(root / "nowhere.wav", root / "d" / "gone.wav")
            elif kind in ("manifest", "speakers", "manifest_escape"):
                name = "speakers.csv" if kind == "speakers" else "manifest.csv"
                if kind == "manifest_escape":
                    text = b"path,label\n../../../../etc/passwd,x\n/abs/file.wav,y\n"
                else:
                    text = rng.choice((b"path,label\nyes/a.wav,yes\n", b"file,speaker\nyes/a.wav,s1\n",
                                       b"\xff\xfe\x00garbage", b"path,label\n" + b"\x00" * 10,
                                       b'path,label\n"unterminated,x\n', b"", b"path\n,\n",
                                       b"path,label\n" + b"a" * 200_000 + b",b\n",
                                       b"\xef\xbb\xbfpath,label,speaker\nyes/a.wav,yes,,extra,cols\n",
                                       rng.randbytes(rng.randint(1, 300))))
                    if rng.random() < 0.3:
                        text, _ = mutate_bytes(text, rng)
                if not (root / name).exists():      # (never open a FIFO made by an earlier step)
                    (root / name).write_bytes(text)
            elif kind == "manifest_dir":
                (root / "manifest.csv").mkdir()
            elif kind == "fifo":
                (root / "f").mkdir(exist_ok=True)
                os.mkfifo(root / "f" / "pipe.wav")
                if not (root / "speakers.csv").exists():
                    os.mkfifo(root / "speakers.csv")
            elif kind == "deep":
                p = root / "deep"
                for i in range(60):
                    p = p / f"d{i}"
                _touch(p / "x.wav")
            elif kind == "flat_fsdd":
                _touch(root / "3_jackson_0.wav")
                _touch(root / "recordings" / "4_theo_1.wav")
            elif kind == "file_as_label":
                _touch(root / "notadir.wav")
        except OSError:
            pass
    return "+".join(kinds) or "names"


def fuzz_dataset(rng: random.Random, workdir: Path) -> Outcome:
    from recognizers.data.datasets import scan_dataset
    root = workdir / "ds"
    if root.exists() or root.is_symlink():
        shutil.rmtree(root, ignore_errors=True)
    kind = build_weird_dataset(rng, root)
    ext = rng.choice(((".wav",), (".npz",), (".wav", ".flac")))

    def load():
        out = scan_dataset(root, ext, allow_empty=rng.random() < 0.5)
        from recognizers.data import dataset_ops
        task = "speech" if ".wav" in ext else "gesture"
        takes = dataset_ops.list_takes(root, task)
        dataset_ops.summarize_labels(root, takes)
        return out

    def check(examples):
        for e in examples:
            assert isinstance(e.label, str) and isinstance(e.path, Path)
            str(e.path).encode("utf-8", "surrogateescape")
    return run_loader(load, (root,), check, kind)


# ---------------------------------------------------------------------------------------------------------
# model folders
_MODEL_SEEDS: dict[str, Path] = {}


def model_seeds(workdir: Path) -> dict[str, Path]:
    if not _MODEL_SEEDS:
        from desktop_fixtures import untrained_model
        for task in ("speech", "gesture"):
            _MODEL_SEEDS[task] = untrained_model(workdir / f"seed-{task}", task, hidden=8)
    return _MODEL_SEEDS


JSON_VALUES = (None, True, False, 0, -1, 1, 2**31, 10**100, 1e308, -1e308, 0.5, "", "x", "speech", "gesture",
               [], [1], ["a", "a"], {}, {"type": "logmel"}, "NaN", 1.7976931348623157e308)


def _random_json(rng: random.Random, depth: int = 0):
    if depth > 3 or rng.random() < 0.6:
        return rng.choice(JSON_VALUES)
    if rng.random() < 0.5:
        return [_random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {rng.choice(("type", "a", "n_mels", "labels", "mean")): _random_json(rng, depth + 1)
            for _ in range(rng.randint(0, 3))}


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list) and len(obj) < 50:
        for i, v in enumerate(obj):
            yield from _paths(v, prefix + (i,))


def mutate_meta(meta: dict, rng: random.Random) -> tuple[object, str]:
    meta = json.loads(json.dumps(meta))
    paths = [p for p in _paths(meta) if p]
    path = rng.choice(paths)
    parent = meta
    for k in path[:-1]:
        parent = parent[k]
    op = rng.choice(("replace", "replace", "delete", "add", "scale", "deep", "root"))
    if op == "replace":
        parent[path[-1]] = _random_json(rng)
    elif op == "delete":
        del parent[path[-1]]
    elif op == "add" and isinstance(parent, dict):
        parent[rng.choice(("extra", "decoder", "unknown_label", "name"))] = _random_json(rng)
    elif op == "scale":
        v = parent[path[-1]]
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            parent[path[-1]] = rng.choice((v * 1000, -v, v + 1, 0, int(v * 10**6), v / 1e9))
    elif op == "deep":      # nesting deeper than json's recursion limit, spliced in as text
        parent[path[-1]] = f"@@DEEP{rng.choice((50, 5000, 100_000))}@@"
    elif op == "root":
        return rng.choice(([], "x", 1, None, [meta])), "root"
    return meta, f"{op}:{'/'.join(map(str, path))}"


def mutate_safetensors(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    names = [k for k in header if k != "__metadata__"]
    name = rng.choice(names)
    op = rng.choice(("shape", "dtype", "offsets", "drop", "add", "len", "json", "huge_shape", "body"))
    if op == "shape":
        header[name]["shape"] = rng.choice(([], [0], [1, 1], [-1, 8], [2**31, 2**31], [10**12], ["8"],
                                            [8.0], [1] * 64, None, header[name]["shape"][::-1]))
    elif op == "dtype":
        header[name]["dtype"] = rng.choice(("F16", "F64", "I64", "BF16", "BOOL", "U8", "", None, 5, "F32 "))
    elif op == "offsets":
        s, e = header[name]["data_offsets"]
        header[name]["data_offsets"] = rng.choice(([e, s], [s, e + 4], [s - 4, e - 4], [0, 2**62], [-4, e],
                                                   [s], None, [s, e, 0], ["0", "4"], [s + 0.5, e]))
    elif op == "drop":
        del header[name]
    elif op == "add":
        header[rng.choice(("evil", name + "x", "__metadata__"))] = rng.choice(
            ({"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, {"a": 1}, 1, "x", {"exec": "import os"}))
    elif op == "huge_shape":   # shapes whose product is absurd but data_offsets stay small
        header[name]["shape"] = rng.choice(([2**40, 2**40], [2**62], [10**9, 10**9, 10**9], [2**63 - 1]))
    hdr = json.dumps(header).encode()
    if op == "json":
        hdr, _ = mutate_bytes(hdr, rng)
    declared = len(hdr)
    if op == "len":
        declared = rng.choice((0, 1, declared - 1, declared + 1, 2**63, 2**64 - 1, 100 * 2**20 + 1, len(body) + declared))  # noqa: E501
    if op == "body":
        body, _ = mutate_bytes(body, rng)
    return struct.pack("<Q", declared) + hdr + body, f"{op}:{name}"


def _smoke_model(loaded) -> None:
    """A loaded model must run: a streaming recogniser (and the speech transcriber) on a short input."""
    from recognizers.streaming import StreamingRecognizer
    if loaded.task == "speech":
        from recognizers.decoders.words import Transcriber
        from recognizers.errors import VaultError
        try:
            t = Transcriber(loaded)
        except VaultError:
            return      # refused with a message (the app shows it)
        t.push(np.zeros(3200, np.float32))
        t.flush()
    else:
        r = StreamingRecognizer(loaded)
        frames = np.full((3, 2, 21, 3), np.nan, np.float32)
        frames[:, 1] = np.random.default_rng(0).uniform(0, 1, (3, 21, 3))
        for f in frames:
            r.push(f)


def fuzz_model(rng: random.Random, workdir: Path) -> Outcome:
    from recognizers.model_files import META, WEIGHTS, load_model
    seeds = model_seeds(workdir)
    task = rng.choice(sorted(seeds))
    folder = workdir / "model"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(seeds[task], folder)
    meta = json.loads((folder / META).read_text())
    target = rng.choice(("json_value", "json_value", "json_bytes", "weights", "weights", "weights_bytes", "both"))
    kinds = []
    if target in ("json_value", "both"):
        new, k = mutate_meta(meta, rng)
        text = json.dumps(new)
        if "@@DEEP" in text:
            head, _, rest = text.partition('"@@DEEP')
            n, _, tail = rest.partition('@@"')
            text = head + "[" * int(n) + "0" + "]" * int(n) + tail
        (folder / META).write_text(text)
        kinds.append(k)
    if target == "json_bytes":
        data, k = mutate_bytes((folder / META).read_bytes(), rng)
        (folder / META).write_bytes(data)
        kinds.append("json-bytes:" + k)
    if target in ("weights", "both"):
        data, k = mutate_safetensors((folder / WEIGHTS).read_bytes(), rng)
        (folder / WEIGHTS).write_bytes(data)
        kinds.append("st:" + k)
    if target == "weights_bytes":
        data, k = mutate_bytes((folder / WEIGHTS).read_bytes(), rng, header_len=16)
        (folder / WEIGHTS).write_bytes(data)
        kinds.append("st-bytes:" + k)
    want = rng.choice((None, task))
    return run_loader(lambda: load_model(folder, task=want), (folder,), _smoke_model, "+".join(kinds))


# ---------------------------------------------------------------------------------------------------------
# app settings (QSettings): garbage values of every key the window reads
SETTING_KEYS = ("window/geometry", "device", "mode", "speech/model", "gesture/model", "speech/recent_files",
                "gesture/recent_files", "speech/source_kind", "speech/source", "gesture/source_kind",
                "gesture/source", "speech/dataset", "gesture/dataset")


def garbage_setting(rng: random.Random):
    from PySide6.QtCore import QByteArray, QPoint, QRect
    return rng.choice((
        lambda: rng.randint(-2**31, 2**31 - 1), lambda: rng.random() * 1e300, lambda: "",
        lambda: "x" * rng.randint(1, 5000), lambda: ["a", 1, None] * rng.randint(0, 3),
        lambda: [[1, 2], {"a": 1}], lambda: {"k": "v"}, lambda: QByteArray(rng.randbytes(rng.randint(0, 300))),
        lambda: QRect(1, 2, -3, 4), lambda: QPoint(5, 5), lambda: True, lambda: "device", lambda: "file",
        lambda: "/nonexistent/\x00zero", lambda: "gesture", lambda: "speech", lambda: "cuda", lambda: "mps",
        lambda: str(Path("/etc")), lambda: "\udcff")) ()


def write_garbage_ini(rng: random.Random, path: Path) -> str:
    """An INI file with random lines, @ByteArray/@Variant values and random bytes."""
    lines = []
    for key in rng.sample(SETTING_KEYS, rng.randint(1, len(SETTING_KEYS))):
        section, _, name = key.rpartition("/")
        value = rng.choice(("@ByteArray(" + rng.randbytes(20).hex() + ")", "@Variant(\\0\\0\\0\\x7f\\0\\0\\0\\xff)",
                            "@Variant(" + "".join(f"\\x{b:02x}" for b in rng.randbytes(24)) + ")",
                            "@Rect(1 2 3)", "@Size(-1 -1)", "@Point(a b)", "1, 2, 3", '"unterminated',
                            rng.randbytes(30).decode("latin-1"), "speech", "device", ""))
        lines.append(f"[{section or 'General'}]\n{name}={value}\n")
    data = "".join(lines).encode("utf-8", "surrogateescape")
    if rng.random() < 0.3:
        data, _ = mutate_bytes(data, rng)
    path.write_bytes(data)
    return "ini"
