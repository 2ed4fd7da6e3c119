"""On-disk cache of un-augmented features, so that repeated epochs and runs do not recompute them.

An entry is one ``.npy`` file named by a hash of what the features depend on: the source file's resolved
path, size and modification time (so an edited or replaced recording is recomputed), the task, the
frontend config (``model.json``'s ``frontend``) and :data:`CACHE_VERSION` (bumped when loading or feature
code changes meaning). Entries are written atomically, read with ``allow_pickle=False``, and a damaged
entry is recomputed, so deleting the folder (or any file in it) at any time is safe.
"""
from __future__ import annotations

import hashlib
import json
import os
import secrets
from pathlib import Path
from typing import Any, Callable

import numpy as np

CACHE_VERSION = 1


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/lstm-vault/features`` (``~/.cache/...``): outside the dataset, which may be read-only."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "lstm-vault" / "features"


def file_identity(path: str | os.PathLike) -> list:
    """``[resolved path, size, mtime_ns]``; raises ``OSError`` if the file is gone."""
    p = Path(path).resolve()
    st = p.stat()
    return [str(p), st.st_size, st.st_mtime_ns]


class FeatureCache:
    """``get_or_compute(identity, compute)`` for arrays; ``identity`` is a JSON-able list (see
    :func:`file_identity`). Counts ``hits`` and ``misses`` of this process."""

    def __init__(self, folder: str | os.PathLike, task: str, frontend_json: dict):
        self.folder = Path(folder)
        self._scope = json.dumps([CACHE_VERSION, task, frontend_json], sort_keys=True)
        self.hits = 0
        self.misses = 0

    def path_for(self, identity: list) -> Path:
        digest = hashlib.sha256((self._scope + json.dumps(identity)).encode()).hexdigest()[:40]
        return self.folder / digest[:2] / f"{digest}.npy"

    def get(self, identity: list) -> np.ndarray | None:
        p = self.path_for(identity)
        try:
            with open(p, "rb") as f:
                return np.load(f, allow_pickle=False)
        except (OSError, ValueError, EOFError):   # absent or damaged: recompute
            return None

    def put(self, identity: list, array: np.ndarray) -> None:
        p = self.path_for(identity)
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            tmp = p.with_name(f".{p.stem}.{os.getpid()}.{secrets.token_hex(4)}.tmp")   # umask permissions
            try:
                with open(tmp, "xb") as f:
                    np.save(f, np.ascontiguousarray(array), allow_pickle=False)
                os.replace(tmp, p)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError:
            pass   # a full or read-only disk makes the cache useless, not training impossible

    def get_or_compute(self, identity: list, compute: Callable[[], np.ndarray]) -> np.ndarray:
        cached = self.get(identity)
        if cached is not None:
            self.hits += 1
            return cached
        self.misses += 1
        array = compute()
        self.put(identity, array)
        return array

    def describe(self) -> dict[str, Any]:
        return {"folder": str(self.folder), "hits": self.hits, "misses": self.misses}
