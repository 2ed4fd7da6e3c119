"""The shipped Speech Commands model (assets/models/commands-en): the standard 12-class vocabulary loads, shows up in
the app's model picker, and works with eval, predict, trace and transcribe on real Speech Commands clips."""
import csv
import json

import numpy as np
import pytest
import soundfile as sf
from testdata import ASSETS, shared_data

from recognizers.cli.main import main
from recognizers.model_files import load_model

MODEL = ASSETS / "commands-en"
COMMANDS = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"]
LABELS = sorted(COMMANDS + ["_unknown_", "_silence_"])
RATE = 16000


def run_cli(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture(scope="module")
def sc_clips():
    """One clip of each command, two other words and two _silence_ clips from the shared v0.02 set (by label)."""
    root = shared_data("speech_commands_v0.02_test_part")
    with open(root / "files.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    picked: dict[str, list] = {}
    for r in rows:
        lab = r["word"] if r["word"] in COMMANDS or r["word"] == "_silence_" else "_unknown_"
        want = 1 if lab in COMMANDS else 2
        if len(picked.setdefault(lab, [])) < want:
            picked[lab].append(root / r["path"])
    return picked


def test_shipped_commands_model_loads_with_the_12_class_vocabulary():
    m = load_model(MODEL)
    assert sorted(m.labels) == LABELS
    assert m.task == "speech" and m.unknown_label == "_unknown_"
    card = (MODEL / "MODEL_CARD.md").read_text()
    assert "CC BY 4.0" in card and "speaker" in card


def test_commands_model_is_offered_in_the_apps_model_picker():
    from desktop_app.model_catalog import find_models
    assert MODEL in [p.resolve() for p in find_models("speech")]


def test_eval_on_real_clips_with_silence_and_unknown_folders(sc_clips, tmp_path, capsys):
    for lab, paths in sc_clips.items():
        (tmp_path / lab).mkdir()
        for p in paths:
            (tmp_path / lab / p.name).symlink_to(p)
    rc, out, err = run_cli(capsys, "eval", "--model", MODEL, "--data", tmp_path, "--json")
    assert rc == 0, err
    rep = json.loads(out)
    assert rep["n"] == sum(len(v) for v in sc_clips.values())
    # these speakers may have been in training: a sanity floor, not the speaker-disjoint figure (MODEL_CARD.md)
    assert rep["accuracy"] >= 0.5, rep   # chance is 1/12


def test_predict_and_trace_a_real_command(sc_clips, tmp_path, capsys):
    clip = sc_clips["stop"][0]
    rc, out, err = run_cli(capsys, "predict", "--model", MODEL, clip, "--json", "-k", "3")
    assert rc == 0, err
    r = json.loads(out)
    assert r["label"] in LABELS and len(r["top"]) == 3
    npz = tmp_path / "t.npz"
    rc, out, err = run_cli(capsys, "trace", "--model", MODEL, clip, "--out", npz)
    assert rc == 0, err
    z = np.load(npz)
    assert list(z["labels"]) == load_model(MODEL).labels
    # one row per frame of the model's frontend: the whole 1 s clip (12 frames of 80 ms for the speech embedding,
    # 98 of 10 ms for log-mel)
    from recognizers.frontends.registry import offline_features
    from recognizers.io.audio import load_audio
    frames = offline_features(load_model(MODEL).frontend_config, load_audio(clip, RATE)).shape[0]
    assert z["layer0_f"].shape[0] == z["probabilities"].shape[0] == frames >= 10


def test_transcribe_a_stream_of_commands_and_no_words_from_silence(sc_clips, tmp_path, capsys):
    gap = np.zeros(int(0.6 * RATE), dtype=np.float32)
    parts = [gap]
    for word in ("yes", "left", "go"):
        x, rate = sf.read(str(sc_clips[word][0]), dtype="float32")
        assert rate == RATE
        parts += [x, gap]
    stream = tmp_path / "stream.wav"
    sf.write(str(stream), np.concatenate(parts), RATE)
    rc, out, err = run_cli(capsys, "transcribe", "--model", MODEL, stream, "--json")
    assert rc == 0, err
    words = [w["label"] for w in json.loads(out)]
    assert words and set(words) <= set(COMMANDS), words   # never "_silence_" or "_unknown_" as a word
    assert len(words) <= 3
    noise = np.concatenate([sf.read(str(p), dtype="float32")[0] for p in sc_clips["_silence_"]])
    quiet = tmp_path / "background.wav"
    sf.write(str(quiet), noise, RATE)
    rc, out, err = run_cli(capsys, "transcribe", "--model", MODEL, quiet, "--json")
    assert rc == 0, err
    assert all(w["label"] in COMMANDS for w in json.loads(out))
