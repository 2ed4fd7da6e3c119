"""Folder-per-label datasets (``DATA/<label>/<anything>.<ext>``) with optional speaker/session groups.

Groups (speaker or session ids) come, in order of precedence, from:
1. ``DATA/manifest.csv`` with columns ``path,label[,speaker]`` (paths relative to ``DATA``);
2. ``DATA/speakers.csv`` with columns ``file,speaker`` (``file`` relative to ``DATA`` or a bare file name);
3. the file name: Speech Commands ``<speaker>_nohash_<n>``, FSDD ``<digit>_<speaker>_<n>``,
   or the app's recorder ``<speaker>__<anything>``;
otherwise each file is its own group.

The FSDD flat layout (``{digit}_{speaker}_{n}.wav`` in one folder, or in ``recordings/``) is read as is,
and :func:`import_fsdd` converts it into the folder-per-label layout.
"""
from __future__ import annotations

import csv
import os
import re
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from recognizers.errors import DatasetError

FSDD_NAME = re.compile(r"^(\d)_([A-Za-z0-9\-]+)_(\d+)$")
SC_NAME = re.compile(r"^([0-9a-fA-F]{8})_nohash_\d+$")
RECORDER_NAME = re.compile(r"^(.+?)__.+$")
MAX_FILES = 5_000_000


@dataclass(frozen=True)
class Example:
    path: Path
    label: str
    group: str | None = None


def folder_exists(path: Path) -> bool:
    """``path.is_dir()`` that answers False (instead of raising) for names the file system refuses
    outright: too long, or a component that is not a folder."""
    try:
        return path.is_dir()
    except (OSError, ValueError):
        return False


def group_from_name(stem: str) -> str | None:
    for rx, idx in ((SC_NAME, 1), (FSDD_NAME, 2), (RECORDER_NAME, 1)):
        m = rx.match(stem)
        if m:
            return m.group(idx)
    return None


def _read_csv(path: Path) -> list[dict[str, str]]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            return list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"{path}: unreadable CSV ({exc})") from None


def is_fsdd_flat(folder: Path, extensions: tuple[str, ...]) -> Path | None:
    """The folder holding FSDD-style flat files, or None."""
    for cand in (folder, folder / "recordings"):
        if folder_exists(cand):
            files = [p for p in cand.iterdir() if p.suffix.lower() in extensions and p.is_file()]
            if files and all(FSDD_NAME.match(p.stem) for p in files):
                return cand
    return None


def scan_dataset(folder: str | os.PathLike, extensions: tuple[str, ...], allow_empty: bool = False
                 ) -> list[Example]:
    """List the examples of a dataset folder, sorted by path (deterministic)."""
    folder = Path(folder)
    if not folder_exists(folder):
        raise DatasetError(f"{folder}: no such dataset folder")
    manifest = folder / "manifest.csv"
    if manifest.is_file():
        rows = _read_csv(manifest)
        out = []
        for i, row in enumerate(rows, 2):
            if not row.get("path") or not row.get("label"):
                raise DatasetError(f"{manifest}: line {i} needs 'path' and 'label'")
            if "\x00" in row["path"] or len(row["path"]) > 4000:
                raise DatasetError(f"{manifest}: line {i}: the path holds NUL or is too long")
            try:
                p = (folder / row["path"]).resolve()
            except (OSError, RuntimeError) as exc:     # a symlink loop, a name too long
                raise DatasetError(f"{manifest}: line {i}: unusable path ({type(exc).__name__})") from None
            out.append(Example(p, row["label"], row.get("speaker") or row.get("group") or
                               group_from_name(p.stem)))
        if not out and not allow_empty:
            raise DatasetError(f"{manifest}: lists no examples")
        return sorted(out, key=lambda e: str(e.path))
    flat = is_fsdd_flat(folder, extensions)
    if flat is not None:
        out = []
        for p in sorted(flat.iterdir()):
            m = FSDD_NAME.match(p.stem)
            if m and p.suffix.lower() in extensions:
                out.append(Example(p, m.group(1), m.group(2)))
        return out
    speakers: dict[str, str] = {}
    if (folder / "speakers.csv").is_file():
        for row in _read_csv(folder / "speakers.csv"):
            key = row.get("file") or row.get("path")
            if key and row.get("speaker"):
                speakers[key] = row["speaker"]
    out = []
    for label_dir in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for p in sorted(label_dir.rglob("*")):
            if p.is_file() and p.suffix.lower() in extensions and not p.name.startswith("."):
                rel = p.relative_to(folder).as_posix()
                group = speakers.get(rel) or speakers.get(p.name) or group_from_name(p.stem)
                out.append(Example(p, label_dir.name, group))
                if len(out) > MAX_FILES:
                    raise DatasetError(f"{folder}: more than {MAX_FILES} files")
    if not out and not allow_empty:
        raise DatasetError(f"{folder}: no {'/'.join(extensions)} files in label folders "
                           f"(expected {folder}/<label>/<file>)")
    return out


def summarize(examples: list[Example]) -> dict:
    counts = Counter(e.label for e in examples)
    groups = {e.group for e in examples if e.group is not None}
    return {"n": len(examples), "per_label": dict(sorted(counts.items())), "n_groups": len(groups)}


def group_split(examples: list[Example], val_fraction: float = 0.2, seed: int = 0,
                val_groups: list[str] | None = None) -> tuple[list[Example], list[Example], str]:
    """Split into (train, validation, description) with no group on both sides.

    Examples without a group are their own group. With fewer than 3 groups there is no honest grouped
    split; then every 5th file of each label goes to validation and the description says so.
    """
    import random
    key = [e.group if e.group is not None else f"file:{e.path}" for e in examples]
    if val_groups:
        vs = set(val_groups)
        missing = vs - set(key)
        if missing:
            raise DatasetError(f"validation groups not in the data: {sorted(missing)}")
        train = [e for e, k in zip(examples, key) if k not in vs]
        val = [e for e, k in zip(examples, key) if k in vs]
        return train, val, f"held-out groups {sorted(vs)}"
    groups = sorted(set(key))
    named = {e.group for e in examples if e.group is not None}
    if len(named) >= 3:
        rng = random.Random(seed)
        rng.shuffle(groups)
        target = max(1, int(round(val_fraction * len(examples))))
        sizes = Counter(key)
        chosen, total = set(), 0
        for g in groups:
            if total >= target:
                break
            if total + sizes[g] > 1.5 * target and chosen:
                continue
            chosen.add(g)
            total += sizes[g]
        train = [e for e, k in zip(examples, key) if k not in chosen]
        val = [e for e, k in zip(examples, key) if k in chosen]
        if train and val:
            return train, val, f"grouped by speaker/session: {len(chosen)} of {len(groups)} groups held out"
    by_label: dict[str, list[Example]] = {}
    for e in examples:
        by_label.setdefault(e.label, []).append(e)
    train, val = [], []
    step = max(2, int(round(1 / max(val_fraction, 1e-3))))
    for label, items in by_label.items():
        for j, e in enumerate(items):
            (val if j % step == step - 1 else train).append(e)
    why = (f"only {len(named)} speaker/session group{'s' if len(named) != 1 else ''} ({', '.join(sorted(named))}), "
           f"so the same speakers are on both sides" if named else "no speaker/session ids")
    if len(named) >= 3:
        why = "no grouped split possible"
    return train, val, f"{why}: every {step}th file of each label held out"


def import_fsdd(source: str | os.PathLike, dest: str | os.PathLike) -> int:
    """Copy FSDD's flat ``{digit}_{speaker}_{n}.wav`` files into ``dest/<digit>/`` plus ``speakers.csv``.

    Returns the number of files imported. Existing files in ``dest`` are kept.
    """
    from recognizers.io.paths import check_component, check_output_folder
    from recognizers.io.safe_text import safe_text
    source, dest = Path(source), Path(dest)
    try:
        flat = is_fsdd_flat(source, (".wav",))
    except OSError as exc:
        raise DatasetError(f"{safe_text(source)}: cannot read ({exc.strerror or type(exc).__name__})") from None
    if flat is None:
        raise DatasetError(f"{safe_text(source)}: no FSDD-style files ({{digit}}_{{speaker}}_{{n}}.wav) found")
    check_output_folder(dest, "destination", DatasetError)
    rows = []
    try:
        dest.mkdir(parents=True, exist_ok=True)
        for p in sorted(flat.glob("*.wav")):
            m = FSDD_NAME.match(p.stem)
            if m is None:
                continue
            if not p.is_file():     # a FIFO (would block), a folder or a symlink loop named like a take
                raise DatasetError(f"{safe_text(p)}: not a regular file")
            check_component(p.name, "file name", DatasetError)
            digit, speaker = m.group(1), m.group(2)
            (dest / digit).mkdir(exist_ok=True)
            target = dest / digit / p.name
            if not target.exists():
                tmp = target.with_name("." + target.name + ".tmp")
                shutil.copyfile(p, tmp)
                os.replace(tmp, target)
            rows.append((f"{digit}/{p.name}", speaker))
        existing = {}
        if (dest / "speakers.csv").is_file():
            existing = {r["file"]: r["speaker"] for r in _read_csv(dest / "speakers.csv") if r.get("file")}
        existing.update(dict(rows))
        tmp = dest / ".speakers.csv.tmp"
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["file", "speaker"])
            for k in sorted(existing):
                w.writerow([k, existing[k]])
        os.replace(tmp, dest / "speakers.csv")
    except (OSError, shutil.SpecialFileError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise DatasetError(f"{safe_text(dest)}: cannot import ({why})") from None
    return len(rows)
