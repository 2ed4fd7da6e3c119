"""Model folders: ``model.safetensors`` (weights) + ``model.json`` (everything else).

Loading never unpickles anything: the weights file's header is read and checked against the
architecture declared in ``model.json`` *before* any tensor is allocated, so a damaged, mismatched or
absurdly large model is refused with a one-line message.
"""
from __future__ import annotations

import json
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
from recognizers.nn.classifier import Architecture, SequenceClassifier

FORMAT = "lstm-vault-model"
FORMAT_VERSION = 1
WEIGHTS = "model.safetensors"
META = "model.json"
MAX_JSON_BYTES = 16 * 1024 * 1024
MAX_WEIGHTS_BYTES = 2 * 1024 ** 3
PICKLE_SUFFIXES = (".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".bin")
UNKNOWN_LABEL = "_unknown_"


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


def save_model(folder: str | os.PathLike, network: SequenceClassifier, meta: dict[str, Any]) -> Path:
    """Write the model folder atomically: build it in a temporary sibling folder, then rename.

    An interrupted save leaves either the previous folder or nothing, never a half-written model.
    """
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    meta = dict(meta)
    meta.update(format=FORMAT, format_version=FORMAT_VERSION, architecture=network.arch.to_json())
    meta["normalization"] = {"mean": [float(v) for v in network.feature_mean.cpu()],
                             "std": [float(v) for v in network.feature_std.cpu()]}
    _check_meta(meta, Path(folder))  # never write something we would refuse to load
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".partial", dir=folder.parent))
    try:
        tensors = {k: v.detach().cpu().contiguous() for k, v in network.state_dict().items()}
        save_file(tensors, str(tmp / WEIGHTS), metadata={"format": FORMAT})
        (tmp / META).write_text(json.dumps(meta, indent=1) + "\n")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes 0700; a model folder is an ordinary folder
        for extra in ("MODEL_CARD.md",):
            if (folder / extra).exists():
                shutil.copy2(folder / extra, tmp / extra)
        old = None
        if folder.exists():
            old = folder.with_name(f".{folder.name}.old")
            if old.exists():
                shutil.rmtree(old)
            os.replace(folder, old)
        os.replace(tmp, folder)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def _check_meta(meta: Any, folder: Path) -> Architecture:
    if not isinstance(meta, dict):
        raise ModelFileError(f"{folder / META}: must hold a JSON object")
    if meta.get("format") != FORMAT:
        raise ModelFileError(f"{folder / META}: not an LSTM Vault model (format {meta.get('format')!r})")
    version = meta.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION or version < 1:
        raise ModelFileError(f"{folder / META}: format version {version!r} is not supported "
                             f"(this program reads up to {FORMAT_VERSION}); update LSTM Vault")
    for key in ("task", "labels", "architecture", "frontend", "normalization"):
        if key not in meta:
            raise ModelFileError(f"{folder / META}: missing '{key}'")
    if meta["task"] not in ("speech", "gesture"):
        raise ModelFileError(f"{folder / META}: unknown task {meta['task']!r}")
    labels = meta["labels"]
    if (not isinstance(labels, list) or not labels or not all(isinstance(x, str) and x for x in labels)
            or len(set(labels)) != len(labels)):
        raise ModelFileError(f"{folder / META}: 'labels' must be a list of distinct non-empty names")
    a = meta["architecture"]
    if not isinstance(a, dict):
        raise ModelFileError(f"{folder / META}: 'architecture' must be an object")
    try:
        arch = Architecture(**a)
        arch.validate()
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"{folder / META}: bad architecture ({exc})") from None
    if arch.num_classes != len(labels):
        raise ModelFileError(f"{folder / META}: {len(labels)} labels but the network has "
                             f"{arch.num_classes} outputs")
    norm = meta["normalization"]
    try:
        mean = np.asarray(norm["mean"], dtype=np.float32)
        std = np.asarray(norm["std"], dtype=np.float32)
    except Exception:
        raise ModelFileError(f"{folder / META}: 'normalization' needs numeric 'mean' and 'std'") from None
    if mean.shape != (arch.input_size,) or std.shape != (arch.input_size,):
        raise ModelFileError(f"{folder / META}: normalisation has {mean.shape} values, the network "
                             f"expects {arch.input_size} features")
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(std)) and np.all(std > 0)):
        raise ModelFileError(f"{folder / META}: normalisation values must be finite, std > 0")
    unk = meta.get("unknown_label")
    if unk is not None and unk not in labels:
        raise ModelFileError(f"{folder / META}: unknown_label {unk!r} is not one of the labels")
    from recognizers.frontends.registry import frontend_feature_size
    n_feat = frontend_feature_size(meta["frontend"], folder)
    if n_feat != arch.input_size:
        raise ModelFileError(f"{folder / META}: the frontend gives {n_feat} features but the network "
                             f"expects {arch.input_size}")
    return arch


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
        raise ModelFileError(f"{folder}: no such model folder")
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
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ModelFileError(f"{meta_path}: damaged model description ({exc.__class__.__name__})") from None
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
