"""Importers: public hand-landmark data sets -> the gesture dataset layout (``DATA/<label>/<name>.npz``).

Every importer writes ``DATA/manifest.csv`` (``path,label,group``) whose groups are blocks of
*consecutively recorded* sequences, so :func:`recognizers.data.datasets.group_split` validates on whole
recording blocks. With ``holdout_fraction`` > 0, whole blocks of every label spread over the recording
session go to a separate test folder instead (a held-out test set that neither training nor early
stopping sees).

* ``arman`` (Arman10121995, Dynamic-Hand-gesture-Recognition-Mediapipe-LSTM, MIT): ``dhgr6_raw_2hands``
  holds raw MediaPipe Holistic landmarks of both hands in the author's mirrored camera image. Holistic's
  ``left_hand`` block is the hand on the *right* of that image (x ~ 0.55 vs 0.40 for the other block),
  i.e. the person's right hand, which MediaPipe Hands labels "Right" on the same image; so it goes to
  our right slot, and the ``right_hand`` block to the left slot. Missing hands (63 zeros) become NaN.
  The ``pp_1hand`` files are wrist-relative pixel offsets divided by the frame's largest value: shape is
  kept (re-placed at the image centre at a typical hand size, one hand, slot right) but the wrist motion
  is lost, so they suit static-shape models only.
* ``kazuhito`` (Kazuhito00/hand-gesture-recognition-using-mediapipe, Apache-2.0): ``keypoint.csv`` rows
  are single frames of static signs, logged every frame while a key was held, so consecutive rows of a
  label are consecutive frames; every ``frames`` consecutive rows become one sequence (re-placed like
  the arman pp data, no z). ``point_history.csv`` holds only the index fingertip, not a hand, and is
  refused.
"""
from __future__ import annotations

import csv
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np

from recognizers.errors import DatasetError
from recognizers.frontends.hand_tracking import N_LANDMARKS
from recognizers.io.paths import check_component, check_output_folder
from recognizers.io.safe_text import safe_text

FORMATS = ("arman", "kazuhito")
HAND_PX = 150.0          # hand size used to re-place wrist-relative pixel data, in pixels
MAX_SEQUENCES = 1_000_000        # more rows than any published landmark set: a damaged or hostile file
MAX_LABEL_LINES = 10_000


def _prepare_dest(dest: Path) -> None:
    """Create the destination folder, or a one-line DatasetError (a file is there, a name too long...)."""
    check_output_folder(dest, "destination", DatasetError)
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatasetError(f"destination {safe_text(dest)}: cannot create it "
                           f"({exc.strerror or type(exc).__name__})") from None


def _write_dataset(items: list[tuple[str, str, str, np.ndarray]], dest: Path,
                   fps: float | None = None) -> int:
    """``items``: (label, name, group, landmarks). Writes files and a manifest (merged with one there).

    Every label is checked to be one plain folder name first (:func:`check_component`), so nothing is written
    outside ``dest``; the manifest is written after the files it lists."""
    for label, name, _group, _lm in items:
        check_component(label, "label", DatasetError)
        check_component(name, "file name", DatasetError)
    _prepare_dest(dest)
    rows = {}
    manifest = dest / "manifest.csv"
    try:
        if manifest.is_file():
            with open(manifest, newline="", encoding="utf-8-sig") as f:
                rows = {r["path"]: r for r in csv.DictReader(f) if r.get("path")}
        for label, name, group, lm in items:
            (dest / label).mkdir(exist_ok=True)
            rel = f"{label}/{name}.npz"
            tmp = dest / label / f".{name}.tmp.npz"
            extra = {"fps": np.float32(fps)} if fps else {}
            np.savez_compressed(tmp, landmarks=lm.astype(np.float32), **extra)
            os.replace(tmp, dest / rel)
            rows[rel] = {"path": rel, "label": label, "group": group}
        tmp = dest / ".manifest.csv.tmp"
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=["path", "label", "group"])
            w.writeheader()
            for k in sorted(rows):
                w.writerow({"path": rows[k]["path"], "label": rows[k]["label"],
                            "group": rows[k].get("group", "")})
        os.replace(tmp, manifest)
    except (OSError, UnicodeDecodeError, csv.Error, KeyError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise DatasetError(f"{safe_text(dest)}: cannot write the imported data ({why})") from None
    return len(items)


def _replace_relative(offsets: np.ndarray, width: float, height: float) -> np.ndarray:
    """Wrist-relative, max-normalised pixel offsets ``(..., 21, 2 or 3)`` -> normalised image coordinates
    of a hand of about ``HAND_PX`` pixels at the image centre."""
    out = np.zeros(offsets.shape[:-1] + (3,), np.float32)
    out[..., 0] = 0.5 + offsets[..., 0] * HAND_PX / width
    out[..., 1] = 0.5 + offsets[..., 1] * HAND_PX / height
    if offsets.shape[-1] == 3:
        out[..., 2] = offsets[..., 2] * HAND_PX / width
    return out


def _recording_blocks(order_keys: list[int], holdout_fraction: float, block: int
                      ) -> tuple[list[int], set[int]]:
    """Cut one label's sequences, in recording order, into blocks of ``block`` consecutive ones; return
    each sequence's block number and the indices held out: every ``round(1 / fraction)``-th block, so the
    held-out part spans the whole session (the arman author changed how he performed turn_left late in
    the session; holding out only the last recordings would test that change, not generalisation)."""
    n = len(order_keys)
    rank = {j: r for r, j in enumerate(sorted(range(n), key=lambda j: order_keys[j]))}
    blocks = [rank[j] // block for j in range(n)]
    if holdout_fraction <= 0 or n < 2:
        return blocks, set()
    step = max(2, int(round(1 / holdout_fraction)))
    held = {j for j in range(n) if blocks[j] % step == step // 2}
    if len(held) == n:
        held = set()
    return blocks, held


def _arman_files(source: Path) -> list[Path]:
    if source.is_file():
        return [source]
    if source.is_dir():
        files = sorted(p for p in source.glob("*raw*2hands*.npz") if p.is_file())   # no FIFOs
        if files:
            return files
        raise DatasetError(f"{source}: no arman raw two-hand file (dhgr6_raw_2hands.npz); give a pp file "
                           f"explicitly to import the pre-processed one-hand data")
    raise DatasetError(f"{source}: no such file or folder")


def import_arman(source: str | os.PathLike, dest: str | os.PathLike, holdout_fraction: float = 0.0,
                 holdout_dest: str | os.PathLike | None = None, block: int = 3) -> tuple[int, int]:
    """Import the arman dynamic-gesture data; returns (files written to ``dest``, to ``holdout_dest``).

    Groups are blocks of ``block`` consecutively recorded sequences per label; the held-out part is every
    ``round(1 / holdout_fraction)``-th block of every label (see :func:`_recording_blocks`).
    """
    source, dest = Path(source), Path(dest)
    if holdout_fraction and holdout_dest is None:
        raise DatasetError("a held-out fraction needs a folder to write the held-out sequences to")
    if not 0 <= holdout_fraction < 1:
        raise DatasetError(f"held-out fraction {holdout_fraction} is outside [0, 1)")
    train_items, test_items = [], []
    for path in _arman_files(source):
        try:
            with np.load(path, allow_pickle=False) as z:
                X, y, seq = z["X"], z["y"], z["seq_id"]
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            raise DatasetError(f"{path}: not an arman landmark archive (X, y, seq_id) ({exc})") from None
        if X.ndim != 3 or X.shape[2] < 126 or y.ndim != 1 or seq.ndim != 1 or len(y) != X.shape[0] \
                or len(seq) != X.shape[0]:
            raise DatasetError(f"{safe_text(path)}: unexpected arman array shapes X{X.shape} y{y.shape}")
        if X.shape[0] > MAX_SEQUENCES or X.dtype.kind not in "fiu" or seq.dtype.kind not in "iuf" \
                or y.dtype.kind not in "UiuS":
            raise DatasetError(f"{safe_text(path)}: X, y, seq_id of types {X.dtype}, {y.dtype}, {seq.dtype}: "
                               f"expected numbers, labels and whole-number sequence ids")
        if seq.dtype.kind == "f" and not (np.all(np.isfinite(seq)) and np.all(seq == np.round(seq))):
            raise DatasetError(f"{safe_text(path)}: seq_id holds NaN, infinite or fractional values")
        if np.any(np.abs(seq.astype(np.float64)) > 1e12):
            raise DatasetError(f"{safe_text(path)}: seq_id values out of range")
        if not np.all(np.isfinite(X)) or np.any(np.abs(X) > 1e6):
            raise DatasetError(f"{safe_text(path)}: landmarks hold NaN, infinite or absurdly large values")
        if y.dtype.kind == "S":
            try:
                y = np.char.decode(y, "utf-8")
            except UnicodeDecodeError:
                raise DatasetError(f"{safe_text(path)}: labels in y are not UTF-8 text") from None
        y = np.asarray([str(v) for v in y.tolist()])
        for label in sorted(set(y.tolist())):
            check_component(label, f"{safe_text(path)}: label", DatasetError)
        two_hands = bool(np.any(X[..., 63:126] != 0))
        tag = path.stem.split("_")[0]
        for label in sorted(set(y.tolist())):
            idx = np.flatnonzero(y == label)
            blocks, held = _recording_blocks([int(seq[j]) for j in idx], holdout_fraction, block)
            for k, j in enumerate(idx):
                x = X[j].astype(np.float32)
                if two_hands:
                    holistic = x[:, :126].reshape(-1, 2, N_LANDMARKS, 3)
                    lm = holistic[:, ::-1].copy()   # Holistic left block = the person's right hand
                    absent = np.all(lm == 0, axis=(2, 3))
                    lm[absent] = np.nan
                else:
                    lm = _replace_relative(x[:, :63].reshape(-1, N_LANDMARKS, 3), 1080.0, 720.0)
                    absent = np.all(x[:, :63] == 0, axis=1)
                    lm[absent] = np.nan
                name = f"{tag}_s{int(seq[j]):03d}"
                group = f"{tag}-{label}-b{blocks[k]}"
                (test_items if k in held else train_items).append((str(label), name, group, lm))
    n = _write_dataset(train_items, dest)
    m = _write_dataset(test_items, Path(holdout_dest)) if test_items else 0
    return n, m


def _read_kazuhito_labels(path: Path) -> list[str]:
    try:
        if path.stat().st_size > 1_000_000:
            raise DatasetError(f"{safe_text(path)}: too large to be a label list")
        with open(path, encoding="utf-8-sig") as f:
            names = [line.strip() for line in f if line.strip()]
    except UnicodeDecodeError:
        raise DatasetError(f"{safe_text(path)}: not UTF-8 text") from None
    except OSError as exc:
        raise DatasetError(f"{safe_text(path)}: unreadable ({exc.strerror or type(exc).__name__})") from None
    if len(names) > MAX_LABEL_LINES:
        raise DatasetError(f"{safe_text(path)}: {len(names)} labels, more than {MAX_LABEL_LINES}")
    return names


def import_kazuhito(source: str | os.PathLike, dest: str | os.PathLike, holdout_fraction: float = 0.0,
                    holdout_dest: str | os.PathLike | None = None, frames: int = 16,
                    sequences_per_group: int = 8) -> tuple[int, int]:
    """Import Kazuhito00's ``keypoint.csv`` static signs as short one-hand sequences (see module doc)."""
    source, dest = Path(source), Path(dest)
    folder = source if source.is_dir() else source.parent
    csv_path = folder / "keypoint.csv"
    if source.is_file() and source.name == "point_history.csv":
        raise DatasetError(f"{source}: holds only index-fingertip trajectories, not the 21 hand landmarks "
                           f"a gesture model needs; import keypoint.csv instead")
    if not csv_path.is_file():
        raise DatasetError(f"{folder}: no keypoint.csv (Kazuhito00 hand-gesture data)")
    if holdout_fraction and holdout_dest is None:
        raise DatasetError("a held-out fraction needs a folder to write the held-out sequences to")
    names_path = folder / "keypoint_classifier_label.csv"
    names = _read_kazuhito_labels(names_path) if names_path.is_file() else []
    rows: dict[int, list[np.ndarray]] = {}
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as f:
            for i, row in enumerate(csv.reader(f), 1):
                if not row:
                    continue
                if len(row) != 1 + 2 * N_LANDMARKS:
                    raise DatasetError(f"{csv_path}: line {i} has {len(row)} columns, expected 43")
                cls = int(row[0])
                if not 0 <= cls <= MAX_LABEL_LINES:
                    raise DatasetError(f"{csv_path}: line {i}: class {cls} out of range 0..{MAX_LABEL_LINES}")
                pts = np.asarray(row[1:], np.float32).reshape(N_LANDMARKS, 2)
                if not np.all(np.isfinite(pts)) or np.any(np.abs(pts) > 1e6):
                    raise DatasetError(f"{csv_path}: line {i}: NaN, infinite or absurdly large values")
                rows.setdefault(cls, []).append(pts)
    except (ValueError, UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"{safe_text(csv_path)}: unreadable ({safe_text(str(exc)[:120])})") from None
    except OSError as exc:
        raise DatasetError(f"{safe_text(csv_path)}: unreadable ({exc.strerror or type(exc).__name__})") from None
    train_items, test_items = [], []
    for cls, pts in sorted(rows.items()):
        label = names[cls] if cls < len(names) else f"class{cls}"
        label = check_component(label.replace(" ", "_").replace("/", "_").lower(), f"{safe_text(names_path)}: label",
                                DatasetError)
        seqs = [np.stack(pts[s:s + frames]) for s in range(0, len(pts) - frames + 1, frames)]
        blocks, held = _recording_blocks(list(range(len(seqs))), holdout_fraction, sequences_per_group)
        for k, s in enumerate(seqs):
            lm = _replace_relative(s, 960.0, 540.0)
            group = f"kazuhito-{label}-b{blocks[k]}"
            (test_items if k in held else train_items).append((label, f"kazuhito_{k:04d}", group, lm))
    n = _write_dataset(train_items, dest)
    m = _write_dataset(test_items, Path(holdout_dest)) if test_items else 0
    return n, m


def import_gestures(fmt: str, source: str | os.PathLike, dest: str | os.PathLike,
                    holdout_fraction: float = 0.0, holdout_dest: str | os.PathLike | None = None
                    ) -> tuple[int, int]:
    if fmt == "arman":
        return import_arman(source, dest, holdout_fraction, holdout_dest)
    if fmt == "kazuhito":
        return import_kazuhito(source, dest, holdout_fraction, holdout_dest)
    raise DatasetError(f"unknown gesture data format {fmt!r} (known: {', '.join(FORMATS)})")


def copy_license(source: str | os.PathLike, dest: str | os.PathLike) -> None:
    """Keep the data's LICENSE next to the imported copy."""
    src = Path(source)
    lic = (src if src.is_dir() else src.parent) / "LICENSE"
    if lic.is_file():
        shutil.copyfile(lic, Path(dest) / "LICENSE")
