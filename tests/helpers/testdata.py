"""Shared test data: paths, the shared-data skip, synthetic speech, a tiny trained model.

The fixtures are re-exported by tests/conftest.py."""
import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[2]
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


# ---------------------------------------------------------------------------------------------------------
# Synthetic speech data and a tiny trained model (engine tests: CLI, eval, predict, trace)
# ---------------------------------------------------------------------------------------------------------
import numpy as np  # noqa: E402

SYNTH_LABELS = ("up", "down", "buzz")
SYNTH_SPEAKERS = ("ann", "bob", "cat", "dan")
SYNTH_PITCH_HZ = {"ann": 210.0, "bob": 110.0, "cat": 170.0, "dan": 140.0}
SYNTH_PER_LABEL_PER_SPEAKER = 12
SYNTH_RATE_HZ = 16000
TINY_TRAIN_ARGS = ("--epochs", "4", "--hidden", "16", "--layers", "2", "--seed", "3", "--threads", "1")


def synth_word(label: str, speaker: str, rng: np.random.Generator, rate: int = SYNTH_RATE_HZ) -> np.ndarray:
    """A 0.3-0.5 s 'word': a harmonic voice at the speaker's pitch through label-specific formants.

    ``up`` has a formant gliding 500 -> 2500 Hz, ``down`` the reverse, ``buzz`` two steady formants with a
    4 Hz tremolo; speakers differ in pitch (and a little in formant scale)."""
    dur = rng.uniform(0.3, 0.5)
    n = int(dur * rate)
    t = np.arange(n) / rate
    f0 = SYNTH_PITCH_HZ[speaker] * rng.uniform(0.95, 1.05)
    scale = {"ann": 1.1, "bob": 0.9, "cat": 1.05, "dan": 0.95}[speaker]
    if label == "up":
        formants = [(500 + 2000 * t / dur) * scale]
    elif label == "down":
        formants = [(2500 - 2000 * t / dur) * scale]
    else:
        formants = [np.full(n, 700.0 * scale), np.full(n, 1800.0 * scale)]
    x = np.zeros(n)
    for k in range(1, int(3800 // f0)):
        fk = k * f0
        amp = sum(np.exp(-((fk - fm) / 250.0) ** 2) for fm in formants) + 0.02
        x += amp * np.sin(2 * np.pi * fk * t + rng.uniform(0, 2 * np.pi))
    if label == "buzz":
        x *= 0.6 + 0.4 * np.sin(2 * np.pi * 4 * t)
    x *= np.hanning(n) ** 0.5
    x += 0.003 * rng.standard_normal(n)
    return (0.5 * x / np.max(np.abs(x))).astype(np.float32)


def write_wav(path: Path, samples: np.ndarray, rate: int = SYNTH_RATE_HZ, subtype: str = "PCM_16") -> Path:
    import soundfile as sf
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), samples, rate, subtype=subtype)
    return path


def make_synth_dataset(folder: Path, per_speaker: int = SYNTH_PER_LABEL_PER_SPEAKER, seed: int = 0) -> Path:
    """``folder/<label>/<speaker>__<n>.wav`` (the recorder's naming, so speakers are the groups)."""
    rng = np.random.default_rng(seed)
    for label in SYNTH_LABELS:
        for speaker in SYNTH_SPEAKERS:
            for n in range(per_speaker):
                write_wav(folder / label / f"{speaker}__{n:02d}.wav", synth_word(label, speaker, rng))
    return folder


@pytest.fixture(scope="session")
def synth_speech_dir(tmp_path_factory) -> Path:
    return make_synth_dataset(tmp_path_factory.mktemp("synth") / "data")


@pytest.fixture(scope="session")
def tiny_speech_model(synth_speech_dir, tmp_path_factory) -> Path:
    """A model folder trained in-process by ``lstm-vault train`` on the synthetic words (a few seconds)."""
    from recognizers.cli.main import main
    out = tmp_path_factory.mktemp("models") / "tiny"
    rc = main(["train", "--task", "speech", "--data", str(synth_speech_dir), "--out", str(out),
               *TINY_TRAIN_ARGS])
    assert rc == 0, "training the tiny test model failed"
    return out


@pytest.fixture(scope="module")
def one_torch_thread():
    """Streaming pushes are tiny: on a loaded 2-core machine extra torch threads only spin and wait.
    Use with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    import torch
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
