"""GateLSTM: traces are exact (against nn.LSTM and a naive cell written here), streaming == offline."""
import numpy as np
import pytest
import torch

from recognizers.nn.gate_lstm import GATE_NAMES, GateLSTM, LSTMState

TOL = 1e-5


def _model(inp=5, hidden=7, layers=3, seed=0):
    torch.manual_seed(seed)
    m = GateLSTM(inp, hidden, layers).eval()
    with torch.no_grad():  # non-trivial biases everywhere (the constructor sets the forget bias to 1)
        for p in m.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return m


def _random_state(m, batch, seed=1):
    g = torch.Generator().manual_seed(seed)
    shape = (m.num_layers, batch, m.hidden_size)
    return LSTMState(torch.randn(shape, generator=g), torch.randn(shape, generator=g))


def naive_lstm_layer(x, w_ih, w_hh, b_ih, b_hh, h0, c0):
    """The LSTM equations, one step at a time (PyTorch gate order i, f, g, o); x (batch, time, in)."""
    H = w_hh.shape[1]
    out = {k: [] for k in GATE_NAMES}
    h, c = h0.clone(), c0.clone()
    for t in range(x.shape[1]):
        z = x[:, t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh
        i = torch.sigmoid(z[:, 0:H])
        f = torch.sigmoid(z[:, H:2 * H])
        g = torch.tanh(z[:, 2 * H:3 * H])
        o = torch.sigmoid(z[:, 3 * H:4 * H])
        c = f * c + i * g
        h = o * torch.tanh(c)
        for k, v in zip(GATE_NAMES, (i, f, g, o, c, h)):
            out[k].append(v)
    return {k: torch.stack(v, 1) for k, v in out.items()}, h, c


def test_traces_reproduce_nn_lstm_outputs():
    m = _model()
    x = torch.randn(3, 23, 5)
    state = _random_state(m, 3)
    with torch.no_grad():
        out, new_state, traces = m(x, state, trace=True)
    assert len(traces) == 3
    for k, tr in enumerate(traces):
        for name in GATE_NAMES:
            assert tr.as_dict()[name].shape == (3, 23, 7)
        torch.testing.assert_close(tr.o * torch.tanh(tr.c), tr.h, atol=TOL, rtol=0)
        torch.testing.assert_close(tr.c[:, -1], new_state.c[k], atol=TOL, rtol=0)
        torch.testing.assert_close(tr.h[:, -1], new_state.h[k], atol=TOL, rtol=0)
        # the gates are in their ranges
        for gate in (tr.i, tr.f, tr.o):
            assert gate.min() >= 0 and gate.max() <= 1
        assert tr.g.abs().max() <= 1
    torch.testing.assert_close(traces[-1].h, out, atol=TOL, rtol=0)
    # named accessors are the same tensors
    tr = traces[0]
    assert tr.forget is tr.f and tr.input_gate is tr.i and tr.candidate is tr.g
    assert tr.output_gate is tr.o and tr.cell is tr.c and tr.hidden is tr.h


def test_traces_match_naive_reference_cell_every_gate_every_layer():
    m = _model(inp=4, hidden=6, layers=3, seed=5)
    batch = 4
    x = torch.randn(batch, 31, 4)
    state = _random_state(m, batch, seed=9)
    with torch.no_grad():
        out, new_state, traces = m(x, state, trace=True)
        layer_in = x
        for k, lstm in enumerate(m.layers):
            ref, h_last, c_last = naive_lstm_layer(layer_in, lstm.weight_ih_l0, lstm.weight_hh_l0,
                                                   lstm.bias_ih_l0, lstm.bias_hh_l0, state.h[k], state.c[k])
            got = traces[k].as_dict()
            for name in GATE_NAMES:
                torch.testing.assert_close(got[name], ref[name], atol=TOL, rtol=0,
                                           msg=lambda s, k=k, name=name: f"layer {k} gate {name}: {s}")
            torch.testing.assert_close(new_state.h[k], h_last, atol=TOL, rtol=0)
            torch.testing.assert_close(new_state.c[k], c_last, atol=TOL, rtol=0)
            layer_in = ref["h"]
        torch.testing.assert_close(out, layer_in, atol=TOL, rtol=0)


def test_initial_state_matters_and_defaults_to_zeros():
    m = _model()
    x = torch.randn(2, 5, 5)
    with torch.no_grad():
        a, _, _ = m(x)
        b, _, _ = m(x, m.initial_state(2))
        c, _, _ = m(x, _random_state(m, 2))
    torch.testing.assert_close(a, b, atol=0, rtol=0)
    assert (a - c).abs().max() > 1e-3


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_streaming_random_chunks_equals_offline(seed):
    m = _model(seed=seed)
    rng = np.random.default_rng(seed)
    T = 57
    x = torch.randn(2, T, 5)
    start = _random_state(m, 2, seed=seed + 10)
    with torch.no_grad():
        full, full_state, full_tr = m(x, start, trace=True)
        cuts = sorted(set(rng.integers(1, T, size=6).tolist()))
        bounds = [0, *cuts, T]
        state, outs, trs = start, [], []
        for a, b in zip(bounds[:-1], bounds[1:]):
            o, state, tr = m(x[:, a:b], state, trace=True)
            outs.append(o)
            trs.append(tr)
    torch.testing.assert_close(torch.cat(outs, 1), full, atol=TOL, rtol=0)
    torch.testing.assert_close(state.h, full_state.h, atol=TOL, rtol=0)
    torch.testing.assert_close(state.c, full_state.c, atol=TOL, rtol=0)
    for k in range(m.num_layers):
        for name in GATE_NAMES:
            chunked = torch.cat([tr[k].as_dict()[name] for tr in trs], 1)
            torch.testing.assert_close(chunked, full_tr[k].as_dict()[name], atol=TOL, rtol=0)


def test_one_step_at_a_time_equals_offline():
    m = _model(layers=2)
    x = torch.randn(1, 12, 5)
    with torch.no_grad():
        full, _, full_tr = m(x, trace=True)
        state, steps = None, []
        for t in range(12):
            o, state, tr = m(x[:, t:t + 1], state, trace=True)
            steps.append(tr[1].f)
    torch.testing.assert_close(torch.cat(steps, 1), full_tr[1].f, atol=TOL, rtol=0)


def test_tracing_does_not_change_outputs_or_state():
    m = _model()
    x = torch.randn(2, 19, 5)
    s = _random_state(m, 2)
    with torch.no_grad():
        a, sa, none = m(x, s)
        b, sb, tr = m(x, s, trace=True)
    assert none is None and tr is not None
    assert torch.equal(a, b) and torch.equal(sa.h, sb.h) and torch.equal(sa.c, sb.c)


def test_gradients_flow_in_training_mode_with_trace():
    torch.manual_seed(0)
    m = GateLSTM(5, 8, 3, dropout=0.2).train()
    x = torch.randn(3, 10, 5, requires_grad=True)
    out, state, traces = m(x, trace=True)
    assert len(traces) == 3
    (out.pow(2).mean() + state.c.pow(2).mean()).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    for name, p in m.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, f"no gradient reached {name}"
    assert not traces[0].f.requires_grad  # traces are for looking, not part of the graph


def test_dropout_only_in_training_and_traces_follow_what_the_layer_saw():
    torch.manual_seed(0)
    m = GateLSTM(5, 8, 2, dropout=0.5)
    x = torch.randn(2, 9, 5)
    m.eval()
    with torch.no_grad():
        e1, _, _ = m(x)
        e2, _, _ = m(x)
    assert torch.equal(e1, e2)
    m.train()
    with torch.no_grad():
        out, _, tr = m(x, trace=True)
    torch.testing.assert_close(tr[1].h, out, atol=TOL, rtol=0)
    torch.testing.assert_close(tr[1].o * torch.tanh(tr[1].c), tr[1].h, atol=TOL, rtol=0)


def test_forget_bias_initialised_to_one():
    m = GateLSTM(3, 4, 2)
    for lstm in m.layers:
        total = lstm.bias_ih_l0 + lstm.bias_hh_l0
        torch.testing.assert_close(total[4:8], torch.ones(4))


@pytest.mark.parametrize("bad", [(0, 4, 1), (3, 0, 1), (3, 4, 0)])
def test_constructor_rejects_non_positive_sizes(bad):
    with pytest.raises(ValueError):
        GateLSTM(*bad)


@pytest.mark.parametrize("shape", [(4, 5), (1, 4, 6), (1, 2, 4, 5)])
def test_wrong_input_shape_is_refused(shape):
    m = GateLSTM(5, 4, 1)
    with pytest.raises(ValueError, match="expects"):
        m(torch.zeros(shape))


def test_state_detach_and_to():
    m = GateLSTM(3, 4, 2)
    _, s, _ = m(torch.randn(1, 3, 3, requires_grad=True))
    assert s.h.requires_grad
    d = s.detach()
    assert not d.h.requires_grad and not d.c.requires_grad and torch.equal(d.h, s.h)
    assert d.to("cpu").h.device.type == "cpu"
    assert s.h.shape == (2, 1, 4)


@pytest.mark.parametrize("frames", [1, 2, 8, 9, 40])
def test_short_chunk_step_path_equals_nn_lstm_path(frames):
    """Without autograd, chunks of up to STEP_FRAMES frames step the cell directly instead of calling
    nn.LSTM and recomputing; both give the same outputs, state and gates."""
    from recognizers.nn.gate_lstm import STEP_FRAMES, cell_scan
    assert STEP_FRAMES >= 2
    m = _model(inp=5, hidden=7, layers=2, seed=3)
    x = torch.randn(2, frames, 5)
    state = _random_state(m, 2, seed=4)
    with torch.inference_mode():
        out_a, st_a, tr_a = m(x, state, trace=True)            # step path when frames <= STEP_FRAMES
    out_b, st_b, tr_b = m(x, state, trace=True)                # autograd on: always nn.LSTM + recompute
    torch.testing.assert_close(out_a, out_b.detach(), atol=TOL, rtol=0)
    torch.testing.assert_close(st_a.h, st_b.h.detach(), atol=TOL, rtol=0)
    torch.testing.assert_close(st_a.c, st_b.c.detach(), atol=TOL, rtol=0)
    for a, b in zip(tr_a, tr_b):
        for name in GATE_NAMES:
            torch.testing.assert_close(a.as_dict()[name], b.as_dict()[name].detach(), atol=TOL, rtol=0)
    # the scan alone against the sequential recurrence, long enough for many doubling passes
    f, ig, c0 = torch.rand(3, 300, 4), torch.randn(3, 300, 4), torch.randn(3, 4)
    c, ref = c0, []
    for t in range(300):
        c = f[:, t] * c + ig[:, t]
        ref.append(c)
    torch.testing.assert_close(cell_scan(f, ig, c0), torch.stack(ref, 1), atol=TOL, rtol=0)


def test_compiled_cell_kernel_and_torch_scan_give_the_same_traces(monkeypatch):
    """On CPU the recompute's cell recurrence runs in a compiled loop (numba); without it, the torch prefix
    scan serves. Both match each other and the naive cell, from a non-zero state, in float32."""
    from recognizers.nn import cell_kernel
    assert cell_kernel.available_kernel() is not None, "numba kernel unavailable: traces fall back to the slow scan"
    m = _model(inp=5, hidden=7, layers=2, seed=5)
    x = torch.randn(3, 37, 5)
    state = _random_state(m, 3, seed=6)
    with torch.inference_mode():
        _, _, compiled = m(x, state, trace=True)
        monkeypatch.setattr(cell_kernel, "_kernel", False)
        assert cell_kernel.available_kernel() is None
        _, _, scanned = m(x, state, trace=True)
    layer_in = x
    for k, (a, b) in enumerate(zip(compiled, scanned)):
        lstm = m.layers[k]
        ref, _, _ = naive_lstm_layer(layer_in, lstm.weight_ih_l0.detach(), lstm.weight_hh_l0.detach(),
                                     lstm.bias_ih_l0.detach(), lstm.bias_hh_l0.detach(), state.h[k], state.c[k])
        for name in GATE_NAMES:
            torch.testing.assert_close(a.as_dict()[name], b.as_dict()[name], atol=1e-6, rtol=0)
            torch.testing.assert_close(a.as_dict()[name], ref[name], atol=TOL, rtol=0)
        layer_in = a.h


def test_cell_kernel_can_be_switched_off(monkeypatch):
    from recognizers.nn import cell_kernel
    monkeypatch.setattr(cell_kernel, "_kernel", None)
    monkeypatch.setenv("LSTM_VAULT_NO_NUMBA", "1")
    assert cell_kernel.available_kernel() is None
