"""Looking after a folder-per-label dataset: list labels and takes, delete, relabel, import files and folders.

Everything here keeps the dataset valid at every instant: files are moved with ``os.replace`` (atomic on
one file system), written through :func:`recognizers.data.recorder.atomic_path`, and ``manifest.csv`` (when the
dataset has one) is rewritten atomically after the files it lists exist.

Imports: speech takes are converted to 16 kHz mono 16-bit WAV (from WAV/FLAC/OGG/MP3 files recorded
elsewhere); FSDD-style names (``{digit}_{speaker}_{n}.wav``) are labelled by their digit and keep their
speaker as group; a folder-per-label folder is imported label by label. Gestures: landmark ``.npz`` files
(checked by the engine's loader), videos (hands tracked to a landmark ``.npz``), and the public formats of
:mod:`recognizers.data.importers` (arman ``*raw*2hands*.npz``, Kazuhito00 ``keypoint.csv``).
"""
from __future__ import annotations

import os
import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from recognizers.data.datasets import FSDD_NAME, folder_exists, group_from_name, is_fsdd_flat, scan_dataset
from recognizers.data.recorder import (
    DATASET_RATE_HZ,
    RecordingError,
    atomic_path,
    check_label,
    read_manifest,
    write_manifest,
    write_wav_atomic,
)
from recognizers.errors import DatasetError, VaultError
from recognizers.io.audio import load_audio
from recognizers.io.extensions import AUDIO_EXTENSIONS, LANDMARK_EXTENSIONS

GESTURE_EXTENSIONS = LANDMARK_EXTENSIONS
VIDEO_COMPANION = ".mp4"        # a gesture take's optional video, beside its .npz


def task_extensions(task: str) -> tuple[str, ...]:
    return AUDIO_EXTENSIONS if task == "speech" else GESTURE_EXTENSIONS


@dataclass
class TakeInfo:
    path: Path
    label: str
    group: str | None
    duration_s: float | None       # None when the file cannot be read (shown, so it can be deleted)

    @property
    def video_path(self) -> Path | None:
        p = self.path.with_suffix(VIDEO_COMPANION)
        return p if self.path.suffix == ".npz" and p.is_file() else None


@dataclass
class LabelSummary:
    label: str
    n_takes: int = 0
    total_s: float = 0.0
    groups: set[str] = field(default_factory=set)


def take_duration_s(path: Path) -> float | None:
    """Seconds of audio, or frames / fps of a landmark take; None if unreadable."""
    try:
        if path.suffix.lower() == ".npz":
            with np.load(path, allow_pickle=False) as z:
                n = int(z["landmarks"].shape[0])
                fps = float(np.asarray(z["fps"]).reshape(-1)[0]) if "fps" in z.files else 30.0
            return n / fps if fps > 0 else None
        import soundfile as sf
        return float(sf.info(str(path)).duration)
    except Exception:
        return None


def list_takes(root: str | os.PathLike, task: str) -> list[TakeInfo]:
    """Every take of the dataset (what training would read), with durations; [] for a missing folder."""
    root = Path(root)
    if not folder_exists(root):
        return []
    return [TakeInfo(e.path, e.label, e.group, take_duration_s(e.path))
            for e in scan_dataset(root, task_extensions(task), allow_empty=True)]


def label_folders(root: str | os.PathLike) -> list[str]:
    root = Path(root)
    if not folder_exists(root):
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def summarize_labels(root: str | os.PathLike, takes: list[TakeInfo]) -> list[LabelSummary]:
    """One row per label folder (empty ones too) with take counts, total duration and groups."""
    out: dict[str, LabelSummary] = {name: LabelSummary(name) for name in label_folders(root)}
    for t in takes:
        s = out.setdefault(t.label, LabelSummary(t.label))
        s.n_takes += 1
        s.total_s += t.duration_s or 0.0
        if t.group:
            s.groups.add(t.group)
    return [out[k] for k in sorted(out)]


def remove_stale_temp_files(root: str | os.PathLike, min_age_s: float = 0.0) -> int:
    """Delete temporary files left by a crash (".<name>.tmp<ext>" in the dataset and its label folders)
    that are at least ``min_age_s`` old (a write in progress is younger); returns how many."""
    import time
    root = Path(root)
    if not folder_exists(root):
        return 0
    n, now = 0, time.time()
    for folder in [root] + [p for p in root.iterdir() if p.is_dir()]:
        for p in folder.iterdir():
            if p.is_file() and p.name.startswith(".") and ".tmp" in p.name:
                try:
                    if now - p.stat().st_mtime >= min_age_s:
                        p.unlink()
                        n += 1
                except OSError:
                    pass
    return n


# ---------------------------------------------------------------------------------------------------------
# Delete and relabel
def _manifest_edit(root: Path, remove: set[str] = frozenset(), rename: dict[str, tuple[str, str]] | None = None
                   ) -> None:
    manifest = root / "manifest.csv"
    if not manifest.is_file():
        return
    rows = []
    for r in read_manifest(manifest):
        p = r.get("path", "")
        if p in remove:
            continue
        if rename and p in rename:
            r = dict(r, path=rename[p][0], label=rename[p][1])
        rows.append(r)
    write_manifest(manifest, rows)


def _rel(root: Path, path: Path) -> str:
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        raise DatasetError(f"{path} is not inside the dataset {root}") from None


def delete_take(root: str | os.PathLike, path: str | os.PathLike) -> None:
    """Remove a take (and its video) from the dataset."""
    root, path = Path(root), Path(path)
    rel = _rel(root, path)
    _manifest_edit(root, remove={rel})
    for p in (path, path.with_suffix(VIDEO_COMPANION) if path.suffix == ".npz" else None):
        if p is not None and p.exists():
            try:
                p.unlink()
            except OSError as exc:
                raise DatasetError(f"cannot delete {p}: {exc.strerror or exc}") from None


def _free_name(folder: Path, name: str) -> Path:
    target = folder / name
    stem, suffix, k = target.stem, target.suffix, 1
    while target.exists():
        k += 1
        target = folder / f"{stem}-{k}{suffix}"
    return target


def relabel_take(root: str | os.PathLike, path: str | os.PathLike, new_label: str) -> Path:
    """Move a take (and its video) to ``root/<new_label>/``; returns its new path. The name, and so the
    speaker/session group, is kept."""
    root, path = Path(root), Path(path)
    new_label = check_label(new_label)
    folder = root / new_label
    folder.mkdir(parents=True, exist_ok=True)
    target = _free_name(folder, path.name)
    old_rel = _rel(root, path)
    try:
        video = path.with_suffix(VIDEO_COMPANION) if path.suffix == ".npz" else None
        if video is not None and video.is_file():
            os.replace(video, target.with_suffix(VIDEO_COMPANION))
        os.replace(path, target)
    except OSError as exc:
        raise DatasetError(f"cannot move {path.name} to {folder}: {exc.strerror or exc}") from None
    _manifest_edit(root, rename={old_rel: (_rel(root, target), new_label)})
    return target


# ---------------------------------------------------------------------------------------------------------
# Import
@dataclass
class ImportReport:
    imported: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)       # one line per file that was not imported

    def summary(self) -> str:
        s = f"imported {len(self.imported)} take{'s' if len(self.imported) != 1 else ''}"
        if self.skipped:
            s += f"; skipped {len(self.skipped)} (e.g. {self.skipped[0]})"
        return s


def import_paths(root: str | os.PathLike, task: str, paths: list[str | os.PathLike], label: str | None = None,
                 speaker: str | None = None) -> ImportReport:
    """Copy files and folders recorded elsewhere into the dataset (see the module docstring).

    ``label``: for files whose label the name or folder does not give. ``speaker``: group for files whose
    name carries none (the take is named ``<speaker>__<name>``). Existing takes are never overwritten.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    report = ImportReport()
    for p in map(Path, paths):
        try:
            if task == "speech":
                _import_speech(root, p, label, speaker, report)
            else:
                _import_gesture(root, p, label, speaker, report)
        except VaultError as exc:
            report.skipped.append(str(exc))
    return report


def _target_name(stem: str, speaker: str | None, suffix: str) -> str:
    if speaker and group_from_name(stem) is None:
        stem = f"{speaker}__{stem}"
    return stem + suffix


def _labelled_files(p: Path, extensions: tuple[str, ...], label: str | None) -> list[tuple[Path, str | None]]:
    """(file, label) pairs of a file or folder: FSDD names give their digit, label folders their name, and
    ``label`` is used for the files left (None: they are skipped)."""
    if p.is_file():
        m = FSDD_NAME.match(p.stem)
        return [(p, m.group(1) if m else label)]
    if not p.is_dir():
        raise DatasetError(f"{p}: no such file or folder")
    flat = is_fsdd_flat(p, extensions)
    if flat is not None:
        return [(f, FSDD_NAME.match(f.stem).group(1)) for f in sorted(flat.iterdir())
                if f.suffix.lower() in extensions]
    files = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in extensions
                   and not f.name.startswith("."))
    out = [(f, FSDD_NAME.match(f.stem).group(1) if FSDD_NAME.match(f.stem) else label) for f in files]
    for sub in sorted(d for d in p.iterdir() if d.is_dir() and not d.name.startswith(".")):
        out += [(f, sub.name) for f in sorted(sub.rglob("*")) if f.is_file() and f.suffix.lower() in extensions
                and not f.name.startswith(".")]
    if not out:
        raise DatasetError(f"{p}: no {'/'.join(extensions)} files here or in label folders")
    return out


def _import_speech(root: Path, p: Path, label: str | None, speaker: str | None, report: ImportReport) -> None:
    for f, lab in _labelled_files(p, AUDIO_EXTENSIONS, label):
        if lab is None:
            report.skipped.append(f"{f.name}: no label (choose one, or use label folders / FSDD names)")
            continue
        try:
            x = load_audio(f, DATASET_RATE_HZ)
            folder = root / check_label(lab)
            folder.mkdir(parents=True, exist_ok=True)
            target = _free_name(folder, _target_name(f.stem, speaker, ".wav"))
            write_wav_atomic(target, x, DATASET_RATE_HZ)
            _add_rows(root, [(target, lab, speaker or group_from_name(f.stem) or "")])
            report.imported.append(target)
        except (VaultError, OSError) as exc:
            report.skipped.append(str(exc))


def _add_rows(root: Path, rows: list[tuple[Path, str, str]]) -> None:
    manifest = root / "manifest.csv"
    if not manifest.is_file():
        return
    existing = read_manifest(manifest)
    have = {r.get("path") for r in existing}
    for path, label, group in rows:
        rel = _rel(root, path)
        if rel not in have:
            existing.append({"path": rel, "label": label, "group": group})
    write_manifest(manifest, existing)


def _gesture_format(p: Path) -> str | None:
    if p.is_dir():
        if (p / "keypoint.csv").is_file():
            return "kazuhito"
        if any(p.glob("*raw*2hands*.npz")):
            return "arman"
        return None
    if p.name == "keypoint.csv":
        return "kazuhito"
    if p.suffix == ".npz":
        try:
            with np.load(p, allow_pickle=False) as z:
                if {"X", "y", "seq_id"} <= set(z.files):
                    return "arman"
        except Exception:
            return None
    return None


def _manifest_from_scan(root: Path) -> None:
    """Before an importer writes a manifest, list the takes already there in it (else they would vanish)."""
    if (root / "manifest.csv").is_file():
        return
    takes = scan_dataset(root, GESTURE_EXTENSIONS, allow_empty=True)
    if takes:
        write_manifest(root / "manifest.csv", [{"path": _rel(root, e.path), "label": e.label,
                                                "group": e.group or ""} for e in takes])


def _import_gesture(root: Path, p: Path, label: str | None, speaker: str | None, report: ImportReport) -> None:
    from recognizers.data.importers import copy_license, import_gestures
    from recognizers.data.landmark_files import load_landmark_file, track_video
    from recognizers.io.extensions import VIDEO_EXTENSIONS
    fmt = _gesture_format(p)
    if fmt is not None:
        _manifest_from_scan(root)
        before = {e.path for e in scan_dataset(root, GESTURE_EXTENSIONS, allow_empty=True)}
        import_gestures(fmt, p, root)
        copy_license(p, root)
        report.imported += [e.path for e in scan_dataset(root, GESTURE_EXTENSIONS, allow_empty=True)
                            if e.path not in before]
        return
    if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS:
        pairs = [(p, label)]
    else:
        pairs = _labelled_files(p, GESTURE_EXTENSIONS + VIDEO_EXTENSIONS, label)
    for f, lab in pairs:
        if lab is None:
            report.skipped.append(f"{f.name}: no label (choose one, or use label folders)")
            continue
        try:
            folder = root / check_label(lab)
            folder.mkdir(parents=True, exist_ok=True)
            target = _free_name(folder, _target_name(f.stem, speaker, ".npz"))
            if f.suffix.lower() == ".npz":
                load_landmark_file(f)                 # refuse damaged or pickled files before copying
                with atomic_path(target) as tmp:
                    shutil.copyfile(f, tmp)
            else:
                frames, fps = track_video(f)
                from recognizers.data.recorder import write_landmarks_atomic
                write_landmarks_atomic(target, frames, fps)
            _add_rows(root, [(target, lab, speaker or group_from_name(f.stem) or "")])
            report.imported.append(target)
        except (VaultError, OSError) as exc:
            report.skipped.append(str(exc))


def count_by_label(takes: list[TakeInfo]) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for t in takes:
        out[t.label] += 1
    return dict(out)


__all__ = ["TakeInfo", "LabelSummary", "ImportReport", "list_takes", "summarize_labels", "label_folders",
           "delete_take", "relabel_take", "import_paths", "remove_stale_temp_files", "take_duration_s",
           "count_by_label", "RecordingError"]
