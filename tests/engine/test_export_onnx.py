"""ONNX export of the streaming chunk model: onnxruntime == PyTorch, chunked == one pass, CLI errors."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")

from recognizers.cli.main import main  # noqa: E402
from recognizers.export import export_onnx  # noqa: E402
from recognizers.frontends.log_mel import LogMelConfig  # noqa: E402
from recognizers.model_files import load_model, save_model  # noqa: E402
from recognizers.nn.classifier import Architecture, SequenceClassifier  # noqa: E402
from recognizers.streaming import StreamingRecognizer  # noqa: E402

N_MELS, HIDDEN, LAYERS = 12, 10, 2
LABELS = ["_unknown_", "down", "up"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A small untrained model with non-trivial normalisation (export does not care about training)."""
    torch.manual_seed(5)
    rng = np.random.default_rng(5)
    arch = Architecture(input_size=N_MELS, hidden_size=HIDDEN, num_layers=LAYERS, num_classes=len(LABELS))
    net = SequenceClassifier(arch, rng.normal(-3, 1, N_MELS), rng.uniform(0.5, 2, N_MELS))
    with torch.no_grad():   # larger weights than the default init, so that gates saturate and state matters
        for p in net.parameters():
            p.mul_(2.5)
    meta = {"task": "speech", "labels": LABELS, "unknown_label": "_unknown_",
            "frontend": LogMelConfig(n_mels=N_MELS).to_json(), "decoder": {"reject_threshold": 0.0}}
    return save_model(tmp_path_factory.mktemp("export") / "m", net, meta)


def _features(rng, batch, time, net):
    mean, std = net.feature_mean.numpy(), net.feature_std.numpy()
    return (mean + std * rng.standard_normal((batch, time, N_MELS))).astype(np.float32)


def _torch_reference(net, x, h, c):
    from recognizers.nn.gate_lstm import LSTMState
    with torch.no_grad():
        logits, state, _ = net(torch.from_numpy(x), LSTMState(torch.from_numpy(h), torch.from_numpy(c)))
    return torch.softmax(logits, -1).numpy(), state.h.numpy(), state.c.numpy()


def test_onnx_matches_pytorch_and_chunks_equal_one_pass(model_dir, tmp_path):
    out = tmp_path / "model.onnx"
    assert main(["export", "--model", str(model_dir), "--onnx", str(out)]) == 0
    net = load_model(model_dir).network
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == ["features", "h_in", "c_in"]
    assert [o.name for o in sess.get_outputs()] == ["probabilities", "h_out", "c_out"]
    rng = np.random.default_rng(0)
    B, T = 3, 40
    x = _features(rng, B, T, net)
    zeros = np.zeros((LAYERS, B, HIDDEN), np.float32)
    whole = sess.run(None, {"features": x, "h_in": zeros, "c_in": zeros})
    ref = _torch_reference(net, x, zeros, zeros)
    for a, b in zip(whole, ref):
        np.testing.assert_allclose(a, b, atol=1e-4, rtol=0)
    assert np.allclose(whole[0].sum(-1), 1, atol=1e-5)
    for chunk in (1, 3, 7, 16):
        h, c, probs = zeros, zeros, []
        for s in range(0, T, chunk):
            p, h, c = sess.run(None, {"features": x[:, s:s + chunk], "h_in": h, "c_in": c})
            probs.append(p)
        np.testing.assert_allclose(np.concatenate(probs, 1), ref[0], atol=1e-4, rtol=0, err_msg=f"chunk {chunk}")
        np.testing.assert_allclose(h, ref[1], atol=1e-4, rtol=0)
        np.testing.assert_allclose(c, ref[2], atol=1e-4, rtol=0)
    # Batch 1 from a non-zero state (what a streaming client does after the first chunk).
    h1 = rng.standard_normal((LAYERS, 1, HIDDEN)).astype(np.float32)
    c1 = rng.standard_normal((LAYERS, 1, HIDDEN)).astype(np.float32)
    got = sess.run(None, {"features": x[:1, :9], "h_in": h1, "c_in": c1})
    for a, b in zip(got, _torch_reference(net, x[:1, :9], h1, c1)):
        np.testing.assert_allclose(a, b, atol=1e-4, rtol=0)


def test_metadata_carries_labels_and_frontend(model_dir, tmp_path):
    out = tmp_path / "sub" / "model.onnx"
    export_onnx(model_dir, out)
    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert json.loads(meta["labels"]) == LABELS
    assert json.loads(meta["frontend"]) == load_model(model_dir).frontend_config
    assert meta["unknown_label"] == "_unknown_" and meta["output"] == "probabilities"
    assert (int(meta["num_layers"]), int(meta["hidden_size"]), int(meta["feature_size"])) == (LAYERS, HIDDEN, N_MELS)
    sess_meta = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).get_modelmeta()
    assert json.loads(sess_meta.custom_metadata_map["labels"]) == LABELS


def test_gate_outputs_match_streaming_recognizer(model_dir, tmp_path):
    out = tmp_path / "gates.onnx"
    assert main(["export", "--model", str(model_dir), "--onnx", str(out), "--gates", "--logits"]) == 0
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    assert names[:3] == ["logits", "h_out", "c_out"] and "layer1_f" in names and len(names) == 3 + 6 * LAYERS
    model = load_model(model_dir)
    x = _features(np.random.default_rng(1), 1, 30, model.network)
    rec = StreamingRecognizer(model, trace=True)
    h = c = np.zeros((LAYERS, 1, HIDDEN), np.float32)
    for s in range(0, 30, 6):
        got = dict(zip(names, sess.run(None, {"features": x[:, s:s + 6], "h_in": h, "c_in": c})))
        h, c = got["h_out"], got["c_out"]
        step = rec.push_features(x[0, s:s + 6])
        probs = torch.softmax(torch.from_numpy(got["logits"][0]), -1).numpy()
        np.testing.assert_allclose(probs, step.probabilities, atol=1e-4, rtol=0)
        for k, v in step.gates.items():
            np.testing.assert_allclose(got[k][0], v, atol=1e-4, rtol=0, err_msg=k)


def test_cli_refuses_a_bad_model_folder(tmp_path, capsys):
    (tmp_path / "notamodel").mkdir()
    out = tmp_path / "x.onnx"
    assert main(["export", "--model", str(tmp_path / "notamodel"), "--onnx", str(out)]) == 2
    assert "error" in capsys.readouterr().err
    assert not out.exists() and not list(tmp_path.glob("*.partial"))
    assert main(["export", "--model", str(tmp_path / "missing"), "--onnx", str(out)]) == 2


def test_documented_onnx_example_runs(model_dir, tmp_path, monkeypatch, capsys):
    """The Python example of docs/onnx.md (or the README, once merged there) runs as written."""
    import re

    from testdata import REPO

    from recognizers.frontends.log_mel import LogMel
    blocks = [b for doc in (REPO / "docs" / "onnx.md", REPO / "README.md") if doc.is_file()
              for b in re.findall(r"```python\n(.*?)```", doc.read_text(), re.S) if "onnxruntime" in b]
    if not blocks:
        pytest.skip("no onnxruntime example in docs/onnx.md or README.md")
    export_onnx(model_dir, tmp_path / "digits.onnx")
    monkeypatch.chdir(tmp_path)
    feats = LogMel(LogMelConfig(n_mels=N_MELS))(np.random.default_rng(0).standard_normal(8000).astype(np.float32))
    exec(blocks[0], {"chunks_of_frames": [feats[i:i + 10] for i in range(0, len(feats), 10)]})
    assert capsys.readouterr().out.split()[0] in LABELS
