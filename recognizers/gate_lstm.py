"""GateLSTM: a stacked LSTM made of single-layer ``nn.LSTM`` modules that can expose every gate.

Each layer is a fused ``nn.LSTM`` (cuDNN on GPU, oneDNN/ATen kernels on CPU), so the plain forward pass
costs what PyTorch's LSTM costs. When a trace is requested, the gates are *recomputed* from the layer's
weights, its input and the hidden states ``nn.LSTM`` returned: with ``h_{t-1}`` known for every step, the
pre-activations of all steps come out of two matrix products, and only the cell-state recurrence
``c_t = f_t * c_{t-1} + i_t * g_t`` is a (cheap, element-wise) loop over time.

Shapes: inputs are ``(batch, time, features)``; traces are ``(batch, time, units)`` per gate.
State is carried between calls so that a stream can be processed chunk by chunk; a chunked run gives
the same outputs and traces as one run over the whole sequence.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

GATE_NAMES = ("i", "f", "g", "o", "c", "h")


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
        hs, cs, traces = [], [], [] if trace else None
        layer_in = x
        for k, lstm in enumerate(self.layers):
            h0, c0 = state.h[k:k + 1], state.c[k:k + 1]
            out, (hn, cn) = lstm(layer_in, (h0.contiguous(), c0.contiguous()))
            if trace:
                traces.append(self._recompute(lstm, layer_in, out, h0[0], c0[0]))
            hs.append(hn)
            cs.append(cn)
            layer_in = out
            if self.training and self.dropout > 0 and k < self.num_layers - 1:
                layer_in = nn.functional.dropout(layer_in, self.dropout, training=True)
        return layer_in, LSTMState(torch.cat(hs, 0), torch.cat(cs, 0)), traces

    @staticmethod
    @torch.no_grad()
    def _recompute(lstm: nn.LSTM, x: torch.Tensor, out: torch.Tensor, h0: torch.Tensor, c0: torch.Tensor
                   ) -> LayerTrace:
        """Gates of one layer from its weights, input and the hidden states nn.LSTM produced."""
        h_prev = torch.cat([h0.unsqueeze(1), out[:, :-1]], dim=1)
        pre = torch.baddbmm(lstm.bias_ih_l0 + lstm.bias_hh_l0,
                            x, lstm.weight_ih_l0.t().expand(x.shape[0], -1, -1))
        pre = torch.baddbmm(pre, h_prev, lstm.weight_hh_l0.t().expand(x.shape[0], -1, -1))
        i, f, g, o = pre.chunk(4, dim=-1)   # PyTorch's gate order
        i, f, o = torch.sigmoid(i), torch.sigmoid(f), torch.sigmoid(o)
        g = torch.tanh(g)
        ig = i * g
        c = torch.empty_like(ig)
        c_t = c0
        for t in range(ig.shape[1]):
            c_t = torch.addcmul(ig[:, t], f[:, t], c_t)
            c[:, t] = c_t
        return LayerTrace(i=i, f=f, g=g, o=o, c=c, h=out.detach())
