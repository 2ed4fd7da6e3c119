"""StreamingRecognizer: any block sizes give the offline network's probabilities and gates, whichever of
its two CPU paths (NumPy stepping for short pushes, torch for long ones) runs each push."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from recognizers.frontends.log_mel import LogMelConfig
from recognizers.frontends.registry import offline_features
from recognizers.model_files import LoadedModel
from recognizers.nn.classifier import Architecture, SequenceClassifier
from recognizers.nn.gate_lstm import STEP_FRAMES
from recognizers.nn.numpy_step import NumpyStepper
from recognizers.streaming import StreamingRecognizer

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TOL = 2e-5
LABELS = ["_unknown_", "a", "b", "c"]
N_MELS = 16
CFG = LogMelConfig(n_mels=N_MELS)


def _model(seed: int = 0) -> LoadedModel:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = SequenceClassifier(Architecture(input_size=N_MELS, hidden_size=12, num_layers=2, num_classes=len(LABELS)),
                             rng.normal(-4, 1, N_MELS), rng.uniform(0.5, 2, N_MELS))
    with torch.no_grad():   # larger weights than the default init: saturated gates, state that matters
        for p in net.parameters():
            p.mul_(2.5)
    meta = {"task": "speech", "labels": LABELS, "unknown_label": "_unknown_", "frontend": CFG.to_json(),
            "decoder": {"reject_threshold": 0.0}, "normalization": {}}
    return LoadedModel(path=None, network=net.eval(), meta=meta, labels=LABELS)


def _audio(seconds: float = 1.5, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(16000 * seconds)) / 16000
    chirp = np.sin(2 * np.pi * (200 + 600 * t) * t) * (0.2 + 0.2 * np.sin(2 * np.pi * 3 * t))
    return (chirp + 0.02 * rng.standard_normal(t.size)).astype(np.float32)


def _offline(model: LoadedModel, audio: np.ndarray):
    feats = torch.from_numpy(offline_features(model.frontend_config, audio))[None]
    with torch.no_grad():
        logits, _, traces = model.network(feats, trace=True)
    gates = {f"layer{k}_{n}": v[0].numpy() for k, tr in enumerate(traces) for n, v in tr.as_dict().items()}
    return torch.softmax(logits[0], -1).numpy(), gates


def _stream(rec: StreamingRecognizer, audio: np.ndarray, sizes) -> tuple[np.ndarray, dict]:
    steps, start = [], 0
    for size in sizes:
        if start >= audio.size:
            break
        steps.append(rec.push(audio[start:start + size]))
        start += size
    assert start >= audio.size
    probs = np.concatenate([s.probabilities for s in steps])
    with_frames = [s for s in steps if s.n_frames]
    gates = {k: np.concatenate([s.gates[k] for s in with_frames]) for k in with_frames[0].gates}
    return probs, gates


@pytest.mark.parametrize("sizes", [
    [160] * 200,                              # 10 ms: one frame per push, NumPy path
    [320] * 100,                              # 20 ms, the app's block
    [37] * 1000,                              # pushes without a frame in between
    [160 * (STEP_FRAMES + 5)] * 20,           # long pushes: the torch path
    [160, 4000, 320, 50, 2400, 160, 9000] * 5,  # both paths, switching back and forth
])
def test_any_blocks_give_the_offline_probabilities_and_gates(sizes):
    model = _model()
    audio = _audio()
    want_p, want_g = _offline(model, audio)
    got_p, got_g = _stream(StreamingRecognizer(model, trace=True), audio, sizes)
    np.testing.assert_allclose(got_p, want_p, atol=TOL, rtol=0)
    assert set(got_g) == set(want_g)
    for name in want_g:
        # cells reach |c| ~ 90 here, where float32 steps are 8e-6: a relative tolerance too
        np.testing.assert_allclose(got_g[name], want_g[name], atol=TOL, rtol=1e-6, err_msg=name)


def test_without_trace_the_probabilities_are_the_same_and_no_gates_travel():
    model = _model(3)
    audio = _audio(seed=4)
    want_p, _ = _offline(model, audio)
    rec = StreamingRecognizer(model, trace=False)
    steps = [rec.push(audio[s:s + 320]) for s in range(0, audio.size, 320)]
    assert all(s.gates == {} for s in steps)
    np.testing.assert_allclose(np.concatenate([s.probabilities for s in steps]), want_p, atol=TOL, rtol=0)


def test_reset_state_restarts_from_zero_on_both_paths():
    model = _model(5)
    audio = _audio(seed=6)
    rec = StreamingRecognizer(model, trace=False)
    for s in range(0, 8000, 160):
        rec.push(audio[s:s + 160])
    rec.reset()
    want_p, _ = _offline(model, audio)
    got_p, _ = _stream(rec, audio, [160] * 300)
    np.testing.assert_allclose(got_p, want_p, atol=TOL, rtol=0)


def test_changed_weights_are_picked_up_at_reset():
    model = _model(7)
    audio = _audio(seed=8)
    rec = StreamingRecognizer(model, trace=False)
    before, _ = _stream(rec, audio, [320] * 100)
    with torch.no_grad():                      # e.g. a training step on the model in use
        model.network.head.bias[1] += 5.0
    rec.reset()
    after, _ = _stream(rec, audio, [320] * 100)
    want_p, _ = _offline(model, audio)
    assert not np.allclose(before, after, atol=1e-3)
    np.testing.assert_allclose(after, want_p, atol=TOL, rtol=0)


def test_stepper_leaves_the_callers_state_alone():
    model = _model(9)
    stepper = NumpyStepper(model.network)
    rng = np.random.default_rng(0)
    h = rng.standard_normal((2, 12)).astype(np.float32)
    c = rng.standard_normal((2, 12)).astype(np.float32)
    h_copy, c_copy = h.copy(), c.copy()
    feats = rng.normal(-4, 1, (3, N_MELS)).astype(np.float32)
    _, probs, h2, c2, _ = stepper.run(feats, h, c, trace=False)
    np.testing.assert_array_equal(h, h_copy)
    np.testing.assert_array_equal(c, c_copy)
    # and agrees with the torch network from the same state
    from recognizers.nn.gate_lstm import LSTMState
    with torch.no_grad():
        logits, state, _ = model.network(torch.from_numpy(feats)[None],
                                         LSTMState(torch.from_numpy(h)[:, None], torch.from_numpy(c)[:, None]))
    np.testing.assert_allclose(probs, torch.softmax(logits[0], -1).numpy(), atol=TOL, rtol=0)
    np.testing.assert_allclose(h2, state.h[:, 0].numpy(), atol=TOL, rtol=0)
    np.testing.assert_allclose(c2, state.c[:, 0].numpy(), atol=TOL, rtol=0)


def test_a_device_change_mid_stream_keeps_the_state():
    """set_device (the app's device picker) hands the NumPy state over to torch and back."""
    model = _model(11)
    audio = _audio(seed=12)
    want_p, _ = _offline(model, audio)
    rec = StreamingRecognizer(model, trace=False)
    steps = []
    for k, s in enumerate(range(0, audio.size, 320)):
        if k in (20, 45):
            rec.set_device("cpu")
        steps.append(rec.push(audio[s:s + 320]))
    np.testing.assert_allclose(np.concatenate([s.probabilities for s in steps]), want_p, atol=TOL, rtol=0)
