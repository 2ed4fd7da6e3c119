"""Confining writes: names that become folders, and files we write our outputs to.

Two rules keep every write of the engine inside the place the user asked for:

* A *label* (a folder name taken from data: an arman ``y`` value, a Kazuhito label line, a recorder label)
  must be one plain path component: not empty, not ``.``/``..``, no ``/`` or ``\\``, no NUL or other control
  characters, no lone surrogates, no leading ``.`` (the dataset scanner hides such folders), and at most
  :data:`MAX_NAME_BYTES` bytes once encoded. Anything else is refused (:func:`check_component`), never
  "cleaned": a cleaned ``../x`` would silently merge with another label.
* An *output file* (``trace --out``, ``export --onnx``, a model folder's parent) must be a regular file or
  not exist yet. Writing goes to a hidden temporary file beside it and is renamed over it; renaming over
  ``/dev/null``, ``/dev/full``, a FIFO or a socket would replace that node, so :func:`check_output_file`
  refuses such targets before anything is written and :func:`write_atomically` checks again just before the
  rename.
"""
from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import Callable, Iterator

from recognizers.errors import VaultError
from recognizers.io.safe_text import is_clean_text, safe_text

MAX_NAME_BYTES = 255          # NAME_MAX of ext4, xfs, btrfs, APFS and NTFS (in UTF-16 units there)
MAX_PATH_BYTES = 4000         # below Linux's PATH_MAX (4096) with room for our temporary suffixes
TMP_PREFIX = "."


def check_component(name: object, what: str = "label", error: type[VaultError] = VaultError) -> str:
    """``name`` if it is usable as one folder or file name, else ``error`` (one line) saying why."""
    if not isinstance(name, str):
        raise error(f"{what} {safe_text(repr(name))}: must be text, not {type(name).__name__}")
    shown = safe_text(repr(name)) if len(name) <= 80 else safe_text(repr(name[:60])) + f"... ({len(name)} chars)"
    if not name or not name.strip():
        raise error(f"{what} {shown}: an empty name cannot be a folder")
    if name in (".", "..") or "/" in name or "\\" in name:
        raise error(f"{what} {shown}: must be a plain name (no '/', '\\', '.' or '..')")
    if name.startswith("."):
        raise error(f"{what} {shown}: must not start with '.' (such folders are hidden and skipped)")
    if "\x00" in name or not is_clean_text(name):
        raise error(f"{what} {shown}: holds control characters, line breaks or invalid Unicode")
    if name != name.strip():
        raise error(f"{what} {shown}: must not start or end with spaces")
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        raise error(f"{what} {shown}: holds invalid Unicode") from None
    if size > MAX_NAME_BYTES:
        raise error(f"{what} {shown}: {size} bytes is longer than a file name may be ({MAX_NAME_BYTES})")
    return name


def confined(root: Path, *parts: str, what: str = "label", error: type[VaultError] = VaultError) -> Path:
    """``root / parts...`` after checking each part with :func:`check_component` (so it stays in ``root``)."""
    out = Path(root)
    for p in parts:
        out = out / check_component(p, what, error)
    return out


def _check_path_text(path: Path, what: str, error: type[VaultError]) -> None:
    text = os.fspath(path)
    if "\x00" in text:
        raise error(f"{what} {safe_text(text)}: a path cannot contain NUL")
    raw = os.fsencode(text)
    if len(raw) > MAX_PATH_BYTES:
        raise error(f"{what} {safe_text(text[:60])}...: path of {len(raw)} bytes is too long")
    for part in Path(text).parts:
        if len(os.fsencode(part)) > MAX_NAME_BYTES:
            raise error(f"{what} {safe_text(text[:60])}...: a name in it is longer than {MAX_NAME_BYTES} bytes")


def _target_stat(path: Path, what: str, error: type[VaultError]) -> os.stat_result | None:
    """The checked output path's ``os.stat`` (symlinks followed), or None when nothing is there yet."""
    _check_path_text(path, what, error)
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:      # a symlink loop, a path component that is a file, permission denied
        raise error(f"{what} {safe_text(path)}: {exc.strerror or type(exc).__name__}") from None


def check_output_file(path: str | os.PathLike, what: str = "--out",
                      error: type[VaultError] = VaultError) -> Path:
    """``path`` as a Path if we may (re)place a regular file there; else ``error`` naming it.

    Refused: a NUL or an over-long name, a target that exists and is not a regular file (folder, device such
    as ``/dev/null``, FIFO, socket; symlinks are followed), and a parent that is missing or not a folder.
    """
    path = Path(path)
    st = _target_stat(path, what, error)
    if st is not None and not stat.S_ISREG(st.st_mode):
        kind = ("a folder" if stat.S_ISDIR(st.st_mode) else "a device" if stat.S_ISCHR(st.st_mode)
                or stat.S_ISBLK(st.st_mode) else "a FIFO" if stat.S_ISFIFO(st.st_mode) else "not a regular file")
        raise error(f"{what} {safe_text(path)}: is {kind}; give the name of a regular file to write")
    if os.path.islink(path) and st is not None:
        raise error(f"{what} {safe_text(path)}: is a symbolic link; give the file itself")
    parent = path.parent
    try:
        if not parent.is_dir():
            raise error(f"{what} {safe_text(path)}: folder {safe_text(parent)} does not exist")
    except OSError as exc:
        raise error(f"{what} {safe_text(path)}: {exc.strerror or type(exc).__name__}") from None
    return path


def check_output_folder(path: str | os.PathLike, what: str = "--out",
                        error: type[VaultError] = VaultError) -> Path:
    """``path`` as a Path if a folder may be created or replaced there (not a file, device or FIFO)."""
    path = Path(path)
    st = _target_stat(path, what, error)
    if st is not None and not stat.S_ISDIR(st.st_mode):
        raise error(f"{what} {safe_text(path)}: exists and is not a folder")
    if os.path.islink(path):
        raise error(f"{what} {safe_text(path)}: is a symbolic link; give the folder itself")
    return path


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, what: str = "--out", suffix: str = "",
                  error: type[VaultError] = VaultError) -> Iterator[Path]:
    """Yield a hidden temporary path beside ``path``; on success rename it over ``path`` (after checking the
    target once more: it must still be a regular file or absent); on any failure remove it.

    ``suffix`` is appended to the temporary name (``np.savez`` adds ``.npz`` to names without it)."""
    path = check_output_file(path, what, error)
    tmp = path.with_name(f"{TMP_PREFIX}{path.name[:200]}.{os.getpid()}.tmp{suffix}")
    try:
        yield tmp
        check_output_file(path, what, error)    # a FIFO put there meanwhile is not renamed over
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise error(f"{what} {safe_text(path)}: cannot write ({exc.strerror or type(exc).__name__})") from None
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def write_atomically(path: str | os.PathLike, write: Callable[[Path], None], what: str = "--out",
                     suffix: str = "", error: type[VaultError] = VaultError) -> Path:
    """``write(tmp)`` then rename over ``path`` (see :func:`atomic_output`); returns ``path``."""
    with atomic_output(path, what, suffix, error) as tmp:
        write(tmp)
    return Path(path)


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` may still be running (this process, or one we may not signal, counts as alive):
    leftovers named after a writer's pid are removed only when that writer is gone."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True
    return True
