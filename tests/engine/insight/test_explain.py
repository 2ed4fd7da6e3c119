"""Integrated gradients are honest: completeness against a network recomputed independently (a plain loop of the
LSTM equations over the saved weights), on a trained speech model and a gesture model; the CLI's keys and refusals."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from desktop_fixtures import untrained_model
from testdata import synth_word, write_wav

from recognizers.cli.main import main
from recognizers.insight.explain import explain_input
from recognizers.model_files import load_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def independent_logits(model, x_normalised: np.ndarray) -> np.ndarray:
    """``(time, classes)`` from the safetensors weights with the textbook LSTM equations, in NumPy float64."""
    sd = {k: v.detach().double().numpy() for k, v in model.network.state_dict().items()}
    h_in = x_normalised.astype(np.float64)
    for k in range(model.network.arch.num_layers):
        w_ih, w_hh = sd[f"lstm.layers.{k}.weight_ih_l0"], sd[f"lstm.layers.{k}.weight_hh_l0"]
        b = sd[f"lstm.layers.{k}.bias_ih_l0"] + sd[f"lstm.layers.{k}.bias_hh_l0"]
        n = w_hh.shape[1]
        h, c, out = np.zeros(n), np.zeros(n), []
        sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
        for t in range(h_in.shape[0]):
            z = w_ih @ h_in[t] + w_hh @ h + b
            c = sig(z[n:2 * n]) * c + sig(z[:n]) * np.tanh(z[2 * n:3 * n])
            h = sig(z[3 * n:]) * np.tanh(c)
            out.append(h)
        h_in = np.array(out)
    return h_in @ sd["head.weight"].T + sd["head.bias"]


def check_complete(model, e) -> None:
    net = model.network
    # the input the explanation claims the LSTM saw is what the model's own normalisation makes of the features
    assert e.input.shape == e.baseline.shape == e.attribution.shape
    ref = independent_logits(model, e.input)
    ref0 = independent_logits(model, e.baseline)
    assert e.frame == e.input.shape[0] - 1
    assert abs(ref[e.frame, e.target] - e.logit) < 1e-3 * max(1.0, abs(e.logit))
    assert abs(ref0[e.frame, e.target] - e.logit_baseline) < 1e-3 * max(1.0, abs(e.logit_baseline))
    delta = ref[e.frame, e.target] - ref0[e.frame, e.target]
    assert abs(float(e.attribution.sum()) - delta) <= 0.02 * abs(delta)
    assert len(e.unit_attribution) == net.arch.num_layers
    assert all(a.shape == (e.input.shape[0], net.arch.hidden_size) for a in e.unit_attribution)
    assert np.allclose(e.probabilities.sum(1), 1, atol=1e-4)


def test_speech_completeness_with_lead_in(tiny_speech_model):
    model = load_model(tiny_speech_model)
    raw = synth_word(model.labels[0], "ann", np.random.default_rng(3))
    e = explain_input(model, raw, steps=16)
    check_complete(model, e)
    # the decided class is the one predict would give on the same clip (lead-in included)
    from recognizers.recognizer import Recognizer
    rec = Recognizer(model)
    assert e.label == rec.decide(rec.probabilities(rec.features(rec.padded(raw)))).label
    assert e.lead_in_frames > 0
    # silence baseline: every frame of the baseline is the same (the log floor)
    assert np.allclose(e.baseline, e.baseline[:1])


def test_gesture_completeness_and_label_choice(tmp_path):
    torch.manual_seed(0)
    model = load_model(untrained_model(tmp_path / "g", "gesture"))
    rng = np.random.default_rng(0)
    raw = rng.normal(0.5, 0.05, (30, 2, 21, 3)).astype(np.float32)
    raw[:, 1] = np.nan
    e = explain_input(model, raw, label="swipe_right", steps=16)
    assert e.label == "swipe_right"
    check_complete(model, e)


def test_cli_writes_every_key(tiny_speech_model, tmp_path, capsys):
    model = load_model(tiny_speech_model)
    wav = write_wav(tmp_path / "w.wav", synth_word(model.labels[1], "bob", np.random.default_rng(1)))
    out = tmp_path / "e.npz"
    assert main(["explain", "--model", str(tiny_speech_model), str(wav), "--out", str(out), "--steps", "8"]) == 0
    z = np.load(out)
    for key in ("input", "baseline", "attribution", "target", "frame", "logit", "logit_baseline", "labels",
                "probabilities", "layer0_unit_attribution", "layer1_unit_attribution"):
        assert key in z.files, key
    assert z["probabilities"].shape == (z["input"].shape[0], len(model.labels))
    delta = float(z["logit"] - z["logit_baseline"])
    assert abs(float(z["attribution"].sum()) - delta) <= 0.02 * abs(delta)
    assert "wrote" in capsys.readouterr().out


@pytest.mark.parametrize("extra, message", [
    (["--label", "nope"], "not one of the model's labels"),
    (["--steps", "1"], "--steps"),
    (["--steps", "100000"], "--steps"),
])
def test_cli_bad_options(tiny_speech_model, tmp_path, capsys, extra, message):
    wav = write_wav(tmp_path / "w.wav", synth_word(load_model(tiny_speech_model).labels[0], "ann",
                                                   np.random.default_rng(2)))
    rc = main(["explain", "--model", str(tiny_speech_model), str(wav), "--out", str(tmp_path / "e.npz"), *extra])
    err = capsys.readouterr().err
    assert rc == 2 and message in err and len(err.strip().splitlines()) == 1


def test_cli_missing_file_and_silence(tiny_speech_model, tmp_path, capsys):
    assert main(["explain", "--model", str(tiny_speech_model), str(tmp_path / "none.wav"),
                 "--out", str(tmp_path / "e.npz")]) == 2
    assert "no such file" in capsys.readouterr().err
    wav = write_wav(tmp_path / "s.wav", np.zeros(8000, np.float32))
    assert main(["explain", "--model", str(tiny_speech_model), str(wav), "--out", str(tmp_path / "e.npz")]) == 2
    assert "silent" in capsys.readouterr().err


def test_ctc_model_is_refused(tmp_path, capsys):
    from pathlib import Path
    ctc = Path(__file__).resolve().parents[3] / "assets" / "models" / "digits-connected-en"
    if not (ctc / "model.json").is_file():
        pytest.skip("the shipped connected-digit model is not in assets/models")
    wav = write_wav(tmp_path / "w.wav", synth_word("one", "ann", np.random.default_rng(0)))
    assert main(["explain", "--model", str(ctc), str(wav), "--out", str(tmp_path / "e.npz")]) == 2
    assert "CTC" in capsys.readouterr().err
