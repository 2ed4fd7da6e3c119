"""``lstm-vault`` speech commands end to end on a tiny synthetic dataset: train, eval, predict, trace,
reproducibility, interruption, and bad input (exit 2 with one line on stderr, never a traceback)."""
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from testdata import REPO, SYNTH_LABELS, TINY_TRAIN_ARGS, write_wav

from recognizers.cli.main import main
from recognizers.errors import VaultError
from recognizers.model_files import UNKNOWN_LABEL, WEIGHTS, load_model
from recognizers.recognizer import Recognizer, load_input

RATE = 16000


def run_cli(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def assert_user_error(rc, err, command):
    assert rc == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"lstm-vault {command}: error: "), err


def _wav_header(n_data_bytes, rate=RATE, channels=1):
    return (b"RIFF" + struct.pack("<I", 36 + n_data_bytes) + b"WAVEfmt " +
            struct.pack("<IHHIIHH", 16, 1, channels, rate, rate * 2 * channels, 2 * channels, 16) + b"data" +
            struct.pack("<I", n_data_bytes))


def _word(synth_dir, label="up", n=0, speaker="ann"):
    import soundfile as sf
    x, rate = sf.read(str(synth_dir / label / f"{speaker}__{n:02d}.wav"), dtype="float32")
    assert rate == RATE
    return x


# --- train ----------------------------------------------------------------------------------------------

def test_train_writes_a_valid_model_folder(tiny_speech_model, synth_speech_dir):
    assert sorted(p.name for p in tiny_speech_model.iterdir()) == ["model.json", "model.safetensors"]
    assert not [p for p in tiny_speech_model.parent.iterdir() if p.name.startswith(".")]
    m = load_model(tiny_speech_model, task="speech")
    assert m.labels == sorted([*SYNTH_LABELS, UNKNOWN_LABEL]) and m.unknown_label == UNKNOWN_LABEL
    assert m.network.arch.hidden_size == 16 and m.network.arch.num_layers == 2
    assert m.frontend_config["type"] == "logmel" and m.network.arch.input_size == m.frontend_config["n_mels"]
    t = m.meta["training"]
    n_files = len(list(synth_speech_dir.rglob("*.wav")))
    assert t["n_train"] + t["n_validation"] == n_files and t["data_summary"]["n"] == n_files
    assert t["data_summary"]["n_groups"] == 4 and "grouped by speaker" in t["split"]
    assert t["epochs_run"] == 4 and len(t["history"]) == 4
    assert 0 <= m.meta["metrics"]["validation_accuracy"] <= 1


def test_same_seed_gives_identical_weights(tiny_speech_model, synth_speech_dir, tmp_path, capsys):
    rc, _, _ = run_cli(capsys, "train", "--task", "speech", "--data", synth_speech_dir, "--out", tmp_path / "again",
                       *TINY_TRAIN_ARGS)
    assert rc == 0
    from safetensors.torch import load_file
    a, b = load_file(str(tiny_speech_model / WEIGHTS)), load_file(str(tmp_path / "again" / WEIGHTS))
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    ma, mb = load_model(tiny_speech_model), load_model(tmp_path / "again")
    assert ma.meta["normalization"] == mb.meta["normalization"]


def test_validation_negatives_are_distinct_clips(synth_speech_dir):
    from recognizers.data.speech import SpeechTaskData
    from recognizers.training.loop import TrainConfig, train
    made = []

    class Recording(SpeechTaskData):
        def synthetic_negative(self, rng):
            x = super().synthetic_negative(rng)
            made.append(x)
            return x
    res = train(Recording(), synth_speech_dir, None,
                TrainConfig(epochs=1, hidden_size=8, num_layers=1, threads=1, negatives=0.3))
    assert res.model_dir is None and res.epochs_run == 1
    from recognizers.data.datasets import group_split, scan_dataset
    _, val_ex, _ = group_split(scan_dataset(synth_speech_dir, (".wav",)), 0.2, 0)
    n_val_neg = int(round(0.3 * len(val_ex)))
    assert n_val_neg >= 3
    val_negs = made[-n_val_neg:]
    assert len({x.tobytes() for x in val_negs}) == len(val_negs)


def test_interrupted_training_leaves_nothing(synth_speech_dir, tmp_path, capsys, monkeypatch):
    from recognizers.training import loop as train_mod

    def interrupt(self, report):
        raise KeyboardInterrupt
    monkeypatch.setattr(train_mod.TerminalProgress, "epoch", interrupt)
    out = tmp_path / "models" / "m"
    rc, _, err = run_cli(capsys, "train", "--task", "speech", "--data", synth_speech_dir, "--out", out,
                         *TINY_TRAIN_ARGS)
    assert rc == 130 and "interrupted" in err and "Traceback" not in err
    assert not out.exists()
    assert not (tmp_path / "models").exists() or not any((tmp_path / "models").iterdir())


def test_interrupt_while_saving_leaves_nothing(synth_speech_dir, tmp_path, capsys, monkeypatch):
    import safetensors.torch as st
    real = st.save_file

    def save_then_interrupt(*a, **k):
        real(*a, **k)
        raise KeyboardInterrupt
    monkeypatch.setattr(st, "save_file", save_then_interrupt)
    out = tmp_path / "m"
    rc, _, err = run_cli(capsys, "train", "--task", "speech", "--data", synth_speech_dir, "--out", out,
                         "--epochs", "1", "--hidden", "8", "--layers", "1", "--threads", "1")
    assert rc == 130
    assert list(tmp_path.iterdir()) == []


def _cli_subprocess(*argv, **kw):
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    # SIGINT at its default in the child: a test run started in the background by a non-interactive shell
    # inherits SIGINT ignored, and Python then never turns Ctrl+C into KeyboardInterrupt
    return subprocess.Popen([sys.executable, "-m", "recognizers", *map(str, argv)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL), **kw)


def test_sigint_mid_training_subprocess_leaves_no_model(synth_speech_dir, tmp_path):
    out = tmp_path / "m"
    p = _cli_subprocess("train", "--task", "speech", "--data", synth_speech_dir, "--out", out,
                        "--epochs", "500", "--patience", "500", "--hidden", "16", "--threads", "1")
    lines = []
    deadline = time.time() + 90
    while time.time() < deadline:
        line = p.stderr.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("epoch"):
            break
    assert any(x.startswith("epoch") for x in lines), "".join(lines)
    p.send_signal(signal.SIGINT)
    _, rest = p.communicate(timeout=60)
    err = "".join(lines) + rest
    assert p.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
@pytest.mark.parametrize("command", ["train", "eval"])
def test_device_cuda_without_gpu_is_a_clear_error(command, tiny_speech_model, synth_speech_dir, tmp_path,
                                                  capsys):
    argv = (["train", "--task", "speech", "--out", tmp_path / "m"] if command == "train"
            else ["eval", "--model", tiny_speech_model])
    rc, _, err = run_cli(capsys, *argv, "--data", synth_speech_dir, "--device", "cuda")
    assert_user_error(rc, err, command)
    assert "no CUDA GPU" in err
    assert not (tmp_path / "m").exists()


def test_train_on_missing_or_empty_data(tmp_path, capsys):
    rc, _, err = run_cli(capsys, "train", "--task", "speech", "--data", tmp_path / "nope", "--out", tmp_path / "m")
    assert_user_error(rc, err, "train")
    (tmp_path / "empty").mkdir()
    rc, _, err = run_cli(capsys, "train", "--task", "speech", "--data", tmp_path / "empty", "--out", tmp_path / "m")
    assert_user_error(rc, err, "train")
    assert not (tmp_path / "m").exists()


# --- eval -----------------------------------------------------------------------------------------------

def test_eval_json(tiny_speech_model, synth_speech_dir, capsys):
    rc, out, err = run_cli(capsys, "eval", "--model", tiny_speech_model, "--data", synth_speech_dir, "--json")
    assert rc == 0, err
    assert len(out.strip().splitlines()) == 1
    r = json.loads(out)
    files = sorted(synth_speech_dir.rglob("*.wav"))
    assert r["n"] == len(files) and 0 <= r["accuracy"] <= 1 and r["errors"] == []
    m = load_model(tiny_speech_model)
    assert r["labels"] == m.labels
    conf = np.asarray(r["confusion"])
    assert conf.shape == (len(m.labels), len(m.labels)) and conf.sum() == r["n"]
    assert r["accuracy"] == pytest.approx(np.trace(conf) / r["n"])
    # every file counted as what predict says about it
    rec = Recognizer(m)
    expected = np.zeros_like(conf)
    for f in files:
        expected[m.labels.index(f.parent.name), m.labels.index(rec.predict_file(f).label)] += 1
    np.testing.assert_array_equal(conf, expected)
    for lab in SYNTH_LABELS:
        assert r["per_class_n"][lab] == len(list((synth_speech_dir / lab).glob("*.wav")))


def _small_eval_folder(synth_dir, dest, per_label=2):
    for lab in SYNTH_LABELS:
        (dest / lab).mkdir(parents=True)
        for f in sorted((synth_dir / lab).glob("*.wav"))[:per_label]:
            shutil.copy(f, dest / lab / f.name)
    return dest


def test_eval_counts_corrupt_files_as_wrong_and_reports_them(tiny_speech_model, synth_speech_dir, tmp_path,
                                                              capsys):
    data = _small_eval_folder(synth_speech_dir, tmp_path / "data")
    (data / "up" / "broken.wav").write_text("not audio")
    (data / "down" / "empty.wav").write_bytes(b"")
    rc, out, err = run_cli(capsys, "eval", "--model", tiny_speech_model, "--data", data, "--json")
    assert rc == 0, err
    r = json.loads(out)
    assert r["n"] == 8
    assert len(r["errors"]) == 2
    assert any("broken.wav" in e for e in r["errors"]) and any("empty.wav" in e for e in r["errors"])
    conf = np.asarray(r["confusion"])
    bad = r["labels"].index("<unreadable>")
    assert conf[:, bad].sum() == 2 and conf[bad].sum() == 0
    assert conf[r["labels"].index("up"), bad] == 1 and conf[r["labels"].index("down"), bad] == 1
    assert r["accuracy"] <= 6 / 8
    rc, out, _ = run_cli(capsys, "eval", "--model", tiny_speech_model, "--data", data)
    assert rc == 0 and "2 unreadable files counted as wrong" in out and "on 8 files" in out


def test_eval_folder_label_unknown_to_the_model_counts_as_unknown(tiny_speech_model, synth_speech_dir,
                                                                   tmp_path, capsys):
    data = tmp_path / "data"
    (data / "sideways").mkdir(parents=True)
    shutil.copy(synth_speech_dir / "up" / "ann__00.wav", data / "sideways" / "x.wav")
    rc, out, _ = run_cli(capsys, "eval", "--model", tiny_speech_model, "--data", data, "--json")
    r = json.loads(out)
    assert rc == 0 and r["n"] == 1 and r["per_class_n"][UNKNOWN_LABEL] == 1


@pytest.mark.parametrize("what", ["missing", "file", "empty"])
def test_eval_bad_data_folder(tiny_speech_model, tmp_path, capsys, what):
    data = tmp_path / "d"
    if what == "file":
        data.write_text("x")
    elif what == "empty":
        data.mkdir()
    rc, _, err = run_cli(capsys, "eval", "--model", tiny_speech_model, "--data", data, "--json")
    assert_user_error(rc, err, "eval")


# --- predict and trace ----------------------------------------------------------------------------------

@pytest.mark.parametrize("k", [1, 3, 10])
def test_predict_json_top_k(tiny_speech_model, synth_speech_dir, capsys, k):
    f = synth_speech_dir / "down" / "bob__03.wav"
    rc, out, err = run_cli(capsys, "predict", "--model", tiny_speech_model, f, "--json", "-k", k)
    assert rc == 0, err
    r = json.loads(out)
    m = load_model(tiny_speech_model)
    probs = [t["probability"] for t in r["top"]]
    assert len(probs) == min(k, len(m.labels))
    assert all(0 <= p <= 1 for p in probs) and sum(probs) <= 1 + 1e-6
    assert probs == sorted(probs, reverse=True)
    assert {t["label"] for t in r["top"]} <= set(m.labels)
    assert r["label"] == r["top"][0]["label"] and r["confidence"] == probs[0] and r["rejected"] is False
    if k >= len(m.labels):
        assert sum(probs) == pytest.approx(1, abs=1e-5)
    rec = Recognizer(m)
    expected = rec.probabilities(rec.features(rec.padded(load_input("speech", f, m.frontend_config))))
    assert probs[0] == pytest.approx(float(expected.max()), abs=1e-6)


def test_clip_classification_reads_a_clip_between_lead_in_and_tail_of_silence(tiny_speech_model, synth_speech_dir,
                                                                     tmp_path):
    """Trained speech models classify a clip after decoder.lead_silence_s of near-silence (what training
    clips and live streams have before a word) and read it decoder.tail_silence_s after its end (training clips
    end on 0-250 ms of silence); a model file without the keys gets neither."""
    from recognizers.recognizer import DEFAULT_LEAD_SILENCE_S, DEFAULT_TAIL_SILENCE_S, lead_silence
    m = load_model(tiny_speech_model)
    assert m.meta["decoder"]["lead_silence_s"] == DEFAULT_LEAD_SILENCE_S > 0
    f = synth_speech_dir / "down" / "bob__03.wav"
    raw = load_input("speech", f, m.frontend_config)
    rec = Recognizer(m)
    n = round(DEFAULT_LEAD_SILENCE_S * m.frontend_config["sample_rate_hz"])
    tail = round(DEFAULT_TAIL_SILENCE_S * m.frontend_config["sample_rate_hz"])
    assert m.meta["decoder"]["tail_silence_s"] == DEFAULT_TAIL_SILENCE_S > 0
    assert np.array_equal(rec.with_lead_in(raw)[n:], raw)
    padded = rec.padded(raw)     # ... and it is read a little after its end, on the same near-silence
    assert padded.shape == (n + raw.size + tail,) and np.array_equal(padded[n:n + raw.size], raw)
    assert 0 < np.abs(padded[:n]).max() < 1e-4 and np.array_equal(padded[:n], lead_silence(n))
    assert np.array_equal(padded[n + raw.size:], lead_silence(tail))
    with_lead = rec.probabilities(rec.features(padded))
    assert np.allclose(rec.predict_file(f).top[0][1], with_lead.max(), atol=1e-6)
    lead_only = rec.probabilities(rec.features(rec.with_lead_in(raw)))
    assert np.abs(lead_only - with_lead).max() > 1e-6      # the tail changes the decision frame
    # an older model file without the keys: the clip alone, from the zero state
    meta = json.loads((tiny_speech_model / "model.json").read_text())
    del meta["decoder"]["lead_silence_s"], meta["decoder"]["tail_silence_s"]
    old = tmp_path / "old_model"
    old.mkdir()
    (old / "model.json").write_text(json.dumps(meta))
    (old / "model.safetensors").write_bytes((tiny_speech_model / "model.safetensors").read_bytes())
    old_rec = Recognizer(load_model(old))
    assert old_rec.lead_silence_s == old_rec.tail_silence_s == 0 and old_rec.padded(raw) is raw
    plain = old_rec.probabilities(old_rec.features(raw))
    assert np.allclose(old_rec.predict_file(f).top[0][1], plain.max(), atol=1e-6)
    assert np.abs(plain - with_lead).max() > 1e-6      # the lead-in does change what the LSTM sees
    # a damaged value is a clear error, not a traceback
    for key in ("lead_silence_s", "tail_silence_s"):
        for bad in ("soon", -1, 60):
            (old / "model.json").write_text(json.dumps(meta | {"decoder": {key: bad}}))
            with pytest.raises(VaultError, match=key):
                Recognizer(load_model(old))


def test_predict_text_output(tiny_speech_model, synth_speech_dir, capsys):
    rc, out, _ = run_cli(capsys, "predict", "--model", tiny_speech_model, synth_speech_dir / "up" / "ann__01.wav")
    assert rc == 0 and out.splitlines()[0].endswith(tuple(load_model(tiny_speech_model).labels))


def test_trace_npz(tiny_speech_model, synth_speech_dir, tmp_path, capsys):
    f = synth_speech_dir / "buzz" / "cat__02.wav"
    out = tmp_path / "T.npz"
    rc, stdout, err = run_cli(capsys, "trace", "--model", tiny_speech_model, f, "--out", out)
    assert rc == 0, err
    assert [p.name for p in tmp_path.iterdir()] == ["T.npz"]
    m = load_model(tiny_speech_model)
    rec = Recognizer(m)
    feats = rec.features_from_file(f)
    z = np.load(out)
    T = feats.shape[0]
    assert T > 10 and f"{T} frames" in stdout
    assert z["input"].shape == (T, m.network.arch.input_size)
    np.testing.assert_allclose(z["input"], (feats - m.network.feature_mean.numpy()) / m.network.feature_std.numpy(),
                               atol=1e-5)
    assert list(z["labels"]) == m.labels
    for k in range(m.network.arch.num_layers):
        for g in "ifgoch":
            assert z[f"layer{k}_{g}"].shape == (T, m.network.arch.hidden_size), (k, g)
        np.testing.assert_allclose(z[f"layer{k}_o"] * np.tanh(z[f"layer{k}_c"]), z[f"layer{k}_h"], atol=1e-5)
    # the last layer's hidden state is what the head turns into the probabilities predict reports
    last = z[f"layer{m.network.arch.num_layers - 1}_h"]
    logits = last @ m.network.head.weight.detach().numpy().T + m.network.head.bias.detach().numpy()
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    np.testing.assert_allclose(p, z["probabilities"], atol=1e-5)
    np.testing.assert_allclose(z["probabilities"][-1], rec.probabilities(feats), atol=1e-5)


def test_trace_out_in_missing_folder_is_a_clear_error(tiny_speech_model, synth_speech_dir, tmp_path, capsys):
    rc, _, err = run_cli(capsys, "trace", "--model", tiny_speech_model, synth_speech_dir / "up" / "ann__00.wav",
                         "--out", tmp_path / "no" / "such" / "T.npz")
    assert_user_error(rc, err, "trace")


def test_model_problems_are_user_errors(tmp_path, synth_speech_dir, capsys):
    f = synth_speech_dir / "up" / "ann__00.wav"
    (tmp_path / "model.pt").write_bytes(b"\x80\x04N.")
    for model in (tmp_path / "absent", tmp_path / "model.pt", tmp_path):
        for cmd in (["predict", "--model", model, f], ["trace", "--model", model, f, "--out", tmp_path / "t.npz"]):
            rc, _, err = run_cli(capsys, *cmd)
            assert_user_error(rc, err, cmd[0])


# --- bad input files ------------------------------------------------------------------------------------

def _make_input(kind, synth_dir, folder: Path) -> Path:
    p = folder / f"{kind}.wav"
    word = _word(synth_dir)
    if kind == "empty":
        p.write_bytes(b"")
    elif kind == "header_only":
        p.write_bytes(_wav_header(0))
    elif kind == "header_claims_data":
        p.write_bytes(_wav_header(64000))
    elif kind == "cut_mid_data":
        write_wav(p, word)
        data = p.read_bytes()
        p.write_bytes(data[: len(data) // 2 + 1])
    elif kind == "text":
        p.write_text("hello, I am a text file pretending to be a WAV\n")
    elif kind == "random_bytes":
        p.write_bytes(np.random.default_rng(1).integers(0, 256, 20000, dtype=np.uint8).tobytes())
    elif kind == "rate_8k":
        from recognizers.io.audio import resample
        write_wav(p, resample(word, RATE, 8000), 8000)
    elif kind == "rate_44k":
        from recognizers.io.audio import resample
        write_wav(p, resample(word, RATE, 44100), 44100)
    elif kind == "stereo_48k":
        from recognizers.io.audio import resample
        w = resample(word, RATE, 48000)
        write_wav(p, np.stack([w, 0.5 * w], 1), 48000)
    elif kind == "silent":
        write_wav(p, np.zeros(RATE, np.float32))
    elif kind == "very_short":
        write_wav(p, word[:300])
    elif kind == "missing":
        pass
    elif kind == "directory":
        p.mkdir()
    return p


ERRORS = {"empty", "header_only", "header_claims_data", "text", "random_bytes", "missing", "directory"}
VALID = {"cut_mid_data", "rate_8k", "rate_44k", "stereo_48k", "silent", "very_short"}


@pytest.mark.parametrize("kind", sorted(ERRORS | VALID))
def test_predict_bad_input(tiny_speech_model, synth_speech_dir, tmp_path, capsys, kind):
    f = _make_input(kind, synth_speech_dir, tmp_path)
    rc, out, err = run_cli(capsys, "predict", "--model", tiny_speech_model, f, "--json")
    if kind in ERRORS:
        assert_user_error(rc, err, "predict")
        assert str(f) in err
        return
    assert rc == 0, err
    r = json.loads(out)
    labels = load_model(tiny_speech_model).labels
    assert r["label"] in labels and sum(t["probability"] for t in r["top"]) <= 1 + 1e-6
    if kind in ("silent", "very_short"):
        assert r["label"] == UNKNOWN_LABEL
    if kind in ("rate_8k", "rate_44k", "stereo_48k"):
        # resampled input gives (nearly) the prediction of the original 16 kHz word
        ref = json.loads(run_cli(capsys, "predict", "--model", tiny_speech_model,
                                 synth_speech_dir / "up" / "ann__00.wav", "--json", "-k", "10")[1])
        ref_p = {t["label"]: t["probability"] for t in ref["top"]}
        assert abs(ref_p[r["top"][0]["label"]] - r["top"][0]["probability"]) < 0.1


@pytest.mark.parametrize("kind", sorted(ERRORS | VALID))
def test_trace_bad_input(tiny_speech_model, synth_speech_dir, tmp_path, capsys, kind):
    f = _make_input(kind, synth_speech_dir, tmp_path)
    out = tmp_path / "T.npz"
    rc, _, err = run_cli(capsys, "trace", "--model", tiny_speech_model, f, "--out", out)
    if kind in ERRORS or kind == "very_short":
        assert_user_error(rc, err, "trace")
        assert not out.exists()
        return
    assert rc == 0, err
    z = np.load(out)
    assert z["input"].shape[0] == z["layer1_h"].shape[0] > 0


def test_eval_folder_of_bad_inputs(tiny_speech_model, synth_speech_dir, tmp_path, capsys):
    data = tmp_path / "data" / "up"
    data.mkdir(parents=True)
    kinds = sorted((ERRORS | VALID) - {"missing", "directory"})
    for kind in kinds:
        _make_input(kind, synth_speech_dir, data)
    rc, out, err = run_cli(capsys, "eval", "--model", tiny_speech_model, "--data", data.parent, "--json")
    assert rc == 0, err
    r = json.loads(out)
    assert r["n"] == len(kinds)
    bad = ERRORS - {"missing", "directory"}
    assert len(r["errors"]) == len(bad)
    for kind in bad:
        assert sum(f"{kind}.wav" in e for e in r["errors"]) == 1, kind
    assert all("\n" not in e for e in r["errors"])


def _sparse_silent_wav(path: Path, seconds: int) -> Path:
    n = seconds * RATE * 2
    with open(path, "wb") as f:
        f.write(_wav_header(n))
        f.truncate(44 + n)  # a sparse file of zeros: cheap to make
    return path


def test_twenty_minutes_of_silence(tiny_speech_model, tmp_path, capsys):
    f = _sparse_silent_wav(tmp_path / "long.wav", 20 * 60)
    rc, _, err = run_cli(capsys, "trace", "--model", tiny_speech_model, f, "--out", tmp_path / "T.npz")
    assert_user_error(rc, err, "trace")
    assert "max-seconds" in err and not (tmp_path / "T.npz").exists()
    rc, out, err = run_cli(capsys, "predict", "--model", tiny_speech_model, f, "--json")
    assert rc == 0, err
    assert json.loads(out)["label"] == UNKNOWN_LABEL


@pytest.mark.parametrize("command", ["predict", "trace"])
def test_subprocess_bad_input_exit_code_and_no_traceback(tiny_speech_model, synth_speech_dir, tmp_path,
                                                         command):
    f = _make_input("text", synth_speech_dir, tmp_path)
    d = _make_input("directory", synth_speech_dir, tmp_path)
    extra = ["--out", tmp_path / "T.npz"] if command == "trace" else []
    for target in (f, d):
        p = _cli_subprocess(command, "--model", tiny_speech_model, target, *extra)
        out, err = p.communicate(timeout=120)
        assert p.returncode == 2, err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1 and str(target) in err
        if command != "trace":
            break  # one subprocess is enough for predict


@pytest.mark.parametrize("extra", [["--context-prob", "0.5"],
                                   ["--frontend", "speech-embedding", "--context-prob", "1.5"]])
def test_context_prob_is_refused_outside_the_embedding_or_outside_0_1(synth_speech_dir, tmp_path, capsys, extra):
    out = tmp_path / "m"
    rc, _, err = run_cli(capsys, "train", "--task", "speech", "--data", synth_speech_dir, "--out", out, *extra)
    assert_user_error(rc, err, "train")
    assert "--context-prob" in err and not out.exists()
