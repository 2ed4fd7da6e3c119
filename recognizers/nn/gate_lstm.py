"""GateLSTM: a stacked LSTM made of single-layer ``nn.LSTM`` modules that can expose every gate.

Each layer is a fused ``nn.LSTM`` (cuDNN on GPU, oneDNN/ATen kernels on CPU), so the plain forward pass
costs what PyTorch's LSTM costs. When a trace is requested, the gates are *recomputed* from the layer's
weights, its input and the hidden states ``nn.LSTM`` returned: with ``h_{t-1}`` known for every step, the
pre-activations of all steps come out of two matrix products, and the cell-state recurrence
``c_t = f_t * c_{t-1} + i_t * g_t`` is left: on CPU a compiled loop (:mod:`recognizers.nn.cell_kernel`, numba)
runs it in microseconds; elsewhere, or without numba, it is solved for all steps at once by a parallel
prefix scan (:func:`cell_scan`, ``log2(time)`` element-wise passes instead of one small op per step).

Streaming pushes chunks of one or two frames, where the fixed cost of an ``nn.LSTM`` call (on CPU oneDNN
reorders the weights on every call) is many times the arithmetic. Without autograd, chunks of at most
``STEP_FRAMES`` frames therefore step the cell equations directly, which yields the gates as a by-product;
the tests hold both paths to the same outputs and gates.

Shapes: inputs are ``(batch, time, features)``; traces are ``(batch, time, units)`` per gate.
State is carried between calls so that a stream can be processed chunk by chunk; a chunked run gives
the same outputs and traces as one run over the whole sequence.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from recognizers.nn import cell_kernel

GATE_NAMES = ("i", "f", "g", "o", "c", "h")
STEP_FRAMES = 8     # chunks this short (and no autograd) are stepped directly instead of calling nn.LSTM


@dataclass
class LayerTrace:
    """Gate activations of one layer, each ``(batch, time, units)``.

    ``input_gate`` i, ``forget`` f, ``candidate`` g, ``output_gate`` o, ``cell`` c, ``hidden`` h.
    """

    i: torch.Tensor
    f: torch.Tensor
    g: torch.Tensor
    o: torch.Tensor
    c: torch.Tensor
    h: torch.Tensor

    @property
    def input_gate(self) -> torch.Tensor:
        return self.i

    @property
    def forget(self) -> torch.Tensor:
        return self.f

    @property
    def candidate(self) -> torch.Tensor:
        return self.g

    @property
    def output_gate(self) -> torch.Tensor:
        return self.o

    @property
    def cell(self) -> torch.Tensor:
        return self.c

    @property
    def hidden(self) -> torch.Tensor:
        return self.h

    def as_dict(self) -> dict[str, torch.Tensor]:
        return {name: getattr(self, name) for name in GATE_NAMES}


@dataclass
class LSTMState:
    """Carried state: ``h`` and ``c`` shaped ``(layers, batch, units)``."""

    h: torch.Tensor
    c: torch.Tensor

    def detach(self) -> "LSTMState":
        return LSTMState(self.h.detach(), self.c.detach())

    def to(self, device: torch.device | str) -> "LSTMState":
        return LSTMState(self.h.to(device), self.c.to(device))


class GateLSTM(nn.Module):
    """Stacked unidirectional LSTM with optional exact gate traces and streaming state."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 2, dropout: float = 0.0):
        super().__init__()
        if input_size < 1 or hidden_size < 1 or num_layers < 1:
            raise ValueError("GateLSTM needs positive input_size, hidden_size and num_layers")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.dropout = float(dropout)
        self.layers = nn.ModuleList(
            nn.LSTM(input_size if k == 0 else hidden_size, hidden_size, num_layers=1, batch_first=True)
            for k in range(num_layers)
        )
        with torch.no_grad():  # forget-gate bias 1 (Jozefowicz et al. 2015): remember by default
            for lstm in self.layers:
                lstm.bias_ih_l0[hidden_size:2 * hidden_size].fill_(1.0)
                lstm.bias_hh_l0[hidden_size:2 * hidden_size].fill_(0.0)

    def initial_state(self, batch: int = 1, device: torch.device | str | None = None,
                      dtype: torch.dtype | None = None) -> LSTMState:
        p = self.layers[0].weight_ih_l0
        shape = (self.num_layers, batch, self.hidden_size)
        z = torch.zeros(shape, device=device or p.device, dtype=dtype or p.dtype)
        return LSTMState(z, z.clone())

    def forward(self, x: torch.Tensor, state: LSTMState | None = None, trace: bool = False
                ) -> tuple[torch.Tensor, LSTMState, list[LayerTrace] | None]:
        """Run over ``x`` ``(batch, time, features)`` from ``state`` (zeros when None).

        Returns ``(output (batch, time, units), new_state, traces or None)``.
        """
        if x.dim() != 3 or x.shape[-1] != self.input_size:
            raise ValueError(f"GateLSTM expects (batch, time, {self.input_size}), got {tuple(x.shape)}")
        if state is None:
            state = self.initial_state(x.shape[0], x.device, x.dtype)
        hs, cs, pending, traces = [], [], [], [] if trace else None
        # never while tracing or compiling (ONNX export): the step loop would fix the time length
        step = (x.shape[1] <= STEP_FRAMES and not torch.is_grad_enabled() and not torch.jit.is_tracing()
                and not torch.compiler.is_compiling())
        layer_in = x
        for k, lstm in enumerate(self.layers):
            h0, c0 = state.h[k], state.c[k]
            if step:
                out, hn, cn, tr = self._step(lstm, layer_in, h0, c0, trace)
                if trace:
                    traces.append(tr)
            else:
                out, hn, cn = _run_lstm(lstm, layer_in, h0, c0)
                if trace:
                    pending.append((lstm, layer_in, out, h0, c0))
            hs.append(hn)
            cs.append(cn)
            layer_in = out
            if self.training and self.dropout > 0 and k < self.num_layers - 1:
                layer_in = nn.functional.dropout(layer_in, self.dropout, training=True)
        if pending:     # recomputed after all nn.LSTM calls, which then run with their weights still cached
            traces += [self._recompute(*args) for args in pending]
        return layer_in, LSTMState(torch.stack(hs, 0), torch.stack(cs, 0)), traces

    @staticmethod
    def _step(lstm: nn.LSTM, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor, trace: bool
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, LayerTrace | None]:
        """One layer over a short chunk by the cell equations, step by step (no autograd)."""
        H = lstm.hidden_size
        B, T, _ = x.shape
        pre_x = torch.addmm(_summed_bias(lstm), x.reshape(B * T, -1),
                            lstm.weight_ih_l0.t()).view(B, T, 4 * H)
        w_hh = lstm.weight_hh_l0.t()
        if T == 1:      # a streaming push of one frame: the loop below minus its list/stack copies
            z = torch.addmm(pre_x[:, 0], h, w_hh)
            si, sf, _, so = torch.sigmoid(z).unsqueeze(1).chunk(4, 2)       # (B, 1, H) views
            g = torch.tanh(z[:, 2 * H:3 * H].unsqueeze(1))
            c = torch.addcmul(si * g, sf, c.unsqueeze(1))
            out = so * torch.tanh(c)
            if not trace:
                return out, out[:, 0], c[:, 0], None
            return out, out[:, 0], c[:, 0], LayerTrace(i=si, f=sf, g=g, o=so, c=c, h=out)
        zs, cs, hs = [], [], []
        for t in range(T):
            z = torch.addmm(pre_x[:, t], h, w_hh)
            s = torch.sigmoid(z)                       # i, f, (unused), o: PyTorch's gate order
            c = torch.addcmul(s[:, :H] * torch.tanh(z[:, 2 * H:3 * H]), s[:, H:2 * H], c)
            h = s[:, 3 * H:] * torch.tanh(c)
            zs.append(z)
            cs.append(c)
            hs.append(h)
        out = torch.stack(hs, 1)
        if not trace:
            return out, h, c, None
        z = torch.stack(zs, 1)
        s = torch.sigmoid(z)        # the same op on the same values as in the loop: identical gates
        tr = LayerTrace(i=s[..., :H], f=s[..., H:2 * H], g=torch.tanh(z[..., 2 * H:3 * H]), o=s[..., 3 * H:],
                        c=torch.stack(cs, 1), h=out)
        return out, h, c, tr

    @staticmethod
    def _recompute(lstm: nn.LSTM, x: torch.Tensor, out: torch.Tensor, h0: torch.Tensor, c0: torch.Tensor
                   ) -> LayerTrace:
        """Gates of one layer from its weights, input and the hidden states nn.LSTM produced."""
        if torch.is_grad_enabled():
            with torch.no_grad():
                return GateLSTM._recompute(lstm, x, out, h0, c0)
        H = lstm.hidden_size
        B, T, n_in = x.shape
        # all pre-activations [x_t, h_{t-1}] @ [W_ih | W_hh]^T + b in one matrix product, with the candidate
        # rows doubled (exact: a power of two), so that one sigmoid gives i, f, o and sigmoid(2 z_g), and
        # g = tanh(z_g) = 2 sigmoid(2 z_g) - 1 (equal to float rounding; on CPU tanh costs ten times sigmoid)
        kernels = (cell_kernel.available_kernel() if x.device.type == "cpu" and x.dtype == torch.float32
                   else None)
        xh = torch.empty(B, T, n_in + H, dtype=x.dtype, device=x.device)
        if kernels is not None:
            cells, pack_inputs = kernels
            pack_inputs(x.contiguous().numpy(), h0.to(x.dtype).contiguous().numpy(), out.contiguous().numpy(),
                        xh.numpy())
        else:
            xh[:, :, :n_in] = x
            xh[:, 0, n_in:] = h0
            xh[:, 1:, n_in:] = out[:, :-1]
        # sigmoid of the pre-activations (on CPU fused into oneDNN's matrix multiply)
        s = _packed_sigmoid(lstm, xh.view(B * T, -1)).view(B, T, 4 * H)
        if kernels is not None:     # the compiled loop writes every g_t and c_t (no torch op per step or pass)
            c, g = torch.empty(B, T, H), torch.empty(B, T, H)
            cells(s.numpy(), c0.to(s.dtype).contiguous().numpy(), c.numpy(), g.numpy())
        else:
            g = s[..., 2 * H:3 * H].mul_(2).sub_(1)
            c = cell_scan(s[..., H:2 * H], s[..., :H] * g, c0)
        # PyTorch's gate order i, f, g, o
        return LayerTrace(i=s[..., :H], f=s[..., H:2 * H], g=g, o=s[..., 3 * H:], c=c, h=out.detach())


def _run_lstm(lstm: nn.LSTM, x: torch.Tensor, h0: torch.Tensor, c0: torch.Tensor
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One single-layer ``nn.LSTM`` over ``x`` from ``(h0, c0)`` (each ``(batch, units)``).

    On CPU without autograd this calls the fused kernel that ``nn.LSTM.forward`` ends in (``_VF.lstm`` with
    the module's own flat weight list) directly: the module's Python wrapper costs about 12 µs a call,
    4 % of a 100-frame layer and 15 % of a 2-frame one. Everywhere else (GPU, training) the module runs."""
    hx = (h0[None].contiguous(), c0[None].contiguous())
    if x.device.type == "cpu" and not torch.is_grad_enabled() and not lstm.training:
        flat = getattr(lstm, "_flat_weights", None)
        if flat is not None and len(flat) == 4 and lstm.batch_first:
            out, hn, cn = torch._VF.lstm(x, hx, flat, True, 1, 0.0, False, False, True)
            return out, hn[0], cn[0]
    out, (hn, cn) = lstm(x, hx)
    return out, hn[0], cn[0]


def _summed_bias(lstm: nn.LSTM) -> torch.Tensor:
    """``bias_ih + bias_hh`` of a layer, cached while neither changes (in-place updates bump a tensor's
    version, ``.to()``/loading replaces it): a short streaming push otherwise pays this add every call."""
    b_ih, b_hh = lstm.bias_ih_l0, lstm.bias_hh_l0
    key = (b_ih.data_ptr(), b_hh.data_ptr(), b_ih._version, b_hh._version, b_ih.device, b_ih.dtype)
    cached = lstm.__dict__.get("_vault_summed_bias")
    if cached is None or cached[0] != key:
        cached = (key, b_ih + b_hh)
        lstm.__dict__["_vault_summed_bias"] = cached
    return cached[1]


class _Packed:
    """``[W_ih | W_hh]`` of one layer with the candidate rows doubled, and the summed bias likewise, ready
    for one matrix product; on CPU packed once for oneDNN's matrix multiply (see :func:`_packed_sigmoid`)."""

    __slots__ = ("params", "versions", "device", "dtype", "weight", "bias", "onednn")

    def __init__(self, params, versions, device, dtype, weight, bias, onednn):
        self.params, self.versions, self.device, self.dtype = params, versions, device, dtype
        self.weight, self.bias, self.onednn = weight, bias, onednn


def _onednn_linear_ok() -> bool:
    """Whether torch's oneDNN linear (the kernel Inductor uses on CPU) exists and agrees with addmm here.

    On CPU, ``torch.addmm`` goes to MKL, which on some processors (AMD EPYC here) reaches about half of
    the throughput of oneDNN's matrix multiply (about 55 vs 110 GFLOP/s for the recompute's shapes). The op is
    internal to torch, so it is used only after this one-time self-check; otherwise addmm it is."""
    global _ONEDNN_OK
    if _ONEDNN_OK is None:
        try:
            with torch.no_grad():
                gen = torch.Generator().manual_seed(0)
                a, w = torch.randn(37, 19, generator=gen), torch.randn(24, 19, generator=gen)
                b = torch.randn(24, generator=gen)
                packed = torch.ops.mkldnn._reorder_linear_weight(w)
                got = torch.ops.mkldnn._linear_pointwise(a, packed, b, "none", [], "")
                fused = torch.ops.mkldnn._linear_pointwise(a, packed, b, "sigmoid", [], "")
                ref = torch.addmm(b, a, w.t())
                _ONEDNN_OK = bool(torch.allclose(got, ref, atol=1e-4, rtol=1e-4)
                                  and torch.allclose(fused, ref.sigmoid(), atol=1e-6, rtol=1e-5))
        except Exception:           # no oneDNN in this build, or the op changed: addmm serves
            _ONEDNN_OK = False
    return _ONEDNN_OK


_ONEDNN_OK: bool | None = None


def _packed_weights(lstm: nn.LSTM, xh: torch.Tensor) -> "_Packed":
    """The layer's packed weights for inputs like ``xh``, cached on the module while no weight changes
    (in-place updates bump a tensor's version; ``.to()``/loading into new tensors replaces them)."""
    w_ih, w_hh, b_ih, b_hh = params = (lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0)
    packed = lstm.__dict__.get("_vault_packed")
    if (packed is not None and packed.dtype == xh.dtype and packed.device == xh.device
            and packed.params[0] is w_ih and packed.params[1] is w_hh and packed.params[2] is b_ih
            and packed.params[3] is b_hh and packed.versions == (w_ih._version, w_hh._version, b_ih._version,
                                                                 b_hh._version)):
        return packed
    H = lstm.hidden_size
    with torch.no_grad():
        w = torch.cat([w_ih, w_hh], dim=1).to(xh.dtype)
        b = (b_ih + b_hh).to(xh.dtype)
        w[2 * H:3 * H] *= 2
        b[2 * H:3 * H] *= 2
        onednn = xh.device.type == "cpu" and xh.dtype == torch.float32 and _onednn_linear_ok()
        if onednn:
            w = torch.ops.mkldnn._reorder_linear_weight(w.contiguous())
        else:
            w = w.t()
    packed = _Packed(params, tuple(q._version for q in params), xh.device, xh.dtype, w, b, onednn)
    lstm.__dict__["_vault_packed"] = packed
    return packed


def _packed_sigmoid(lstm: nn.LSTM, xh: torch.Tensor) -> torch.Tensor:
    """``sigmoid(xh @ [W_ih | W_hh]^T + b_ih + b_hh)`` of a layer, candidate columns doubled: ``(rows, 4 H)``;
    on CPU the sigmoid is fused into oneDNN's matrix multiply as a post-op. The packed weights are cached on
    the module (:func:`_packed_weights`)."""
    packed = _packed_weights(lstm, xh)
    if packed.onednn:
        return torch.ops.mkldnn._linear_pointwise(xh.contiguous(), packed.weight, packed.bias, "sigmoid", [], "")
    return torch.addmm(packed.bias, xh, packed.weight).sigmoid_()


def cell_scan(f: torch.Tensor, ig: torch.Tensor, c0: torch.Tensor) -> torch.Tensor:
    """All cell states ``c_t = f_t * c_{t-1} + ig_t`` of ``(batch, time, units)`` inputs from ``c0 (batch, units)``.

    Each step is the affine map ``c -> f_t c + ig_t``; composing maps is associative, so a Hillis-Steele
    scan finds every prefix composition in ``ceil(log2(time))`` vectorised passes: after the pass with
    stride ``d``, ``(a_t, b_t)`` is the composition of steps ``t-2d+1 .. t``. With ``c0`` folded into the
    first step, ``b_t`` is ``c_t``. Only products and sums of the same terms as the sequential loop, in
    another order, so it agrees with the loop to float rounding (no logarithms, no division).
    """
    b = ig.clone()
    b[:, 0].addcmul_(f[:, 0], c0)
    a = f
    T = b.shape[1]
    d = 1
    while d < T:
        nb = b.clone()
        nb[:, d:].addcmul_(a[:, d:], b[:, :-d])
        if 2 * d < T:
            na = a.clone()
            na[:, d:].mul_(a[:, :-d])
            a = na
        b = nb
        d *= 2
    return b
