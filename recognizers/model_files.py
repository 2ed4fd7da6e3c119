"""Model folders: ``model.safetensors`` (weights) + ``model.json`` (everything else).

Loading never unpickles anything: the weights file's header is read and checked against the
architecture declared in ``model.json`` *before* any tensor is allocated, so a damaged, mismatched or
absurdly large model is refused with a one-line message.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import struct
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from recognizers.errors import ModelFileError
from recognizers.io.paths import pid_alive
from recognizers.io.safe_text import is_clean_text, safe_text
from recognizers.nn.classifier import Architecture, SequenceClassifier

FORMAT = "lstm-vault-model"
FORMAT_VERSION = 1
WEIGHTS = "model.safetensors"
META = "model.json"
MAX_JSON_BYTES = 16 * 1024 * 1024
MAX_WEIGHTS_BYTES = 2 * 1024 ** 3
PICKLE_SUFFIXES = (".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".bin")
UNKNOWN_LABEL = "_unknown_"
SILENCE_LABEL = "_silence_"


def negatives_label(labels: list[str], unknown: str) -> str:
    """The label synthetic non-speech examples (silence, noise, tones, clicks) train as: ``_silence_`` when the
    model has it (the Speech Commands task: "no word"), else the unknown label. Giving them the unknown label beside
    a ``_silence_`` class taught ``commands-en`` to call quiet background clips ``_unknown_``."""
    return SILENCE_LABEL if SILENCE_LABEL in labels else unknown


@dataclass
class LoadedModel:
    """A model ready to run: the network plus what ``model.json`` says about it."""

    path: Path | None
    network: SequenceClassifier
    meta: dict[str, Any]
    labels: list[str] = field(default_factory=list)

    @property
    def task(self) -> str:
        return self.meta["task"]

    @property
    def frontend_config(self) -> dict:
        return self.meta["frontend"]

    @property
    def unknown_label(self) -> str | None:
        return self.meta.get("unknown_label")

    @property
    def name(self) -> str:
        return self.meta.get("name") or (self.path.name if self.path else "model")


def _expected_shapes(arch: Architecture) -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {}
    H = arch.hidden_size
    for k in range(arch.num_layers):
        inp = arch.input_size if k == 0 else H
        p = f"lstm.layers.{k}."
        shapes[p + "weight_ih_l0"] = (4 * H, inp)
        shapes[p + "weight_hh_l0"] = (4 * H, H)
        shapes[p + "bias_ih_l0"] = (4 * H,)
        shapes[p + "bias_hh_l0"] = (4 * H,)
    shapes["head.weight"] = (arch.num_classes, H)
    shapes["head.bias"] = (arch.num_classes,)
    return shapes


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``); False where unsupported."""
    import ctypes
    import sys
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    AT_FDCWD, RENAME_EXCHANGE = -100, 2
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if fn(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (22, 38, 95):      # EINVAL, ENOSYS, EOPNOTSUPP: the file system cannot exchange
        return False
    raise OSError(err, os.strerror(err), str(b))


def recover_model_folder(folder: str | os.PathLike) -> None:
    """Repair what a killed :func:`save_model` can leave beside ``folder``.

    * ``.<name>.<pid>.<hex>.partial`` folders of saves that no longer run (a new model being built, or
      after the swap the previous model on its way out) are removed;
    * if ``folder`` is missing but ``.<name>.old`` exists (the fallback swap without ``renameat2`` was
      killed between its two renames), the old model is put back.
    """
    folder = Path(folder)
    parent = folder.parent
    try:
        entries = [p for p in parent.iterdir() if p.name.startswith(f".{folder.name}.")]
    except OSError:
        return
    for p in entries:
        rest = p.name[len(folder.name) + 2:]
        parts = rest.split(".")
        if rest.endswith(".partial") and len(parts) == 3 and parts[0].isdigit() and not pid_alive(int(parts[0])):
            shutil.rmtree(p, ignore_errors=True)
    old = folder.with_name(f".{folder.name}.old")
    try:
        if not folder.exists() and (old / META).is_file():
            os.replace(old, folder)
    except OSError:
        pass


def save_model(folder: str | os.PathLike, network: SequenceClassifier, meta: dict[str, Any]) -> Path:
    """Write the model folder atomically: build it in a hidden sibling folder, then swap it in.

    With a model already at ``folder`` the two are exchanged in one ``renameat2(RENAME_EXCHANGE)`` (Linux),
    so at every instant ``folder`` holds either the previous model or the new one, complete; the previous
    one is then deleted. Elsewhere the old folder is renamed to ``.<name>.old`` first, and
    :func:`recover_model_folder` (run by every save and by a load that finds no folder) puts it back after
    a kill between the two renames. Leftover ``.partial`` folders of killed saves are removed the same way.
    """
    from safetensors.torch import save_file

    from recognizers.io.paths import check_output_folder
    folder = check_output_folder(folder, "--out", ModelFileError)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelFileError(f"--out {safe_text(folder)}: cannot create its folder "
                             f"({exc.strerror or type(exc).__name__})") from None
    recover_model_folder(folder)
    meta = dict(meta)
    meta.update(format=FORMAT, format_version=FORMAT_VERSION, architecture=network.arch.to_json())
    meta["normalization"] = {"mean": [float(v) for v in network.feature_mean.cpu()],
                             "std": [float(v) for v in network.feature_std.cpu()]}
    _check_meta(dict(meta), Path(folder))  # never write something we would refuse to load
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name[:200]}.{os.getpid()}.", suffix=".partial",
                                dir=folder.parent))
    try:
        tensors = {k: v.detach().cpu().contiguous() for k, v in network.state_dict().items()}
        save_file(tensors, str(tmp / WEIGHTS), metadata={"format": FORMAT})
        (tmp / META).write_text(json.dumps(meta, indent=1, allow_nan=False) + "\n", encoding="utf-8")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes 0700; a model folder is an ordinary folder
        for extra in ("MODEL_CARD.md",):
            if (folder / extra).exists():
                shutil.copy2(folder / extra, tmp / extra)
        if not folder.exists():
            os.replace(tmp, folder)
        elif _exchange(tmp, folder):
            shutil.rmtree(tmp, ignore_errors=True)      # tmp now holds the previous model
        else:
            old = folder.with_name(f".{folder.name}.old")
            if old.exists():
                shutil.rmtree(old)
            os.replace(folder, old)
            os.replace(tmp, folder)
            shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ModelFileError(f"--out {safe_text(folder)}: cannot save the model "
                             f"({exc.strerror or type(exc).__name__})") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


# ---------------------------------------------------------------------------------------------------------
# The schema of model.json: every section has types and ranges; a failure names the field.
MAX_LABELS = 10_000
MAX_TEXT_CHARS = 200                 # a label, alias or model name
MAX_JSON_INT_DIGITS = 30             # Python's int() of a 5,000-digit literal is slow and then refused
# built-in frontends, by task
TASK_FRONTENDS = {"speech": ("logmel", "mfcc", "speech-embedding"), "gesture": ("landmarks",)}
DECODER_NUMBERS = {                  # field: (low, high, integer?)
    "reject_threshold": (0.0, 1.0, False),
    "lead_silence_s": (0.0, 5.0, False),
    "tail_silence_s": (0.0, 5.0, False),
    "window_frames": (2, 1000, True),     # gesture spotting window (33 s at 30 fps); longer is a damaged file
}
DECODER_TYPES = ("", "clip", "ctc")


def _field_error(folder: Path, name: str, why: str) -> ModelFileError:
    return ModelFileError(f"{safe_text(folder / META)}: '{name}' {why}")


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _check_text(folder: Path, name: str, v: Any, allow_empty: bool = False) -> str:
    if not isinstance(v, str):
        raise _field_error(folder, name, f"must be text, not {type(v).__name__}")
    if not v and not allow_empty:
        raise _field_error(folder, name, "must not be empty")
    if len(v) > MAX_TEXT_CHARS:
        raise _field_error(folder, name, f"is {len(v)} characters long (at most {MAX_TEXT_CHARS})")
    if not is_clean_text(v):
        raise _field_error(folder, name, f"holds control characters or invalid Unicode ({safe_text(v)!r})")
    return v


def _check_decoder(meta: dict, folder: Path, labels: list[str]) -> dict:
    dec = meta.get("decoder")
    if dec is None:
        return {}
    if not isinstance(dec, dict):
        raise _field_error(folder, "decoder", f"must be an object, not {type(dec).__name__}")
    dec = dict(dec)
    kind = dec.get("type", "")
    if not isinstance(kind, str) or kind not in DECODER_TYPES:
        raise _field_error(folder, "decoder.type", f"is {safe_text(repr(kind))}; known: 'ctc' or none")
    for key, (lo, hi, integer) in DECODER_NUMBERS.items():
        if key not in dec or dec[key] is None:
            continue
        v = dec[key]
        if not _is_number(v) or (integer and not float(v).is_integer()):
            raise _field_error(folder, f"decoder.{key}", f"must be a{'n integer' if integer else ' number'}, "
                                                         f"not {safe_text(repr(v))[:40]}")
        if not lo <= v <= hi:
            raise _field_error(folder, f"decoder.{key}", f"is {v}, outside {lo}..{hi}")
        dec[key] = int(v) if integer else float(v)
    if kind == "ctc" or "blank" in dec:
        blank = dec.get("blank", UNKNOWN_LABEL)
        if not isinstance(blank, str) or blank not in labels:
            raise _field_error(folder, "decoder.blank", f"{safe_text(repr(blank))[:40]} is not one of the labels")
    return dec


def _check_meta(meta: Any, folder: Path) -> Architecture:
    """Check every section of ``meta`` (types and ranges; one line naming the field on failure) and put the
    checked values back (``decoder`` numbers as floats/ints, a missing ``decoder`` as ``{}``), so commands
    read the validated model and never re-parse fields."""
    if not isinstance(meta, dict):
        raise ModelFileError(f"{safe_text(folder / META)}: must hold a JSON object")
    if meta.get("format") != FORMAT:
        raise ModelFileError(f"{safe_text(folder / META)}: not an LSTM Vault model "
                             f"(format {safe_text(repr(meta.get('format')))[:60]})")
    version = meta.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version > FORMAT_VERSION or version < 1:
        raise ModelFileError(f"{safe_text(folder / META)}: format version {safe_text(repr(version))[:40]} is not "
                             f"supported (this program reads up to {FORMAT_VERSION}); update LSTM Vault")
    for key in ("task", "labels", "architecture", "frontend", "normalization"):
        if key not in meta:
            raise ModelFileError(f"{safe_text(folder / META)}: missing '{key}'")
    if not isinstance(meta["task"], str) or meta["task"] not in TASK_FRONTENDS:
        raise _field_error(folder, "task", f"names an unknown task {safe_text(repr(meta['task']))[:40]} "
                                            f"(expected 'speech' or 'gesture')")
    labels = meta["labels"]
    if not isinstance(labels, list) or not labels or len(labels) > MAX_LABELS:
        raise _field_error(folder, "labels", f"must be a list of 1..{MAX_LABELS} distinct non-empty names")
    for i, x in enumerate(labels):
        _check_text(folder, f"labels[{i}]", x)
    if len(set(labels)) != len(labels):
        raise ModelFileError(f"{safe_text(folder / META)}: 'labels' must be a list of distinct non-empty names")
    if "name" in meta and meta["name"] is not None:
        _check_text(folder, "name", meta["name"], allow_empty=True)
    if "created" in meta and meta["created"] is not None:
        _check_text(folder, "created", meta["created"], allow_empty=True)
    aliases = meta.get("label_aliases")
    if aliases is None:
        meta["label_aliases"] = {}
    elif not isinstance(aliases, dict):
        raise _field_error(folder, "label_aliases", f"must be an object NAME -> LABEL, not {type(aliases).__name__}")
    else:
        for k, v in aliases.items():
            _check_text(folder, "label_aliases", k)
            _check_text(folder, f"label_aliases.{safe_text(k)}", v)
    for section in ("training", "metrics"):
        if meta.get(section) is not None and not isinstance(meta[section], dict):
            raise _field_error(folder, section, f"must be an object, not {type(meta[section]).__name__}")
    a = meta["architecture"]
    if not isinstance(a, dict):
        raise _field_error(folder, "architecture", "must be an object")
    try:
        arch = Architecture(**a)
        arch.validate()
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"{safe_text(folder / META)}: bad architecture ({safe_text(exc)})") from None
    for k in ("input_size", "hidden_size", "num_layers", "num_classes"):
        v = getattr(arch, k)
        if isinstance(v, bool) or not isinstance(v, int):
            raise _field_error(folder, f"architecture.{k}", f"must be an integer, not {safe_text(repr(v))[:40]}")
    if arch.num_classes != len(labels):
        raise ModelFileError(f"{safe_text(folder / META)}: {len(labels)} labels but the network has "
                             f"{arch.num_classes} outputs")
    norm = meta["normalization"]
    if not isinstance(norm, dict) or not isinstance(norm.get("mean"), list) or not isinstance(norm.get("std"), list):
        raise _field_error(folder, "normalization", "needs lists 'mean' and 'std'")
    for key in ("mean", "std"):
        if not all(_is_number(v) for v in norm[key]):
            raise _field_error(folder, f"normalization.{key}", "must hold finite numbers only")
    mean = np.asarray(norm["mean"], dtype=np.float64)
    std = np.asarray(norm["std"], dtype=np.float64)
    if mean.shape != (arch.input_size,) or std.shape != (arch.input_size,):
        raise ModelFileError(f"{safe_text(folder / META)}: normalisation has {mean.shape} values, the network "
                             f"expects {arch.input_size} features")
    if not (np.all(np.abs(mean) < 1e30) and np.all(std > 1e-30) and np.all(std < 1e30)):
        raise _field_error(folder, "normalization", "values must be finite float32 numbers with std > 0")
    unk = meta.get("unknown_label")
    if unk is not None and (not isinstance(unk, str) or unk not in labels):
        raise _field_error(folder, "unknown_label", f"{safe_text(repr(unk))[:40]} is not one of the labels")
    fe = meta["frontend"]
    if not isinstance(fe, dict):
        raise _field_error(folder, "frontend", f"must be an object, not {type(fe).__name__}")
    kind = fe.get("type")
    builtin = {t: task for task, types in TASK_FRONTENDS.items() for t in types}
    if isinstance(kind, str) and kind in builtin and builtin[kind] != meta["task"]:
        raise _field_error(folder, "frontend.type", f"is {kind!r}, which reads {builtin[kind]} input; a "
                                                    f"{meta['task']} model needs {TASK_FRONTENDS[meta['task']][0]!r}")
    from recognizers.frontends.registry import frontend_feature_size
    n_feat = frontend_feature_size(fe, safe_text(folder / META))
    if n_feat != arch.input_size:
        raise ModelFileError(f"{safe_text(folder / META)}: the frontend gives {n_feat} features but the network "
                             f"expects {arch.input_size}")
    meta["decoder"] = _check_decoder(meta, folder, labels)
    return arch


def _json_int(text: str) -> int:
    if len(text) > MAX_JSON_INT_DIGITS:
        raise ValueError(f"an integer of {len(text)} digits")
    return int(text)


def _json_constant(text: str) -> float:
    raise ValueError(f"{text} is not a JSON number")


def parse_model_json(text: str) -> Any:
    """``json.loads`` that refuses integers of more than 30 digits and NaN/Infinity (ValueError)."""
    return json.loads(text, parse_int=_json_int, parse_constant=_json_constant)


def _read_safetensors_header(path: Path) -> dict:
    size = path.stat().st_size
    if size > MAX_WEIGHTS_BYTES:
        raise ModelFileError(f"{path}: {size / 1e9:.1f} GB is larger than any model this program makes")
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise ModelFileError(f"{path}: truncated weights file")
        (n,) = struct.unpack("<Q", head)
        if n > min(size - 8, 100 * 1024 * 1024):
            raise ModelFileError(f"{path}: damaged weights file (header length {n})")
        try:
            header = json.loads(f.read(n))
        except Exception:
            raise ModelFileError(f"{path}: damaged weights file (unreadable header)") from None
    if not isinstance(header, dict):
        raise ModelFileError(f"{path}: damaged weights file")
    header.pop("__metadata__", None)
    data_len = size - 8 - n
    for name, info in header.items():
        try:
            start, end = info["data_offsets"]
            shape = info["shape"]
            ok = (info["dtype"] == "F32" and 0 <= start <= end <= data_len and isinstance(shape, list)
                  and all(isinstance(d, int) and 0 <= d <= MAX_WEIGHTS_BYTES for d in shape))
        except Exception:
            ok = False
        if not ok:
            raise ModelFileError(f"{path}: damaged or unsupported tensor entry {name!r}")
    return header


def _file_system_errors_named(fn):
    """The file system's own refusals (name too long, permission denied, a symlink loop, a folder gone
    meanwhile) become one-line ModelFileErrors naming the folder, like every other problem."""
    import functools

    @functools.wraps(fn)
    def wrapper(folder, *args, **kwargs):
        try:
            return fn(folder, *args, **kwargs)
        except OSError as exc:
            raise ModelFileError(f"{folder}: cannot read the model ({exc.strerror or type(exc).__name__})"
                                 ) from None
    return wrapper


@_file_system_errors_named
def read_meta(folder: str | os.PathLike) -> dict[str, Any]:
    """Read and check ``model.json`` of a model folder (no weights loaded)."""
    folder = Path(folder)
    if folder.is_file():
        if folder.suffix.lower() in PICKLE_SUFFIXES:
            raise ModelFileError(f"{folder}: pickled PyTorch files can run arbitrary code when loaded and "
                                 f"are refused; give a model folder with {WEIGHTS} and {META}")
        if folder.name in (META, WEIGHTS):
            folder = folder.parent
        else:
            raise ModelFileError(f"{folder}: a model is a folder holding {WEIGHTS} and {META}")
    if not folder.is_dir():
        recover_model_folder(folder)    # a save killed between its two renames (no renameat2)
    if not folder.is_dir():
        raise ModelFileError(f"{safe_text(folder)}: no such model folder")
    meta_path = folder / META
    if not meta_path.is_file():
        pickles = sorted(p.name for p in folder.iterdir() if p.suffix.lower() in PICKLE_SUFFIXES)
        if pickles:
            raise ModelFileError(f"{folder}: holds {pickles[0]}, a pickle, which can run arbitrary code "
                                 f"and is refused; an LSTM Vault model needs {WEIGHTS} + {META}")
        raise ModelFileError(f"{folder}: not a model folder (no {META})")
    if meta_path.stat().st_size > MAX_JSON_BYTES:
        raise ModelFileError(f"{meta_path}: too large to be a model description")
    try:
        meta = parse_model_json(meta_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ModelFileError(f"{safe_text(meta_path)}: damaged model description ({exc.__class__.__name__})"
                             ) from None
    except ValueError as exc:      # parse_model_json's refusals
        raise ModelFileError(f"{safe_text(meta_path)}: damaged model description ({exc})") from None
    _check_meta(meta, folder)
    return meta


@_file_system_errors_named
def load_model(folder: str | os.PathLike, task: str | None = None,
               device: str | torch.device = "cpu") -> LoadedModel:
    """Load a model folder, refusing anything damaged, mismatched, untrusted, or for another task."""
    folder = Path(folder)
    meta = read_meta(folder)
    if folder.is_file():
        folder = folder.parent
    if task is not None and meta["task"] != task:
        raise ModelFileError(f"{folder}: is a {meta['task']} model, not a {task} model")
    arch = Architecture(**meta["architecture"])
    weights = folder / WEIGHTS
    if not weights.is_file():
        raise ModelFileError(f"{folder}: missing {WEIGHTS}")
    header = _read_safetensors_header(weights)
    expected = _expected_shapes(arch)
    got = {k: tuple(v["shape"]) for k, v in header.items()}
    if got != expected:
        missing = sorted(set(expected) - set(got))
        extra = sorted(set(got) - set(expected))
        wrong = sorted(k for k in set(got) & set(expected) if got[k] != expected[k])
        detail = (f"missing {missing[:3]}" if missing else f"unexpected {extra[:3]}" if extra
                  else f"{wrong[0]} is {got[wrong[0]]}, expected {expected[wrong[0]]}")
        raise ModelFileError(f"{weights}: weights do not match model.json ({detail})")
    for k, v in header.items():
        start, end = v["data_offsets"]
        if end - start != 4 * int(np.prod(v["shape"])):
            raise ModelFileError(f"{weights}: damaged tensor {k!r}")
    from safetensors.torch import load_file
    try:
        state = load_file(str(weights))
    except Exception as exc:
        raise ModelFileError(f"{weights}: damaged weights file ({exc})") from None
    for k, v in state.items():
        if not torch.all(torch.isfinite(v)):
            raise ModelFileError(f"{weights}: tensor {k!r} holds NaN or infinite values")
    net = SequenceClassifier(arch, np.asarray(meta["normalization"]["mean"], np.float32),
                             np.asarray(meta["normalization"]["std"], np.float32))
    net.load_state_dict(state, strict=True)
    net.eval()
    net.to(device)
    return LoadedModel(path=folder, network=net, meta=meta, labels=list(meta["labels"]))
