"""Finding model folders: the shipped defaults in ``assets/models`` and any the user loaded before."""
from __future__ import annotations

from pathlib import Path

from recognizers.errors import VaultError
from recognizers.model_files import read_meta

SHIPPED_MODELS = Path(__file__).resolve().parents[1] / "assets" / "models"
PREFERRED = {"speech": "digits-en", "gesture": "gestures-arman6"}


def find_models(task: str, roots: list[Path] | None = None) -> list[Path]:
    """Model folders under ``roots`` (default: the shipped models) whose ``model.json`` is for ``task``."""
    found = []
    for root in roots or [SHIPPED_MODELS]:
        for meta in sorted(Path(root).glob("*/model.json")):
            try:
                if read_meta(meta.parent).get("task") == task:
                    found.append(meta.parent)
            except VaultError:
                continue    # a broken folder is not offered; loading it by hand shows why
    preferred = PREFERRED.get(task)
    found.sort(key=lambda p: (p.name != preferred, p.name))
    return found


def default_model(task: str, roots: list[Path] | None = None) -> Path | None:
    models = find_models(task, roots)
    return models[0] if models else None
