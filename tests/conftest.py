import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("LSTM_VAULT_SHARED_DATA", REPO.parent / "shared" / "data"))
ASSETS = REPO / "assets" / "models"


def shared_data(name: str) -> Path:
    """Path of a folder in ../shared/data, or skip the test with a clear reason."""
    p = SHARED_DATA / name
    if not p.exists():
        pytest.skip(f"shared data folder {p} is absent (tests that need real data skip here)")
    return p


@pytest.fixture
def fsdd_dir() -> Path:
    return shared_data("fsdd")
