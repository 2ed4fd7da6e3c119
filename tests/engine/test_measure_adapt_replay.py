"""scripts/measure_adapt.py --replay: the replay set never holds the adapted speaker's clips (a LOSO base model
never heard them, and they would leak the test takes), and --replay-n draws a fixed subset."""
import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import measure_adapt  # noqa: E402


def _dataset(root: Path) -> Path:
    rows = ["path,label,speaker"]
    for spk in ("jackson", "theo"):
        for d in range(3):
            for k in range(4):
                rel = f"{d}/fsdd_{d}_{spk}_{k}.wav"
                (root / str(d)).mkdir(parents=True, exist_ok=True)
                (root / rel).write_bytes(b"RIFF")
                rows.append(f"{rel},{d},fsdd-{spk}")
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")
    return root


def test_replay_leaves_out_the_adapted_speaker(tmp_path):
    data = _dataset(tmp_path / "data")
    args = argparse.Namespace(replay=str(data), replay_n=0)
    out = measure_adapt.replay_folder(args, "jackson", tmp_path / "work")
    files = sorted(p.name for p in out.rglob("*.wav"))
    assert len(files) == 12 and not any("jackson" in f for f in files)
    assert {p.parent.name for p in out.rglob("*.wav")} == {"0", "1", "2"}


def test_replay_subset_is_fixed(tmp_path):
    data = _dataset(tmp_path / "data")
    args = argparse.Namespace(replay=str(data), replay_n=5)
    a = measure_adapt.replay_folder(args, "theo", tmp_path / "w1")
    b = measure_adapt.replay_folder(args, "theo", tmp_path / "w2")
    names = sorted(p.name for p in a.rglob("*.wav"))
    assert len(names) == 5 and names == sorted(p.name for p in b.rglob("*.wav"))
    assert all("jackson" in n for n in names)
