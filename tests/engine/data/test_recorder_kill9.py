"""Recording survives ``kill -9`` at any moment (issue 8): a subprocess records speech and gesture takes in a
loop and is killed at random moments, several times into the same dataset; after each kill the dataset
scans cleanly, every take seen before still loads unchanged, and no temporary file is taken for a take."""
from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time

import soundfile as sf
from test_recorder import KILL_SCRIPT, REPO

from recognizers.data.datasets import scan_dataset
from recognizers.data.landmark_files import load_landmark_file


def _digest(p) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_random_kills_never_damage_earlier_takes(tmp_path):
    root = tmp_path / "data"
    script = tmp_path / "writer.py"
    script.write_text(KILL_SCRIPT.format(repo=str(REPO)))
    rng = random.Random(8)
    seen: dict = {}
    for trial in range(4):
        proc = subprocess.Popen([sys.executable, str(script), str(root)], stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline(), "the writer process died"       # one complete round first
        time.sleep(rng.uniform(0.0, 0.8))                               # then anywhere in the next writes
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        wavs, npzs = scan_dataset(root, (".wav",)), scan_dataset(root, (".npz",))
        for e in wavs + npzs:
            assert not e.path.name.startswith(".") and ".tmp" not in e.path.name, e.path
        for e in wavs:
            info = sf.info(str(e.path))
            assert info.frames == 16000 * 5 or info.frames > 0 and sf.read(str(e.path))[0].size == info.frames
        for e in npzs:
            assert load_landmark_file(e.path).shape[0] == 3000
        for path, digest in seen.items():                               # earlier takes: intact, unchanged
            assert path.exists() and _digest(path) == digest, (trial, path)
        seen.update({e.path: _digest(e.path) for e in wavs + npzs})
    assert len(seen) >= 8
